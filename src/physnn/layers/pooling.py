"""Pooling layers (max, average, min) over 1-D and 2-D channels-last inputs.

Non-overlapping 'valid' windows (strides == pool_size, the usual case) are a reshape and a reduction over
the window axes, which XLA runs several times faster on a CPU than ``lax.reduce_window`` and its
select-and-scatter gradient; other windows go through ``lax.reduce_window``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physnn.layers._utils import normalize_padding, normalize_tuple, window_output_length
from physnn.layers.base import Layer


class _Pooling(Layer):
    """Reduce each window of ``pool_size`` (step ``strides``) of every channel to one number.

        y[p, c] = reduce_{d in window} x[s p + d, c]

    'valid' keeps full windows, out = floor((n - k) / s) + 1; 'same' gives out = ceil(n / s) with
    TensorFlow's padding (the extra element at the end). Padded positions never win a max/min and are
    not counted by the average, which divides by the number of real elements in the window (as Keras/TF).
    """

    per_sample = True

    rank = 0
    reduction = ""

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        cls = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides",
                                                                                cls)
        self.padding = normalize_padding(padding, cls)

    def _expected(self):
        return "(" + ", ".join(["length"] if self.rank == 1 else ["height", "width"]) + ", channels)"

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, self.rank + 1, self._expected())
        spatial = [window_output_length(n, k, s, self.padding)
                   for n, k, s in zip(input_shape[:-1], self.pool_size, self.strides, strict=True)]
        if any(n == 0 for n in spatial):
            raise self.shape_error(f"{self._expected()} with spatial sizes >= pool_size {self.pool_size} "
                                   "for padding='valid'", input_shape)
        return (*spatial, input_shape[-1])

    def _window(self, x, init, op):
        # a concrete numpy init value (not a traced jnp one) lets JAX pick its differentiable
        # reduce_window_{sum,max,min} primitives under jit
        return jax.lax.reduce_window(x, np.array(init, x.dtype), op, (1, *self.pool_size, 1),
                                     (1, *self.strides, 1), self.padding.upper())

    def _blocks(self, x):
        """Non-overlapping windows as axes: x [batch, *spatial, c] -> [batch, n_1, k_1, ..., n_r, k_r, c]."""
        shape, crop = [x.shape[0]], [slice(None)]
        for n, k in zip(x.shape[1:-1], self.pool_size, strict=True):
            shape += [n // k, k]
            crop.append(slice(0, n // k * k))
        return x[tuple(crop)].reshape(*shape, x.shape[-1])

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, *spatial, channels] -> y [batch, *spatial_out, channels]."""
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        if self.padding == "valid" and self.strides == self.pool_size:
            reduce = {"max": jnp.max, "min": jnp.min, "average": jnp.mean}[self.reduction]
            return reduce(self._blocks(x), axis=tuple(range(2, 2 * self.rank + 1, 2)))
        if self.reduction == "max":
            return self._window(x, -jnp.inf, jax.lax.max)
        if self.reduction == "min":
            return self._window(x, jnp.inf, jax.lax.min)
        total = self._window(x, 0, jax.lax.add)
        if self.padding == "valid":
            count = 1
            for k in self.pool_size:
                count *= k
            return total / count
        ones = jnp.ones((1, *x.shape[1:-1], 1), x.dtype)
        return total / self._window(ones, 0, jax.lax.add)


class MaxPooling1D(_Pooling):
    """Max over windows of a [batch, length, channels] input: y[p, c] = max_d x[s p + d, c].

    Arguments: pool_size (int, default 2), strides (default pool_size), padding "valid" or "same".
    """

    rank, reduction = 1, "max"


class AveragePooling1D(_Pooling):
    """Mean over windows of a [batch, length, channels] input (real elements only with 'same').

    Arguments: pool_size (int, default 2), strides (default pool_size), padding "valid" or "same".
    """

    rank, reduction = 1, "average"


class MinPooling1D(_Pooling):
    """Min over windows of a [batch, length, channels] input: y[p, c] = min_d x[s p + d, c].

    Arguments: pool_size (int, default 2), strides (default pool_size), padding "valid" or "same".
    """

    rank, reduction = 1, "min"


class MaxPooling2D(_Pooling):
    """Max over windows of a [batch, height, width, channels] input: y[i, j, c] = max_{a,b} x[..].

    Arguments: pool_size (int or (ph, pw), default 2), strides (default pool_size),
    padding "valid" or "same".
    """

    rank, reduction = 2, "max"


class AveragePooling2D(_Pooling):
    """Mean over windows of a [batch, height, width, channels] input.

    With 'same' padding a border window divides by the number of real (unpadded) elements it covers,
    as Keras/TF (PyTorch's ``count_include_pad=False``).
    Arguments: pool_size (int or (ph, pw), default 2), strides (default pool_size),
    padding "valid" or "same".
    """

    rank, reduction = 2, "average"


class MinPooling2D(_Pooling):
    """Min over windows of a [batch, height, width, channels] input, equal to -MaxPooling2D(-x).

    Arguments: pool_size (int or (ph, pw), default 2), strides (default pool_size),
    padding "valid" or "same".
    """

    rank, reduction = 2, "min"
