"""The fully connected layer, y = f(x W + b), on the last axis of any-rank input (as Keras)."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.activations import get_activation
from physnn.layers._utils import add_bias
from physnn.layers.base import Layer


def check_positive_int(value, arg: str, layer: str) -> int:
    """``value`` as a positive int; ValueError naming the argument otherwise. An integral float (the Oslo notes'
    ``Dense(hidden_neurons/2)`` = ``Dense(125.0)``, which Keras 2 accepted) is taken as its int, with a warning."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and value > 0:
        warnings.warn(f"{layer}: {arg}={value!r} is a float; using {int(value)} (Keras 2 took integral floats, "
                      "Keras 3 refuses them)", stacklevel=3)
        return int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {arg} must be a positive int, got {value!r}")
    return int(value)


class Dense(Layer):
    """Fully connected layer: y = f(x W + b).

    Arguments:
        units: n, the number of output features.
        activation: f, a name known to ``physnn.activations.get_activation``, a callable, or None (identity).
        use_bias: add the bias b.
        kernel_initializer, bias_initializer: names or ``physnn.initializers`` objects (Keras's defaults
            "glorot_uniform", limit sqrt(6 / (m + n)), and "zeros").
        kernel_regularizer, bias_regularizer: None, "l1"/"l2", ``physnn.regularizers`` objects or callables
            w -> scalar, summed by ``regularization(params)`` into the loss; activity_regularizer: a penalty
            R(y) / batch on the output (see ``Layer.activity_penalty``).
        name: layer name (default dense, dense_1, ...).

    Shapes: x [batch, ..., m] -> y [batch, ..., n]; parameters ``kernel`` W [m, n] and ``bias`` b [n].
    Parameter count m n + n.
    """

    per_sample = True

    weight_specs = {"kernel": ("kernel", "glorot_uniform"), "bias": ("bias", "zeros")}
    supports_masking = True  # (Keras: a mask of sequence inputs passes through a Dense applied per step)

    def __init__(self, units, activation=None, use_bias=True, name=None):
        super().__init__(name)
        self.units = check_positive_int(units, "units", "Dense")
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise self.shape_error("(..., features) with a known number of features", input_shape)
        return (*input_shape[:-1], self.units)

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        _checks.elements(f"Layer '{self.name}' (Dense)", input_shape[-1] * self.units,
                         f" ({input_shape[-1]} x {self.units})")
        params = {"kernel": self.initial_value("kernel", rng, (input_shape[-1], self.units))}
        if self.use_bias:
            params["bias"] = self.initial_value("bias", rng, (self.units,))
        return params

    def apply(self, params, x, *, key=None, training=False):
        """y = f(x W + b) for x [batch, ..., m]; returns [batch, ..., n]."""
        z = jnp.matmul(x, params["kernel"])
        if self.use_bias:
            z = add_bias(z, params["bias"])
        return self.activation(z)
