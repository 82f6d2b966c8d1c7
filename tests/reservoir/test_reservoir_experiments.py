"""The reservoir experiments of the tour: registered, quick runs meet measured thresholds."""

import math

from matplotlib.figure import Figure

from physnn.experiments import all_experiments, get_experiment


def _run(name):
    result = get_experiment(name)(seed=0, quick=True)
    assert result.headline in result.metrics
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in result.metrics.values())
    assert result.figures and all(isinstance(f, Figure) for f in result.figures.values())
    return result.metrics


def test_registered_with_descriptions():
    experiments = all_experiments()
    for name in ("esn_mackey_glass", "esn_laser"):
        assert len(experiments[name].description) > 20


def test_esn_mackey_glass_quick_j84():
    m = _run("esn_mackey_glass")
    assert m["nrmse84"] < 3e-4  # measured 1.3e-4 (seed 0, 500 units, quadratic readout; linear 2.9e-4)
    assert m["nrmse1"] < m["nrmse84"]


def test_esn_laser_quick():
    m = _run("esn_laser")
    assert m["nrmse_one_step"] < 0.2  # measured 0.11 (300 units)
    assert m["median_error_free_run_10"] < 0.15  # measured 0.047
    assert m["fraction_within_half_std_at_20"] >= 0.6  # measured 0.84
