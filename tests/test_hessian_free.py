"""Hessian-free optimisation (physnn.training.hessian_free): the Gauss-Newton product against the explicit
J^T H_L J, the truncated CG, one Newton step on least squares, learning an MLP and a SimpleRNN faster than
Adam, hyperparameter checks and the model file."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import physnn
from physnn import losses
from physnn.layers import Dense, Input, SimpleRNN
from physnn.training import hessian_free as hf
from physnn.training.lbfgs import FullBatchOptimizer, lbfgs

tree_map = jax.tree_util.tree_map


def _recorder(v):
    """A curvature optimiser that takes no step and keeps in its state the G v the engine's epoch gives it."""

    def init(params):
        return {"gv": tree_map(np.zeros_like, params), "given": np.zeros((), bool)}

    def update(grads, state, params, value, value_and_grad, gauss_newton=None):
        if gauss_newton is None:
            return tree_map(jnp.zeros_like, params), state
        return tree_map(jnp.zeros_like, params), {"gv": gauss_newton(v), "given": jnp.ones((), bool)}

    return FullBatchOptimizer(init, update, full_batch=True, curvature=True)


@pytest.mark.parametrize("case", ["mse_l2", "mse_activity", "softmax_logits", "softmax_probabilities"])
def test_the_engines_gauss_newton_product_is_the_explicit_jt_hl_j(case):
    """G v = (J^T H_L J + H_R) v, H_R the exact Hessian of the rest of the objective: a kernel penalty, or an
    activity penalty (an add_loss term: its Hessian is not positive semi-definite in general)."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(12, 3)).astype(np.float32)  # (fit takes the data as float32)
        if case.startswith("mse"):
            y = rng.normal(size=(12, 2)).astype(np.float32)
            head, loss = Dense(2), "mse"
        else:
            y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
            head = Dense(3, activation="softmax" if case == "softmax_probabilities" else None)
            loss = "categorical_crossentropy" if case == "softmax_probabilities" else \
                losses.CategoricalCrossentropy(from_logits=True)
        penalties = {"mse_l2": {"kernel_regularizer": "l2"}, "mse_activity": {"activity_regularizer": "l2"}}
        model = physnn.Sequential([Input((3,)), Dense(5, activation="tanh", **penalties.get(case, {})), head],
                                  seed=0)
        params = tree_map(jnp.asarray, model.params)
        v = tree_map(lambda p: jnp.asarray(rng.normal(size=p.shape)), params)
        model.compile(optimizer=_recorder(v), loss=loss)
        model.fit(x, y, epochs=1, verbose=0)
        assert bool(model.opt_state["given"]), "the epoch passes gauss_newton to a curvature optimiser"
        got = ravel_pytree(model.opt_state["gv"])[0]

        theta, unravel = ravel_pytree(params)
        loss_fn = model._loss_fn

        def outputs(t):
            return model.apply(unravel(t), jnp.asarray(x), training=True).ravel()

        def data_loss(yf):
            return jnp.mean(loss_fn(jnp.asarray(y), yf.reshape(y.shape)))

        J = jax.jacobian(outputs)(theta)  # [batch * outputs, n]
        H_L = jax.hessian(data_loss)(outputs(theta))
        G = J.T @ H_L @ J
        if case in penalties:
            def remainder(t):
                added = model.forward_with_losses(unravel(t), {}, jnp.asarray(x), training=True)[2]
                return model.regularization(unravel(t)) + added

            G = G + jax.hessian(remainder)(theta)
            assert float(jnp.abs(jnp.diag(G) - jnp.diag(J.T @ H_L @ J)).max()) > 1e-4  # (the penalty counts)
        else:
            assert np.min(np.linalg.eigvalsh(np.asarray(G))) > -1e-12, "G is positive semi-definite"
        np.testing.assert_allclose(got, G @ ravel_pytree(v)[0], rtol=1e-10, atol=1e-12)


def test_without_a_split_the_product_is_the_exact_hessian():
    """A loss that takes the parameters gives no split: a curvature optimiser gets no gauss_newton."""
    def loss(y_true, y_pred, params):
        return jnp.mean((y_true - y_pred) ** 2) + 0.0 * sum(jnp.sum(p) for p in jax.tree_util.tree_leaves(params))

    model = physnn.Sequential([Input((2,)), Dense(3, activation="tanh"), Dense(1)], seed=0)
    v = tree_map(jnp.ones_like, model.params)
    model.compile(optimizer=_recorder(v), loss=loss)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)
    assert not bool(model.opt_state["given"])
    # HF itself then uses the exact Hessian of the whole objective
    with jax.enable_x64(True):
        def rosenbrock(p):
            return 100.0 * (p["b"] - p["a"] ** 2) ** 2 + (1.0 - p["a"]) ** 2

        opt = hf.hessian_free(damping=1e-3)
        value_and_grad = jax.value_and_grad(rosenbrock)

        @jax.jit
        def run(params):
            def step(carry, _):
                params, state = carry
                value, grads = value_and_grad(params)
                change, state = opt.update(grads, state, params, value, value_and_grad)
                return (tree_map(jnp.subtract, params, change), state), value

            return jax.lax.scan(step, (params, opt.init(params)), None, length=60)

        (params, _), values = run({"a": jnp.asarray(-1.2), "b": jnp.asarray(1.0)})
        assert np.all(np.diff(np.asarray(values)) <= 0), "a rejected step keeps the point"
        np.testing.assert_allclose([params["a"], params["b"]], [1.0, 1.0], atol=1e-8)


def _spd(n, condition, seed=0, spacing=np.geomspace):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * spacing(1.0, condition, n)) @ q.T, rng.normal(size=n)


def test_cg_solves_an_spd_system():
    with jax.enable_x64(True):
        A, b = _spd(40, 1e3)
        solve = jax.jit(lambda A, b, x0: hf.conjugate_gradient(lambda v: A @ v, b, x0, max_iter=400,
                                                               progress_tol=0.0))
        exact = np.linalg.solve(A, b)
        for x0 in (np.zeros(40), exact + 0.1):  # from 0 and from a warm start
            result = solve(A, b, x0)
            np.testing.assert_allclose(result.x, exact, rtol=0, atol=1e-8 * np.abs(exact).max())
            np.testing.assert_allclose(result.phi, -0.5 * b @ exact, rtol=1e-10)
            assert not bool(result.negative_curvature) and int(result.iterations) < 400
        # a warm start worse than 0 (phi > 0) is dropped: CG then runs as from 0
        bad = hf.conjugate_gradient(lambda v: A @ v, b, -10 * exact, max_iter=5, progress_tol=0.0)
        from_zero = hf.conjugate_gradient(lambda v: A @ v, b, np.zeros(40), max_iter=5, progress_tol=0.0)
        np.testing.assert_allclose(bad.x, from_zero.x, rtol=1e-12)


def test_cg_stops_by_martens_rule_and_at_negative_curvature():
    with jax.enable_x64(True):
        A, b = _spd(200, 100.0, seed=1, spacing=np.linspace)
        early = hf.conjugate_gradient(lambda v: A @ v, b, np.zeros(200), max_iter=200, progress_tol=5e-4)
        full = hf.conjugate_gradient(lambda v: A @ v, b, np.zeros(200), max_iter=200, progress_tol=0.0)
        assert 10 < int(early.iterations) < 0.5 * int(full.iterations)  # measured 26 and 86
        assert float(full.phi) <= float(early.phi) < 0.999 * float(full.phi)  # within 0.1 % of the minimum
        # an indefinite matrix: the first direction has p.A p < 0, CG takes x_0 + p_0 and stops
        D = np.diag([-2.0, 1.0])
        result = hf.conjugate_gradient(lambda v: D @ v, np.ones(2), np.zeros(2), max_iter=10)
        assert bool(result.negative_curvature) and int(result.iterations) == 1
        np.testing.assert_allclose(result.x, [1.0, 1.0])
        np.testing.assert_allclose(result.phi, 0.5 * (-2 + 1) - 2)


def test_one_iteration_on_linear_least_squares_reaches_the_minimum():
    """For a linear model with the MSE loss, G is the exact Hessian 2 X^T X / (n m): with tiny damping one HF
    iteration is a Newton step onto the least-squares solution."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(2)
        x = rng.normal(size=(200, 5)).astype(np.float32)  # (fit takes the data as float32)
        y = (x @ rng.normal(size=(5, 2)) + 0.3 + 0.1 * rng.normal(size=(200, 2))).astype(np.float32)
        x, y = x.astype(np.float64), y.astype(np.float64)
        design = np.hstack([x, np.ones((200, 1))])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        best = np.mean((design @ coef - y) ** 2)
        model = physnn.Sequential([Input((5,)), Dense(2)], seed=0)
        model.compile(optimizer=hf.HessianFree(damping=1e-8), loss="mse")
        history = model.fit(x, y, epochs=1, verbose=0)
        assert history.history["loss"][0] > 10 * best
        np.testing.assert_allclose(model.evaluate(x, y), best, rtol=1e-10)
        np.testing.assert_allclose(model.params[model.layers[0].name]["kernel"], coef[:5], atol=1e-8)


def _epochs_to(history, threshold):
    """The epochs run until the loss (measured at an epoch's start) is below ``threshold``; None if never."""
    below = np.nonzero(np.asarray(history.history["loss"]) < threshold)[0]
    return int(below[0]) if len(below) else None


def test_hf_fits_an_mlp_in_far_fewer_epochs_than_adam():
    """sin(2x) on [-2, 2], 256 points, 1-16-16-1 tanh MLP, MSE < 1e-4: measured 22 epochs of HF, 126 of L-BFGS,
    1130 of Adam (batch_size=32, Keras's defaults)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (256, 1))
    y = np.sin(2 * x)

    def mlp(optimizer):
        return physnn.Sequential([Input((1,)), Dense(16, activation="tanh"), Dense(16, activation="tanh"),
                                  Dense(1)], seed=0).compile(optimizer=optimizer, loss="mse")

    hf_epochs = _epochs_to(mlp("hessian_free").fit(x, y, epochs=60, verbose=0), 1e-4)
    adam_epochs = _epochs_to(mlp("adam").fit(x, y, epochs=300, batch_size=32, verbose=0), 1e-4)
    assert hf_epochs is not None and hf_epochs <= 40, hf_epochs
    assert adam_epochs is None or adam_epochs > 5 * hf_epochs, (hf_epochs, adam_epochs)


def test_hf_solves_xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]], float)
    model = physnn.Sequential([Input((2,)), Dense(4, activation="tanh"), Dense(1)], seed=1)
    model.compile(optimizer="hessian_free", loss="mse")
    history = model.fit(x, y, epochs=30, verbose=0)
    assert _epochs_to(history, 1e-3) <= 20  # measured 12 (L-BFGS: 23, Adam at full batch: 1441)
    np.testing.assert_array_equal(model.predict(x) > 0.5, y > 0.5)


def test_hf_trains_a_simple_rnn_to_recall_its_first_input():
    """y = x_0 after 20 steps of noise inputs, 256 sequences, SimpleRNN(16): MSE < 1e-2 in 16 HF epochs
    (measured); L-BFGS stays at 0.055 after 200, Adam (batch_size=32) needs 1378."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20, 1)).astype(np.float32)
    y = x[:, 0, :]
    model = physnn.Sequential([Input((20, 1)), SimpleRNN(16), Dense(1)], seed=0)
    model.compile(optimizer="hessian_free", loss="mse")
    history = model.fit(x, y, epochs=40, verbose=0)
    epochs = _epochs_to(history, 1e-2)
    assert epochs is not None and epochs <= 30, history.history["loss"]
    losses_ = np.asarray(history.history["loss"])
    assert np.all(np.diff(losses_) <= 1e-6 * losses_[:-1]), "a step is taken only when it lowers the loss"


def test_hf_leaves_a_frozen_layer_alone():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 2))
    y = np.tanh(x[:, :1] - x[:, 1:])
    model = physnn.Sequential([Input((2,)), Dense(8, activation="tanh"), Dense(8, activation="tanh"), Dense(1)],
                              seed=0)
    model.layers[0].trainable = False
    model.compile(optimizer="hessian_free", loss="mse")
    before = np.array(model.params[model.layers[0].name]["kernel"])
    history = model.fit(x, y, epochs=10, verbose=0)
    np.testing.assert_array_equal(model.params[model.layers[0].name]["kernel"], before)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.opt_state.direction.shape == (8 * 8 + 8 + 8 + 1,)  # the trainable part only


@pytest.mark.parametrize("kwargs, name", [
    ({"damping": 0.0}, "damping"), ({"damping": -1.0}, "damping"), ({"damping": float("inf")}, "damping"),
    ({"damping": True}, "damping"), ({"max_cg": 0}, "max_cg"), ({"max_cg": 2.5}, "max_cg"),
    ({"cg_decay": 1.5}, "cg_decay"), ({"cg_decay": -0.1}, "cg_decay"), ({"cg_tol": -1e-3}, "cg_tol"),
    ({"cg_tol": "small"}, "cg_tol"), ({"max_backtracks": -1}, "max_backtracks"),
    ({"max_backtracks": 1.0}, "max_backtracks"),
])
def test_bad_hyperparameters_are_refused_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be"):
        hf.HessianFree(**kwargs)
    with pytest.raises(ValueError, match=f"^{name} must be"):
        hf.hessian_free(**kwargs)


def test_the_optimiser_protocol():
    assert hf.hessian_free().curvature and hf.hessian_free().full_batch
    assert not lbfgs().curvature, "L-BFGS gets no gauss_newton"
    assert isinstance(physnn.Sequential([Dense(1)]).compile(optimizer="hessian_free").optimizer, hf.HessianFree)
    with pytest.raises(ValueError, match="needs the loss function"):
        hf.HessianFree().update_change(np.ones(3))


def test_a_model_compiled_with_hessian_free_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 2))
    y = np.sin(x[:, :1]) * x[:, 1:]
    model = physnn.Sequential([Input((2,)), Dense(8, activation="tanh"), Dense(1)], seed=0)
    optimizer = hf.HessianFree(damping=0.5, max_cg=20, cg_decay=0.9, cg_tol=1e-3, max_backtracks=4)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, epochs=3, verbose=0)
    model.save(tmp_path / "m.npz")
    loaded = physnn.load_model(tmp_path / "m.npz")
    assert isinstance(loaded.optimizer, hf.HessianFree)
    assert loaded.optimizer.get_config() == optimizer.get_config()
    for got, want in zip(loaded.opt_state, model.opt_state, strict=True):
        np.testing.assert_array_equal(got, want)
    a = model.fit(x, y, epochs=4, verbose=0).history["loss"]
    b = loaded.fit(x, y, epochs=4, verbose=0).history["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-6)
