"""A tiny pure multilayer perceptron and the compiled optimiser of the physics module.

Parameters are a list of dicts ``{"W": [fan_in, fan_out], "b": [fan_out]}``, one per layer; the forward
map is a_0 = x, a_l = f(a_{l-1} W_l + b_l) for the hidden layers and a linear output layer,
y = a_{L-1} W_L + b_L. Kept independent of the model classes so the compiled physics loops stay small.

The physics module trains with the engine's ``physnn.lbfgs.minimize`` (Adam, then an L-BFGS polish with a
strong-Wolfe line search, in one ``lax.scan``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import numpy as np

from physnn import initializers
from physnn.activations import get_activation


def _check_sizes(sizes) -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
        raise ValueError(f"sizes must be at least two positive integers (inputs, ..., outputs), "
                         f"got {sizes!r}")
    return tuple(int(s) for s in sizes)


def mlp_init(key, sizes: Sequence[int], dtype=None) -> list[dict]:
    """Glorot-normal weights and zero biases for the layer widths ``sizes``.

    W_l ~ N(0, 2 / (fan_in + fan_out)), b_l = 0 (Glorot & Bengio 2010), drawn on the host by
    ``physnn.initializers.glorot_normal`` (no JAX program is compiled for it).

    Arguments:
        key: an int seed >= 0 or a ``jax.random`` key; the weights come from the NumPy generator
            ``physnn.initializers.generator(key)`` (``default_rng(seed)``, or ``default_rng`` of the key's
            uint32 words), layer after layer, so the same key always gives the same weights.
        sizes: (inputs, hidden_1, ..., outputs), each a positive int.
        dtype: the parameter dtype (default: JAX's default float, float64 under x64).

    Returns:
        A list of ``len(sizes) - 1`` dicts, "W" of shape [sizes[l], sizes[l+1]] and "b" of shape [sizes[l+1]].
    """
    sizes = _check_sizes(sizes)
    rng = initializers.generator(key)
    dtype = np.dtype(dtype) if dtype is not None else initializers.default_dtype()
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append({"W": initializers.glorot_normal(rng, (fan_in, fan_out)).astype(dtype),
                       "b": initializers.zeros((fan_out,)).astype(dtype)})
    return jax.device_put(params)


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
        a = f(_affine(a, layer))
    return _affine(a, params[-1])


def _affine(a, layer):
    """a W + b with b [n] broadcast explicitly over the leading axes of a W."""
    z = a @ layer["W"]
    return z + layer["b"].reshape((1,) * (z.ndim - 1) + layer["b"].shape)
