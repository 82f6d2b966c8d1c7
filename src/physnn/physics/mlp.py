"""A tiny pure multilayer perceptron and the compiled optimiser of the physics module.

Parameters are a list of dicts ``{"W": [fan_in, fan_out], "b": [fan_out]}``, one per layer; the forward
map is a_0 = x, a_l = f(a_{l-1} W_l + b_l) for the hidden layers and a linear output layer,
y = a_{L-1} W_L + b_L. Kept independent of the model classes so the compiled physics loops stay small.

``minimize`` trains any parameter pytree: Adam (``physnn.schedulers.adam``) then an L-BFGS polish, in one
``lax.scan`` (trial solutions, hybrid and parameter models all use it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physnn.activations import get_activation
from physnn.schedulers import adam


def _check_sizes(sizes) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"sizes must be at least two positive integers (inputs, ..., outputs), "
                         f"got {sizes!r}")
    return tuple(int(s) for s in sizes)


def mlp_init(key, sizes: Sequence[int], dtype=None) -> list[dict]:
    """Glorot-normal weights and zero biases for the layer widths ``sizes``.

    W_l ~ N(0, 2 / (fan_in + fan_out)), b_l = 0 (Glorot & Bengio 2010).

    Arguments:
        key: a ``jax.random.PRNGKey``.
        sizes: (inputs, hidden_1, ..., outputs), each a positive int.
        dtype: the parameter dtype (default: JAX's default float, float64 under x64).

    Returns:
        A list of ``len(sizes) - 1`` dicts, "W" of shape [sizes[l], sizes[l+1]] and "b" of shape [sizes[l+1]].
    """
    sizes = _check_sizes(sizes)
    dtype = dtype or jnp.zeros(()).dtype
    keys = jax.random.split(key, len(sizes) - 1)
    params = []
    for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        std = np.sqrt(2.0 / (fan_in + fan_out))
        params.append({"W": std * jax.random.normal(k, (fan_in, fan_out), dtype),
                       "b": jnp.zeros((fan_out,), dtype)})
    return params


def mlp_apply(params: list[dict], x, activation: str | Callable = "tanh"):
    """The forward map y = f(... f(x W_1 + b_1) ...) W_L + b_L (linear output layer).

    Arguments:
        params: from ``mlp_init``.
        x: inputs of shape [n, sizes[0]].
        activation: hidden-layer activation, a name from ``physnn.activations`` or a callable.

    Returns:
        Outputs of shape [n, sizes[-1]].
    """
    f = get_activation(activation)
    a = x
    for layer in params[:-1]:
        a = f(a @ layer["W"] + layer["b"])
    return a @ params[-1]["W"] + params[-1]["b"]



# --- the compiled training loop --------------------------------------------------------------------


def minimize(loss_fn: Callable, params, *, adam_steps: int, eta=1e-2, lbfgs_steps: int = 0,
             memory: int = 10, has_aux: bool = False):
    """Minimise ``loss_fn(params)``: ``adam_steps`` Adam updates, then ``lbfgs_steps`` L-BFGS iterations.

    Everything runs in one ``lax.scan`` with a single gradient evaluation per step (Adam or L-BFGS chosen
    by ``lax.cond``), so the program compiles the gradient once. Traceable: call it inside ``jax.jit``.
    ``params`` may be any pytree; the optimisation runs on its flattened vector (``ravel_pytree``).

    Adam: ``physnn.schedulers.adam(eta)``, params <- params - change.
    L-BFGS (Nocedal & Wright, Alg. 7.4): p = -H g from the two-loop recursion over the last ``memory``
    pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k (the last Adam steps included), with H_0 = (s.y / y.y) I;
    pairs with s.y <= 1e-10 |y|^2 are skipped so H stays positive definite. The step length backtracks
    from 1 by halving until the Armijo condition f(x + a p) <= f(x) + 1e-4 a g.p holds (loss values
    only; at most 30 halvings); if none does, no step is taken and the memory is cleared (next: -g).

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
    n, dtype = flat0.size, flat0.dtype
    total = adam_steps + lbfgs_steps

    def loss_and_aux(x):
        out = loss_fn(unravel(x))
        return out if has_aux else (out, jnp.zeros((), dtype))

    value_and_grad = jax.value_and_grad(loss_and_aux, has_aux=True)
    opt = adam(eta)

    def adam_update(args):
        x, fx, g, opt_state, mem = args
        change, opt_state = opt.update(g, opt_state, x)
        return x - change, opt_state, mem

    def lbfgs_update(args):
        x, fx, g, opt_state, (S, Y, rho, count) = args
        p = _two_loop(g, S, Y, rho, count, memory)
        descent = jnp.dot(g, p) < 0
        p = jnp.where(descent, p, -g)
        # without curvature information the first step is scaled to unit length
        p = jnp.where(count == 0, p / jnp.maximum(1.0, jnp.linalg.norm(p)), p)
        slope = jnp.dot(g, p)

        def rejected(state):
            a, f_new, tries = state
            return ~(f_new <= fx + 1e-4 * a * slope) & (tries < 31)

        def halve(state):
            a, _, tries = state
            return 0.5 * a, loss_and_aux(x + 0.5 * a * p)[0], tries + 1

        # starts from a = 2 with f = inf, so the first pass tries the full step a = 1
        start = (jnp.asarray(2.0, dtype), jnp.asarray(jnp.inf, dtype), 0)
        a, f_new, _ = jax.lax.while_loop(rejected, halve, start)
        ok = f_new <= fx + 1e-4 * a * slope
        count = jnp.where(ok, count, 0)
        rho = jnp.where(ok, rho, 0.0)
        return jnp.where(ok, x + a * p, x), opt_state, (S, Y, rho, count)

    def remember(mem, s, y):
        S, Y, rho, count = mem
        sy = jnp.dot(s, y)
        store = (sy > 1e-10 * jnp.dot(y, y)) & (sy > 0)
        slot = count % memory
        S = jnp.where(store, S.at[slot].set(s), S)
        Y = jnp.where(store, Y.at[slot].set(y), Y)
        rho = jnp.where(store, rho.at[slot].set(1.0 / jnp.where(store, sy, 1.0)), rho)
        return S, Y, rho, count + store.astype(count.dtype)

    def step(carry, k):
        x, opt_state, mem, x_prev, g_prev = carry
        (fx, aux), g = value_and_grad(x)
        if lbfgs_steps:  # the pairs of the last Adam steps also serve L-BFGS
            mem = remember(mem, x - x_prev, g - g_prev)
        args = (x, fx, g, opt_state, mem)
        if lbfgs_steps == 0:  # the method is chosen statically when only one runs
            x_new, opt_state, mem = adam_update(args)
        elif adam_steps == 0:
            x_new, opt_state, mem = lbfgs_update(args)
        else:
            x_new, opt_state, mem = jax.lax.cond(k < adam_steps, adam_update, lbfgs_update, args)
        x_new = jnp.where(k < total, x_new, x)
        return (x_new, opt_state, mem, x, g), (fx, aux)

    zeros = jnp.zeros((memory if lbfgs_steps else 0, n), dtype)
    mem = (zeros, zeros, jnp.zeros(zeros.shape[0], dtype), jnp.zeros((), jnp.int32))
    carry = (flat0, opt.init(flat0), mem, flat0, jnp.zeros_like(flat0))
    carry, (losses, aux) = jax.lax.scan(step, carry, jnp.arange(total + 1))
    return unravel(carry[0]), losses, aux


def _two_loop(g, S, Y, rho, count, memory):
    """L-BFGS two-loop recursion: -H g with the stored pairs (newest at slot (count - 1) % memory).

    Slots not yet filled have rho = 0 and contribute nothing.
    """

    def backward(i, carry):
        q, alphas = carry
        j = (count - 1 - i) % memory
        a = rho[j] * jnp.dot(S[j], q)
        return q - a * Y[j], alphas.at[j].set(a)

    q, alphas = jax.lax.fori_loop(0, memory, backward, (g, jnp.zeros(memory, g.dtype)))
    newest = (count - 1) % memory
    yy, sy = jnp.dot(Y[newest], Y[newest]), jnp.dot(S[newest], Y[newest])
    gamma = jnp.where((count > 0) & (yy > 0), sy / jnp.where(yy > 0, yy, 1.0), 1.0)

    def forward(i, r):
        j = (count - memory + i) % memory
        b = rho[j] * jnp.dot(Y[j], r)
        return r + S[j] * (alphas[j] - b)

    return -jax.lax.fori_loop(0, memory, forward, gamma * q)
