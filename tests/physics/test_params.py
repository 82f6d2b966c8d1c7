"""Physical-parameter models: g and v0 of a projectile, k and m of a spring (energy conservation)."""

import numpy as np
import pytest

from physnn.datasets import projectile, spring
from physnn.physics.params import fit_projectile, fit_spring


def test_projectile_recovers_g_and_v0_within_one_percent():
    for seed in (0, 1):
        data = projectile(v0=10.0, g=9.81, n=100, noise=0.05, seed=seed)
        fit = fit_projectile(data.t, data.x, seed=seed)
        assert abs(fit.g - 9.81) / 9.81 < 0.01 and abs(fit.v0 - 10.0) / 10.0 < 0.01
        # the trained parameters are the least-squares optimum of the same linear model
        v0_ls, g_ls = np.linalg.lstsq(np.stack([data.t, -0.5 * data.t**2], 1), data.x, rcond=None)[0]
        assert fit.g == pytest.approx(g_ls, rel=1e-6) and fit.v0 == pytest.approx(v0_ls, rel=1e-6)
        np.testing.assert_allclose(fit(data.t), v0_ls * data.t - 0.5 * g_ls * data.t**2, atol=1e-5)
        assert fit.loss_history[-1] < 1e-3 * fit.loss_history[0]


def test_spring_energy_term_fixes_the_scale_that_the_motion_leaves_free():
    k, m, E0 = 2.0, 0.5, 1.0  # released from x0 = 1: E0 = k x0^2 / 2
    data = spring(k=k, m=m, x0=1.0, n=100, noise=0.02, seed=0, t_max=10.0)
    fit = fit_spring(data.t, data.x, data.v, E0=E0, seed=0)
    assert abs(fit.k - k) / k < 0.02 and abs(fit.m - m) / m < 0.02
    assert abs(np.mean(fit.energy(data.t)) - E0) / E0 < 0.01
    # a different E0 rescales k and m together and leaves the motion (k / m) unchanged
    fit2 = fit_spring(data.t, data.x, data.v, E0=2 * E0, seed=0)
    assert fit2.k == pytest.approx(2 * fit.k, rel=0.02) and fit2.m == pytest.approx(2 * fit.m, rel=0.02)
    assert fit2.omega == pytest.approx(fit.omega, rel=1e-4)
    known_mass = fit_spring(data.t, data.x, data.v, mass=m, seed=0)
    assert known_mass.m == m and abs(known_mass.k - k) / k < 0.01


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "exactly one of E0"),
    (dict(E0=1.0, mass=1.0), "exactly one of E0"),
    (dict(E0=-1.0), "E0 must be"),
    (dict(mass=0.0), "mass must be"),
    (dict(E0=1.0, steps=-1), "steps"),
])
def test_spring_bad_input(kwargs, match):
    t = np.linspace(0, 10, 20)
    with pytest.raises(ValueError, match=match):
        fit_spring(t, np.cos(t), -np.sin(t), **kwargs)


def test_projectile_bad_input():
    with pytest.raises(ValueError, match="x must have as many values as t"):
        fit_projectile(np.arange(5.0), np.arange(4.0))
    with pytest.raises(ValueError, match="1-D array of at least 3"):
        fit_projectile(np.ones((5, 2)), np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        fit_projectile(np.arange(5.0), np.array([0, 1, np.nan, 3, 4]))
