"""The physics module's MLP and its compiled optimiser: Adam against the scheduler step by step, L-BFGS on
known minima."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn.physics.mlp import mlp_apply, mlp_init
from physnn.schedulers import adam
from physnn.training.lbfgs import minimize


def test_mlp_init_shapes_and_apply_matches_numpy():
    with jax.enable_x64(True):
        params = mlp_init(jax.random.PRNGKey(0), (3, 5, 2))
        assert [p["W"].shape for p in params] == [(3, 5), (5, 2)] and params[0]["W"].dtype == jnp.float64
        x = np.random.default_rng(0).normal(size=(4, 3))
        W1, b1, W2, b2 = (np.asarray(params[i][k]) for i in (0, 1) for k in ("W", "b"))
        np.testing.assert_allclose(mlp_apply(params, x), np.tanh(x @ W1 + b1) @ W2 + b2, rtol=1e-12)
        np.testing.assert_allclose(mlp_apply(params, x, "relu"), np.maximum(x @ W1 + b1, 0) @ W2 + b2, rtol=1e-12)
    with pytest.raises(ValueError, match="sizes"):
        mlp_init(jax.random.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="sizes"):
        mlp_init(jax.random.PRNGKey(0), (3, 0, 1))


def test_minimize_adam_equals_the_scheduler_step_by_step():
    with jax.enable_x64(True):
        A = jnp.asarray(np.random.default_rng(1).normal(size=(6, 3)))
        b = jnp.arange(6.0)
        loss = lambda p: jnp.sum((A @ p["w"] - b) ** 2)  # noqa: E731
        params = {"w": jnp.zeros(3)}
        result, losses, _ = jax.jit(lambda p: minimize(loss, p, adam_steps=25, eta=0.05))(params)
        opt = adam(0.05)
        state, p = opt.init(params), params
        expected = []
        for _ in range(25):
            value, grads = jax.value_and_grad(loss)(p)
            expected.append(value)
            change, state = opt.update(grads, state)
            p = jax.tree_util.tree_map(lambda a, c: a - c, p, change)
        np.testing.assert_allclose(result["w"], p["w"], rtol=1e-12)
        np.testing.assert_allclose(losses[:-1], expected, rtol=1e-12)
        assert losses.shape == (26,) and float(losses[-1]) == pytest.approx(float(loss(p)), rel=1e-12)


def test_lbfgs_finds_the_rosenbrock_minimum_and_a_least_squares_solution():
    with jax.enable_x64(True):
        rosenbrock = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2  # noqa: E731
        x, losses, _ = jax.jit(lambda p: minimize(rosenbrock, p, adam_steps=0, lbfgs_steps=150))(
            jnp.array([-1.2, 1.0]))
        np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-6)
        assert np.all(np.diff(np.asarray(losses)) <= 1e-15)  # monotone: every accepted step is a descent

        rng = np.random.default_rng(2)
        A, b = rng.normal(size=(40, 12)), rng.normal(size=40)
        ls = lambda p: jnp.mean((jnp.asarray(A) @ p - jnp.asarray(b)) ** 2)  # noqa: E731
        x, _, _ = jax.jit(lambda p: minimize(ls, p, adam_steps=10, eta=0.01, lbfgs_steps=100))(jnp.zeros(12))
        np.testing.assert_allclose(x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-8)
