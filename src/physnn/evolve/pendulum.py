r"""A damped, torque-limited pendulum simulated in JAX, and a policy network that swings it up from reward alone.

Convention: theta is the angle from the upright position (theta = 0 upright, theta = pi hanging), counted
positive in the direction of positive torque. With phi = theta + pi the usual angle from the hanging position,
phi'' = -(g/l) sin(phi) - b phi' + u/(m l^2); in theta this reads

    theta'' = (g/l) sin(theta) - b theta' + u / (m l^2),      |u| <= u_max                                  (1)

with g = 9.81 m/s^2, l = 1 m, m = 1 kg, damping rate b = 0.1 1/s and u_max = 3 N m (``Pendulum``). Since
u_max < m g l = 9.81 N m the torque cannot hold the pendulum at theta = pi/2, let alone lift it straight up: it
must pump energy in, swinging back and forth: the energy E = m l^2 theta'^2 / 2 + m g l cos(theta) has to rise
from -m g l to +m g l (19.6 J), and the torque's work int u dtheta over one half swing (less than a full turn) is
below 2 pi u_max = 18.8 J, so at least two swings are needed (dE/dt = u theta' - b m l^2 theta'^2).

Integration: the classical Runge-Kutta method (RK4) with step dt = 0.05 s, the torque held constant over the step
(zero-order hold, one policy call per step), inside one ``lax.scan``; an episode is 10 s = 200 steps from the
hanging start theta = pi, theta' = 0. (``method="euler"``: semi-implicit Euler, theta'_{k+1} = theta'_k +
dt f(theta_k, theta'_k, u_k), theta_{k+1} = theta_k + dt theta'_{k+1}.)

Policy: a plain MLP pytree {"W1" [3, H], "b1" [H], "W2" [H, 1], "b2" [1]} on the observation
s = (cos theta, sin theta, theta' / 8) (the rate scaled to order one), tanh hidden units, a tanh-limited torque

    u = u_max tanh(W2^T tanh(W1^T s + b1) + b2).                                                           (2)

Reward (the return of an episode, in seconds of "being upright"; theta_k, theta'_k the state after step k):

    R = sum_k dt [cos(theta_k) - c_u (u_k / u_max)^2 - c_w theta'_k^2],     c_u = 0.01, c_w = 0.01 s^2,      (3)

at most 10 (upright at rest all the time); hanging at rest gives -10. The small rate cost c_w makes "upright"
mean "upright and at rest": without it, spinning the pendulum round and round (mean cos(theta) ~ 0) is a local
optimum that the search often ends in (measured, 1000 generations: sep-CMA-ES popsize 128 balanced 0 of seeds
0-2, CMA-ES popsize 32 one of three); with it sep-CMA-ES (popsize 64) balanced 10 of 10 seeds (0-9) in 600
generations, 0.7-1.0 s each on 2 cores.

``train`` maximises R with ``physnn.evolve.maximize`` (sep-CMA-ES, popsize 64, sigma 0.5 by default);
``upright_hold`` measures the issue's target: |theta| (wrapped to [-pi, pi)) below 0.1 rad at every step of the
last half of the episode.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks, initializers
from physnn.evolve.api import RewardResult, maximize

RATE_SCALE = 8.0  # theta' enters the policy as theta' / RATE_SCALE


class Pendulum(NamedTuple):
    """Physical and numerical constants of (1) and (3). Build with ``Pendulum.make(...)`` to have them checked."""

    g: float = 9.81          # m / s^2
    length: float = 1.0      # m
    mass: float = 1.0        # kg
    damping: float = 0.1     # b, 1 / s
    u_max: float = 3.0       # N m
    dt: float = 0.05         # s
    duration: float = 10.0   # s
    torque_cost: float = 0.01  # c_u
    rate_cost: float = 0.01    # c_w, s^2
    method: str = "rk4"

    @classmethod
    def make(cls, **values) -> Pendulum:
        """``Pendulum(**values)`` with every value checked (ValueError naming the argument)."""
        unknown = set(values) - set(cls._fields)
        if unknown:
            raise ValueError(f"unknown pendulum arguments {sorted(unknown)}; known: {list(cls._fields)}")
        out = {}
        for name, default in cls._field_defaults.items():
            value = values.get(name, default)
            if name == "method":
                if value not in ("rk4", "euler"):
                    raise ValueError(f"method must be 'rk4' or 'euler', received {value!r}")
            elif name in ("damping", "torque_cost", "rate_cost"):
                value = _checks.real(name, value, low=0)
            else:
                value = _checks.real(name, value, low=0, low_open=True)
            out[name] = value
        p = cls(**out)
        if p.dt > p.duration:
            raise ValueError(f"dt must not exceed duration ({p.duration}), received {p.dt!r}")
        return p

    @property
    def steps(self) -> int:
        return int(round(self.duration / self.dt))


DEFAULT = Pendulum()


def acceleration(theta, omega, u, p: Pendulum = DEFAULT):
    """theta'' of (1): (g/l) sin(theta) - b theta' + u / (m l^2) (theta from upright)."""
    return p.g / p.length * jnp.sin(theta) - p.damping * omega + u / (p.mass * p.length ** 2)


def step(theta, omega, u, p: Pendulum = DEFAULT):
    """One step of (1) with torque u held over dt: RK4, or semi-implicit Euler (``p.method == "euler"``).
    Returns (theta, omega) after the step."""
    dt = p.dt
    if p.method == "euler":
        omega = omega + dt * acceleration(theta, omega, u, p)
        return theta + dt * omega, omega
    k1t, k1w = omega, acceleration(theta, omega, u, p)
    k2t, k2w = omega + 0.5 * dt * k1w, acceleration(theta + 0.5 * dt * k1t, omega + 0.5 * dt * k1w, u, p)
    k3t, k3w = omega + 0.5 * dt * k2w, acceleration(theta + 0.5 * dt * k2t, omega + 0.5 * dt * k2w, u, p)
    k4t, k4w = omega + dt * k3w, acceleration(theta + dt * k3t, omega + dt * k3w, u, p)
    return (theta + dt / 6 * (k1t + 2 * k2t + 2 * k3t + k4t),
            omega + dt / 6 * (k1w + 2 * k2w + 2 * k3w + k4w))


def energy(theta, omega, p: Pendulum = DEFAULT):
    """E = m l^2 theta'^2 / 2 + m g l cos(theta): -m g l hanging at rest, +m g l upright at rest."""
    return 0.5 * p.mass * p.length ** 2 * omega ** 2 + p.mass * p.g * p.length * jnp.cos(theta)


def policy(params, theta, omega, p: Pendulum = DEFAULT):
    """The torque (2): u = u_max tanh(W2^T tanh(W1^T s + b1) + b2), s = (cos theta, sin theta, theta' / 8)."""
    s = jnp.stack([jnp.cos(theta), jnp.sin(theta), omega / RATE_SCALE])
    h = jnp.tanh(s @ params["W1"] + params["b1"])
    return p.u_max * jnp.tanh(h @ params["W2"][:, 0] + params["b2"][0])


def simulate(params, p: Pendulum = DEFAULT, theta0: float = math.pi, omega0: float = 0.0):
    """One episode of (1) under the policy (2), from (theta0, omega0) (default: hanging at rest).

    Returns:
        (theta [steps], omega [steps], u [steps]): the state after each step and the torque applied in it.
    """
    dtype = params["W1"].dtype

    def body(state, _):
        theta, omega = state
        u = policy(params, theta, omega, p)
        theta, omega = step(theta, omega, u, p)
        return (theta, omega), (theta, omega, u)

    start = (jnp.asarray(theta0, dtype), jnp.asarray(omega0, dtype))
    _, (theta, omega, u) = jax.lax.scan(body, start, None, length=p.steps)
    return theta, omega, u


def episode_return(params, p: Pendulum = DEFAULT):
    """The reward (3) of one episode from the hanging start:
    sum_k dt [cos(theta_k) - c_u (u_k / u_max)^2 - c_w theta'_k^2]."""
    theta, omega, u = simulate(params, p)
    return p.dt * jnp.sum(jnp.cos(theta) - p.torque_cost * (u / p.u_max) ** 2 - p.rate_cost * omega ** 2)


def wrap(theta):
    """theta wrapped to [-pi, pi) (NumPy or JAX)."""
    return (theta + np.pi) % (2 * np.pi) - np.pi


def upright_hold(theta, p: Pendulum = DEFAULT, tolerance: float = 0.1) -> tuple[bool, float]:
    """The target: (max |wrap(theta)| over the last half of the episode < tolerance, that maximum in rad)."""
    tolerance = _checks.real("tolerance", tolerance, low=0, low_open=True)
    theta = np.asarray(theta, np.float64)
    if theta.ndim != 1 or theta.shape[0] < 2:
        raise ValueError(f"theta must be a trajectory [steps >= 2], received shape {theta.shape}")
    worst = float(np.max(np.abs(wrap(theta[theta.shape[0] // 2:]))))
    return worst < tolerance, worst


def init_policy(seed: int, hidden: int = 16, dtype=np.float32) -> dict:
    """The MLP of (2) drawn on the host: W1, W2 Glorot-uniform from ``initializers.generator(seed)``, biases 0."""
    seed = _checks.seed("seed", seed)
    hidden = _checks.count("hidden", hidden, maximum=4096)
    rng = initializers.generator(seed)
    return {"W1": initializers.glorot_uniform(rng, (3, hidden)).astype(dtype), "b1": np.zeros(hidden, dtype),
            "W2": initializers.glorot_uniform(rng, (hidden, 1)).astype(dtype), "b2": np.zeros(1, dtype)}


class _Reward:
    """episode_return for a fixed Pendulum, hashable by it (one compiled search per pendulum and settings)."""

    __slots__ = ("pendulum",)

    def __init__(self, pendulum):
        self.pendulum = pendulum

    def __call__(self, params):
        return episode_return(params, self.pendulum)

    def __eq__(self, other):
        return type(other) is _Reward and other.pendulum == self.pendulum

    def __hash__(self):
        return hash((_Reward, self.pendulum))


class Trained(NamedTuple):
    """result: ``maximize``'s RewardResult; theta, omega, u: the learned policy's episode [steps];
    held: the target met; worst: max |theta| over the last half (rad); seconds: wall time of the search."""

    result: RewardResult
    theta: np.ndarray
    omega: np.ndarray
    u: np.ndarray
    held: bool
    worst: float
    seconds: float


_simulate = _cache.jit(simulate, static_argnames=("p",))


def train(seed: int = 0, generations: int = 600, popsize: int = 64, sigma: float = 0.5, hidden: int = 16,
          strategy: str = "sep_cma_es", pendulum: Pendulum = DEFAULT, **options) -> Trained:
    """Learn the policy (2) by ``evolve.maximize`` of the return (3): the population's episodes run by ``vmap``
    inside the compiled generation. ``seed`` draws the initial network and the search.

    Returns:
        ``Trained`` with the search result, the learned policy's episode and the target measured on it.
    """
    import time

    if not isinstance(pendulum, Pendulum):
        raise ValueError(f"pendulum must be a Pendulum (Pendulum.make(...)), received {pendulum!r}")
    params = init_policy(seed, hidden)
    t0 = time.perf_counter()
    result = maximize(_Reward(pendulum), params, strategy=strategy, generations=generations, popsize=popsize,
                      sigma=sigma, seed=seed, **options)
    seconds = time.perf_counter() - t0
    theta, omega, u = (np.asarray(a) for a in _simulate(result.params, p=pendulum))
    held, worst = upright_hold(theta, pendulum)
    return Trained(result, theta, omega, u, held, worst, seconds)
