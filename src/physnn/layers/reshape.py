"""Layers that only move numbers around: Flatten, Reshape, UpSampling2D (nearest neighbour)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from physnn.layers._utils import normalize_tuple
from physnn.layers.base import Layer, as_shape


class Flatten(Layer):
    """[batch, d1, ..., dk] -> [batch, d1 * ... * dk], row-major (C order) as Keras channels-last."""

    per_sample = True

    def __init__(self, name=None):
        super().__init__(name)

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if any(d is None for d in input_shape):
            raise self.shape_error("a shape with every axis known", input_shape)
        return (math.prod(input_shape),)

    def apply(self, params, x, *, key=None, training=False):
        return jnp.reshape(x, (x.shape[0], -1))


class Reshape(Layer):
    """[batch, *input_shape] -> [batch, *target_shape], row-major; one entry of target_shape may be -1.

    Arguments:
        target_shape: the per-sample output shape (no batch axis), its product equal to the input's.
    """

    per_sample = True

    def __init__(self, target_shape, name=None):
        super().__init__(name)
        entries = (target_shape,) if isinstance(target_shape, int) else target_shape
        try:
            target = as_shape(target_shape) if all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in entries) else None
        except (TypeError, ValueError):
            target = None
        if (target is None or any(d is None or (d <= 0 and d != -1) for d in target)
                or sum(d == -1 for d in target) > 1):
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints with at most one -1, "
                             f"got {target_shape!r}")
        self.target_shape = target

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if any(d is None for d in input_shape):
            raise self.shape_error("a shape with every axis known", input_shape)
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                expected = f"a size divisible by {known} to fill target_shape {self.target_shape}"
                raise self.shape_error(expected, input_shape)
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise self.shape_error(f"{known} elements to fill target_shape {self.target_shape}", input_shape)
        return self.target_shape

    def apply(self, params, x, *, key=None, training=False):
        return jnp.reshape(x, (x.shape[0], *self.output_shape(x.shape[1:])))


class UpSampling1D(Layer):
    """Nearest-neighbour upsampling of [batch, T, C] to [batch, T s, C]: y[t, c] = x[floor(t / s), c].

    Arguments:
        size: the repetition factor of the steps (default 2), an integer >= 1.
    """

    per_sample = True

    def __init__(self, size=2, name=None):
        super().__init__(name)
        self.size = normalize_tuple(size, 1, "size", "UpSampling1D")[0]

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, 2, "(steps, channels)")
        steps, channels = input_shape
        return (None if steps is None else steps * self.size, channels)

    def apply(self, params, x, *, key=None, training=False):
        return jnp.repeat(x, self.size, axis=1)


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling of [batch, H, W, C] to [batch, H sh, W sw, C]:

        y[i, j, c] = x[floor(i / sh), floor(j / sw), c]

    Arguments:
        size: int or (sh, sw), the repetition factors of rows and columns (default 2).
    """

    per_sample = True

    def __init__(self, size=2, name=None):
        super().__init__(name)
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, 3, "(height, width, channels)")
        h, w, c = input_shape
        return (None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def apply(self, params, x, *, key=None, training=False):
        return jnp.repeat(jnp.repeat(x, self.size[0], axis=1), self.size[1], axis=2)
