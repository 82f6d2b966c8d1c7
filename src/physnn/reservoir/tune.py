"""Hyperparameter search for echo state networks on the training data only.

``tune(u, y, ...)`` holds out the last ``holdout`` fraction of the training series, fits the readout of each
candidate on the rest, and scores it there: with ``horizon=k`` by the closed-loop (free-run) error, the root
mean square over ``windows`` starts spread over the held-out part of the error of k free steps after a
teacher-forced context of ``context`` steps (a one-step-ahead forecaster, y[t] = u[t + 1]); with
``horizon=None`` by the teacher-forced one-step error there. The score is divided by the standard deviation
of y. Searched (the unit cube mapped to)

    leak_rate in [0.05, 1],  spectral_radius in [0.1, 1.5],  input_scaling in [0.01, 2] (log),
    bias_scaling in [0, 1],  ridge in [1e-10, 1e-4] (log),

by ``strategy="random"`` (uniform in the cube), ``"cma_es"`` (``physnn.evolve.cma_es`` from the cube's
centre, sigma 0.3, population 8, members clipped to the cube) or ``"gradient"`` (the random points, each
refined by gradient before it is scored: its input weights, leak rate and spectral radius trained for
``gradient_epochs`` on the held-out one-step error of the ridge readout solved inside the loss,
``ESN(trainable=("input", "leak", "radius"))``, ``physnn.reservoir.gradient``) until ``budget_s`` seconds
have passed. A
candidate whose readout solve is refused (ill-conditioned) or whose free run is not finite scores +inf. The
best is refitted on the whole series. ReservoirPy leaves this search to the user (with hyperopt).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import numpy as np

from physnn import _checks
from physnn.reservoir.esn import ESN, READOUTS, check_series
from physnn.training import TrainingDivergedError

#: name -> (low, high, logarithmic)
SPACE = {"leak_rate": (0.05, 1.0, False), "spectral_radius": (0.1, 1.5, False), "input_scaling": (0.01, 2.0, True),
         "bias_scaling": (0.0, 1.0, False), "ridge": (1e-10, 1e-4, True)}
STRATEGIES = ("random", "cma_es", "gradient")
GRADIENT_TRAINABLE = ("input", "leak", "radius")


class Trial(NamedTuple):
    params: dict
    score: float


def _hyperparameters(point: np.ndarray) -> dict:
    """A point of the unit cube [5] -> the hyperparameters of ``SPACE``."""
    out = {}
    for p, (name, (low, high, log)) in zip(np.clip(point, 0.0, 1.0), SPACE.items()):
        out[name] = float(np.exp(np.log(low) + p * (np.log(high) - np.log(low))) if log else low + p * (high - low))
    return out


def _score(esn: ESN, u, y, split: int, horizon, context: int, windows: int, fit_kwargs: dict) -> float:
    try:
        esn.fit(u[:split], y[:split], warmup=min(context, split // 4), **fit_kwargs)
    except (ValueError, TrainingDivergedError):  # ill-conditioned normal equations; a diverging gradient fit
        return float("inf")
    scale = float(np.std(y)) or 1.0
    if horizon is None:
        esn.reset()
        error = esn.predict(u)[split:] - y[split:]
    else:
        starts = np.linspace(split, len(u) - horizon, windows).round().astype(int)
        contexts = np.stack([u[t - context:t] for t in starts])
        truth = np.stack([u[t:t + horizon] for t in starts])
        error = esn.forecast(horizon, warmup=contexts) - truth
    value = float(np.sqrt(np.mean(error**2)) / scale)
    return value if np.isfinite(value) else float("inf")


def tune(u, y, units: int = 500, seed: int = 0, budget_s: float = 60.0, strategy: str = "random",
         horizon: int | None = None, context: int = 100, windows: int = 20, holdout: float = 0.2,
         readout: str = "linear", density: float = 0.1, layers: int = 1, max_trials: int | None = None,
         gradient_epochs: int = 50,
         learning_rate: float = 0.03) -> ESN:
    """Choose an ESN's leak rate, spectral radius, input and bias scaling and ridge on (u, y) alone (see the
    module docstring) and return it fitted on the whole of (u, y).

    Arguments:
        u, y: the training series [T, n_in], [T, n_out] (as ``ESN.fit``).
        units, seed, readout, density, layers: the reservoir's (fixed during the search).
        budget_s: wall-clock seconds for the search (> 0); ``max_trials`` caps the candidates as well.
        strategy: "random", "cma_es" or "gradient".
        gradient_epochs, learning_rate: the gradient refinement of each candidate (``strategy="gradient"``).
        horizon: free-run steps per held-out window (needs n_out = n_in, y[t] = u[t + 1]); None scores the
            teacher-forced one-step error.
        context: teacher-forced steps before each free run (and the washout of the fits).
        windows: held-out free runs; holdout: the held-out fraction at the end of the series, in (0, 0.5].

    Returns:
        The fitted ESN; ``esn.tuning`` holds ``trials`` (every candidate's hyperparameters — after the gradient
        refinement, for "gradient" — and score, in order), ``best`` (the chosen one) and ``strategy``. The
        "gradient" strategy returns the best candidate itself (its trained W_in kept, ``trainable`` emptied)
        with its readout refitted on the whole series: its ``config`` holds the trained leak rate and spectral
        radius but not W_in, so ``ESN(**esn.config)`` redraws W_in; keep it with ``esn.save``.
    """
    u = check_series(u, "u", "[T, n_in]", what="tune")
    y = check_series(y, "y", "[T, n_out]", what="tune")
    if y.shape[0] != u.shape[0]:
        raise ValueError(f"tune: y must have T = {u.shape[0]} rows like u, got {y.shape}")
    if strategy not in STRATEGIES:
        raise ValueError(f"tune: strategy must be one of {STRATEGIES}, got {strategy!r}")
    if readout not in READOUTS:
        raise ValueError(f"tune: readout must be one of {READOUTS}, got {readout!r}")
    budget_s = _checks.real("budget_s", budget_s, low=0.0)
    if not budget_s > 0:
        raise ValueError(f"tune: budget_s must be > 0, got {budget_s}")
    if not isinstance(holdout, (int, float)) or not 0 < holdout <= 0.5:
        raise ValueError(f"tune: holdout must be in (0, 0.5], got {holdout!r}")
    context, windows = _checks.count("context", context), _checks.count("windows", windows)
    split = int(len(u) * (1 - holdout))
    if horizon is not None:
        horizon = _checks.count("horizon", horizon)
        if u.shape[1] != y.shape[1]:
            raise ValueError(f"tune: horizon={horizon} scores free runs, which need n_out = n_in; got {u.shape[1]} "
                             f"inputs and {y.shape[1]} outputs (use horizon=None)")
        if split < 2 * context or split + context > len(u) - horizon:
            raise ValueError(f"tune: the held-out part ({len(u) - split} steps) must hold a context of {context} "
                             f"and a free run of {horizon} steps, and the rest at least {2 * context} steps")
    cap = None if max_trials is None else _checks.count("max_trials", max_trials)
    gradient_epochs = _checks.count("gradient_epochs", gradient_epochs, 1, _checks.MAX_EPOCHS)
    learning_rate = _checks.real("learning_rate", learning_rate, low=0.0, low_open=True)
    trainable = GRADIENT_TRAINABLE if strategy == "gradient" else ()
    fit_kwargs = {"epochs": gradient_epochs, "learning_rate": learning_rate} if trainable else {}
    refined = {}  # the gradient strategy's best refined ESN so far: {"score": ..., "esn": ...}

    def evaluate(point):
        params = _hyperparameters(np.asarray(point, np.float64))
        esn = ESN(units=units, seed=seed, readout=readout, density=density, layers=layers, trainable=trainable,
                  **params)
        score = _score(esn, u, y, split, horizon, context, windows, fit_kwargs)
        if trainable:
            params = {key: getattr(esn, key) for key in SPACE}  # the values the gradient reached
            if score < refined.get("score", np.inf):
                refined.update(score=score, esn=esn)
        return Trial(params, score)

    trials, start = [], time.perf_counter()

    def more():
        return time.perf_counter() - start < budget_s and (cap is None or len(trials) < cap)

    rng = np.random.default_rng((_checks.seed("seed", seed), 7))
    if strategy in ("random", "gradient"):
        while more():
            trials.append(evaluate(rng.uniform(size=len(SPACE))))
    else:
        from physnn.evolve import cma_es

        cma = cma_es(len(SPACE), popsize=8, sigma=0.3)
        with jax.enable_x64(True):
            key = jax.random.PRNGKey(seed)
            state = cma.init(np.full(len(SPACE), 0.5), key)
            while more():
                key, sub = jax.random.split(key)
                population, state = cma.ask(state, sub)
                scores = []
                for point in np.asarray(population):
                    if not more():
                        break
                    trials.append(evaluate(point))
                    scores.append(trials[-1].score)
                if len(scores) < cma.popsize:
                    break
                state = cma.tell(state, population, np.asarray(scores))
    if not trials or not np.isfinite(min(t.score for t in trials)):
        raise ValueError(f"tune: no candidate could be scored in {budget_s:g} s ({len(trials)} tried); raise budget_s")
    best = min(trials, key=lambda t: t.score)
    if trainable:  # keep the trained reservoir; refit only its readout
        esn = refined["esn"]
        esn.trainable = ()
    else:
        esn = ESN(units=units, seed=seed, readout=readout, density=density, layers=layers, **best.params)
    esn.fit(u, y, warmup=min(context, len(u) // 4))
    esn.tuning = {"trials": trials, "best": best, "strategy": strategy}
    return esn
