"""Hyperparameter sweeps on Optuna (``pip install physnn[sweep]``): random search or TPE, pruning by learning
curves, and a study stored where any number of workers on any number of machines can share it.

physnn adds to Optuna only what its engine makes possible:

* ``space``: a dict of ranges instead of define-by-run code, so the objective is a plain ``f(params)``;
* ``batch=k``: k trials asked at once and evaluated by one call ``f([params_1, ..., params_k])`` -- with
  ``hyperparameter_objective`` (or ``learning_rate_objective``) that call trains the k models together in one
  vmapped program (``physnn.ensemble.fit_replicas`` with one learning rate, dropout rate, L2 factor, leak rate,
  ridge ... per replica, traced into the program by ``physnn.hyperparameters``), which Optuna's ``n_jobs``
  threads cannot do for CPU-bound trials;
* ``PruningCallback``: a physnn callback reporting each epoch's monitored value to the trial and stopping a
  trial that Optuna's pruner judges hopeless (``optuna.TrialPruned``).

Sharing a study: ``storage`` is an Optuna storage URL -- ``"sqlite:///sweep.db"`` on one machine,
``"postgresql://..."`` / ``"mysql://..."`` for a cluster, or ``optuna.storages.JournalStorage`` on a shared disk.
Start the same script (or ``physnn sweep CONFIG.toml``) in every worker with the same ``study_name``; give each
worker its own ``seed`` (e.g. seed + worker index) so that their samplers do not propose the same points.

Space entries (name -> range)::

    (low, high)               a float, uniform
    ("log", low, high)        a float, log-uniform
    ("int", low, high)        an integer in [low, high]
    [a, b, c]                 one of the choices
"""

from __future__ import annotations

import numbers

import numpy as np

from physnn import _checks
from physnn.callbacks import Callback
from physnn.hyperparameters import check_binding

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", None)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError("physnn.sweep needs Optuna: pip install 'physnn[sweep]' (or pip install optuna)") from None
    return optuna


def check_space(space: dict) -> dict:
    """``space`` checked (see the module's docstring); ValueError naming the bad entry."""
    if not isinstance(space, dict) or not space:
        raise ValueError(f"space must be a non-empty dict name -> range, got {space!r}")
    for name, spec in space.items():
        ok = False
        if isinstance(spec, list):
            ok = len(spec) > 0
        elif isinstance(spec, tuple):
            numbers_ = [v for v in spec if isinstance(v, numbers.Real) and not isinstance(v, bool)]
            if len(spec) == 2 and len(numbers_) == 2:
                ok = spec[0] < spec[1]
            elif len(spec) == 3 and spec[0] in ("log", "int") and len(numbers_) == 2:
                ok = spec[1] < spec[2] and (spec[0] != "log" or spec[1] > 0) and \
                    (spec[0] != "int" or all(float(v).is_integer() for v in spec[1:]))
        if not ok:
            raise ValueError(f"space[{name!r}] = {spec!r} is not a range: use (low, high), ('log', low, high), "
                             "('int', low, high) with low < high, or a list of choices")
    return space


def suggest(trial, space: dict) -> dict:
    """One point of ``space`` drawn by ``trial`` (an ``optuna.Trial``): name -> value."""
    params = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            params[name] = trial.suggest_categorical(name, spec)
        elif spec[0] == "log":
            params[name] = trial.suggest_float(name, spec[1], spec[2], log=True)
        elif spec[0] == "int":
            params[name] = trial.suggest_int(name, int(spec[1]), int(spec[2]))
        else:
            params[name] = trial.suggest_float(name, spec[0], spec[1])
    return params


def sweep(objective, n_trials: int, space: dict | None = None, storage=None, study_name: str | None = None,
          seed: int | None = None, sampler: str = "tpe", direction: str = "minimize", pruner="median",
          batch: int = 1, load_if_exists: bool = True, startup_trials: int = 10):
    """Run ``n_trials`` trials of ``objective`` in an Optuna study and return the study (``study.best_params``,
    ``study.trials_dataframe()``).

    Arguments:
        objective: ``f(trial) -> value`` (Optuna's define-by-run) without ``space``; ``f(params) -> value``
            with ``space``; with ``batch`` > 1 ``f([params, ...]) -> [value, ...]``.
        n_trials: the trials this call runs (each worker of a shared study runs its own).
        space: the ranges (see the module's docstring), or None.
        storage: None (in memory) or an Optuna storage / URL shared by every worker.
        study_name: the study's name in ``storage`` (workers with the same name share it).
        seed: the sampler's seed (None: Optuna's random seed).
        sampler: "tpe" (Optuna's default, Bergstra et al. 2011) or "random".
        direction: "minimize" or "maximize".
        pruner: "median" (stop a trial whose reported value is worse than the median of earlier trials at the
            same epoch; see ``PruningCallback``) or None.
        batch: trials asked and evaluated together (needs ``space``).
        startup_trials: TPE's first trials, drawn at random before its density model takes over (Optuna's
            ``n_startup_trials``, default 10); a short sweep may want fewer. Ignored by "random".
    """
    optuna = _optuna()
    n_trials = _checks.count("n_trials", n_trials)
    batch = _checks.count("batch", batch)
    startup_trials = _checks.count("startup_trials", startup_trials, minimum=0)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if pruner not in PRUNERS:
        raise ValueError(f"pruner must be one of {PRUNERS}, got {pruner!r}")
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    if space is not None:
        check_space(space)
    elif batch > 1:
        raise ValueError("batch > 1 needs space (a batch of trials is evaluated by f([params, ...]))")
    seed = None if seed is None else _checks.seed("seed", seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction=direction, load_if_exists=load_if_exists,
        sampler=(optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials) if sampler == "tpe"
                 else optuna.samplers.RandomSampler(seed)),
        pruner=optuna.pruners.MedianPruner() if pruner == "median" else optuna.pruners.NopPruner())
    if space is None:
        study.optimize(objective, n_trials=n_trials)
        return study
    if batch == 1:
        study.optimize(lambda trial: objective(suggest(trial, space)), n_trials=n_trials)
        return study
    done = 0
    while done < n_trials:
        trials = [study.ask() for _ in range(min(batch, n_trials - done))]
        values = objective([suggest(trial, space) for trial in trials])
        if len(values) != len(trials):
            raise ValueError(f"a batched objective must return one value per trial: {len(trials)} asked, "
                             f"{len(values)} returned")
        for trial, value in zip(trials, values):
            value = float(value)
            if np.isfinite(value):
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        done += len(trials)
    return study


class PruningCallback(Callback):
    """Report ``monitor`` to an Optuna trial after every epoch of ``fit`` and stop the trial (raise
    ``optuna.TrialPruned``) when the study's pruner says its learning curve is worse than the others'."""

    def __init__(self, trial, monitor: str = "val_loss"):
        self.trial, self.monitor = trial, monitor

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"PruningCallback monitors {self.monitor!r}, which is not logged; logged quantities are "
                             f"{sorted(logs)}")
        self.trial.report(float(logs[self.monitor]), step=epoch)
        if self.trial.should_prune():
            raise _optuna().TrialPruned(f"pruned at epoch {epoch + 1}: {self.monitor} = {logs[self.monitor]:.4g}")


def hyperparameter_objective(model, x, y, targets: dict, *, monitor: str = "val_loss", seed: int = 0,
                             **fit_kwargs):
    """A batched objective ``f([params, ...]) -> [value, ...]`` for ``sweep(..., batch=k)``: the k trials train k
    copies of the compiled ``model`` together in one vmapped program (``fit_replicas`` with ``resample=None``,
    copy r initialised from ``seed + r``), each with its own values of the hyperparameters ``targets`` names,
    and each trial's value is its final ``monitor``.

    Arguments:
        targets: ``{name: target}``, ``name`` a key of the trials' params and ``target`` either
            ``"learning_rate"`` (the compiled optimiser's learning rate, which must be a number) or
            ``(owner, attribute)``: any attribute read through ``physnn.hyperparameters`` and not changing a
            shape — ``(dropout_layer, "rate")``, ``(dense.kernel_regularizer, "l2")``, ``(reservoir_layer,
            "leak_rate")``, ``(ridge_readout_loss, "ridge")``.
        monitor: the logged quantity returned ("val_loss" needs validation data in ``fit_kwargs``).
        fit_kwargs: epochs, batch_size, validation_split, ... as in ``fit``.
    """
    from physnn.ensemble import fit_replicas

    if not isinstance(targets, dict) or not targets:
        raise ValueError(f"targets must be a non-empty dict name -> 'learning_rate' or (owner, attribute), got "
                         f"{targets!r}")
    learning_rates = [name for name, target in targets.items() if isinstance(target, str)]
    if len(learning_rates) > 1 or any(targets[name] != "learning_rate" for name in learning_rates):
        raise ValueError(f"targets: one 'learning_rate' target at most, and the others (owner, attribute); got "
                         f"{targets!r}")
    check_binding({name: target for name, target in targets.items() if name not in learning_rates})
    base_lr = None
    if learning_rates:
        base = getattr(model, "optimizer", None)
        base_lr = getattr(base, "learning_rate", None)
        if not isinstance(base_lr, numbers.Real) or isinstance(base_lr, bool) or base_lr <= 0:
            raise ValueError("a learning-rate target needs a model compiled with an optimiser whose learning_rate is "
                             f"a number > 0 (physnn.optimizers.Adam(learning_rate=1e-3), ...), got {base!r}")

    def objective(points):
        scales, traced = None, {}
        for name, target in targets.items():
            if name in learning_rates:
                scales = [p[name] / base_lr for p in points]
            else:
                traced[name] = (*target, [p[name] for p in points])
        ensemble = fit_replicas(model, x, y, replicas=len(points), resample=None, seed=seed,
                                learning_rate_scales=scales, hyperparameters=traced, **fit_kwargs)
        if monitor not in ensemble.history:
            raise ValueError(f"the objective monitors {monitor!r}, which is not logged; logged quantities "
                             f"are {sorted(ensemble.history)}")
        curve = ensemble.history[monitor]
        return [float(curve[-1, r]) if ensemble.finite[r] else float("nan") for r in range(len(points))]

    return objective


def learning_rate_objective(model, x, y, *, name: str = "learning_rate", monitor: str = "val_loss",
                            seed: int = 0, **fit_kwargs):
    """``hyperparameter_objective(model, x, y, {name: "learning_rate"}, ...)``: k learning rates (``params[name]``)
    in one vmapped program. The model must be compiled with a physnn optimiser whose learning rate is a
    number."""
    return hyperparameter_objective(model, x, y, {name: "learning_rate"}, monitor=monitor, seed=seed, **fit_kwargs)


def study_table(study) -> str:
    """The study's finished trials as CSV: number, state, value, then every hyperparameter."""
    names = sorted({k for t in study.trials for k in t.params})
    rows = ["number,state,value," + ",".join(names)]
    for t in study.trials:
        value = "" if t.value is None else repr(float(t.value))
        rows.append(f"{t.number},{t.state.name},{value}," + ",".join(repr(t.params.get(k, "")) for k in names))
    return "\n".join(rows) + "\n"


def study_figure(study, objective_name: str = "objective"):
    """The objective of every completed trial against each hyperparameter (log axes for log ranges), the best
    trial marked: a matplotlib Figure."""
    from matplotlib.figure import Figure

    optuna = _optuna()
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    names = sorted({k for t in done for k in t.params})
    fig = Figure(figsize=(4.2 * max(len(names), 1), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(names), 1)))
    best = study.best_trial if done else None
    for ax, name in zip(axes, names):
        points = [(t.params[name], t.value) for t in done if name in t.params]
        values = [p for p, _ in points]
        ax.plot(values, [v for _, v in points], "o", ms=4, alpha=0.7)
        distribution = done[0].distributions.get(name)
        if getattr(distribution, "log", False):
            ax.set_xscale("log")
        if best is not None and name in best.params:
            ax.plot([best.params[name]], [best.value], "r*", ms=12, label=f"best: {best.params[name]:.3g}"
                    if isinstance(best.params[name], float) else f"best: {best.params[name]}")
            ax.legend(fontsize=8)
        ax.set_xlabel(name)
        ax.set_ylabel(objective_name)
    axes[0].set_title(f"{len(done)} trials of study '{study.study_name}'", fontsize=9)
    return fig
