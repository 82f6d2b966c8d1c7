"""The first course experiments (gates, digits, eos, iris): registered, quick runs meet their thresholds.

The full runs (the README's numbers) are the slow tests at the end.
"""

import math

import pytest
from matplotlib.figure import Figure

from physnn.experiments import all_experiments, get_experiment
from physnn.experiments.registry import Result

NAMES = ["gates", "digits", "iris", "eos"]


def run(name, **kwargs) -> Result:
    result = get_experiment(name)(**kwargs)
    assert isinstance(result, Result)
    assert result.headline in result.metrics
    for value in result.metrics.values():
        assert isinstance(value, (int, float)) and math.isfinite(value), result.metrics
    assert result.figures and all(isinstance(f, Figure) for f in result.figures.values())
    for text in result.tables.values():
        header, *rows = text.strip().splitlines()
        assert rows and all(row.count(",") == header.count(",") for row in rows)
    return result


def test_registered_in_tour_order_with_descriptions():
    experiments = all_experiments()
    assert [n for n in experiments if n in NAMES] == NAMES
    for name in NAMES:
        assert len(experiments[name].description) > 20


def test_gates_quick_xor_needs_a_hidden_layer():
    m = run("gates", seed=0, quick=True).metrics
    assert m["xor_logreg_acc"] <= 0.75  # a line separates at most 3 of the 4 XOR points
    assert m["xor_hidden_acc"] == 1.0
    for gate in ("and", "or"):
        assert m[f"{gate}_logreg_acc"] == 1.0 and m[f"{gate}_hidden_acc"] == 1.0


def test_gates_epochs_override_changes_training():
    few = run("gates", seed=0, epochs=3).metrics
    assert few["xor_hidden_acc"] < 1.0  # three Adam steps cannot learn XOR


def test_digits_quick():
    m = run("digits", seed=0, quick=True).metrics
    assert m["test_accuracy"] >= 0.95
    assert m["train_accuracy"] >= m["test_accuracy"] - 0.02
    assert m["epochs"] == 15


def test_eos_quick():
    m = run("eos", seed=0, quick=True).metrics
    assert m["r2_test"] >= 0.99
    assert m["rmse_test"] < 60  # MeV, on energies up to ~3000 MeV


def test_iris_quick():
    m = run("iris", seed=0, quick=True).metrics
    assert m["test_accuracy"] >= 0.85
    assert m["epochs"] == 200  # quick runs the whole example: it takes a fraction of a second


@pytest.mark.slow
@pytest.mark.parametrize("name, metric, threshold", [
    ("digits", "test_accuracy", 0.96),
    ("eos", "r2_test", 0.999),
    ("iris", "test_accuracy", 0.93),
    ("gates", "xor_hidden_acc", 1.0),
])
def test_full_runs_meet_the_readme_thresholds(name, metric, threshold):
    assert run(name, seed=0).metrics[metric] >= threshold
