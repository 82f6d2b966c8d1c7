"""The engine's full-batch minimiser: strong-Wolfe line search and L-BFGS, against SciPy and by their conditions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from physnn.training import lbfgs


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("start", [(-1.2, 1.0), (2.0, -1.5), (0.0, 0.0), (-3.0, 4.0)])
def test_strong_wolfe_conditions_hold(start):
    with jax.enable_x64(True):
        x = jnp.asarray(start, jnp.float64)
        vg = jax.value_and_grad(rosenbrock)
        f0, g0 = vg(x)
        p = -g0 / jnp.linalg.norm(g0)  # a descent direction of unit length
        search = jax.jit(lambda x, f0, g0, p: lbfgs.strong_wolfe(vg, x, f0, g0, p))(x, f0, g0, p)
        assert bool(search.ok)
        a = float(search.step)
        f_a, g_a = vg(x + a * p)
        np.testing.assert_allclose(search.value, f_a, rtol=1e-12)
        np.testing.assert_allclose(search.grad, g_a, rtol=1e-12)
        d0 = float(jnp.dot(g0, p))
        assert float(f_a) <= float(f0) + lbfgs.C1 * a * d0
        assert abs(float(jnp.dot(g_a, p))) <= lbfgs.C2 * abs(d0)


def test_a_direction_that_does_not_descend_takes_no_step():
    with jax.enable_x64(True):
        x = jnp.asarray([-1.2, 1.0])
        vg = jax.value_and_grad(rosenbrock)
        f0, g0 = vg(x)
        search = lbfgs.strong_wolfe(vg, x, f0, g0, g0)  # uphill
        assert not bool(search.ok) and float(search.step) == 0.0


def test_lbfgs_solves_rosenbrock_like_scipy():
    with jax.enable_x64(True):
        x0 = np.array([-1.2, 1.0, -0.5, 0.8])
        params, losses, _ = jax.jit(lambda p: lbfgs.minimize(rosenbrock, p, adam_steps=0, lbfgs_steps=100))(
            jnp.asarray(x0))
        np.testing.assert_allclose(params, np.ones(4), atol=1e-6)
        assert float(losses[-1]) < 1e-12
        assert np.all(np.diff(np.asarray(losses)) <= 1e-14), "every accepted step decreases the loss"
        reference = scipy.optimize.minimize(lambda x: float(rosenbrock(jnp.asarray(x))), x0, method="L-BFGS-B",
                                            jac=lambda x: np.asarray(jax.grad(rosenbrock)(jnp.asarray(x))))
        first_below = int(np.argmax(np.asarray(losses) < max(reference.fun, 1e-10)))
        assert first_below <= 2 * reference.nit, (first_below, reference.nit)


def test_adam_then_lbfgs_on_a_pytree_and_aux():
    with jax.enable_x64(True):
        target = {"a": jnp.arange(3.0), "b": jnp.ones((2, 2))}

        def loss(p):
            value = sum(jnp.sum((p[k] - target[k]) ** 4 + (p[k] - target[k]) ** 2) for k in p)
            return value, jnp.sum(p["a"])

        start = jax.tree_util.tree_map(jnp.zeros_like, target)
        params, losses, aux = lbfgs.minimize(loss, start, adam_steps=20, eta=0.05, lbfgs_steps=30, has_aux=True)
        assert losses.shape == aux.shape == (51,)
        for k in target:
            np.testing.assert_allclose(params[k], target[k], atol=1e-6)
        np.testing.assert_allclose(aux[-1], jnp.sum(params["a"]), rtol=1e-12)
        np.testing.assert_allclose(losses[0], loss(start)[0], rtol=1e-12)


def test_a_loss_that_is_nan_beyond_a_wall_is_not_stepped_into():
    """A trial step into a region where the loss is NaN counts as too high: the search backs off."""
    with jax.enable_x64(True):
        def loss(x):
            return jnp.where(x[0] < 0.5, (x[0] - 0.4) ** 2, jnp.nan)

        params, losses, _ = lbfgs.minimize(loss, jnp.asarray([-3.0]), adam_steps=0, lbfgs_steps=20)
        assert np.all(np.isfinite(np.asarray(losses)))
        np.testing.assert_allclose(params, [0.4], atol=1e-6)
