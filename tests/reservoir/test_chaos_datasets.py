"""The chaotic series for reservoir computing: shipped files and the compiled RK4 generators."""

import numpy as np
import pytest

from physnn.datasets import lorenz63, lorenz96, mackey_glass, mackey_glass_t17, santafe_laser


def test_shipped_series_are_the_files_as_documented():
    s = mackey_glass_t17()
    assert s.shape == (10000,) and s.dtype == np.float64
    assert s.mean() == pytest.approx(-0.0658, abs=1e-4) and s.std() == pytest.approx(0.2159, abs=1e-4)
    laser = santafe_laser()
    assert laser.shape == (10093,) and laser.min() == 0 and laser.max() == 255
    np.testing.assert_array_equal(laser[:5], [86, 141, 95, 41, 22])


def _rk4(f, x, dt):
    k1 = f(x)
    k2 = f(x + dt / 2 * k1)
    k3 = f(x + dt / 2 * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def test_lorenz63_and_lorenz96_equal_hand_rk4_loops():
    def f63(v):
        return np.array([10 * (v[1] - v[0]), v[0] * (28 - v[2]) - v[1], v[0] * v[1] - 8 / 3 * v[2]])

    v = lorenz63(200, dt=0.01)
    x = np.array([1.0, 1.0, 1.0])
    for i in range(200):
        np.testing.assert_allclose(v[i], x, rtol=1e-12, atol=1e-12)
        x = _rk4(f63, x, 0.01)

    def f96(x):
        return (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + 8.0

    w = lorenz96(50, F=8.0, dims=6, dt=0.01, discard=3)
    x = np.full(6, 8.0)
    x[0] += 0.01
    for _ in range(3):
        x = _rk4(f96, x, 0.01)
    for i in range(50):
        np.testing.assert_allclose(w[i], x, rtol=1e-12, atol=1e-12)
        x = _rk4(f96, x, 0.01)


def test_mackey_glass_equals_a_hand_delay_rk4_and_matches_the_shipped_statistics():
    tau, dt, n = 1.0, 0.25, 40  # delay of 4 steps, sampled every step
    m = int(tau / dt)
    hist = [0.9] * m  # x(t - tau) ... x(t - dt)
    x, out = 0.9, []

    def f(x, xd):
        return 0.2 * xd / (1 + xd**10) - 0.1 * x

    for _ in range(n):
        out.append(x)
        xd0, xd1 = hist[0], hist[1]
        xdh = (xd0 + xd1) / 2
        k1 = f(x, xd0)
        k2 = f(x + dt / 2 * k1, xdh)
        k3 = f(x + dt / 2 * k2, xdh)
        k4 = f(x + dt * k3, xd1)
        hist = hist[1:] + [x]
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(mackey_glass(n, tau=tau, dt=dt, x0=0.9, sample_step=dt), out, rtol=1e-12)
    long = np.tanh(mackey_glass(6000, discard=1000) - 1)  # the shipped series' transformation
    assert long.std() == pytest.approx(0.2159, rel=0.03) and long.mean() == pytest.approx(-0.0658, abs=0.01)


def test_bad_generator_arguments_raise_naming_them():
    with pytest.raises(ValueError, match="tau must be a whole multiple of dt"):
        mackey_glass(10, tau=17.05, dt=0.1)
    with pytest.raises(ValueError, match="sample_step"):
        mackey_glass(10, sample_step=0.15)
    with pytest.raises(ValueError, match="n must be"):
        lorenz63(0)
    with pytest.raises(ValueError, match=r"x0 must have shape \(3,\)"):
        lorenz63(5, x0=(1.0, 2.0))
    with pytest.raises(ValueError, match="dims"):
        lorenz96(5, dims=2)
