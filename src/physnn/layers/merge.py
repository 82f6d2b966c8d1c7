"""Layers merging a list of inputs: Concatenate and Add.

``output_shape`` takes a list of per-sample shapes and ``apply`` a list of arrays.
"""

from __future__ import annotations

import jax.numpy as jnp

from physnn.layers.base import Layer


class _Merge(Layer):
    per_sample = True

    def _shapes(self, input_shape) -> list[tuple]:
        ok = (isinstance(input_shape, (list, tuple)) and len(input_shape) >= 2
              and all(isinstance(s, (list, tuple)) for s in input_shape))
        if not ok:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects a list of at least 2 "
                             f"inputs, got {input_shape!r}")
        return [tuple(s) for s in input_shape]

    def _error(self, expected, shapes):
        return ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects inputs {expected}, "
                          f"got shapes {shapes}")


class Concatenate(_Merge):
    """y = [x_1, x_2, ...] joined along ``axis``.

    Arguments:
        axis: the axis of the batched tensors (Keras's convention: -1 the last, 1 the first after the
            batch axis; the batch axis 0 cannot be joined).

    All other axes must agree.
    """

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise ValueError(f"Concatenate: axis must be a non-zero int (0 is the batch axis), got {axis!r}")
        self.axis = axis

    def _sample_axis(self, ndim):
        """The axis of the per-sample shape (ndim axes) joined by ``self.axis`` of the batched tensors."""
        full = self.axis + ndim + 1 if self.axis < 0 else self.axis
        return full - 1 if 1 <= full <= ndim else None

    def output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        ndim = len(shapes[0])
        axis = self._sample_axis(ndim)
        if axis is None or any(len(s) != ndim for s in shapes):
            raise self._error(f"of equal rank with axis={self.axis} inside it", shapes)
        others = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(others) != 1:
            raise self._error(f"equal on every axis except axis={self.axis}", shapes)
        sizes = [s[axis] for s in shapes]
        total = None if any(n is None for n in sizes) else sum(sizes)
        return (*shapes[0][:axis], total, *shapes[0][axis + 1:])

    def apply(self, params, x, *, key=None, training=False):
        """A list of arrays [batch, ...] -> one array, joined along ``axis``."""
        return jnp.concatenate(list(x), axis=self.axis)


class Add(_Merge):
    """y = x_1 + x_2 + ... for inputs of one shape."""

    def __init__(self, name=None):
        super().__init__(name)

    def output_shape(self, input_shape):
        shapes = self._shapes(input_shape)
        if len(set(shapes)) != 1:
            raise self._error("of one shape", shapes)
        return shapes[0]

    def apply(self, params, x, *, key=None, training=False):
        """A list of arrays of one shape -> their elementwise sum."""
        total = x[0]
        for xi in x[1:]:
            total = total + xi
        return total
