"""Deep (stacked) reservoirs against a hand NumPy loop, and reservoirs trained by gradient with the ridge readout
solved inside the loss: the loss against NumPy, its gradient against finite differences, learning, tune."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from esn_helpers import forecast_by_hand, signal

from physnn.datasets import mackey_glass_t17
from physnn.reservoir import ESN, Reservoir, RidgeReadoutLoss, load_esn, tune
from physnn.reservoir.layer import matrix_keys


def _hand_deep_states(Ws, W_ins, a, u):
    """x_1(t) from u(t), x_l(t) from x_{l-1}(t), each x_l = (1 - a) x_l + a tanh(W_in,l [1; input] + W_l x_l)."""
    xs = [np.zeros(W.shape[0]) for W in Ws]
    out = []
    for u_t in u:
        below = u_t
        for layer, (W, W_in) in enumerate(zip(Ws, W_ins)):
            xs[layer] = (1 - a) * xs[layer] + a * np.tanh(W_in @ np.concatenate([[1.0], below]) + W @ xs[layer])
            below = xs[layer]
        out.append(np.concatenate(xs))
    return np.array(out)


def _deep(**kw):
    return ESN(**{"units": 10, "layers": 3, "density": 0.5, "leak_rate": 0.6, "spectral_radius": 0.9,
                  "ridge": 1e-6, **kw})


def test_deep_reservoir_states_equal_a_hand_numpy_loop_and_its_first_layer_is_the_one_layer_esn():
    u = signal(120)
    esn = _deep().build(1)
    assert len(esn.Ws) == 3 and esn.W_ins[1].shape == (10, 11) and esn.W_in.shape == (10, 2)
    states = esn.states(u)
    assert states.shape == (120, 30)
    np.testing.assert_allclose(states, _hand_deep_states(esn.Ws, esn.W_ins, 0.6, u), rtol=0, atol=1e-10)
    one = _deep(layers=1).build(1)
    np.testing.assert_array_equal(one.W, esn.W)
    np.testing.assert_allclose(one.states(u), states[:, :10], rtol=0, atol=1e-12)
    assert not np.allclose(esn.Ws[1], esn.Ws[0][:10, :10])  # every layer its own matrices


def test_deep_readout_sees_every_layer_and_forecast_equals_repeated_predict(tmp_path):
    s = signal()
    esn = _deep().fit(s[:300], s[1:301], warmup=20)
    assert esn.W_out.shape == (1, 1 + 1 + 30)
    Z = np.concatenate([np.ones((280, 1)), s[20:300], _hand_deep_states(esn.Ws, esn.W_ins, 0.6, s[:300])[20:]], 1)
    closed = np.linalg.solve(Z.T @ Z + 1e-6 * np.eye(32), Z.T @ s[21:301])
    np.testing.assert_allclose(Z @ esn.W_out.T, Z @ closed, rtol=0, atol=1e-7)  # (W_out itself: ill-conditioned)
    context = s[300:350]
    f = esn.forecast(10, warmup=context)
    by_hand, y = forecast_by_hand(esn, context, 10)
    np.testing.assert_allclose(f, by_hand, rtol=0, atol=1e-10)
    loaded = load_esn(esn.save(tmp_path / "deep"))
    assert loaded.layers == 3
    np.testing.assert_array_equal(loaded.forecast(10, warmup=context), f)


def test_deep_reservoir_layer_equals_the_deep_esn_states():
    u = np.random.default_rng(6).normal(size=(2, 25, 2))
    layer = Reservoir(8, leak_rate=0.4, density=0.5, layers=2, seed=5)
    esn = ESN(units=8, leak_rate=0.4, density=0.5, layers=2, seed=5).build(2)
    with jax.enable_x64(True):
        params = layer.init(np.random.default_rng(0), (25, 2))
        assert sorted(params) == ["W", "W_1", "W_in", "W_in_1"] and layer.output_shape((25, 2)) == (25, 16)
        states = np.asarray(layer.apply(params, u))
    for b in range(2):
        np.testing.assert_allclose(states[b], esn.reset().states(u[b]), rtol=0, atol=1e-10)
    assert layer.non_trainable_keys == ("W", "W_1", "W_in", "W_in_1")
    assert matrix_keys(3)[2] == ("W_2", "W_in_2")


def test_ridge_readout_loss_equals_numpy_held_out_error():
    rng = np.random.default_rng(1)
    x, states, y = rng.normal(size=(2, 60, 2)), rng.normal(size=(2, 60, 7)), rng.normal(size=(2, 60, 1))
    loss = RidgeReadoutLoss(ridge=1e-3, warmup=5, split=40, quadratic=True)
    with jax.enable_x64(True):
        value = float(loss(jnp.asarray(y), jnp.asarray(states), x=jnp.asarray(x)))
    Z = np.concatenate([np.ones((2, 60, 1)), x, states, states**2], -1)
    fit, held = Z[:, 5:40].reshape(-1, 17), Z[:, 40:].reshape(-1, 17)
    W = np.linalg.solve(fit.T @ fit + 1e-3 * np.eye(17), fit.T @ y[:, 5:40].reshape(-1, 1))
    target = y[:, 40:].reshape(-1, 1)
    assert value == pytest.approx(np.mean((held @ W - target) ** 2) / np.var(target), rel=1e-10)
    with pytest.raises(ValueError, match="split"):
        RidgeReadoutLoss(1e-3, warmup=10, split=5)


def test_the_loss_gradient_through_the_solve_and_the_unrolled_reservoir_matches_finite_differences():
    s = signal(160)
    layer = Reservoir(12, leak_rate=0.5, spectral_radius=0.9, density=0.5, train=("input", "leak", "radius"),
                      seed=2)
    loss = RidgeReadoutLoss(ridge=1e-6, warmup=10, split=110)
    with jax.enable_x64(True):
        params = {k: jnp.asarray(v) for k, v in layer.init(np.random.default_rng(0), (159, 1)).items()}
        u, y = jnp.asarray(s[None, :-1]), jnp.asarray(s[None, 1:])

        def objective(p):
            return loss(y, layer.apply(p, u), x=u)

        grads = jax.grad(objective)(params)
        for key, index in (("leak_logit", ()), ("log_radius", ()), ("W_in", (3, 1)), ("W_in", (7, 0))):
            h = 1e-4  # (smaller steps drown in the rounding of the solve: 1e-6 gives 7e-5 relative noise)
            plus = {**params, key: params[key].at[index].add(h)}
            minus = {**params, key: params[key].at[index].add(-h)}
            numeric = (objective(plus) - objective(minus)) / (2 * h)
            assert float(grads[key][index]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-10), key


def test_gradient_training_of_leak_radius_and_input_cuts_the_held_out_error():
    s = mackey_glass_t17()[:1400, None]
    start = {"units": 60, "leak_rate": 0.05, "spectral_radius": 0.3, "ridge": 1e-8, "seed": 0}
    plain = ESN(**start).fit(s[:1200], s[1:1201], warmup=50)
    trained = ESN(**start, trainable=("input", "leak", "radius")).fit(s[:1200], s[1:1201], warmup=50, epochs=40,
                                                                      learning_rate=0.05)
    history = trained.training_loss
    assert history.shape == (40,) and history[-1] < 0.1 * history[0]  # (measured: 1.4e-3 -> 3.1e-5)
    assert trained.leak_rate != 0.05 and trained.spectral_radius != 0.3 and trained.trainable == (
        "input", "leak", "radius")
    assert not np.allclose(trained.W_in, plain.W_in)
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(trained.W))), trained.spectral_radius, rtol=1e-9)

    def one_step_error(esn):
        esn.reset()
        return np.sqrt(np.mean((esn.predict(s[:1399])[1250:] - s[1251:1400]) ** 2))

    assert one_step_error(trained) < 0.3 * one_step_error(plain)  # (measured: 1.3e-3 vs 7.6e-3)
    again = ESN(**start, trainable=("input", "leak", "radius")).fit(s[:1200], s[1:1201], warmup=50, epochs=40,
                                                                    learning_rate=0.05)
    np.testing.assert_array_equal(again.W_out, trained.W_out)  # the same seed, the same numbers
    W_in, radius = again.W_in.copy(), again.spectral_radius
    again.fit(s[:1200], s[1:1201], warmup=50, epochs=1, learning_rate=1e-12)  # a refit continues from the trained
    np.testing.assert_allclose(again.W_in, W_in, atol=1e-9)
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(again.W))), radius, rtol=1e-9)


def test_tune_gradient_strategy_refines_each_candidate_and_keeps_the_trained_reservoir():
    s = signal(900, seed=4)
    esn = tune(s[:-1], s[1:], units=30, seed=0, budget_s=120, strategy="gradient", horizon=10, context=40,
               windows=4, max_trials=2, gradient_epochs=5)
    trials = esn.tuning["trials"]
    assert len(trials) == 2 and esn.tuning["strategy"] == "gradient" and esn.trainable == ()
    assert esn.tuning["best"].score == min(t.score for t in trials)
    fresh = ESN(**esn.config).build(1)  # the returned ESN is the trained candidate, not a redrawn one
    assert esn.leak_rate == fresh.leak_rate and not np.allclose(esn.W_in, fresh.W_in)
    random = tune(s[:-1], s[1:], units=30, seed=0, budget_s=120, strategy="random", horizon=10, context=40,
                  windows=4, max_trials=2)
    # the same starting points, moved by the gradient
    assert all(g.params["leak_rate"] != r.params["leak_rate"] for g, r in zip(trials, random.tuning["trials"]))


def test_tune_scores_a_diverging_gradient_fit_as_inf(monkeypatch):
    from physnn.training import TrainingDivergedError

    def diverge(self, *args, **kwargs):
        raise TrainingDivergedError("loss is nan at epoch 3")

    monkeypatch.setattr(ESN, "fit", diverge)
    s = signal(300)
    with pytest.raises(ValueError, match="no candidate could be scored"):
        tune(s[:-1], s[1:], units=10, budget_s=60, strategy="gradient", horizon=None, context=20, max_trials=2)


@pytest.mark.parametrize("key, value", [("layers", 0), ("trainable", ("bias",)), ("trainable", 3)])
def test_bad_deep_or_trainable_arguments_raise_naming_them(key, value):
    with pytest.raises(ValueError, match=f"ESN: {key}"):
        ESN(units=10, **{key: value})
    layer_key = "train" if key == "trainable" else key
    with pytest.raises(ValueError, match=f"Reservoir: {layer_key}"):
        Reservoir(10, **{layer_key: value})
