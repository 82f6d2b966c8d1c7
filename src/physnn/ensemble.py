"""Replica ensembles: R copies of a model, each independently initialised and trained on its own resampling of
the data, in one vmapped compiled program (the NNPDF way of quoting an uncertainty: mean +- std of the
replicas' predictions).

Every replica runs the model's own compiled epoch (``Module.training_plan``, the epoch ``fit`` runs), vmapped
over the replica axis, inside the one fit loop. Replica r is the model fitted alone with seed
``ensemble.seeds[r]`` on ``replica_data(x, y, r, ...)``, up to floating-point rounding (vmapped arithmetic rounds
differently; over thousands of epochs a chaotic fit can drift apart from its solo run in float32, as two solo runs
on different machines can); each has its own optimiser state, data and
early-stopping bookkeeping, and a replica whose loss turns non-finite stops alone, keeping its last finite
parameters, and is left out of the ensemble's predictions.

Resampling (replica r draws from ``numpy.random.default_rng((seed, r))``):

* ``"bootstrap"``: n samples drawn with replacement from the n training samples (Efron 1979);
* ``"pseudodata"``: the NNPDF Monte Carlo replica y_r = y + sigma eps, eps ~ N(0, 1) per point, sigma the
  measurement errors (a number or an array broadcastable to y);
* ``None``: the same data for every replica (only the initialisation and the shuffling differ).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.callbacks import Callback, EarlyStopping, ProgressBar
from physnn.hyperparameters import bound, check_binding, check_values
from physnn.schedulers import set_lr_scale
from physnn.training import fit_loop, flat_jit

RESAMPLINGS = ("bootstrap", "pseudodata", None)


def replica_data(x, y, r: int, resample="bootstrap", sigma=None, seed: int = 0):
    """The training data of replica r: (x_r, y_r) as NumPy arrays of the shapes of x and y (see the module's
    docstring for the resamplings)."""
    if resample not in RESAMPLINGS:
        raise ValueError(f"resample must be one of {RESAMPLINGS}, got {resample!r}")
    x, y = np.asarray(x), np.asarray(y)
    rng = np.random.default_rng((_checks.seed("seed", seed), _checks.count("r", r, 0)))
    if resample == "bootstrap":
        rows = rng.integers(0, len(x), len(x))
        return x[rows], y[rows]
    if resample == "pseudodata":
        if sigma is None:
            raise ValueError("resample='pseudodata' needs sigma, the measurement errors of y (a number or an array "
                             "broadcastable to y)")
        sigma = np.asarray(sigma, np.float64)
        if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
            raise ValueError("sigma must hold finite numbers >= 0")
        try:
            noise = sigma * rng.standard_normal(y.shape)
        except ValueError:
            raise ValueError(f"sigma of shape {sigma.shape} does not broadcast to y's shape {y.shape}") from None
        return x, (y + noise).astype(y.dtype)
    return x, y


class Ensemble:
    """The trained replicas of one model.

    Attributes:
        model: the template model (its own parameters are untouched).
        params: every replica's parameters, stacked on a leading axis of size R.
        seeds: [R] replica r's seed (its initialisation and shuffling).
        finite: [R] False for replicas whose loss turned non-finite (left out of ``predict``).
        stopped_epoch: [R] the epoch after which early stopping stopped each replica (-1: ran to the end).
        history: name -> [epochs run, R] per-replica logs (nan after a replica stopped).
        hyperparameters: name -> [R] each replica's values of the traced hyperparameters (``fit_replicas``'s
            ``hyperparameters``), which its predictions use too (a reservoir's leak rate acts at inference).
    """

    def __init__(self, model, params, seeds, finite, stopped_epoch, history, binding=None, hyperparameters=None):
        self.model, self.params, self.seeds = model, params, np.asarray(seeds)
        self.finite, self.stopped_epoch, self.history = np.asarray(finite), np.asarray(stopped_epoch), history
        self.hyperparameters = {k: np.asarray(v) for k, v in (hyperparameters or {}).items()}
        binding = binding or {}

        def member(p, hyper, x):
            with bound(binding, hyper):
                return model.forward(p, {}, x, None, False)[0]

        self._members = jax.jit(jax.vmap(member, in_axes=(0, 0, None)))

    def __len__(self) -> int:
        return len(self.seeds)

    def members(self, x) -> np.ndarray:
        """Every replica's prediction for inputs x [n, *input_shape]: [R, n, *output_shape]."""
        dtype = jax.tree_util.tree_leaves(self.params)[0].dtype
        hyper = {k: jnp.asarray(v, dtype) for k, v in self.hyperparameters.items()}
        return np.asarray(self._members(self.params, hyper, jnp.asarray(np.asarray(x), dtype)))

    def predict(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) over the finite replicas of their predictions for x: two arrays [n, *output_shape]; std
        with 1 / (R - 1) (the replicas' sample standard deviation, NNPDF's uncertainty)."""
        members = self.members(x)[self.finite]
        if len(members) == 0:
            raise ValueError("no replica finished with finite parameters")
        return members.mean(axis=0), members.std(axis=0, ddof=1 if len(members) > 1 else 0)


class _StopWhenAllStopped(Callback):
    reads_logs_only = True  # (the fit loop may queue the next epoch before it runs)

    def on_epoch_end(self, epoch, logs):
        if logs["active_replicas"] == 0:
            self.model.stop_training = True


def _hyperparameters(hyperparameters, replicas: int):
    """``{name: (owner, attribute, values)}`` -> (the binding {name: (owner, attribute)}, {name: values [R]})."""
    if not hyperparameters:
        return {}, {}
    if not isinstance(hyperparameters, dict):
        raise ValueError("hyperparameters must be a dict {name: (owner, attribute, values)}, got "
                         f"{hyperparameters!r}")
    binding, values = {}, {}
    for name, spec in hyperparameters.items():
        if not (isinstance(spec, tuple) and len(spec) == 3):
            raise ValueError(f"hyperparameters[{name!r}] must be (owner, attribute, values), got {spec!r}")
        binding[name] = spec[:2]
        v = np.asarray(spec[2], np.float64)
        if v.shape != (replicas,) or not np.all(np.isfinite(v)):
            raise ValueError(f"hyperparameters[{name!r}]: values must be {replicas} finite numbers (one per replica), "
                             f"got shape {v.shape}")
        values[name] = v
    binding = check_binding(binding)
    check_values(binding, values)
    return binding, values


def fit_replicas(model, x, y, replicas: int = 100, resample="bootstrap", sigma=None, seed: int = 0,
                 early_stopping: EarlyStopping | None = None, epochs: int = 1, batch_size=None,
                 validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
                 learning_rate_scales=None, hyperparameters=None, verbose: int = 0) -> Ensemble:
    """Train ``replicas`` copies of the compiled ``model`` together, each from its own initialisation (seed
    ``seed + r``) on its own resampled data, in one vmapped program per epoch.

    Arguments:
        model: a compiled physnn model (Sequential, functional or subclassed; no stateful layers).
        x, y: the training data [n, ...].
        replicas: R >= 1.
        resample: "bootstrap", "pseudodata" (needs ``sigma``) or None (see the module's docstring).
        sigma: the measurement errors of y for "pseudodata".
        seed: replica r has seed ``seed + r`` and data ``replica_data(x, y, r, resample, sigma, seed)``.
        early_stopping: an ``EarlyStopping`` callback applied to each replica on its own (monitor, patience,
            min_delta, restore_best_weights as in ``fit``).
        epochs, batch_size, validation_split, validation_data, shuffle: as in ``fit``, for every replica
            (``validation_split`` holds out the last fraction of each replica's data).
        learning_rate_scales: None, or R factors > 0: replica r trains with the compiled optimiser's learning
            rate times factor r (the optimiser state's ``scale``, as ReduceLROnPlateau sets it): R learning
            rates in one program (``physnn.sweep`` evaluates learning-rate trials this way).
        hyperparameters: None, or ``{name: (owner, attribute, values)}`` with R numbers ``values``: replica r
            trains with ``owner.attribute = values[r]`` — a dropout layer's ``rate``, a regulariser's ``l2``,
            a ``Reservoir``'s ``leak_rate``, a ``RidgeReadoutLoss``'s ``ridge``, any attribute read through
            ``physnn.hyperparameters`` — traced into the one program (``Module.traced_hyperparameters``).
        verbose: 1 for a progress bar.

    Returns:
        An ``Ensemble``; ``ensemble.predict(x)`` gives (mean, std).
    """
    replicas = _checks.count("replicas", replicas, 1, 100_000)
    seed = _checks.seed("seed", seed)
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise ValueError(f"early_stopping must be None or a physnn.callbacks.EarlyStopping, got {early_stopping!r}")
    if getattr(model, "loss", None) is None:
        raise ValueError("compile the model before fit_replicas (its optimiser and loss are every replica's)")
    x_np, y_np = np.asarray(x), np.asarray(y)
    seeds = [(seed + r) % 2**31 for r in range(replicas)]
    binding, values = _hyperparameters(hyperparameters, replicas)
    plans = []
    with model.traced_hyperparameters(binding):  # (the epoch program is built with the binding)
        for r in range(replicas):
            x_r, y_r = replica_data(x_np, y_np, r, resample, sigma, seed)
            plans.append(model.training_plan(x_r, y_r, epochs, batch_size, validation_split, validation_data,
                                             shuffle, seeds[r]))
    if model.state:
        raise ValueError("fit_replicas does not take models with stateful layers (their state is per batch)")
    run, has_val = plans[0].run, plans[0].x_val is not None

    def stack(*arrays):  # on the host, then one transfer: no eager device program per array shape
        return np.stack([np.asarray(a) for a in arrays])

    data = jax.device_put(jax.tree_util.tree_map(stack, *[(p.x, p.y, p.x_val, p.y_val) for p in plans]))
    run_seeds = jnp.asarray([p.seed for p in plans])
    initial = jax.device_put(jax.tree_util.tree_map(stack, *[model.initial_params(s) for s in seeds]))
    carry = flat_jit(jax.vmap(plans[0].start))(initial)  # every replica's optimiser state in one program
    if learning_rate_scales is not None:
        scales = np.asarray(learning_rate_scales, np.float64)
        if scales.shape != (replicas,) or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(f"learning_rate_scales must be {replicas} finite numbers > 0, got shape {scales.shape}")
        carry = carry._replace(opt_state=set_lr_scale(carry.opt_state, scales))
    if values:
        dtype = jax.tree_util.tree_leaves(carry.params)[0].dtype
        carry = carry._replace(hyper={name: jnp.asarray(v, dtype) for name, v in values.items()})

    es = early_stopping
    monitor = es.monitor if es else "loss"
    sign = es.sign if es else -1.0
    patience = max(es.patience, 1) if es else 0
    min_delta = es.min_delta if es else 0.0
    restore = bool(es and es.restore_best_weights)
    R = replicas

    replica_epoch = jax.vmap(run, in_axes=(0, 0, 0, 0, 0, 0, None))
    log_names = jax.eval_shape(replica_epoch, carry, *data, run_seeds, 0)[1].keys()
    if monitor not in log_names:
        raise ValueError(f"early_stopping monitors {monitor!r}, which is not logged; logged quantities are "
                         f"{sorted(log_names)} (val_* needs validation data)")

    def where(mask, new, old):
        return jax.tree_util.tree_map(
            lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b), new, old)

    @jax.jit  # (not donating the book: the fit loop may queue the next epoch on a book it still returns)
    def ensemble_epoch(book, data, run_seeds, epoch):
        new, logs = replica_epoch(book["carry"], *data, run_seeds, epoch)
        finite = jnp.all(jnp.stack([jnp.isfinite(v) for v in logs.values()]), axis=0)
        moving = book["active"] & finite
        carry = where(moving, new, book["carry"])
        score = sign * logs[monitor]
        improved = moving & (score > book["best"] + min_delta)
        wait = jnp.where(improved, 0, book["wait"] + moving)
        stop = moving & ~improved & (wait >= patience) if es else jnp.zeros(R, bool)
        history = {k: book["history"][k].at[epoch].set(jnp.where(moving, v, jnp.nan)) for k, v in logs.items()}
        book = {"carry": carry, "active": moving & ~stop, "finite": book["finite"] & (finite | ~book["active"]),
                "best": jnp.where(improved, score, book["best"]), "wait": wait,
                "best_params": where(improved, carry.params, book["best_params"]) if restore else None,
                "stopped": jnp.where(stop, epoch, book["stopped"]), "history": history}
        def moving_mean(v):  # the mean over the replicas that trained this epoch
            return jnp.sum(jnp.where(moving, v, 0.0)) / jnp.maximum(jnp.sum(moving), 1)

        summary = {"loss": moving_mean(logs["loss"]), "active_replicas": jnp.sum(book["active"])}
        if has_val:
            summary["val_loss"] = moving_mean(logs["val_loss"])
        return book, summary

    dtype = jax.tree_util.tree_leaves(carry.params)[0].dtype
    book = {"carry": carry, "active": jnp.ones(R, bool), "finite": jnp.ones(R, bool),
            "best": jnp.full(R, -jnp.inf, dtype), "wait": jnp.zeros(R, jnp.int32),
            "best_params": carry.params if restore else None, "stopped": jnp.full(R, -1, jnp.int32),
            "history": {k: jnp.full((epochs, R), jnp.nan, dtype) for k in log_names}}
    holder = type("Replicas", (), {"stop_training": False})()
    callbacks = [_StopWhenAllStopped()] + ([ProgressBar(epochs, f"{model.name} x {R}")] if verbose else [])
    result = {}

    def set_book(b):
        result["book"] = b

    fit_loop(lambda b, epoch: ensemble_epoch(b, data, run_seeds, epoch), get_carry=lambda: result.get("book", book),
             set_carry=set_book, model=holder, epochs=epochs, callbacks=callbacks,
             hint=" (every replica's loss is non-finite)")
    book = result["book"]
    params = book["best_params"] if restore else book["carry"].params
    history = {k: np.asarray(v) for k, v in book["history"].items()}
    ran = int(np.max(np.nonzero(np.any(np.isfinite(history["loss"]), axis=1))[0], initial=-1)) + 1
    return Ensemble(model, params, seeds, np.asarray(book["finite"]), np.asarray(book["stopped"]),
                    {k: v[:ran] for k, v in history.items()}, binding, values)
