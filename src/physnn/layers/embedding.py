"""Embedding: integer indices -> rows of a trainable table."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.layers.base import Layer
from physnn.layers.dense import check_positive_int


class Embedding(Layer):
    """y[..., :] = E[x[...], :], a lookup of row x (an integer in [0, input_dim)) of the table E.

    Arguments:
        input_dim: vocabulary size V.
        output_dim: embedding size d.
        mask_zero: index 0 is padding: the layer's output carries the mask x != 0, so that SimpleRNN, LSTM,
            GRU and Bidirectional skip the padded steps (Keras's masking).
        embeddings_initializer: Keras's default "uniform", U(-0.05, 0.05); embeddings_regularizer: a penalty
            R(E) (see ``Dense``), activity_regularizer: one on the output.

    Shapes: integer x [batch, *s] -> y [batch, *s, d]; parameter ``embeddings`` E [V, d]; count V d. Indices
    outside [0, V) give NaN rows (``jnp.take`` fill mode) rather than silently reading a wrong row.
    """

    per_sample = True

    weight_specs = {"embeddings": ("embeddings", "uniform")}

    def __init__(self, input_dim, output_dim, mask_zero=False, name=None):
        super().__init__(name)
        self.input_dim = check_positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = check_positive_int(output_dim, "output_dim", "Embedding")
        if not isinstance(mask_zero, (bool, np.bool_)):
            raise ValueError(f"Embedding: mask_zero must be True or False, got {mask_zero!r}")
        self.mask_zero = bool(mask_zero)

    def compute_mask(self, inputs, mask):
        """With ``mask_zero``: index 0 is padding, mask = (x != 0) [batch, time], which the recurrent layers
        (and layers that pass masks on) read; else None."""
        return jnp.not_equal(jnp.asarray(inputs), 0) if self.mask_zero else None

    def output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def init(self, rng, input_shape):
        _checks.elements(f"Layer '{self.name}' (Embedding)", self.input_dim * self.output_dim)
        return {"embeddings": self.initial_value("embeddings", rng, (self.input_dim, self.output_dim))}

    def apply(self, params, x, *, key=None, training=False):
        x = jnp.asarray(x)
        return jnp.take(params["embeddings"], x.astype(jnp.int32), axis=0, mode="fill")
