r"""The reservoir's state update and its run over a series, shared by the ESN and the Reservoir layer.

One layer (Jaeger 2001; Lukoševičius 2012, eq. 2-3):

    x(t) = (1 - a) x(t-1) + a tanh(W_in [1; u(t)] + W x(t-1)).

A deep reservoir (Gallicchio, Micheli & Pedrelli 2017, "Deep reservoir computing: a critical experimental
analysis", eq. 3-4) stacks L such layers in one time step: layer 1 is driven by u(t), layer l > 1 by the
new state of layer l - 1,

    x_1(t) = (1 - a) x_1(t-1) + a tanh(W_in,1 [1; u(t)]      + W_1 x_1(t-1)),
    x_l(t) = (1 - a) x_l(t-1) + a tanh(W_in,l [1; x_{l-1}(t)] + W_l x_l(t-1)),     l = 2..L,

and the readout sees every layer's state, x(t) = [x_1(t); ...; x_L(t)], of length L·N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def leaky_update(x, p, W_T, a):
    """One leaky-integrator step (Jaeger 2001; Lukoševičius 2012, eq. 2-3):

        x(t) = (1 - a) x(t-1) + a tanh(p(t) + W x(t-1)),   p(t) = W_in [1; u(t)]

    Arguments:
        x: the previous state(s), [..., N]; p: the input drive W_in [1; u(t)], [..., N];
        W_T: the transposed recurrent matrix, [N, N]; a: the leak rate in (0, 1].
    Returns:
        The new state(s), [..., N].
    """
    return (1 - a) * x + a * jnp.tanh(p + x @ W_T)


def reservoir_step(x, p1, Ws_T, W_ins_T, a):
    """One time step of a (deep) reservoir: every layer in turn, layer l > 1 driven by layer l - 1's new state.

    Arguments:
        x: the previous state [..., L·N]; p1: layer 1's input drive W_in,1 [1; u(t)], [..., N];
        Ws_T: the transposed recurrent matrices W_l^T, a tuple of L arrays [N, N];
        W_ins_T: the transposed input matrices, [1 + n_in, N] for layer 1 (unused here: p1 holds its
            product) and [1 + N, N] above (row 0 multiplies the constant 1); a: the leak rate.
    Returns:
        The new state [..., L·N].
    """
    N = Ws_T[0].shape[0]
    new = [leaky_update(x[..., :N], p1, Ws_T[0], a)]
    for layer in range(1, len(Ws_T)):
        drive_l = W_ins_T[layer][0] + new[-1] @ W_ins_T[layer][1:]
        new.append(leaky_update(x[..., layer * N:(layer + 1) * N], drive_l, Ws_T[layer], a))
    return new[0] if len(new) == 1 else jnp.concatenate(new, axis=-1)


def drive(Ws_T, W_ins_T, a, x0, u):
    """Teacher-forced run of a (deep) reservoir over a series, as one ``lax.scan``.

    Arguments:
        Ws_T, W_ins_T, a: as ``reservoir_step``.
        x0: the initial state [L·N]; u: the inputs [T, n_in].
    Returns:
        (x(T) [L·N], x(1..T) [T, L·N]).
    """
    p = W_ins_T[0][None, 0] + u @ W_ins_T[0][1:]  # layer 1's input drive for every t at once

    def step(x, p_t):
        x = reservoir_step(x, p_t, Ws_T, W_ins_T, a)
        return x, x

    return jax.lax.scan(step, x0, p)
