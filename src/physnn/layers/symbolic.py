"""Symbolic tensors for the functional style: ``x = Input((4,)); y = Dense(3)(x); Model(x, y)``.

A ``SymbolicTensor`` holds no numbers: only the per-sample shape and the node (layer + inputs) that
produced it. Shapes are checked as the graph is written, so a layer that does not fit fails at once.
"""

from __future__ import annotations

from physnn._checks import shape as _check_shape
from physnn.layers.base import as_shape, unique_name


class SymbolicTensor:
    """A placeholder for a batch of tensors of per-sample shape ``sample_shape``.

    ``shape`` is Keras's, with ``None`` for the batch axis.
    """

    def __init__(self, sample_shape, layer=None, inputs=(), name=None):
        self.sample_shape = as_shape(sample_shape)
        self.layer = layer
        self.inputs = tuple(inputs)
        self.name = name

    @property
    def shape(self):
        return (None, *self.sample_shape)

    def __repr__(self):
        origin = f"from {self.layer.name}" if self.layer is not None else f"input {self.name}"
        return f"<SymbolicTensor shape={self.shape} {origin}>"


def Input(shape, name: str | None = None) -> SymbolicTensor:
    """A model input with per-sample ``shape`` (without the batch axis), e.g. ``Input((28, 28, 1))``."""
    if name is not None and not isinstance(name, str):
        raise ValueError(f"Input: name must be a string or None, got {name!r}")
    return SymbolicTensor(_check_shape("Input: shape", shape), name=name or unique_name("input"))


def symbolic_call(layer, x) -> SymbolicTensor:
    """Record ``layer`` applied to the symbolic tensor(s) ``x``, checking the shapes now."""
    inputs = tuple(x) if isinstance(x, (list, tuple)) else (x,)
    in_shape = [t.sample_shape for t in inputs] if isinstance(x, (list, tuple)) else x.sample_shape
    out_shape = layer.output_shape(in_shape)
    return SymbolicTensor(out_shape, layer=layer, inputs=inputs)
