"""Physics-guided cost terms (eqs. 4.4-4.15): values by hand, gradients against finite differences (float64)."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from physnn.costs import L1, L2, CostOLS
from physnn.physics.losses import (
    PhysicsGuidedLoss,
    conservation_penalty,
    monotonic_penalty,
    normalization_penalty,
    threshold_penalty,
)


def assert_grad_matches_fd(fn, x, eps=1e-6, rtol=1e-6, atol=1e-9):
    """jax.grad of the scalar fn at x against central differences along every coordinate (one compile each)."""
    x = jnp.asarray(x, jnp.float64)
    grad = np.asarray(jax.jit(jax.grad(fn))(x)).ravel()
    steps = eps * np.eye(x.size).reshape(x.size, *x.shape)
    values = jax.jit(jax.vmap(fn))(jnp.concatenate([x[None] + steps, x[None] - steps]))
    fd = (np.asarray(values[: x.size]) - np.asarray(values[x.size:])) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=rtol, atol=atol)


def test_threshold_penalty_values_and_gradient():
    r = np.array([-2.0, -0.5, 0.3, 1.5])
    np.testing.assert_allclose(threshold_penalty(r, 1.0), [1.0, 0.0, 0.0, 0.5])
    with jax.enable_x64(True):
        assert_grad_matches_fd(lambda r: jnp.sum(threshold_penalty(r, 1.0) ** 2 + threshold_penalty(r, 0.1)),
                               [-2.0, -0.5, 0.3, 1.5, 0.7])
    with pytest.raises(ValueError, match="tau"):
        threshold_penalty(r, -1.0)


def test_monotonic_penalty_values_axis_direction_and_gradient():
    assert float(monotonic_penalty(jnp.array([1.0, 2.0, 3.0]))) == 0.0
    # one decrease of 1.5 among three differences
    np.testing.assert_allclose(monotonic_penalty(jnp.array([1.0, 2.0, 0.5, 3.0])), 1.5 / 3)
    np.testing.assert_allclose(monotonic_penalty(jnp.array([1.0, 2.0, 0.5, 3.0]), increasing=False), (1 + 2.5) / 3)
    depth_profiles = jnp.array([[1.0, 5.0], [2.0, 4.0], [3.0, 6.0]])  # rows = depth, columns = two lakes
    np.testing.assert_allclose(monotonic_penalty(depth_profiles, axis=0), 1.0 / 4)
    np.testing.assert_allclose(monotonic_penalty(depth_profiles, axis=1), 0.0)
    with jax.enable_x64(True):
        assert_grad_matches_fd(lambda v: monotonic_penalty(v) + monotonic_penalty(v**2, increasing=False),
                               [0.3, 1.1, 0.2, 0.9, 0.4])
    with pytest.raises(ValueError, match="at least 2"):
        monotonic_penalty(jnp.array([1.0]))


def test_conservation_penalty_variance_and_known_energy():
    rng = np.random.default_rng(0)
    energy = rng.normal(2.0, 0.1, size=50)
    np.testing.assert_allclose(conservation_penalty(energy), np.var(energy), rtol=1e-6)
    np.testing.assert_allclose(conservation_penalty(energy, E0=2.0), np.mean((energy - 2.0) ** 2), rtol=1e-6)
    with jax.enable_x64(True):
        assert_grad_matches_fd(conservation_penalty, energy[:6])
        assert_grad_matches_fd(lambda e: conservation_penalty(e, E0=1.5), energy[:6])
    with pytest.raises(ValueError, match="energy"):
        conservation_penalty(np.zeros(0))


def test_normalization_penalty_of_infinite_well_states():
    L = 2.0
    x = np.linspace(0, L, 401)
    psi = np.sqrt(2 / L) * np.sin(2 * np.pi * x / L)
    perm = np.random.default_rng(1).permutation(x.size)  # the batch order must not matter
    with jax.enable_x64(True):
        assert float(normalization_penalty(psi[perm], x[perm])) < 1e-8
        np.testing.assert_allclose(normalization_penalty(2 * psi[:, None], x[:, None]), 9.0, rtol=1e-4)
        np.testing.assert_allclose(normalization_penalty(psi * np.exp(0.3j), x), 0.0, atol=1e-8)
        xs = np.sort(np.random.default_rng(2).uniform(0, L, 7))
        assert_grad_matches_fd(lambda p: normalization_penalty(p, xs), np.sin(xs))
    with pytest.raises(ValueError, match="psi and x"):
        normalization_penalty(psi[:10], x[:11])


def _tiny_model(params, x):
    z = x @ params["W"]
    return jnp.tanh(z + params["b"].reshape((1,) * (z.ndim - 1) + params["b"].shape)) @ params["V"]


def test_physics_guided_loss_matches_eq_4_4_and_its_gradient():
    rng = np.random.default_rng(3)
    with jax.enable_x64(True):
        x = jnp.asarray(rng.uniform(0, 2, (8, 1)))
        y = jnp.sin(x)
        params = {"W": jnp.asarray(rng.normal(size=(1, 4))), "b": jnp.asarray(rng.normal(size=4)),
                  "V": jnp.asarray(rng.normal(size=(4, 1)))}
        term = lambda y_pred, x: threshold_penalty(y_pred - jnp.sin(x), 0.05)  # noqa: E731
        loss = PhysicsGuidedLoss("mse", lam=0.01, regularizer="l2", lam_phy=0.5,
                                 physics=[term, lambda y_pred, x: normalization_penalty(y_pred, x)])
        pred = _tiny_model(params, x)
        by_hand = (jnp.mean((y - pred) ** 2) + 0.01 * sum(jnp.sum(p**2) for p in params.values())
                   + 0.5 * jnp.mean(term(pred, x)) + 0.5 * normalization_penalty(pred, x))
        np.testing.assert_allclose(loss(y, pred, x=x, params=params), by_hand, rtol=1e-12)
        parts = loss.terms(y, pred, x=x, params=params)
        np.testing.assert_allclose(sum(parts.values()), by_hand, rtol=1e-12)
        np.testing.assert_allclose(loss.as_cost()(y, x=x, params=params)(pred), by_hand, rtol=1e-12)

        flat, unravel = jax.flatten_util.ravel_pytree(params)
        assert_grad_matches_fd(lambda f: loss(y, _tiny_model(unravel(f), x), x=x, params=unravel(f)), flat,
                               rtol=1e-5)


def test_physics_guided_loss_regularizer_forms_and_errors():
    params = {"W": jnp.array([[1.0, -2.0]])}
    y, pred = jnp.zeros((2, 1)), jnp.ones((2, 1))
    np.testing.assert_allclose(PhysicsGuidedLoss(regularizer=L1(0.1))(y, pred, params=params), 1 + 0.3)
    np.testing.assert_allclose(PhysicsGuidedLoss(lam=0.1, regularizer="l1")(y, pred, params=params), 1 + 0.3)
    np.testing.assert_allclose(PhysicsGuidedLoss(CostOLS, regularizer=L2(1.0))(y, pred, params=params), 1 + 5)
    np.testing.assert_allclose(PhysicsGuidedLoss("mae")(y, pred), 1.0)
    with pytest.raises(ValueError, match="lam=0.5 has no effect"):
        PhysicsGuidedLoss(lam=0.5)
    with pytest.raises(ValueError, match="carries its own weight"):
        PhysicsGuidedLoss(lam=0.5, regularizer=L2(0.1))
    with pytest.raises(ValueError, match="needs a weight lam > 0"):
        PhysicsGuidedLoss(regularizer="l2")
    with pytest.raises(ValueError, match="not known"):
        PhysicsGuidedLoss(lam=0.1, regularizer="l3")
    with pytest.raises(ValueError, match="one weight per physics term"):
        PhysicsGuidedLoss(lam_phy=[1.0, 2.0], physics=[lambda y, x: y])
    with pytest.raises(ValueError, match="callables"):
        PhysicsGuidedLoss(physics=[3.0])
    with pytest.raises(ValueError, match="needs params"):
        PhysicsGuidedLoss(lam=0.1, regularizer="l2")(y, pred)


def test_as_cost_plugs_into_the_course_ffnn_which_passes_x_and_params():
    from physnn.activations import tanh
    from physnn.ffnn import FFNN
    from physnn.schedulers import Adam

    x = np.linspace(0, 2, 20, dtype=np.float32)[:, None]
    y = np.sin(np.pi * x)
    loss = PhysicsGuidedLoss("mse", lam=1e-3, regularizer="l2", lam_phy=0.1,
                             physics=[lambda y_pred, x: normalization_penalty(y_pred, x)])
    model = FFNN((1, 8, 1), hidden_func=tanh, cost_func=loss.as_cost(), seed=0)
    history = model.fit(x, y, Adam(0.01), epochs=20, verbose=False)
    by_hand = float(loss(y, model.feed_forward(x), x=x, params=model.weights))
    assert history["train_errors"][-1] == pytest.approx(by_hand, rel=1e-5)
    assert history["train_errors"][-1] < history["train_errors"][0]



def test_a_physics_term_on_its_own_collocation_points_in_a_keras_style_fit():
    """A loss that takes ``params`` evaluates the model wherever the physics needs it (``model.apply(params,
    grid)``), not only on the minibatch: here the normalisation integral of psi^2 over 101 points of the box
    [0, 2], asked to be 1.5, is trained in batches of 4 of 12 samples whose data term is switched off. The fit
    moves the integral from its initial value to 1.5, so the gradient flows through the grid evaluation."""
    import physnn
    from physnn.layers import Dense, Input

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, (12, 1)).astype(np.float32)
    y = np.sin(np.pi * x).astype(np.float32)
    grid = jnp.linspace(0.0, 2.0, 101)[:, None]
    model = physnn.Sequential([Input((1,)), Dense(32, activation="tanh"), Dense(1)], seed=0)

    def norm(params):
        return jnp.trapezoid(model.apply(params, grid)[:, 0] ** 2, grid[:, 0])

    def loss(y_true, y_pred, params):
        return 0.0 * jnp.mean((y_true - y_pred) ** 2) + (norm(params) - 1.5) ** 2

    model.compile(optimizer=physnn.optimizers.Adam(0.01), loss=loss)
    model.build((1,))
    before = float(norm(model.params))
    model.fit(x, y, epochs=100, batch_size=4, verbose=0)
    psi = model.predict(np.asarray(grid))[:, 0]
    after = float(np.trapezoid(psi ** 2, np.asarray(grid)[:, 0]))
    assert abs(before - 1.5) > 0.3
    assert abs(after - 1.5) < 0.01
