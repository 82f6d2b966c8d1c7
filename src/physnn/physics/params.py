"""Physical-parameter models: a known law with trainable physical constants, fitted to noisy data.

``fit_projectile``: x(t) = Theta_v0 t - Theta_g t^2 / 2, two trainable parameters (the course's
physics-based model with learnable parameters).

``fit_spring``: a mass on a spring, x(t) = a cos(w t) + b sin(w t) and v(t) = x'(t) with w = sqrt(k / m),
trainable Theta_k, Theta_m, a and b. The motion depends on k and m only through k / m: scaling both by the
same factor leaves x(t) and v(t) unchanged, so data on the motion alone cannot identify them. The scale is
fixed by one more piece of physics, and the caller must say which:

* ``E0=`` a known total energy: the energy-conservation term (eq. 4.12)
  lam_phy mean_i (E_i - E0)^2 / E0^2 with E_i = m v^_i^2 / 2 + k x^_i^2 / 2 on the model's trajectory
  is added to the data misfit; it fixes k (a^2 + b^2) / 2 = E0, hence k, and then m = k / w^2;
* ``mass=`` a known mass: Theta_m is held at that value and only k is trained.

Both train with Adam and an L-BFGS polish in one compiled loop (``physnn.physics.mlp.minimize``), in float64.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks, initializers
from physnn.physics.losses import conservation_penalty
from physnn.training.lbfgs import minimize


def _series(name: str, values, n: int | None = None, minimum: int = 3) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.size < minimum:
        raise ValueError(f"{name} must be a 1-D array of at least {minimum} values, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} must have as many values as t ({n}), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite values only")
    return arr


def _check_steps(steps, polish_steps, eta):
    for name, value in (("steps", steps), ("polish_steps", polish_steps)):
        if not (isinstance(value, (int, np.integer)) and value >= 0):
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")


@dataclass
class ProjectileFit:
    """The fitted law x(t) = v0 t - g t^2 / 2 and the loss (mean squared error) before each step."""

    v0: float
    g: float
    loss_history: np.ndarray

    def __call__(self, t):
        t = np.asarray(t, dtype=np.float64)
        return self.v0 * t - 0.5 * self.g * t**2


def fit_projectile(t, x, *, steps: int = 500, polish_steps: int = 50, eta: float = 0.05,
                   seed: int = 0) -> ProjectileFit:
    """Recover v0 and g from heights x(t) of a body thrown up: x = Theta_v0 t - Theta_g t^2 / 2.

    The loss is the mean squared error. Internally time and height are measured in units of t_max and
    max |x| (so both parameters are of order one for Adam); the returned values are in the data's units.

    Arguments:
        t, x: 1-D arrays of the same length (>= 3).
        steps: Adam steps (learning rate ``eta``); polish_steps: L-BFGS iterations after them.
        seed: draws the initial parameters from N(0, 1) (in the scaled units).

    Returns:
        ``ProjectileFit(v0, g, loss_history)``.
    """
    _checks.seed("seed", seed)
    t = _series("t", t)
    x = _series("x", x, n=t.size)
    _check_steps(steps, polish_steps, eta)
    t_scale, x_scale = float(np.max(np.abs(t))), float(np.max(np.abs(x)))
    if t_scale == 0 or x_scale == 0:
        raise ValueError("t and x must not be all zeros")
    with jax.enable_x64(True):
        init = initializers.normal(initializers.generator(seed), (2,))  # float64 here
        theta, losses = _projectile_program({"v0": init[0], "g": init[1]}, t / t_scale, x / x_scale,
                                            steps=steps, polish_steps=polish_steps, eta=float(eta))
        v0 = float(theta["v0"]) * x_scale / t_scale
        g = float(theta["g"]) * x_scale / t_scale**2
    return ProjectileFit(v0=v0, g=g, loss_history=np.asarray(losses) * x_scale**2)


@functools.partial(_cache.jit, static_argnames=("steps", "polish_steps", "eta"))
def _projectile_program(theta0, tau, xi, *, steps, polish_steps, eta):
    def loss(theta):
        return jnp.mean((theta["v0"] * tau - 0.5 * theta["g"] * tau**2 - xi) ** 2)

    theta, losses, _ = minimize(loss, theta0, adam_steps=steps, eta=eta, lbfgs_steps=polish_steps)
    return theta, losses


@dataclass
class SpringFit:
    """The fitted spring: x(t) = a cos(w t) + b sin(w t), w = sqrt(k / m); energy E = k (a^2 + b^2) / 2."""

    k: float
    m: float
    a: float
    b: float
    loss_history: np.ndarray

    @property
    def omega(self) -> float:
        return math.sqrt(self.k / self.m)

    def position(self, t):
        t = np.asarray(t, dtype=np.float64)
        return self.a * np.cos(self.omega * t) + self.b * np.sin(self.omega * t)

    def velocity(self, t):
        t = np.asarray(t, dtype=np.float64)
        return self.omega * (-self.a * np.sin(self.omega * t) + self.b * np.cos(self.omega * t))

    def energy(self, t):
        """E(t) = m v(t)^2 / 2 + k x(t)^2 / 2 (eq. 4.12)."""
        return 0.5 * self.m * self.velocity(t) ** 2 + 0.5 * self.k * self.position(t) ** 2


def fit_spring(t, x, v, *, E0: float | None = None, mass: float | None = None, lam_phy: float = 1.0,
               steps: int = 1000, polish_steps: int = 200, eta: float = 0.02, seed: int = 0) -> SpringFit:
    """Recover the spring constant k and the mass m from a noisy trajectory x(t), v(t).

    J = mean (x^ - x)^2 / var(x) + mean (v^ - v)^2 / var(v) [+ lam_phy mean (E^ - E0)^2 / E0^2  (eq. 4.12)]
    with x^ = a cos(w t) + b sin(w t), v^ = x^', w = sqrt(k / m) and E^ = m v^^2 / 2 + k x^^2 / 2.
    Only k / m is identifiable from the motion, so exactly one of ``E0`` (a known total energy, used in the
    conservation term) and ``mass`` (a known mass, held fixed) must be given; see the module docstring.

    k and m are trained as log k and log m (positive by construction). They start from the equipartition
    estimate w^2 = mean v^2 / mean x^2 (exact for whole periods) with k from E0 = k mean(x^2) (or m = mass),
    each multiplied by exp(0.1 z) with z ~ N(0, 1) drawn from ``seed``; a and b start at x(t0), v(t0) / w.

    Arguments:
        t, x, v: 1-D arrays of the same length (>= 3).
        E0: the known total energy (> 0), or None.
        mass: the known mass (> 0), or None.
        lam_phy: the weight of the conservation term (with ``E0``).
        steps, polish_steps, eta: Adam steps and learning rate, then L-BFGS iterations.
        seed: seeds the initial jitter.

    Returns:
        ``SpringFit(k, m, a, b, loss_history)``.
    """
    _checks.seed("seed", seed)
    t = _series("t", t)
    x = _series("x", x, n=t.size)
    v = _series("v", v, n=t.size)
    _check_steps(steps, polish_steps, eta)
    if (E0 is None) == (mass is None):
        raise ValueError("fit_spring needs exactly one of E0 (a known total energy) or mass: the motion "
                         f"fixes only k / m (got E0={E0!r}, mass={mass!r})")
    for name, value in (("E0", E0), ("mass", mass)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not (isinstance(lam_phy, (int, float)) and lam_phy >= 0):
        raise ValueError(f"lam_phy must be a number >= 0, got {lam_phy!r}")
    mean_x2, mean_v2 = float(np.mean(x**2)), float(np.mean(v**2))
    if mean_x2 == 0 or mean_v2 == 0:
        raise ValueError("x and v must not be all zeros")
    omega0 = math.sqrt(mean_v2 / mean_x2)
    if E0 is not None:
        k0 = E0 / mean_x2
        m0 = k0 / omega0**2
    else:
        m0 = float(mass)
        k0 = m0 * omega0**2

    with jax.enable_x64(True):
        jitter = initializers.normal(initializers.generator(seed), (2,), 0.1)  # float64 here
        log_m = jnp.log(m0) + (jitter[1] if mass is None else 0.0)
        theta0 = {"log_k": jnp.log(k0) + jitter[0], "log_m": log_m,
                  "a": jnp.asarray(x[0]), "b": jnp.asarray(v[0] / omega0)}
        data = {"t": t, "x": x, "v": v, "var_x": np.var(x) or 1.0, "var_v": np.var(v) or 1.0,
                "E0": float(E0 or 1.0), "lam_phy": float(lam_phy), "known_mass": float(mass is not None)}
        theta, losses = _spring_program(theta0, data, steps=steps, polish_steps=polish_steps, eta=float(eta))
        k = float(jnp.exp(theta["log_k"]))
        m = float(jnp.exp(theta["log_m"])) if mass is None else float(mass)
    return SpringFit(k=k, m=m, a=float(theta["a"]), b=float(theta["b"]), loss_history=np.asarray(losses))


@functools.partial(_cache.jit, static_argnames=("steps", "polish_steps", "eta"))
def _spring_program(theta0, data, *, steps, polish_steps, eta):
    """The compiled fit (one program for both cases). With ``data["known_mass"]`` = 1, m stays at its
    initial value (the known mass: its gradient is zero, so neither Adam nor L-BFGS moves it) and the energy
    term is off; with 0, m is trained and the conservation term with E0 is on."""
    known = data["known_mass"]
    log_m0 = theta0["log_m"]

    def loss(theta):
        k = jnp.exp(theta["log_k"])
        m = jnp.exp(jnp.where(known > 0, log_m0, theta["log_m"]))
        w = jnp.sqrt(k / m)
        t = data["t"]
        x_hat = theta["a"] * jnp.cos(w * t) + theta["b"] * jnp.sin(w * t)
        v_hat = w * (-theta["a"] * jnp.sin(w * t) + theta["b"] * jnp.cos(w * t))
        J = (jnp.mean((x_hat - data["x"]) ** 2) / data["var_x"]
             + jnp.mean((v_hat - data["v"]) ** 2) / data["var_v"])
        energy = 0.5 * m * v_hat**2 + 0.5 * k * x_hat**2  # the conservation term with E0 (eq. 4.12)
        return J + (1 - known) * data["lam_phy"] * conservation_penalty(energy, data["E0"]) / data["E0"] ** 2

    theta, losses, _ = minimize(loss, theta0, adam_steps=steps, eta=eta, lbfgs_steps=polish_steps)
    return theta, losses
