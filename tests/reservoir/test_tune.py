"""physnn.reservoir.tune: the search's space, scoring on the held-out end of the training data only, both
strategies, reproducibility, and refusals."""

import numpy as np
import pytest

from physnn.reservoir import ESN, tune
from physnn.reservoir.tune import SPACE, _hyperparameters


def _signal(t):
    return np.sin(0.2 * t) + 0.5 * np.sin(0.311 * t)


def _series(T=1200):
    s = _signal(np.arange(T + 1))
    return s[:-1, None], s[1:, None]


def test_the_unit_cube_maps_onto_the_space_with_log_axes_where_declared():
    low, high = _hyperparameters(np.zeros(5)), _hyperparameters(np.ones(5))
    assert low == pytest.approx({k: v[0] for k, v in SPACE.items()})
    assert high == pytest.approx({k: v[1] for k, v in SPACE.items()})
    middle = _hyperparameters(np.full(5, 0.5))
    assert middle["ridge"] == pytest.approx(1e-7) and middle["leak_rate"] == pytest.approx(0.525)
    assert _hyperparameters(np.full(5, 7.0)) == high  # clipped to the cube


@pytest.mark.parametrize("strategy", ["random", "cma_es"])
def test_tune_scores_held_out_free_runs_and_returns_the_best_fitted(strategy):
    u, y = _series()
    esn = tune(u, y, units=40, seed=0, budget_s=60, strategy=strategy, horizon=20, context=50, windows=5,
               max_trials=16)
    trials = esn.tuning["trials"]
    assert len(trials) == 16 and esn.tuning["best"] == min(trials, key=lambda t: t.score)
    assert esn.W_out is not None and esn.units == 40 and esn.ridge == esn.tuning["best"].params["ridge"]
    scores = [t.score for t in trials]
    assert min(scores) < np.median(scores)  # the search separates good settings from bad
    # the chosen ESN, refitted on everything, forecasts the continuation far better than a bad candidate
    worst = max((t for t in trials if np.isfinite(t.score)), key=lambda t: t.score)

    def free_run_error(e):  # f[k] predicts s(1200 + k) from the context s(1150 .. 1199)
        return np.sqrt(np.mean((e.forecast(20, warmup=u[-50:])[:, 0] - _signal(np.arange(1200, 1220))) ** 2))

    bad = ESN(units=40, seed=0, **worst.params).fit(u, y, warmup=50)
    assert free_run_error(esn) < free_run_error(bad)
    again = tune(u, y, units=40, seed=0, budget_s=60, strategy=strategy, horizon=20, context=50, windows=5,
                 max_trials=16)
    assert [t.params for t in again.tuning["trials"]] == [t.params for t in trials]  # the same seed, the same search


def test_tune_without_a_horizon_scores_the_teacher_forced_error_and_refuses_bad_arguments():
    u, y = _series(600)
    esn = tune(u, np.cos(u), units=20, budget_s=60, max_trials=4)  # n_out = n_in not needed
    assert len(esn.tuning["trials"]) == 4
    for bad, match in (({"strategy": "grid"}, "strategy"), ({"budget_s": 0}, "budget_s"),
                       ({"holdout": 0.9}, "holdout"), ({"readout": "cubic"}, "readout"),
                       ({"horizon": 500}, "held-out part")):
        with pytest.raises(ValueError, match=match):
            tune(u, y, units=20, max_trials=2, **bad)
    with pytest.raises(ValueError, match="n_out = n_in"):
        tune(u, np.hstack([y, y]), units=20, horizon=5, max_trials=2)
