"""The physics experiments: registered, and their quick runs meet the thresholds (measured values in comments)."""

import math

from matplotlib.figure import Figure

from physnn.experiments import all_experiments, get_experiment
from physnn.experiments.registry import Result

NAMES = ["ode_trial", "ode_extrapolation", "hybrid", "projectile", "spring", "wavefunction"]


def run(name, **kwargs) -> dict:
    result = get_experiment(name)(seed=0, quick=True, **kwargs)
    assert isinstance(result, Result) and result.headline in result.metrics
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.metrics.values()), result.metrics
    assert result.figures and all(isinstance(f, Figure) for f in result.figures.values())
    return result.metrics


def test_registered_with_descriptions():
    experiments = all_experiments()
    for name in NAMES:
        assert name in experiments and len(experiments[name].description) > 20


def test_ode_trial():
    m = run("ode_trial")
    assert m["max_error_worst"] <= 1e-3  # measured 1.0e-5
    assert m["max_error_oscillator"] <= 2e-3  # measured 9.2e-5


def test_ode_extrapolation_both_fail_outside_the_training_range():
    m = run("ode_extrapolation")
    for problem in ("2x", "x2", "x2_2x"):
        assert m[f"trial_inside_{problem}"] <= 1e-3  # measured <= 1.0e-5
        assert m[f"supervised_inside_{problem}"] <= 1e-2  # measured <= 1.4e-3
        for kind in ("trial", "supervised"):  # measured: outside / inside >= 3e4
            assert m[f"{kind}_outside_{problem}"] > 100 * m[f"{kind}_inside_{problem}"]


def test_hybrid_beats_the_network_alone():
    m = run("hybrid")
    assert m["improvement"] > 3  # measured 5.9 (geometric mean of network / hybrid error over 3 data sets)
    assert m["improvement_min"] > 1.5  # measured 3.3
    assert m["hybrid_rmse"] < m["physics_rmse"] / 3  # measured 0.027 vs 0.185


def test_projectile():
    m = run("projectile")
    assert m["g_rel_error"] < 0.01 and m["v0_rel_error"] < 0.01  # measured 0.0023, 0.0021
    assert m["distance_to_least_squares"] < 1e-6


def test_spring():
    m = run("spring")
    assert m["k_rel_error"] < 0.02 and m["m_rel_error"] < 0.02  # measured 0.0039, 0.0040
    assert m["k_rel_error_known_mass"] < 0.01  # measured 6.5e-5
    assert m["omega2_rel_error"] < 1e-3 and m["energy_rel_error"] < 0.01


def test_wavefunction_l2_and_the_normalisation_term_each_lower_the_held_out_error():
    m = run("wavefunction")
    assert m["l2_improvement_pct"] > 20  # measured (quick, 3 data sets): 46.8 %
    assert m["norm_improvement_pct"] > 20  # measured 40.9 %
    assert m["l2_rmse"] < m["plain_rmse"] and m["norm_rmse"] < m["plain_rmse"]
