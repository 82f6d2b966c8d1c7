"""The reservoir's state update, shared by the ESN and the Reservoir layer."""

from __future__ import annotations

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
