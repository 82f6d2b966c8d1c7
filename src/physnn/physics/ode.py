"""Ordinary differential equations solved with a neural-network trial solution (Lagaris et al. 1998).

First order, u'(x) = f(x, u) with u(x0) = u0 (a scalar or a system), the trial solution (course eq. 2.13)

    g(x) = u0 + (x - x0) N(x; theta)

satisfies the initial condition for every theta; second order, u'' = f(x, u, u') with u(x0) = u0 and
u'(x0) = v0, the trial solution is g(x) = u0 + v0 (x - x0) + (x - x0)^2 N(x; theta). The network is trained
to make the residual r(x) = g'(x) - f(x, g(x)) (or g'' - f(x, g, g')) vanish at collocation points, i.e.
to minimise C(theta) = mean_i |r(x_i)|^2.

Rescaling: the domain [x0, x1] is mapped to s = (x - x0) / (x1 - x0) in [0, 1] and the network sees
2 s - 1 in [-1, 1], so a domain [0, 50] trains as well as [0, 1]; the derivatives follow by the chain rule,
du/dx = (1 / L) dg/ds and d2u/dx2 = (1 / L^2) d2g/ds2 with L = x1 - x0. In the scaled variable the trial
solution reads g = u0 + s N(s) (or u0 + v0 L s + s^2 N(s)), which is eq. 2.13 with N rescaled by 1/L
(1/L^2): the network's output stays of the order of the change of u. Measured on x'' + 0.2 x' + x = 0
over [0, 10] with the same training, the unscaled form u0 + (x - x0)^2 N had a max error of 7e-3, this
one 3e-4 (Adam's steps in N are L^2 times larger in u with the unscaled form).

Derivatives of the trial solution are exact (forward-mode autodiff, vmapped over the points) by default;
``derivative="finite_difference"`` uses the lecture's central differences with step h. Training is Adam
(jit + lax.scan over the steps) followed by an optional L-BFGS polish; everything runs in float64.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks
from physnn.physics.mlp import mlp_apply, mlp_init
from physnn.training.lbfgs import minimize


def _x64():
    return jax.enable_x64(True)


def _trial(params, s, problem: dict, order: int, activation):
    """The trial solution g(s) of shape [m] at the scaled coordinate s (a scalar).

    First order g = u0 + s N(2s - 1); second order g = u0 + v0 L s + s^2 N(2s - 1), with L = x1 - x0 and
    ``problem`` = {"u0": [m], "v0": [m], "x0": scalar, "length": L}.
    """
    n = mlp_apply(params, jnp.reshape(2 * s - 1, (1, 1)), activation)[0]
    if order == 1:
        return problem["u0"] + s * n
    return problem["u0"] + problem["v0"] * problem["length"] * s + s**2 * n


@functools.lru_cache(maxsize=64)
def _evaluator(order: int, activation, derivative: bool) -> Callable:
    """Compiled (params, problem, s[n]) -> g(s) [n, m], or dg/dx when ``derivative``."""

    def one(params, problem, s):
        g = lambda t: _trial(params, t, problem, order, activation)  # noqa: E731
        if derivative:
            return jax.jvp(g, (s,), (jnp.ones_like(s),))[1] / problem["length"]
        return g(s)

    return _cache.jit(jax.vmap(one, (None, None, 0)))


class ODESolution:
    """A trained trial solution, callable like the function u(x) it approximates.

    Attributes:
        params: the network parameters (a NumPy float64 pytree).
        domain: (x0, x1), the training interval (``sol(x)`` also evaluates outside it).
        order: 1 or 2.
        residual_history: RMS residual at the collocation points before each optimisation step, Adam steps
            first then L-BFGS iterations, shape [adam_steps + polish_steps].
        final_residual: RMS residual on held-out points (the midpoints of the collocation grid).
        tol: the tolerance ``final_residual`` is compared with; ``converged = final_residual < tol``.
        adam_steps, polish_steps: the optimisation steps taken by each method.
    """

    def __init__(self, params, *, problem, order, activation, scalar, residual_history, final_residual,
                 tol, adam_steps, polish_steps):
        self.params = jax.tree_util.tree_map(lambda p: np.asarray(p, np.float64), params)
        self._problem = {k: np.asarray(v, np.float64) for k, v in problem.items() if k != "args"}
        x0, length = float(self._problem["x0"]), float(self._problem["length"])
        self.domain = (x0, x0 + length)
        self.order = order
        self._activation = activation
        self._scalar = scalar
        self.residual_history = np.asarray(residual_history, np.float64)
        self.final_residual = float(final_residual)
        self.tol = float(tol)
        self.converged = bool(self.final_residual < self.tol)
        self.adam_steps = int(adam_steps)
        self.polish_steps = int(polish_steps)

    def _evaluate(self, x, derivative: bool):
        x = np.asarray(x, np.float64)
        s = (x.ravel() - self._problem["x0"]) / self._problem["length"]
        with _x64():
            evaluate = _evaluator(self.order, self._activation, derivative)
            out = np.asarray(evaluate(self.params, self._problem, s))
        return out[:, 0].reshape(x.shape) if self._scalar else out.reshape(*x.shape, -1)

    def __call__(self, x):
        """u(x) for x of any shape: a NumPy array shaped like x (scalar problem) or [*x.shape, m] (system)."""
        return self._evaluate(x, derivative=False)

    def derivative(self, x):
        """u'(x), shaped as ``sol(x)`` (the exact derivative of the trial solution)."""
        return self._evaluate(x, derivative=True)

    def __repr__(self):
        return (f"ODESolution(domain={self.domain}, order={self.order}, "
                f"final_residual={self.final_residual:.3e}, converged={self.converged})")


def _infer_order(rhs, n_args: int) -> int:
    """2 when rhs takes x, u, du (+ the extra args) as required positional arguments, else 1."""
    try:
        positional = [p for p in inspect.signature(rhs).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return 1
    return 2 if len(positional) - n_args == 3 else 1


def _check_number(name, value, *, positive=True, integer=False):
    if integer:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)
    if not (ok and (value > 0 if positive else value >= 0)):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind} {'> 0' if positive else '>= 0'}, got {value!r}")


def _check_rhs(rhs, order, scalar, m, args):
    """Check once, by abstract evaluation, that rhs returns an array of u's shape."""
    u_shape = () if scalar else (m,)
    example = [jax.ShapeDtypeStruct((), jnp.float64)] + [jax.ShapeDtypeStruct(u_shape, jnp.float64)] * order
    try:
        out = jax.eval_shape(lambda *a: jnp.asarray(rhs(*a)), *example, *args)
    except Exception as err:  # re-raised with the problem named
        raise ValueError(f"rhs(x, u{', du' if order == 2 else ''}) failed for a scalar x and u of shape "
                         f"{u_shape} (order {order}): {type(err).__name__}: {err}") from err
    allowed = {u_shape} | ({(1,)} if scalar else set())
    if out.shape not in allowed:
        raise ValueError(f"rhs must return an array of u's shape {u_shape}, got shape {out.shape}")


@functools.lru_cache(maxsize=32)
def _solver(rhs, order, m, scalar, hidden, activation, n_points, steps, eta, n_polish, derivative):
    """The compiled solve: run(params, problem, h) -> (params, costs, held-out RMS at the solution), see
    ``minimize``.

    Cached on everything that changes the program, so solving the same equation again (another seed,
    domain, initial value or ``args``) does not compile again.
    """
    unpack = (lambda v: v[0]) if scalar else (lambda v: v)

    def point_residual(params, s, problem, h):
        g = lambda t: _trial(params, t, problem, order, activation)  # noqa: E731
        length = problem["length"]
        x = problem["x0"] + length * s
        if derivative == "autodiff":
            one = jnp.ones_like(s)
            if order == 1:
                u, du = jax.jvp(g, (s,), (one,))
            else:
                u = g(s)
                du, d2u = jax.jvp(lambda t: jax.jvp(g, (t,), (one,))[1], (s,), (one,))
        else:  # central differences with step h in x, i.e. h / L in s
            hs = h / length
            up, u, um = g(s + hs), g(s), g(s - hs)
            du = (up - um) / (2 * hs)
            d2u = (up - 2 * u + um) / hs**2
        args = problem["args"]
        if order == 1:
            return du / length - jnp.reshape(jnp.asarray(rhs(x, unpack(u), *args)), (m,))
        return d2u / length**2 - jnp.reshape(jnp.asarray(rhs(x, unpack(u), unpack(du / length), *args)), (m,))

    s_train = np.linspace(0.0, 1.0, n_points)
    s_held_out = 0.5 * (s_train[1:] + s_train[:-1])  # the midpoints

    def mean_square_residual(params, s, problem, h):
        return jnp.mean(jax.vmap(point_residual, (None, 0, None, None))(params, s, problem, h) ** 2)

    @_cache.jit
    def run(params, problem, h):
        params, costs, _ = minimize(lambda p: mean_square_residual(p, s_train, problem, h), params,
                                    adam_steps=steps, eta=eta, lbfgs_steps=n_polish)
        # the held-out residual once, at the solution (not at every step: it cost a third of each)
        return params, costs, jnp.sqrt(mean_square_residual(params, s_held_out, problem, h))

    return run


def solve_ode(rhs: Callable, u0, domain: Sequence[float], *, args: Sequence = (), order: int | None = None,
              hidden: Sequence[int] = (32,), activation: str | Callable = "tanh", n_points: int = 100,
              steps: int = 1000, eta=1e-2, seed: int = 0, polish: bool = True, polish_steps: int = 2000,
              derivative: str = "autodiff", h: float = 1e-4, tol: float = 1e-3) -> ODESolution:
    """Solve an initial-value problem with a trial-solution network (eq. 2.13).

    Arguments:
        rhs: first order ``rhs(x, u) -> du/dx``; second order ``rhs(x, u, du) -> d2u/dx2``. ``x`` is a
            scalar; ``u`` (and ``du``) are scalars for a scalar problem and arrays of shape [m] for a system,
            and the return value has the same shape. Written with ``jax.numpy``. With ``args``, rhs is
            called as ``rhs(x, u, *args)`` (``rhs(x, u, du, *args)``).
        u0: first order: u(x0), a number or a vector [m]. Second order: the pair (u(x0), u'(x0)).
        domain: (x0, x1) with x1 > x0; the solution is trained on this interval.
        args: extra numbers or arrays for rhs (parameters of the equation). They enter the compiled program
            as inputs, so a family of equations (a parameter sweep) compiles once.
        order: 1 or 2; by default 2 when ``rhs`` takes three positional arguments besides ``args``, else 1.
        hidden: hidden-layer widths of N.
        activation: hidden activation (name or callable).
        n_points: collocation points, uniform on [x0, x1].
        steps: Adam steps; eta: Adam learning rate (a number or a schedule step -> eta).
        seed: seeds the network initialisation.
        polish: follow Adam with ``polish_steps`` L-BFGS iterations (``physnn.physics.mlp.lbfgs``).
        derivative: "autodiff" (exact) or "finite_difference" (central differences with step ``h`` in x).
        tol: the solution is ``converged`` when the RMS residual on held-out midpoints is below ``tol``;
            otherwise a RuntimeWarning gives the final residual.

    Returns:
        An ``ODESolution``; ``sol(x)`` evaluates u anywhere (also outside the domain).

    Raises:
        ValueError: for a bad domain, u0, order, rhs output shape, option, or non-finite residuals.
    """
    if not (isinstance(domain, (tuple, list, np.ndarray)) and len(domain) == 2):
        raise ValueError(f"domain must be a pair (x0, x1), got {domain!r}")
    x0, x1 = (float(d) for d in domain)
    if not (math.isfinite(x0) and math.isfinite(x1) and x1 > x0):
        raise ValueError(f"domain must satisfy x1 > x0 (both finite), got x0={x0}, x1={x1}")
    if not callable(rhs):
        raise ValueError(f"rhs must be a callable rhs(x, u[, du]), got {rhs!r}")
    if not isinstance(args, (tuple, list)):
        raise ValueError(f"args must be a tuple of numbers or arrays for rhs, got {args!r}")
    args = tuple(np.asarray(a, np.float64) for a in args)
    inferred = order is None
    order = _infer_order(rhs, len(args)) if inferred else order
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if derivative not in ("autodiff", "finite_difference"):
        raise ValueError(f"derivative must be 'autodiff' or 'finite_difference', got {derivative!r}")
    _check_number("n_points", n_points, integer=True)
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    _checks.seed("seed", seed)
    _check_number("steps", steps, positive=False, integer=True)
    _check_number("polish_steps", polish_steps, positive=False, integer=True)
    _check_number("h", h)
    _check_number("tol", tol)
    if not callable(eta):
        _check_number("eta", eta)
    hidden = tuple(hidden)
    if not hidden or not all(isinstance(w, (int, np.integer)) and w > 0 for w in hidden):
        raise ValueError(f"hidden must be one or more positive integers, got {hidden!r}")

    if order == 1:
        u_init, v_init = np.asarray(u0, np.float64), None
    else:
        if not (isinstance(u0, (tuple, list)) and len(u0) == 2):
            hint = (" (order 2 was inferred because rhs takes x, u, du besides args; pass order=1 or args=)"
                    if inferred else "")
            raise ValueError(f"u0 for a second-order problem must be the pair (u(x0), u'(x0)), got {u0!r}{hint}")
        u_init, v_init = np.asarray(u0[0], np.float64), np.asarray(u0[1], np.float64)
        if u_init.shape != v_init.shape:
            raise ValueError(f"u(x0) and u'(x0) must have the same shape, "
                             f"got {u_init.shape} and {v_init.shape}")
    finite = np.all(np.isfinite(u_init)) and (v_init is None or np.all(np.isfinite(v_init)))
    if u_init.ndim > 1 or not finite:
        raise ValueError(f"u0 must hold finite numbers (a number or a vector), got {u0!r}")
    scalar = u_init.ndim == 0
    m = 1 if scalar else u_init.shape[0]
    v_init = np.zeros_like(u_init) if v_init is None else v_init
    problem = {"u0": u_init.reshape(m), "v0": v_init.reshape(m), "x0": np.float64(x0),
               "length": np.float64(x1 - x0), "args": args}
    n_polish = polish_steps if polish else 0

    with _x64():
        _check_rhs(rhs, order, scalar, m, args)
        config = (rhs, order, m, scalar, hidden, activation, n_points, steps, eta, n_polish, derivative)
        try:
            run = _solver(*config)
        except TypeError:  # an unhashable rhs, activation or schedule: build without the cache
            run = _solver.__wrapped__(*config)
        # initialised on the host, outside the compiled solve (physnn.initializers)
        params = mlp_init(seed, (1, *hidden, m), jnp.float64)
        params, costs, checks = run(params, problem, np.float64(h))
        costs, final = np.asarray(costs), float(checks)

    if not math.isfinite(costs[0]):
        raise ValueError("the residual is not finite for the initial network: rhs returns inf/nan on "
                         f"the domain {(x0, x1)} (check for divisions by zero or logs of negatives)")
    if not np.all(np.isfinite(costs)) or not math.isfinite(final):
        bad = int(np.argmin(np.isfinite(costs))) if not np.all(np.isfinite(costs)) else len(costs) - 1
        raise ValueError(f"the residual became non-finite at step {bad} ({steps} Adam steps with "
                         f"eta={eta!r}, then L-BFGS): lower eta or check rhs for singularities on the domain")
    solution = ODESolution(params, problem=problem, order=order, activation=activation, scalar=scalar,
                           residual_history=np.sqrt(costs[:-1]), final_residual=final, tol=tol,
                           adam_steps=steps, polish_steps=n_polish)
    if not solution.converged:
        warnings.warn(f"solve_ode did not converge: final RMS residual {final:.3e} >= tol {tol:.1e} "
                      f"after {steps} Adam steps and {n_polish} L-BFGS iterations; try more steps, "
                      "more n_points or hidden units, or a larger tol", RuntimeWarning, stacklevel=2)
    return solution
