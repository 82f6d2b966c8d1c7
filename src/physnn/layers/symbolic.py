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

    def __init__(self, sample_shape, layer=None, inputs=(), name=None, batch_size=None):
        self.sample_shape = as_shape(sample_shape)
        self.layer = layer
        self.inputs = tuple(inputs)
        self.name = name
        self.batch_size = batch_size if batch_size is not None else next(
            (t.batch_size for t in self.inputs if t.batch_size is not None), None)

    @property
    def shape(self):
        return (self.batch_size, *self.sample_shape)

    def __repr__(self):
        origin = f"from {self.layer.name}" if self.layer is not None else f"input {self.name}"
        return f"<SymbolicTensor shape={self.shape} {origin}>"


def Input(shape=None, batch_size=None, name: str | None = None, batch_shape=None, dtype=None) -> SymbolicTensor:
    """A model input, as Keras writes it: ``Input((28, 28, 1))`` (per-sample ``shape``, without the batch axis),
    ``Input(shape, batch_size=32)`` or ``Input(batch_shape=(None, L, 1))`` (the batch axis first, None or a
    fixed size). A fixed batch size is what a ``stateful`` recurrent layer carries its state for; otherwise it
    is only recorded (physnn's models take any batch size). ``dtype`` is accepted for Keras's signature; inputs
    are float32 (integer arrays stay integers for an Embedding)."""
    if name is not None and not isinstance(name, str):
        raise ValueError(f"Input: name must be a string or None, got {name!r}")
    if batch_shape is not None:
        if shape is not None or batch_size is not None:
            raise ValueError("Input: give either shape (with batch_size) or batch_shape, not both")
        if isinstance(batch_shape, (str, bytes)) or not hasattr(batch_shape, "__len__") or len(batch_shape) < 2:
            raise ValueError(f"Input: batch_shape must be (batch, *shape) with at least one axis after the batch "
                             f"axis, got {batch_shape!r}")
        batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
    elif shape is None:
        raise ValueError("Input: shape must be given (the per-sample shape, e.g. Input((4,))), or "
                         "batch_shape=(None, 4)")
    if batch_size is not None:
        batch_size = _check_shape("Input: batch_size", (batch_size,), allow_none=False)[0]
    return SymbolicTensor(_check_shape("Input: shape", shape), name=name or unique_name("input"),
                          batch_size=batch_size)


def symbolic_call(layer, x) -> SymbolicTensor:
    """Record ``layer`` applied to the symbolic tensor(s) ``x``, checking the shapes now."""
    inputs = tuple(x) if isinstance(x, (list, tuple)) else (x,)
    in_shape = [t.sample_shape for t in inputs] if isinstance(x, (list, tuple)) else x.sample_shape
    out_shape = layer.output_shape(in_shape)
    return SymbolicTensor(out_shape, layer=layer, inputs=inputs)
