"""Full-batch minimisation on flat parameter vectors: L-BFGS with a strong-Wolfe line search, and ``minimize``
(Adam, then an L-BFGS polish, in one compiled ``lax.scan``).

Everything here is traceable (``lax.while_loop`` / ``lax.scan``), so a whole minimisation is one program.
References: J. Nocedal and S. J. Wright, *Numerical Optimization* (2nd ed., 2006): Algorithms 3.5 and 3.6
(line search for the strong Wolfe conditions), eq. (3.59) (cubic interpolation), Algorithm 7.4 (the L-BFGS
two-loop recursion) and eq. (7.20) (the initial scaling H_0 = s.y / y.y I).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physnn.schedulers import Scheduler, adam

C1, C2 = 1e-4, 0.9  # sufficient decrease and curvature constants (Nocedal & Wright's choice for quasi-Newton)


class LineSearch(NamedTuple):
    """The outcome of ``strong_wolfe``: step length, loss and gradient there, and whether it was accepted."""

    step: jax.Array
    value: jax.Array
    grad: jax.Array
    ok: jax.Array


class _Point(NamedTuple):
    a: jax.Array  # step length
    f: jax.Array  # phi(a) = f(x + a p)
    d: jax.Array  # phi'(a) = g(x + a p).p


def _cubic_minimiser(lo: _Point, hi: _Point):
    """The minimiser of the cubic interpolating phi and phi' at lo and hi (N&W eq. 3.59), bisection when it
    is not finite or falls within 10 % of either end."""
    d1 = lo.d + hi.d - 3.0 * (lo.f - hi.f) / (lo.a - hi.a)
    radicand = d1**2 - lo.d * hi.d
    d2 = jnp.sign(hi.a - lo.a) * jnp.sqrt(jnp.maximum(radicand, 0.0))
    a = hi.a - (hi.a - lo.a) * (hi.d + d2 - d1) / (hi.d - lo.d + 2.0 * d2)
    left, right = jnp.minimum(lo.a, hi.a), jnp.maximum(lo.a, hi.a)
    margin = 0.1 * (right - left)
    safe = jnp.isfinite(a) & (radicand >= 0) & (a > left + margin) & (a < right - margin)
    return jnp.where(safe, a, 0.5 * (lo.a + hi.a))


def strong_wolfe(value_and_grad: Callable, x, f0, g0, p, *, c1: float = C1, c2: float = C2,
                 max_evaluations: int = 30) -> LineSearch:
    """A step length a along the descent direction p satisfying the strong Wolfe conditions

        f(x + a p) <= f(x) + c1 a g.p            (sufficient decrease)
        |g(x + a p).p| <= c2 |g.p|                (curvature),

    by bracketing from a = 1 (doubling) and then zooming into the bracket with safeguarded cubic
    interpolation (Nocedal & Wright, Algorithms 3.5 and 3.6). One loss-and-gradient evaluation per trial.

    Arguments:
        value_and_grad: flat vector [n] -> (loss scalar, gradient [n]).
        x, p: the point and the direction, [n]; f0, g0: the loss and gradient at x.
        c1, c2: the Wolfe constants, 0 < c1 < c2 < 1.
        max_evaluations: trials before giving up; then the lowest point with sufficient decrease seen is
            taken, if any.
    Returns:
        ``LineSearch(step, value, grad, ok)``; when ``ok`` is False the step is 0 (value f0, grad g0).
    """
    d0 = jnp.dot(g0, p)
    zero = jnp.zeros((), f0.dtype)
    start = _Point(zero, f0, d0)

    class State(NamedTuple):
        zoom: jax.Array  # bracketing (False) or zooming (True)
        done: jax.Array
        evaluations: jax.Array
        next_a: jax.Array  # the next trial while bracketing
        prev: _Point  # the previous trial while bracketing
        lo: _Point  # the bracket while zooming: lo satisfies sufficient decrease, lowest f so far
        hi: _Point
        accepted: LineSearch  # the point to return (the best with sufficient decrease so far)

    def decreases(pt):
        return pt.f <= f0 + c1 * pt.a * d0  # False for NaN

    def body(s: State) -> State:
        a = jnp.where(s.zoom, _cubic_minimiser(s.lo, s.hi), s.next_a)
        f, g = value_and_grad(x + a * p)
        trial = _Point(a, f, jnp.dot(g, p))
        sufficient = decreases(trial)
        curvature = jnp.abs(trial.d) <= -c2 * d0
        better = sufficient & (trial.f < s.accepted.value) & (trial.a > 0)
        accepted = jax.tree_util.tree_map(lambda new, old: jnp.where(better, new, old),
                                          LineSearch(a, f, g, jnp.asarray(True)), s.accepted)
        done = sufficient & curvature
        accepted = jax.tree_util.tree_map(lambda new, old: jnp.where(done, new, old),
                                          LineSearch(a, f, g, jnp.asarray(True)), accepted)

        def pick(cond, a_pt, b_pt):
            return jax.tree_util.tree_map(lambda u, v: jnp.where(cond, u, v), a_pt, b_pt)

        # bracketing (Alg. 3.5)
        high = ~sufficient | ((s.evaluations > 0) & (trial.f >= s.prev.f))
        uphill = trial.d >= 0
        b_zoom = high | (~curvature & uphill)
        b_lo = pick(high, s.prev, trial)
        b_hi = pick(high, trial, s.prev)
        # zooming (Alg. 3.6)
        z_high = ~sufficient | (trial.f >= s.lo.f)
        flip = (trial.d * (s.hi.a - s.lo.a)) >= 0
        z_hi = pick(z_high, trial, pick(flip, s.lo, s.hi))
        z_lo = pick(z_high, s.lo, trial)

        return State(zoom=s.zoom | b_zoom, done=done, evaluations=s.evaluations + 1,
                     next_a=2.0 * a, prev=trial,
                     lo=pick(s.zoom, z_lo, b_lo), hi=pick(s.zoom, z_hi, b_hi), accepted=accepted)

    def cond(s: State):
        return ~s.done & (s.evaluations < max_evaluations)

    none = LineSearch(zero, f0, g0, jnp.asarray(False))
    state = State(jnp.asarray(False), jnp.asarray(False), jnp.asarray(0), jnp.ones((), f0.dtype), start, start,
                  start, none)
    return jax.lax.while_loop(cond, body, state).accepted


class Memory(NamedTuple):
    """The last ``m`` L-BFGS pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k (rows; newest at (count - 1) % m)."""

    S: jax.Array  # [m, n]
    Y: jax.Array  # [m, n]
    rho: jax.Array  # [m], 1 / (s.y); 0 for empty slots
    count: jax.Array  # pairs stored so far


def empty_memory(n: int, m: int, dtype) -> Memory:
    zeros = jnp.zeros((m, n), dtype)
    return Memory(zeros, zeros, jnp.zeros(m, dtype), jnp.zeros((), jnp.int32))


def remember(memory: Memory, s, y) -> Memory:
    """Store the pair (s, y) when its curvature s.y is positive (keeps H positive definite)."""
    S, Y, rho, count = memory
    m = S.shape[0]
    sy = jnp.dot(s, y)
    store = (sy > 1e-10 * jnp.dot(y, y)) & (sy > 0)
    slot = count % m
    S = jnp.where(store, S.at[slot].set(s), S)
    Y = jnp.where(store, Y.at[slot].set(y), Y)
    rho = jnp.where(store, rho.at[slot].set(1.0 / jnp.where(store, sy, 1.0)), rho)
    return Memory(S, Y, rho, count + store.astype(count.dtype))


def direction(g, memory: Memory):
    """p = -H g by the two-loop recursion (N&W Alg. 7.4) with H_0 = (s.y / y.y) I of the newest pair."""
    S, Y, rho, count = memory
    m = S.shape[0]

    def backward(i, carry):
        q, alphas = carry
        j = (count - 1 - i) % m
        a = rho[j] * jnp.dot(S[j], q)
        return q - a * Y[j], alphas.at[j].set(a)

    q, alphas = jax.lax.fori_loop(0, m, backward, (g, jnp.zeros(m, g.dtype)))
    newest = (count - 1) % m
    yy, sy = jnp.dot(Y[newest], Y[newest]), jnp.dot(S[newest], Y[newest])
    gamma = jnp.where((count > 0) & (yy > 0), sy / jnp.where(yy > 0, yy, 1.0), 1.0)

    def forward(i, r):
        j = (count - m + i) % m
        b = rho[j] * jnp.dot(Y[j], r)
        return r + S[j] * (alphas[j] - b)

    return -jax.lax.fori_loop(0, m, forward, gamma * q)


def lbfgs_step(value_and_grad: Callable, x, f, g, memory: Memory):
    """One L-BFGS iteration from x (loss f, gradient g): direction by ``direction`` (steepest descent scaled
    to unit length while the memory is empty, or when the direction is not a descent one), step length by
    ``strong_wolfe``, then the new pair remembered. A failed line search keeps x and clears the memory.

    Returns:
        (x_new, f_new, g_new, memory).
    """
    p = direction(g, memory)
    p = jnp.where(jnp.dot(g, p) < 0, p, -g)
    p = jnp.where(memory.count == 0, p / jnp.maximum(1.0, jnp.linalg.norm(p)), p)
    search = strong_wolfe(value_and_grad, x, f, g, p)
    x_new = x + search.step * p
    memory = remember(memory, x_new - x, search.grad - g)
    cleared = memory._replace(rho=jnp.zeros_like(memory.rho), count=jnp.zeros_like(memory.count))
    memory = jax.tree_util.tree_map(lambda kept, empty: jnp.where(search.ok, kept, empty), memory, cleared)
    return x_new, search.value, search.grad, memory


def minimize(loss_fn: Callable, params, *, adam_steps: int, eta=1e-2, lbfgs_steps: int = 0,
             memory: int = 10, has_aux: bool = False):
    """Minimise ``loss_fn(params)``: ``adam_steps`` Adam updates, then ``lbfgs_steps`` L-BFGS iterations.

    Everything runs in one ``lax.scan`` over the flattened parameter vector (``ravel_pytree``); Adam or
    L-BFGS is chosen per step by ``lax.cond`` (statically when only one runs). Traceable: call it inside
    ``jax.jit``. Adam: ``physnn.schedulers.adam(eta)``, params <- params - change (one gradient per step).
    L-BFGS: ``lbfgs_step`` (strong-Wolfe line search; one or more gradients per step); the pairs of the last
    Adam steps seed its memory.

    Arguments:
        loss_fn: params -> scalar, or params -> (scalar, aux scalar) with ``has_aux=True``.
        params: the initial parameter pytree.
        adam_steps, lbfgs_steps: the number of steps of each method (>= 0).
        eta: Adam learning rate or schedule.
        memory: the number of L-BFGS pairs kept.
    Returns:
        (params, losses, aux): losses[k] (and aux[k]) evaluated before step k, and at the returned params
        for k = adam_steps + lbfgs_steps; shape [adam_steps + lbfgs_steps + 1].
    """
    flat0, unravel = ravel_pytree(params)
    dtype = flat0.dtype
    total = adam_steps + lbfgs_steps

    def loss_and_aux(x):
        out = loss_fn(unravel(x))
        return out if has_aux else (out, jnp.zeros((), dtype))

    value_aux_grad = jax.value_and_grad(loss_and_aux, has_aux=True)

    def value_and_grad(x):
        (f, _), g = value_aux_grad(x)
        return f, g

    opt = adam(eta)

    class Carry(NamedTuple):
        x: jax.Array
        f: jax.Array
        aux: jax.Array
        g: jax.Array
        opt_state: object
        memory: Memory

    def adam_update(c: Carry) -> Carry:
        change, opt_state = opt.update(c.g, c.opt_state, c.x)
        x = c.x - change
        (f, aux), g = value_aux_grad(x)
        memory = remember(c.memory, x - c.x, g - c.g) if lbfgs_steps else c.memory
        return Carry(x, f, aux, g, opt_state, memory)

    def lbfgs_update(c: Carry) -> Carry:
        x, f, g, memory = lbfgs_step(value_and_grad, c.x, c.f, c.g, c.memory)
        aux = loss_and_aux(x)[1] if has_aux else c.aux
        return Carry(x, f, aux, g, c.opt_state, memory)

    def step(c: Carry, k):
        if lbfgs_steps == 0:
            new = adam_update(c)
        elif adam_steps == 0:
            new = lbfgs_update(c)
        else:
            new = jax.lax.cond(k < adam_steps, adam_update, lbfgs_update, c)
        return new, (c.f, c.aux)

    (f0, aux0), g0 = value_aux_grad(flat0)
    carry = Carry(flat0, f0, aux0, g0, opt.init(flat0), empty_memory(flat0.size, memory if lbfgs_steps else 1,
                                                                       dtype))
    carry, (losses, aux) = jax.lax.scan(step, carry, jnp.arange(total))
    return (unravel(carry.x), jnp.concatenate([losses, carry.f[None]]),
            jnp.concatenate([aux, carry.aux[None]]))


# --- L-BFGS as an optimiser of the engine (compile(optimizer="lbfgs")) -------------------------------------


class LBFGSState(NamedTuple):
    """The state of ``lbfgs``: iterations taken and the memory of pairs."""

    step: jax.Array
    memory: Memory


class FullBatchOptimizer(NamedTuple):
    """An optimiser that needs the loss function, not only its gradient (a line search): ``init(params) ->
    state`` and ``update(grads, state, params, value, value_and_grad) -> (change, state)``, where
    ``value_and_grad(params) -> (loss, grads)`` evaluates the batch's objective; as for every physnn optimiser,
    params <- params - change. ``full_batch=True`` (L-BFGS: a line search needs one deterministic objective):
    the trainer gives it the whole data set as one batch per epoch; ``full_batch=False`` (the evolution
    strategies): ``fit`` keeps the user's ``batch_size`` and each minibatch step is one update on that batch.
    ``curvature=True`` (Hessian-free, ``physnn.training.hessian_free``): ``update`` also takes the keyword
    ``gauss_newton``, v -> G v on pytrees like params, which the epoch passes when the model splits its
    objective into a loss of its outputs and a remainder (``make_epoch``'s ``curvature``)."""

    init: Callable
    update: Callable
    full_batch: bool = True
    curvature: bool = False


def lbfgs(memory: int = 10) -> FullBatchOptimizer:
    """L-BFGS on the flattened parameters (``lbfgs_step``: two-loop direction, strong-Wolfe step length).

    One update is one iteration x_{k+1} = x_k + a_k p_k, p_k = -H_k g_k, so ``change = x_k - x_{k+1}``.

    Arguments:
        memory: the number of pairs (s, y) kept, an integer >= 1.
    """
    if isinstance(memory, bool) or not isinstance(memory, int) or memory < 1:
        raise ValueError(f"memory must be an integer >= 1, got {memory!r}")

    def init(params):
        leaves = jax.tree_util.tree_leaves(params)
        size = sum(int(np.prod(np.shape(p))) for p in leaves)
        dtype = jnp.result_type(*leaves) if leaves else jnp.result_type(float)
        zeros = np.zeros((memory, size), dtype)  # made on the host: no eager program (DESIGN.md)
        return LBFGSState(np.zeros((), np.int32), Memory(zeros, zeros, np.zeros(memory, dtype),
                                                         np.zeros((), np.int32)))

    def update(grads, state, params, value, value_and_grad):
        x, unravel = ravel_pytree(params)
        g = ravel_pytree(grads)[0]

        def flat_value_and_grad(v):
            f, gv = value_and_grad(unravel(v))
            return f, ravel_pytree(gv)[0]

        x_new, _, _, mem = lbfgs_step(flat_value_and_grad, x, value, g, state.memory)
        return unravel(x - x_new), LBFGSState(state.step + 1, mem)

    return FullBatchOptimizer(init, update)


class LBFGS(Scheduler):
    """``compile(optimizer=LBFGS(memory=10))`` or ``"lbfgs"``: full-batch L-BFGS for any model; each epoch of
    ``fit`` is one iteration on the whole data set (``batch_size`` and ``shuffle`` do not apply). Suited to
    smooth, deterministic objectives: regression, physics residuals."""

    def __init__(self, memory: int = 10):
        lbfgs(memory)  # validates
        self.memory = memory
        self.eta = 1.0  # the line search's first trial step (for the trainer's messages)
        self._state = None

    def functional(self) -> FullBatchOptimizer:
        return lbfgs(self.memory)

    def get_config(self) -> dict:
        return {"memory": self.memory}

    def update_change(self, gradient, params=None):
        raise ValueError("L-BFGS needs the loss function, not a gradient alone: train with "
                         "model.compile(optimizer='lbfgs') and fit")
