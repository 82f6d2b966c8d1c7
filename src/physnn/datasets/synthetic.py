"""Generated data sets of the course: a driven damped oscillator, logic gates and noisy physics curves.

Every random draw comes from ``np.random.default_rng(seed)``; bad arguments raise ``ValueError`` naming the
argument, the expected and the received value.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache
from physnn._checks import count

__all__ = [
    "InfiniteWell",
    "LogicGates",
    "Oscillation",
    "Projectile",
    "Spring",
    "damped_oscillator",
    "infinite_well",
    "logic_gates",
    "projectile",
    "spring",
]


class Oscillation(NamedTuple):
    t: np.ndarray  # [n] times t_i = i dt
    x: np.ndarray  # [n] position
    v: np.ndarray  # [n] velocity
    F: np.ndarray  # [n] driving force F(t_i)


class LogicGates(NamedTuple):
    X: np.ndarray  # [4, 2] the inputs (0,0), (0,1), (1,0), (1,1)
    targets: dict[str, np.ndarray]  # "XOR", "AND", "OR" -> [4, 1]


class Projectile(NamedTuple):
    t: np.ndarray
    x: np.ndarray


class InfiniteWell(NamedTuple):
    x: np.ndarray
    psi: np.ndarray


class Spring(NamedTuple):
    t: np.ndarray
    x: np.ndarray
    v: np.ndarray


# ---------------------------------------------------------------------------------------------- checks


def _real(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, received {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, received {value!r}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, received {value!r}")
    return float(value)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, received {seed!r}")
    return np.random.default_rng(int(seed))


# ------------------------------------------------------------------------------------ damped oscillator


def _force_values(force, t: np.ndarray, omega: float) -> np.ndarray:
    """F(t) on the grid ``t``; ``force``: None (F = 0), an amplitude A (F = A cos(omega t)) or a callable."""
    if force is None:
        return np.zeros_like(t)
    if isinstance(force, numbers.Real) and not isinstance(force, bool):
        return _real("force", force) * np.cos(omega * t)
    if not callable(force):
        raise ValueError(f"force must be None, a float amplitude or a callable F(t), received {force!r}")
    try:
        values = np.asarray(force(t), dtype=np.float64)
    except (TypeError, ValueError):  # a callable written for scalars only (math.cos, if-statements, ...)
        values = np.array([force(float(ti)) for ti in t], dtype=np.float64)
    if values.ndim == 0:
        values = np.full_like(t, float(values))
    if values.shape != t.shape:
        raise ValueError(
            f"force(t) must return shape {t.shape} for t of shape {t.shape}, received {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError("force(t) returned non-finite values")
    return values


@partial(_cache.jit, static_argnames="method")
def _integrate(method: str, forces, dt, eta, x0, v0):
    """Scan the oscillator x'' = F - eta x' - x over n - 1 steps (``forces``: see ``damped_oscillator``)."""

    def acceleration(x, v, F):
        return F - eta * v - x

    def euler(state, F):
        x, v = state
        new = (x + dt * v, v + dt * acceleration(x, v, F))  # both from the OLD x_i, v_i
        return new, new

    def rk4(state, F3):
        x, v = state
        F0, Fh, F1 = F3  # F(t_i), F(t_i + dt/2), F(t_i + dt)
        k1x, k1v = v, acceleration(x, v, F0)
        k2x, k2v = v + 0.5 * dt * k1v, acceleration(x + 0.5 * dt * k1x, v + 0.5 * dt * k1v, Fh)
        k3x, k3v = v + 0.5 * dt * k2v, acceleration(x + 0.5 * dt * k2x, v + 0.5 * dt * k2v, Fh)
        k4x, k4v = v + dt * k3v, acceleration(x + dt * k3x, v + dt * k3v, F1)
        new = (x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x), v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v))
        return new, new

    _, (xs, vs) = jax.lax.scan(euler if method == "euler" else rk4, (x0, v0), forces)
    return jnp.concatenate([x0[None], xs]), jnp.concatenate([v0[None], vs])


def damped_oscillator(
    eta: float = 0.2,
    force: Callable | float | None = None,
    dt: float = 0.01,
    n: int = 1000,
    x0: float = 1.0,
    v0: float = 0.0,
    method: str = "euler",
    omega: float = 1.0,
) -> Oscillation:
    """The course's driven damped oscillator x'' + eta x' + x = F(t) (dimensionless, natural frequency 1).

    ``method="euler"`` is the lecture's forward Euler, with both updates taken from the old state::

        v_{i+1} = v_i + dt (F_i - eta v_i - x_i)
        x_{i+1} = x_i + dt v_i

    (the course's ``ForwardEuler``; its ``ForwardEulerCromer`` would use ``v_{i+1}`` in the second line).
    Forward Euler is first order and gains energy (the undamped amplitude grows as (1 + dt^2)^{i/2}).
    ``method="rk4"`` is the classical fourth-order Runge-Kutta method on (x, v), with F evaluated at
    t_i, t_i + dt/2 and t_i + dt: the accurate alternative (global error O(dt^4)).

    Both run as one jitted ``lax.scan`` in float64 (n = 10^5 steps take milliseconds).

    Arguments:
        eta: damping coefficient, >= 0.
        force: ``None`` (F = 0), a float amplitude A meaning F(t) = A cos(omega t), or a callable F(t)
            (called with the array of times, or element by element if it only takes scalars).
        dt: time step, > 0.
        n: number of time points (>= 2), t_i = i dt for i = 0..n-1.
        x0, v0: initial position and velocity.
        method: ``"euler"`` or ``"rk4"``.
        omega: driving frequency of a float ``force``.

    Returns:
        ``Oscillation(t, x, v, F)``: float64 arrays of shape [n].
    """
    eta = _real("eta", eta, nonnegative=True)
    dt = _real("dt", dt, positive=True)
    n = count("n", n, minimum=2)
    x0, v0, omega = _real("x0", x0), _real("v0", v0), _real("omega", omega)
    if method not in ("euler", "rk4"):
        raise ValueError(f"method must be 'euler' or 'rk4', received {method!r}")
    t = np.arange(n) * dt
    if method == "euler":
        F = _force_values(force, t, omega)
        forces = F[:-1]
    else:
        # F on the half-step grid t_0, t_0 + dt/2, t_1, ...; step i uses F(t_i), F(t_i + dt/2), F(t_{i+1})
        F_half = _force_values(force, np.arange(2 * n - 1) * (dt / 2), omega)
        F = F_half[::2]
        forces = (F_half[0:-1:2], F_half[1::2], F_half[2::2])
    with jax.enable_x64(True):
        as64 = partial(jnp.asarray, dtype=jnp.float64)
        forces = tuple(map(as64, forces)) if method == "rk4" else as64(forces)
        x, v = _integrate(method, forces, as64(dt), as64(eta), as64(x0), as64(v0))
        x, v = np.asarray(x), np.asarray(v)
    return Oscillation(t, x, v, F)


# ------------------------------------------------------------------------------------------ simple sets


def logic_gates() -> LogicGates:
    """The four inputs of a two-input gate and the XOR, AND and OR targets (the course's first networks).

    Returns:
        ``LogicGates(X, targets)``: ``X`` float64 [4, 2] rows (0,0), (0,1), (1,0), (1,1); ``targets`` a dict
        ``{"XOR", "AND", "OR"}`` of float64 [4, 1] arrays.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    a, b = X[:, :1].astype(bool), X[:, 1:].astype(bool)
    targets = {"XOR": a ^ b, "AND": a & b, "OR": a | b}
    return LogicGates(X, {k: v.astype(np.float64) for k, v in targets.items()})


def projectile(
    v0: float = 10.0,
    g: float = 9.81,
    n: int = 50,
    noise: float = 0.0,
    seed: int = 0,
    t_max: float | None = None,
) -> Projectile:
    """Height of a body thrown straight up, x(t) = v0 t - g t^2 / 2 + Gaussian noise.

    Arguments:
        v0: initial velocity.
        g: gravitational acceleration, > 0.
        n: number of time points (>= 2), evenly spaced on [0, t_max].
        noise: standard deviation of the Gaussian noise added to x, >= 0.
        seed: seed of ``np.random.default_rng``.
        t_max: last time; default the flight time 2 v0 / g (then v0 must be > 0).

    Returns:
        ``Projectile(t, x)``: float64 arrays of shape [n].
    """
    v0, g = _real("v0", v0), _real("g", g, positive=True)
    n, noise, rng = count("n", n, minimum=2), _real("noise", noise, nonnegative=True), _rng(seed)
    if t_max is None:
        if v0 <= 0:
            raise ValueError(
                f"v0 must be > 0 when t_max is not given (flight time 2 v0 / g), received {v0!r}"
            )
        t_max = 2 * v0 / g
    t_max = _real("t_max", t_max, positive=True)
    t = np.linspace(0.0, t_max, n)
    x = v0 * t - 0.5 * g * t**2 + noise * rng.standard_normal(n)
    return Projectile(t, x)


def infinite_well(
    n_state: int = 1, L: float = 2.0, n_points: int = 100, noise: float = 0.0, seed: int = 0
) -> InfiniteWell:
    """Stationary state of a particle in an infinite square well, Psi_n(x) = sqrt(2/L) sin(n pi x / L).

    Arguments:
        n_state: quantum number n >= 1.
        L: width of the well, > 0; x runs over [0, L].
        n_points: number of grid points (>= 2).
        noise: standard deviation of the Gaussian noise added to Psi, >= 0.
        seed: seed of ``np.random.default_rng``.

    Returns:
        ``InfiniteWell(x, psi)``: float64 arrays of shape [n_points].
    """
    n_state, L = count("n_state", n_state), _real("L", L, positive=True)
    n_points, noise, rng = (
        count("n_points", n_points, 2),
        _real("noise", noise, nonnegative=True),
        _rng(seed),
    )
    x = np.linspace(0.0, L, n_points)
    psi = np.sqrt(2.0 / L) * np.sin(n_state * np.pi * x / L) + noise * rng.standard_normal(n_points)
    return InfiniteWell(x, psi)


def spring(
    k: float = 1.0,
    m: float = 1.0,
    x0: float = 1.0,
    n: int = 100,
    noise: float = 0.0,
    seed: int = 0,
    t_max: float = 10.0,
) -> Spring:
    """A mass on a spring released from rest: x = x0 cos(w t), v = -x0 w sin(w t), w = sqrt(k / m).

    Arguments:
        k: spring constant, > 0.
        m: mass, > 0.
        x0: initial displacement.
        n: number of time points (>= 2), evenly spaced on [0, t_max].
        noise: standard deviation of the Gaussian noise added to x and to v (independent draws), >= 0.
        seed: seed of ``np.random.default_rng``.
        t_max: last time, > 0.

    Returns:
        ``Spring(t, x, v)``: float64 arrays of shape [n].
    """
    k, m, x0 = _real("k", k, positive=True), _real("m", m, positive=True), _real("x0", x0)
    n, noise, rng = count("n", n, minimum=2), _real("noise", noise, nonnegative=True), _rng(seed)
    t = np.linspace(0.0, _real("t_max", t_max, positive=True), n)
    w = np.sqrt(k / m)
    x = x0 * np.cos(w * t) + noise * rng.standard_normal(n)
    v = -x0 * w * np.sin(w * t) + noise * rng.standard_normal(n)
    return Spring(t, x, v)


# ------------------------------------------------------------------------------------ signals with anomalies


class Glitched(NamedTuple):
    """A signal with injected anomalies: times ``t`` [T], values ``x`` [T], ``labels`` [T] (1 inside an anomaly)
    and ``spans``, the anomalies as (start time, end time) pairs."""

    t: np.ndarray
    x: np.ndarray
    labels: np.ndarray
    spans: list


def _inject(t, x, rng, glitches, amplitude, width, margin):
    """Add ``glitches`` half-sine bumps of ``width`` steps and height +-``amplitude`` at random, non-overlapping
    places (at least ``margin`` steps from the ends and from each other)."""
    T = len(x)
    labels = np.zeros(T, np.int64)
    spans, starts = [], []
    for _ in range(1000 * max(glitches, 1)):
        if len(starts) == glitches:
            break
        a = int(rng.integers(margin, T - margin - width))
        if all(abs(a - b) > width + margin for b in starts):
            starts.append(a)
    if len(starts) < glitches:
        raise ValueError(f"glitches={glitches} of width {width} do not fit in {T} steps")
    for a in sorted(starts):
        sign = rng.choice([-1.0, 1.0])
        x[a:a + width] += sign * amplitude * np.sin(np.pi * (np.arange(width) + 0.5) / width)
        labels[a:a + width] = 1
        spans.append((float(t[a]), float(t[a + width - 1])))
    return labels, spans


def glitched_oscillator(n: int = 4000, dt: float = 0.05, glitches: int = 5, amplitude: float = 0.4,
                        width: int = 20, noise: float = 0.01, eta: float = 0.2, seed: int = 0) -> Glitched:
    """The course's driven damped oscillator x'' + eta x' + x = cos t in its steady state (RK4, the transient of
    the first 40 / eta time units dropped), sampled every ``dt`` for ``n`` steps, with Gaussian noise of std
    ``noise`` and ``glitches`` injected half-sine bumps of ``width`` steps and height +-``amplitude`` (the
    anomalies an autoencoder trained on the clean signal should find). ``glitches=0`` is the clean signal.

    Returns ``Glitched(t, x, labels, spans)``.
    """
    n = count("n", n, minimum=64)
    glitches = count("glitches", glitches, minimum=0)
    width = count("width", width, minimum=1)
    dt, amplitude = _real("dt", dt, positive=True), _real("amplitude", amplitude, nonnegative=True)
    noise = _real("noise", noise, nonnegative=True)
    rng = _rng(seed)
    skip = int(np.ceil(40.0 / max(_real("eta", eta, positive=True), 1e-3) / dt))
    oscillation = damped_oscillator(eta=eta, force=1.0, dt=dt, n=n + skip, method="rk4")
    t, x = oscillation.t[skip:] - oscillation.t[skip], oscillation.x[skip:].copy()
    x += noise * rng.standard_normal(n)
    labels, spans = _inject(t, x, rng, glitches, amplitude, width, margin=width)
    return Glitched(t, x, labels, spans)


def sine_with_peak(n: int = 2000, dt: float = 0.05, peaks: int = 1, amplitude: float = 1.0, width: int = 20,
                   noise: float = 0.05, seed: int = 0) -> Glitched:
    """The CP3 notes' anomaly example (their figure 6): sin t with Gaussian noise of std ``noise`` and ``peaks``
    injected bumps of ``width`` steps and height +-``amplitude``. Returns ``Glitched(t, x, labels, spans)``."""
    n = count("n", n, minimum=64)
    peaks = count("peaks", peaks, minimum=0)
    width = count("width", width, minimum=1)
    dt, amplitude = _real("dt", dt, positive=True), _real("amplitude", amplitude, nonnegative=True)
    rng = _rng(seed)
    t = np.arange(n) * dt
    x = np.sin(t) + _real("noise", noise, nonnegative=True) * rng.standard_normal(n)
    labels, spans = _inject(t, x, rng, peaks, amplitude, width, margin=width)
    return Glitched(t, x, labels, spans)
