"""Hessian-free optimisation (truncated Newton with Gauss-Newton curvature), a full-batch optimiser of the engine.

References: J. Martens, "Deep learning via Hessian-free optimization", ICML 2010 (Algorithm 1; Sec. 4.2
the Gauss-Newton matrix, 4.4 the CG stopping rule, 4.5 the CG warm start, 4.1 the damping); J. Martens and
I. Sutskever, "Learning recurrent neural networks with Hessian-free optimization", ICML 2011 (HF on RNNs;
their Sec. 3 structural damping is not implemented here); J. Martens and I. Sutskever, "Training deep and
recurrent networks with Hessian-free optimization", Neural Networks: Tricks of the Trade (2nd ed., 2012),
Sec. 8.8 (the backtracking line search). N. N. Schraudolph, "Fast curvature matrix-vector products for
second-order gradient descent", Neural Computation 14 (2002) (the product G v = J^T H_L J v).

One HF iteration at theta (gradient g of the objective f) minimises the damped quadratic model

    q(d) = g.d + 1/2 d.(G + lambda I) d         (Martens 2010: the quadratic model of Sec. 2, damped as Sec. 4.1)

by truncated conjugate gradient (``conjugate_gradient``), where G is the Gauss-Newton matrix of the split
objective f(theta) = L(F(theta)) + R(theta), F the model outputs on the batch, L the data loss of the outputs
and R the rest (weight penalties, ``add_loss`` terms):

    G = J^T H_L J + H_R,     J = dF/dtheta,  H_L = d^2 L / dy^2 at y = F(theta),  H_R = d^2 R / dtheta^2.

G v is computed matrix-free ("Hessian-free"): J v by forward mode, J^T u by transposing it (``jax.linearize``
once per iteration and ``jax.linear_transpose``), H_L w and H_R v by forward-over-reverse; each CG iteration
costs about one forward and one backward pass. For a loss convex in the outputs (mean squared error,
cross-entropy of softmax logits or of probabilities) H_L, and so J^T H_L J, is positive semi-definite, and with
lambda > 0 the CG system is positive definite. Without a split (a model that does not provide one, or a loss
that takes the parameters), G is the exact Hessian of f (forward-over-reverse of the whole objective) and CG
stops at the first direction of non-positive curvature.

The CG starts from the previous iteration's solution times ``cg_decay`` (Martens 2010 Sec. 4.5; from 0 when
that start is no better than 0) and stops after ``max_cg`` iterations, at non-positive curvature, at a
residual at machine precision, or by Martens' relative-progress rule (Sec. 4.4): at iteration i stop when

    i > k,  phi_i < 0  and  (phi_i - phi_{i-k}) / phi_i < k eps,    k = max(10, floor(i / 10)),  eps = cg_tol,

phi_i = q(d_i) the model's value at the i-th iterate. Then the damping follows the Levenberg-Marquardt rule
on the reduction ratio (Martens 2010 Sec. 4.1)

    rho = (f(theta + d) - f(theta)) / q(d);   rho < 1/4: lambda <- 3/2 lambda;   rho > 3/4: lambda <- 2/3 lambda

(also lambda <- 3/2 lambda when f(theta + d) is not finite), and the step theta <- theta + a d takes the first
a in 1, 1/2, 1/4, ... (at most ``max_backtracks`` halvings) with f(theta + a d) <= f(theta) + c a g.d,
c = 10^-2 (Armijo; Martens & Sutskever 2012 Sec. 8.8) and f(theta + a d) < f(theta); when none does, the
step is rejected (a = 0). Not implemented: CG-iterate backtracking (Martens 2010 Sec. 4.6), the diagonal
preconditioner (Sec. 4.7) and minibatch curvature (a full-batch method here: one update per epoch, on the
whole data set).

Everything is traceable (``lax.while_loop``; no Python loop per CG iteration): one update is one HF
iteration, compiled inside the engine's epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physnn import _checks
from physnn.schedulers import Scheduler
from physnn.training.lbfgs import FullBatchOptimizer

ARMIJO = 1e-2  # the line search's sufficient-decrease constant c (Martens & Sutskever 2012, Sec. 8.8)
BOOST, DROP = 1.5, 2.0 / 3.0  # the Levenberg-Marquardt factors of lambda (Martens 2010, Sec. 4.1)


# --- the Gauss-Newton product ---------------------------------------------------------------------------


class CurvatureSplit(NamedTuple):
    """The objective of a batch split as f(theta) = data_loss(outputs(theta)) + remainder(theta).

    outputs: params pytree -> the model outputs y (an array [batch, ...] or a pytree of them).
    data_loss: y -> the scalar data loss (its Hessian H_L should be positive semi-definite: convex in y).
    remainder: params -> the scalar rest of the objective (weight penalties, ``add_loss`` terms), or None
        when there is none; its exact Hessian enters G.
    """

    outputs: Callable
    data_loss: Callable
    remainder: Callable | None = None


def gauss_newton_product(split: CurvatureSplit, params) -> Callable:
    """v -> G v with G = J^T H_L J + H_R at ``params`` (the module docstring; Schraudolph 2002).

    The outputs are linearised once (``jax.linearize``: one forward pass, its intermediates kept), so that
    each product is a forward-mode J v, H_L (J v) by forward-over-reverse of the data loss in the outputs,
    J^T by the transpose of the linearisation (``jax.linear_transpose``), and H_R v by forward-over-reverse of
    the remainder.

    Arguments:
        split: the ``CurvatureSplit`` of the batch objective.
        params: the pytree theta at which G is taken.
    Returns:
        ``product(v)``: a pytree like ``params`` -> G v, a pytree like ``params``. Linear in v, traceable.
    """
    y, jvp = jax.linearize(split.outputs, params)
    jtvp = jax.linear_transpose(jvp, params)
    _, loss_hvp = jax.linearize(jax.grad(split.data_loss), y)
    remainder_hvp = None if split.remainder is None else jax.linearize(jax.grad(split.remainder), params)[1]

    def product(v):
        (gv,) = jtvp(loss_hvp(jvp(v)))
        if remainder_hvp is not None:
            gv = jax.tree_util.tree_map(jnp.add, gv, remainder_hvp(v))
        return gv

    return product


# --- truncated conjugate gradient -----------------------------------------------------------------------


class CGResult(NamedTuple):
    """The outcome of ``conjugate_gradient``."""

    x: jax.Array  # [n], the last iterate
    phi: jax.Array  # phi(x) = 1/2 x.A x - b.x
    iterations: jax.Array  # CG iterations run
    negative_curvature: jax.Array  # stopped at a direction p with p.A p <= 0


def conjugate_gradient(matvec: Callable, b, x0, *, max_iter: int = 50, progress_tol: float = 5e-4,
                       tol: float | None = None) -> CGResult:
    """Truncated linear conjugate gradient for min_x phi(x) = 1/2 x.A x - b.x, i.e. A x = b (Martens 2010
    Algorithm 1's CG-Minimize; Nocedal & Wright, Algorithm 5.2), in one ``lax.while_loop``:

        r_0 = b - A x_0,  p_0 = r_0;   a_i = r_i.r_i / p_i.A p_i,  x_{i+1} = x_i + a_i p_i,
        r_{i+1} = r_i - a_i A p_i,  p_{i+1} = r_{i+1} + (r_{i+1}.r_{i+1} / r_i.r_i) p_i,

    phi_i = phi(x_i) = -1/2 x_i.(b + r_i) tracked at no extra product. When phi(x_0) >= 0 (a warm start no
    better than 0) CG starts from x_0 = 0 instead. Stops after ``max_iter`` iterations; at p.A p <= 0 (keeping
    x_i, or taking x_0 + p_0 at the first iteration: a descent direction of phi); at r.r <= tol^2 b.b; or by
    Martens' relative-progress rule (Sec. 4.4): i > k, phi_i < 0 and (phi_i - phi_{i-k}) / phi_i <
    k progress_tol with k = max(10, floor(i / 10)).

    Arguments:
        matvec: [n] -> [n], v -> A v (symmetric; positive definite for a full solve).
        b, x0: [n], the right-hand side and the starting iterate.
        max_iter: the largest number of iterations (matrix-vector products: max_iter + 1 with x_0's).
        progress_tol: Martens' eps (5e-4 in his paper); 0 disables the rule.
        tol: the relative residual at which to stop; None: the machine epsilon of b's dtype.
    Returns:
        ``CGResult(x, phi, iterations, negative_curvature)``.
    """
    dtype = b.dtype
    tol = float(jnp.finfo(dtype).eps) if tol is None else tol
    r0 = b - matvec(x0)
    phi0 = -0.5 * jnp.dot(x0, b + r0)
    restart = ~(phi0 < 0)  # (NaN too)
    x0 = jnp.where(restart, jnp.zeros_like(x0), x0)
    r0 = jnp.where(restart, b, r0)
    phi0 = jnp.where(restart, jnp.zeros_like(phi0), phi0)
    bb = jnp.dot(b, b)
    rr0 = jnp.dot(r0, r0)

    class State(NamedTuple):
        i: jax.Array
        x: jax.Array
        r: jax.Array
        p: jax.Array
        rr: jax.Array
        history: jax.Array  # [max_iter + 1], phi_0 ... phi_i
        done: jax.Array
        negative: jax.Array

    def body(s: State) -> State:
        ap = matvec(s.p)
        pap = jnp.dot(s.p, ap)
        negative = ~(pap > 0)
        first = jnp.where(s.i == 0, 1.0, 0.0).astype(dtype)
        alpha = jnp.where(negative, first, s.rr / jnp.where(negative, 1.0, pap))
        x = s.x + alpha * s.p
        r = s.r - alpha * ap
        rr = jnp.dot(r, r)
        phi = -0.5 * jnp.dot(x, b + r)
        i = s.i + 1
        history = s.history.at[i].set(phi)
        k = jnp.maximum(10, i // 10)
        past = history[jnp.maximum(i - k, 0)]
        stalled = (i > k) & (phi < 0) & ((phi - past) / jnp.where(phi < 0, phi, -1.0) < k * progress_tol)
        converged = rr <= tol**2 * bb
        p = r + (rr / jnp.where(s.rr > 0, s.rr, 1.0)) * s.p
        return State(i, x, r, p, rr, history, negative | stalled | converged, negative)

    def cond(s: State):
        return ~s.done & (s.i < max_iter)

    history = jnp.zeros(max_iter + 1, dtype).at[0].set(phi0)
    start = State(jnp.zeros((), jnp.int32), x0, r0, r0, rr0, history, rr0 <= tol**2 * bb, jnp.asarray(False))
    s = jax.lax.while_loop(cond, body, start)
    return CGResult(s.x, s.history[s.i], s.i, s.negative)


# --- the optimiser ----------------------------------------------------------------------------------------


class HFState(NamedTuple):
    """The state of ``hessian_free``: iterations taken, the damping lambda, the last CG solution d [n] (the
    next warm start) and the number of CG iterations it took (a diagnostic)."""

    step: jax.Array
    damping: jax.Array
    direction: jax.Array
    cg_iterations: jax.Array


def _check(damping, max_cg, cg_decay, cg_tol, max_backtracks):
    _checks.real("damping", damping, 0.0, low_open=True)
    _checks.count("max_cg", max_cg)
    _checks.real("cg_decay", cg_decay, 0.0, 1.0)
    _checks.real("cg_tol", cg_tol, 0.0)
    _checks.count("max_backtracks", max_backtracks, 0)


def hessian_free(damping: float = 1.0, max_cg: int = 50, cg_decay: float = 0.95, cg_tol: float = 5e-4,
                 max_backtracks: int = 8) -> FullBatchOptimizer:
    """Hessian-free optimisation (the module docstring) as a ``FullBatchOptimizer`` with ``curvature=True``.

    ``update(grads, state, params, value, value_and_grad, gauss_newton=None) -> (change, state)``: one HF
    iteration from theta = ``params`` (loss ``value``, gradient ``grads``); ``gauss_newton(v) -> G v`` on
    pytrees like params (``gauss_newton_product``; the engine's epoch passes it for a model that splits its
    objective), else G is the exact Hessian of ``value_and_grad``'s loss. change = theta - theta_new = -a d.
    Works on the flattened parameter vector (``ravel_pytree``), n entries.

    Arguments:
        damping: the initial lambda > 0 (Martens 2010 starts from 1 with his sum-over-cases losses; the
            Levenberg-Marquardt rule adapts it by 3/2 or 2/3 per iteration).
        max_cg: the largest number of CG iterations per HF iteration, >= 1.
        cg_decay: the CG warm start's factor on the previous solution, in [0, 1] (Martens & Sutskever: 0.95).
        cg_tol: eps of Martens' CG relative-progress rule, >= 0 (5e-4; 0: CG runs max_cg iterations unless
            it converges or meets non-positive curvature).
        max_backtracks: the line search's halvings of the step, an integer >= 0.
    Returns:
        ``FullBatchOptimizer(init, update, full_batch=True, curvature=True)``; the state is
        ``HFState(step [], damping [], direction [n], cg_iterations [])``.
    """
    _check(damping, max_cg, cg_decay, cg_tol, max_backtracks)

    def init(params):
        leaves = jax.tree_util.tree_leaves(params)
        size = sum(int(np.prod(np.shape(p))) for p in leaves)
        dtype = jnp.result_type(*leaves) if leaves else jnp.result_type(float)
        # made on the host: no eager program (DESIGN.md)
        return HFState(np.zeros((), np.int32), np.asarray(damping, dtype), np.zeros(size, dtype),
                       np.zeros((), np.int32))

    def update(grads, state, params, value, value_and_grad, gauss_newton=None):
        x, unravel = ravel_pytree(params)
        g = ravel_pytree(grads)[0].astype(x.dtype)
        if gauss_newton is None:  # no split: the exact Hessian of f, forward-over-reverse, linearised once
            _, curvature = jax.linearize(lambda z: ravel_pytree(value_and_grad(unravel(z))[1])[0], x)
        else:
            def curvature(v):
                return ravel_pytree(gauss_newton(unravel(v)))[0]
        lam = jnp.asarray(state.damping, x.dtype)
        cg = conjugate_gradient(lambda v: curvature(v) + lam * v, -g, cg_decay * state.direction, max_iter=max_cg,
                                progress_tol=cg_tol)
        d, q = cg.x, cg.phi
        gd = jnp.dot(g, d)

        def loss_at(a):
            return value_and_grad(unravel(x + a * d))[0]

        one = jnp.ones((), x.dtype)
        f_full = loss_at(one)
        rho = (f_full - value) / jnp.where(q < 0, q, -1.0)
        boost = (q < 0) & ~(rho >= 0.25)  # (a NaN or infinite loss at theta + d boosts too)
        drop = (q < 0) & (rho > 0.75)
        lam_new = jnp.where(boost, BOOST * lam, jnp.where(drop, DROP * lam, lam))

        def accepted(a, f):
            return (f <= value + ARMIJO * a * gd) & (f < value)  # False for NaN

        def halve(carry):
            j, a, _ = carry
            return j + 1, 0.5 * a, loss_at(0.5 * a)

        def search(carry):
            j, a, f = carry
            return ~accepted(a, f) & (j < max_backtracks)

        _, a, f = jax.lax.while_loop(search, halve, (jnp.zeros((), jnp.int32), one, f_full))
        a = jnp.where(accepted(a, f), a, jnp.zeros_like(a))
        return unravel(-a * d), HFState(state.step + 1, lam_new, d, cg.iterations)

    return FullBatchOptimizer(init, update, full_batch=True, curvature=True)


class HessianFree(Scheduler):
    """``compile(optimizer=HessianFree(damping=1.0, max_cg=50))`` or ``"hessian_free"``: full-batch Hessian-free
    optimisation (``hessian_free``; Martens 2010, Martens & Sutskever 2011). Each epoch of ``fit`` is one HF
    iteration on the whole data set (``batch_size`` and ``shuffle`` do not apply), costing up to ``max_cg``
    Gauss-Newton products (about a forward and a backward pass each). Suited to ill-conditioned smooth
    objectives: deep or recurrent networks (long-range memory), regression.

    It minimises the training loss hard, so a network can memorise a small fixed data set; Martens & Sutskever
    (2011) drew fresh sequences for every iteration: call ``fit(x_k, y_k, epochs=1)`` with new data of the same
    shapes each time (the damping and the CG warm start stay in ``model.opt_state``; nothing recompiles)."""

    def __init__(self, damping: float = 1.0, max_cg: int = 50, cg_decay: float = 0.95, cg_tol: float = 5e-4,
                 max_backtracks: int = 8):
        _check(damping, max_cg, cg_decay, cg_tol, max_backtracks)
        self.damping = damping
        self.max_cg = max_cg
        self.cg_decay = cg_decay
        self.cg_tol = cg_tol
        self.max_backtracks = max_backtracks
        self.eta = 1.0  # the line search's first trial step (for the trainer's messages)
        self._state = None

    def functional(self) -> FullBatchOptimizer:
        return hessian_free(**self.get_config())

    def get_config(self) -> dict:
        return {"damping": self.damping, "max_cg": self.max_cg, "cg_decay": self.cg_decay, "cg_tol": self.cg_tol,
                "max_backtracks": self.max_backtracks}

    def update_change(self, gradient, params=None):
        raise ValueError("Hessian-free optimisation needs the loss function, not a gradient alone: train with "
                         "model.compile(optimizer='hessian_free') and fit")
