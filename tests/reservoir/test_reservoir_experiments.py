"""The reservoir experiments of the tour: registered, quick runs meet measured thresholds."""

import math

import numpy as np
import pytest
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
    for name in ("esn_mackey_glass", "esn_laser", "esn_lorenz", "esn_oscillator"):
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


def test_esn_lorenz_quick_forecasts_several_lyapunov_times():
    m = _run("esn_lorenz")
    assert m["units"] == 500 and m["vpt_median"] >= 5.0  # measured 10.0 (min 7.3 over the 20 starts)


@pytest.mark.slow
def test_esn_lorenz_meets_the_issue_target_at_1000_units():
    """Issue target: valid prediction time (normalised error < 0.4) >= 5 Lyapunov times at N = 1000 (measured
    median 10.4, every one of the 20 starts >= 7.3)."""
    m = get_experiment("esn_lorenz")(seed=0).metrics
    assert m["units"] == 1000 and m["vpt_median"] >= 5.0 and m["vpt_min"] >= 5.0


def test_valid_prediction_time_counts_the_steps_before_the_error_crosses_the_threshold():
    from physnn.experiments.reservoir import LYAPUNOV_EXPONENT, valid_prediction_time

    truth = np.zeros((2, 10, 3))
    forecast = truth.copy()
    forecast[0, 4:, 0] = 1.0  # crosses 0.4 at step index 4: 4 valid steps
    forecast[1, :, 0] = 0.3  # never crosses
    times = valid_prediction_time(forecast, truth, scale=2.0, dt=0.5, threshold=0.4)
    np.testing.assert_allclose(times, [4 * 0.5 * LYAPUNOV_EXPONENT, 10 * 0.5 * LYAPUNOV_EXPONENT])


def test_esn_oscillator_forecast_meets_the_issue_target():
    m = _run("esn_oscillator")
    assert m["esn_relative_rmse"] <= 0.01  # issue target 1 %; measured 0.08 % (the RNN presets: 9.6-11.8 %)
