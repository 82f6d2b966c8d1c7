"""The gradient-free experiments of the tour (pendulum, evolve_gates, evolve_spectrum, evolve_digits): registered,
quick runs meet the issue's targets, same seed gives the same numbers."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from physnn.evolve import pendulum as P
from physnn.experiments import all_experiments, evolution, get_experiment


def _run(name, **kwargs):
    result = get_experiment(name)(**{"seed": 0, "quick": True, **kwargs})
    assert result.headline in result.metrics
    assert all(isinstance(v, (int, float)) for v in result.metrics.values())
    assert result.figures and all(isinstance(f, Figure) for f in result.figures.values())
    return result


def test_registered_with_descriptions():
    experiments = all_experiments()
    for name in ("pendulum", "evolve_gates", "evolve_spectrum", "evolve_digits"):
        assert len(experiments[name].description) > 20


def test_pendulum_quick_swings_up_and_holds_for_3_of_3_seeds():
    m = _run("pendulum").metrics
    # measured (seeds 0-2, 300 generations): worst |theta| over the last 5 s 0.012-0.020 rad, returns 3.48-3.63,
    # upright to stay after 4.3-4.6 s
    assert m["held_seeds"] == 3 and m["seeds"] == 3
    assert m["worst_angle_last_half"] < 0.1
    for s in range(3):
        assert 3.0 < m[f"return_seed{s}"] < m["max_return"]
        assert m[f"settle_time_seed{s}"] < 5.0


def test_pendulum_training_same_seed_same_numbers():
    runs = [P.train(s, generations=20) for s in (4, 4, 5)]
    np.testing.assert_array_equal(runs[0].result.history["best"], runs[1].result.history["best"])
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    assert not np.array_equal(runs[0].result.history["best"], runs[2].result.history["best"])


@pytest.mark.slow
def test_pendulum_full_setting_holds_for_3_of_3_seeds():
    m = _run("pendulum", quick=False).metrics  # 600 generations; measured worst 0.003 rad (seeds 0-2)
    assert m["held_seeds"] == 3 and m["worst_angle_last_half"] < 0.1


def test_evolve_gates_quick_every_gate_for_5_of_5_seeds():
    result = _run("evolve_gates")
    m = result.metrics
    assert m["seeds"] == 5 and m["seeds_all_gates_100"] == 5
    assert m["xor_acc_min"] == m["and_acc_min"] == m["or_acc_min"] == 1.0
    assert max(m["xor_loss_max"], m["and_loss_max"], m["or_loss_max"]) < 0.1  # measured < 1e-6
    again = get_experiment("evolve_gates")(seed=0, quick=True)  # same seed, same numbers (programs reused)
    assert again.tables == result.tables


def test_evolve_gates_no_hidden_layer_cannot_learn_xor_by_ga_either():
    """The control: the same search on logistic regression (hidden layer removed) stays at <= 3 of 4 XOR points."""
    from physnn import evolve

    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(2,)).astype(np.float32), "b": np.zeros((), np.float32)}

    def loss(p):
        import jax.numpy as jnp

        q = jnp.clip(1 / (1 + jnp.exp(-(evolution.X @ p["W"] + p["b"]))), 1e-7, 1 - 1e-7)
        t = evolution.GATES["XOR"].astype(np.float32)
        return -jnp.mean(t * jnp.log(q) + (1 - t) * jnp.log(1 - q))

    r = evolve.minimize(loss, params, generations=150, seed=0, **evolution.GATE_SETTINGS)
    assert r.loss > 0.6  # ln 2 = 0.693 is the best a straight line does on XOR's cross-entropy


def test_evolve_spectrum_quick_every_parameter_within_one_sigma_of_scipy():
    m = _run("evolve_spectrum").metrics
    # measured (seed 0): pulls f -0.18, mu -0.07, s -0.38; scipy's errors 0.015, 0.033, 0.029
    assert m["scipy_converged"] == 1.0
    assert m["max_abs_pull"] < 1.0
    for name in evolution.NAMES:
        assert abs(m[f"pull_{name}"]) < 1.0
        assert abs(m[f"scipy_{name}"] - m[f"true_{name}"]) < 4 * m[f"scipy_err_{name}"]
    assert 0.005 < m["scipy_err_f"] < 0.03 and 0.01 < m["scipy_err_mu"] < 0.06


def test_cma_es_reaches_the_binned_likelihood_minimum():
    """CMA-ES's point has a binned -ln L no higher than scipy's (the unbinned optimum) and the truth."""
    x = evolution.generate_events(1)
    counts, edges = np.histogram(x, evolution.BINS, (evolution.LOW, evolution.HIGH))
    assert counts.sum() == evolution.EVENTS
    nll = evolution.binned_nll(counts, edges)
    m = get_experiment("evolve_spectrum")(seed=1, quick=True).metrics
    cma = np.array([m[f"cma_{n}"] for n in evolution.NAMES], np.float32)
    ml = np.array([m[f"scipy_{n}"] for n in evolution.NAMES], np.float32)
    assert float(nll(cma)) <= float(nll(ml)) + 1e-3
    assert float(nll(cma)) < float(nll(np.asarray(evolution.TRUE_SPECTRUM, np.float32)))
    assert m["max_abs_pull"] < 1.0
    assert math.isnan(float(nll(np.array([1.5, 5.0, 1.0], np.float32))))  # outside 0 < f < 1: ranks last


def test_spectrum_events_same_seed_same_numbers():
    np.testing.assert_array_equal(evolution.generate_events(3), evolution.generate_events(3))
    assert not np.array_equal(evolution.generate_events(3), evolution.generate_events(4))
    x = evolution.generate_events(3)
    assert x.min() >= evolution.LOW and x.max() < evolution.HIGH


@pytest.mark.parametrize("call, argument", [
    (lambda: get_experiment("pendulum")(seed=-1, quick=True), "seed"),
    (lambda: get_experiment("evolve_gates")(seed=1.5, quick=True), "seed"),
    (lambda: get_experiment("evolve_spectrum")(seed=-3, quick=True), "seed"),
    (lambda: get_experiment("evolve_digits")(seed=-1, quick=True), "seed"),
    (lambda: get_experiment("evolve_digits")(seed=0, quick=True, epochs=0), "epochs"),
    (lambda: evolution.generate_events(0, n=0), "n"),
    (lambda: evolution.generate_events(0, truth=(1.5, 6.0, 0.5)), "truth"),
    (lambda: P.upright_hold(np.zeros(10), tolerance=0.0), "tolerance"),
    (lambda: P.upright_hold(np.zeros((2, 10))), "theta"),
])
def test_bad_arguments_raise_value_errors_naming_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_evolve_digits_split_is_the_issues():
    x_train, x_test, y_train, y_test = evolution.digits_split()
    assert x_train.shape == (1347, 64) and x_test.shape == (450, 64)
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y_test), np.bincount(evolution.digits_split()[3]))
    counts_train, counts_test = np.bincount(y_train), np.bincount(y_test)
    assert np.all(np.abs(counts_test / counts_train - 1 / 3) < 0.02)  # stratified 75/25


@pytest.mark.slow
def test_evolve_digits_full_meets_the_targets():
    """The issue's targets: OpenAI-ES (population 256) >= 0.97 test accuracy, the genetic algorithm >= 0.90."""
    m = _run("evolve_digits", quick=False).metrics
    # measured (seed 0): OpenAI-ES 0.973 (0.97 first at generation 66 of 200), GA 0.940 (600 generations)
    assert m["openai_es_test_accuracy"] >= 0.97
    assert m["ga_test_accuracy"] >= 0.90
    assert m["openai_es_generations_to_97"] <= 200
