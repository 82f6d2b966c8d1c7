r"""Chaotic time series for reservoir computing: two shipped benchmark series and three compiled generators.

Shipped (attribution and the MIT notice in ``data/SOURCES.md``):
    :func:`mackey_glass_t17` — the standard Mackey-Glass tau = 17 series (Jaeger & Haas 2004's benchmark);
    :func:`santafe_laser` — Santa Fe competition data set A, a chaotic far-infrared laser (measured).
Generated, each one compiled ``lax.scan`` of classical fourth-order Runge-Kutta steps in float64:
    :func:`mackey_glass`  dx/dt = β x(t-τ) / (1 + x(t-τ)^p) - γ x(t);
    :func:`lorenz63`      x' = σ (y - x),  y' = x (ρ - z) - y,  z' = x y - β z;
    :func:`lorenz96`      x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F   (indices cyclic).
"""

from __future__ import annotations

import io
from functools import partial
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache
from physnn._checks import count, real

__all__ = ["lorenz63", "lorenz96", "mackey_glass", "mackey_glass_t17", "santafe_laser"]

MAX_SAMPLES = 10**7


def mackey_glass_t17() -> np.ndarray:
    """The standard Mackey-Glass series with τ = 17: 10,000 samples at unit time step, shifted through
    tanh(x - 1) (M. Lukoševičius's minimalESN data, via ReservoirPy, MIT; see ``data/SOURCES.md``).

    Returns:
        s [10000] float64 (mean -0.0658, std 0.2159).
    """
    text = resources.files("physnn.datasets").joinpath("data", "MackeyGlass_t17.txt").read_text(encoding="utf-8")
    return np.loadtxt(io.StringIO(text), dtype=np.float64)


def santafe_laser() -> np.ndarray:
    """Santa Fe Time Series Competition data set A: intensity of a chaotic far-infrared NH3 laser
    (Weigend & Gershenfeld 1993; via ReservoirPy, MIT; see ``data/SOURCES.md``).

    Returns:
        s [10093] float64, integer values 0..255 as measured.
    """
    data = resources.files("physnn.datasets").joinpath("data", "santafe_laser.npy").read_bytes()
    return np.load(io.BytesIO(data), allow_pickle=False).astype(np.float64).reshape(-1)


def _integer_ratio(numerator: float, denominator: float, what: str) -> int:
    ratio = numerator / denominator
    if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio) or round(ratio) < 1:
        raise ValueError(f"{what} must be a whole multiple of dt = {denominator}, got {numerator}")
    return int(round(ratio))


@partial(_cache.jit, static_argnames=("total", "m", "sub"))
def _mackey_glass_run(x0, dt, beta, gamma, power, total, m, sub):
    def f(x, xd):
        return beta * xd / (1 + xd**power) - gamma * x

    def step(carry, _):
        x, buf, k = carry  # buf holds x(t - τ), ..., x(t - dt); k points at x(t - τ)
        xd0, xd1 = buf[k], buf[(k + 1) % m]
        xdh = 0.5 * (xd0 + xd1)  # x(t - τ + dt/2), linear interpolation
        k1 = f(x, xd0)
        k2 = f(x + 0.5 * dt * k1, xdh)
        k3 = f(x + 0.5 * dt * k2, xdh)
        k4 = f(x + dt * k3, xd1)
        return (x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), buf.at[k].set(x), (k + 1) % m), None

    def sample(carry, _):
        out = carry[0]
        carry, _ = jax.lax.scan(step, carry, None, length=sub)
        return carry, out

    carry = (x0, jnp.full((m,), x0), jnp.asarray(0, jnp.int32))
    _, xs = jax.lax.scan(sample, carry, None, length=total)
    return xs


def mackey_glass(n: int, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1, power: float = 10.0,
                 dt: float = 0.1, x0: float = 1.2, sample_step: float = 1.0, discard: int = 0) -> np.ndarray:
    r"""The Mackey-Glass delay differential equation dx/dt = β x(t-τ) / (1 + x(t-τ)^p) - γ x(t), with the
    constant history x(t) = x0 for t <= 0, integrated by RK4 with step dt (the delayed value at half steps
    linearly interpolated) in one compiled scan.

    Arguments:
        n: number of samples.
        tau: the delay τ, a whole multiple of dt (at least 2 dt); τ > 16.8 is chaotic.
        beta, gamma, power: β, γ and p.
        dt: RK4 step.
        x0: the constant initial history.
        sample_step: time between samples, a whole multiple of dt.
        discard: samples dropped at the start (the transient).

    Returns:
        x [n] float64, x[i] = x((discard + i) sample_step). ``np.tanh(x - 1)`` is the form of the shipped
        ``mackey_glass_t17`` series.
    """
    n = count("n", n, 1, MAX_SAMPLES)
    discard = count("discard", discard, 0, MAX_SAMPLES)
    dt = real("dt", dt, low=0.0, low_open=True)
    tau = real("tau", tau, low=0.0, low_open=True)
    m = _integer_ratio(tau, dt, "tau")
    if m < 2:
        raise ValueError(f"tau must be at least 2 dt = {2 * dt}, got {tau}")
    sub = _integer_ratio(real("sample_step", sample_step, low=0.0, low_open=True), dt, "sample_step")
    args = [real(name, v) for name, v in (("x0", x0), ("beta", beta), ("gamma", gamma), ("power", power))]
    with jax.enable_x64(True):
        xs = _mackey_glass_run(*args[:1], dt, *args[1:], total=n + discard, m=m, sub=sub)
        return np.asarray(xs, np.float64)[discard:]


def _rk4(f, x, dt):
    k1 = f(x)
    k2 = f(x + 0.5 * dt * k1)
    k3 = f(x + 0.5 * dt * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


@partial(_cache.jit, static_argnames=("total", "system"))
def _ode_run(x0, dt, params, total, system):
    if system == "lorenz63":
        sigma, rho, beta = params[0], params[1], params[2]

        def f(v):
            x, y, z = v[0], v[1], v[2]
            return jnp.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])
    else:
        forcing = params[0]

        def f(x):
            return (jnp.roll(x, -1) - jnp.roll(x, 2)) * jnp.roll(x, 1) - x + forcing

    def step(x, _):
        return _rk4(f, x, dt), x

    _, xs = jax.lax.scan(step, x0, None, length=total)
    return xs


def _integrate(system, n, dt, x0, params, discard):
    n = count("n", n, 1, MAX_SAMPLES)
    discard = count("discard", discard, 0, MAX_SAMPLES)
    dt = real("dt", dt, low=0.0, low_open=True)
    x0 = np.asarray(x0, np.float64)
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be finite, got {x0}")
    with jax.enable_x64(True):
        xs = _ode_run(x0, dt, np.asarray(params, np.float64), total=n + discard, system=system)
        return np.asarray(xs, np.float64)[discard:]


def lorenz63(n: int, dt: float = 0.01, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0,
             x0=(1.0, 1.0, 1.0), discard: int = 0) -> np.ndarray:
    """The Lorenz (1963) system x' = σ (y - x), y' = x (ρ - z) - y, z' = x y - β z by RK4 with step dt.

    Its largest Lyapunov exponent at the classical σ = 10, ρ = 28, β = 8/3 is about 0.906 (one Lyapunov
    time ≈ 1.1 time units, 110 steps of dt = 0.01).

    Returns:
        v [n, 3] float64, v[i] = (x, y, z) at t = (discard + i) dt (v[0] = x0 without discard).
    """
    x0 = np.asarray(x0, np.float64)
    if x0.shape != (3,):
        raise ValueError(f"x0 must have shape (3,), got {x0.shape}")
    params = [real("sigma", sigma), real("rho", rho), real("beta", beta)]
    return _integrate("lorenz63", n, dt, x0, params, discard)


def lorenz96(n: int, F: float = 8.0, dims: int = 40, dt: float = 0.01, x0=None, discard: int = 0) -> np.ndarray:
    """The Lorenz (1996) model x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, i cyclic over ``dims`` sites,
    by RK4 with step dt (chaotic for F = 8 and dims >= 4 or so).

    Arguments:
        n: number of samples; F: the forcing; dims: number of sites (>= 4); dt: RK4 step.
        x0: initial state [dims]; default x_i = F with x_0 = F + 0.01 (the usual perturbed fixed point).
        discard: samples dropped at the start.

    Returns:
        x [n, dims] float64 at t = (discard + i) dt.
    """
    dims = count("dims", dims, 4, 10**6)
    F = real("F", F)
    if x0 is None:
        x0 = np.full(dims, F)
        x0[0] += 0.01
    x0 = np.asarray(x0, np.float64)
    if x0.shape != (dims,):
        raise ValueError(f"x0 must have shape ({dims},) (dims), got {x0.shape}")
    return _integrate("lorenz96", n, dt, x0, [F], discard)


