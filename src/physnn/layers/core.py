"""Keras's small core layers: Activation, RepeatVector, the global poolings and LayerNormalization."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from physnn.activations import get_activation
from physnn.layers._utils import add_bias
from physnn.layers.base import Layer
from physnn.layers.dense import check_positive_int


class Activation(Layer):
    """y = f(x) elementwise, f a name known to ``physnn.activations.get_activation`` (Keras's names)."""

    per_sample = True

    supports_masking = True

    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = get_activation(activation)

    def apply(self, params, x, *, key=None, training=False):
        return self.activation(x)


class RepeatVector(Layer):
    """[batch, features] -> [batch, n, features]: the input repeated n times (a sequence decoder's input)."""

    per_sample = True

    def __init__(self, n, name=None):
        super().__init__(name)
        self.n = check_positive_int(n, "n", "RepeatVector")

    def output_shape(self, input_shape):
        self.expect_ndim(tuple(input_shape), 1, "(features,)")
        return (self.n, *input_shape)

    def apply(self, params, x, *, key=None, training=False):
        return jnp.repeat(jnp.expand_dims(x, 1), self.n, axis=1)


class _GlobalPooling(Layer):
    """Reduce every channel over all positions: [batch, *spatial, channels] -> [batch, channels]."""

    per_sample = True

    rank = 1
    reduction = "mean"

    def output_shape(self, input_shape):
        expected = "(steps, channels)" if self.rank == 1 else "(height, width, channels)"
        self.expect_ndim(tuple(input_shape), self.rank + 1, expected)
        return (input_shape[-1],)

    def apply(self, params, x, *, key=None, training=False):
        axes = tuple(range(1, self.rank + 1))
        return jnp.mean(x, axis=axes) if self.reduction == "mean" else jnp.max(x, axis=axes)


class GlobalAveragePooling1D(_GlobalPooling):
    """y[c] = mean over steps t of x[t, c]; with a Keras mask (``Embedding(mask_zero=True)``) the mean over the
    unmasked steps only, sum_t m_t x[t, c] / sum_t m_t, as Keras."""

    accepts_mask = True

    def __init__(self, name=None):
        super().__init__(name)

    def apply(self, params, x, *, key=None, training=False, mask=None):
        if mask is None:
            return super().apply(params, x)
        m = jnp.asarray(mask, x.dtype)[..., None]
        return jnp.sum(x * m, axis=1) / jnp.maximum(jnp.sum(m, axis=1), 1.0)

    def forward(self, params, state, x, *, key=None, training=False, mask=None):
        return self.apply(params, x, mask=mask), state


class GlobalMaxPooling1D(_GlobalPooling):
    """y[c] = max over steps t of x[t, c]."""

    reduction = "max"

    def __init__(self, name=None):
        super().__init__(name)


class GlobalAveragePooling2D(_GlobalPooling):
    """y[c] = mean over positions (i, j) of x[i, j, c]."""

    rank = 2

    def __init__(self, name=None):
        super().__init__(name)


class GlobalMaxPooling2D(_GlobalPooling):
    """y[c] = max over positions (i, j) of x[i, j, c]."""

    rank = 2
    reduction = "max"

    def __init__(self, name=None):
        super().__init__(name)


class _FeatureNormalization(Layer):
    """What the normalisation layers share: the shape is kept, the last axis (the features) must be known."""

    supports_masking = True

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] is None:
            raise self.shape_error("(..., features) with a known number of features", input_shape)
        return input_shape


class LayerNormalization(_FeatureNormalization):
    """y = gamma (x - mu) / sqrt(sigma^2 + epsilon) + beta over the last axis (Ba, Kiros & Hinton 2016; Keras's).

    mu and sigma^2 are the mean and (biased) variance of each sample's features; parameters ``gamma`` (ones) and
    ``beta`` (zeros) [features], each left out with ``scale=False`` / ``center=False``.
    """

    per_sample = True

    weight_specs = {"gamma": ("gamma", "ones"), "beta": ("beta", "zeros")}

    def __init__(self, epsilon=1e-3, center=True, scale=True, name=None):
        super().__init__(name)
        if not (isinstance(epsilon, (int, float, np.floating)) and not isinstance(epsilon, bool) and epsilon > 0):
            raise ValueError(f"LayerNormalization: epsilon must be a positive number, got {epsilon!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def init(self, rng, input_shape):
        n = self.output_shape(input_shape)[-1]
        params = {}
        if self.scale:
            params["gamma"] = self.initial_value("gamma", rng, (n,))
        if self.center:
            params["beta"] = self.initial_value("beta", rng, (n,))
        return params

    def apply(self, params, x, *, key=None, training=False):
        mu = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
        y = (x - mu) / jnp.sqrt(var + self.epsilon)
        if self.scale:
            y = y * params["gamma"].reshape((1,) * (y.ndim - 1) + (-1,))
        if self.center:
            y = add_bias(y, params["beta"])
        return y


class BatchNormalization(_FeatureNormalization):
    """Batch normalisation (Ioffe & Szegedy 2015), Keras's: over the last axis (the features or channels),

        training:   y = gamma (x - mu_B) / sqrt(sigma_B^2 + epsilon) + beta,
                    mu_B, sigma_B^2 the mean and (biased) variance over the batch and every other axis;
                    moving_mean <- m moving_mean + (1 - m) mu_B, moving_variance likewise (m = ``momentum``);
        inference:  y = gamma (x - moving_mean) / sqrt(moving_variance + epsilon) + beta.

    ``moving_mean`` (zeros) and ``moving_variance`` (ones) are non-trainable weights that ``fit`` sets after
    each step (``assign_weight``); ``gamma`` (ones) and ``beta`` (zeros) are trained. With ``trainable=False`` the
    layer runs in inference mode, as Keras's does.
    """

    weight_specs = {"gamma": ("gamma", "ones"), "beta": ("beta", "zeros"),
                    "moving_mean": ("moving_mean", "zeros"), "moving_variance": ("moving_variance", "ones")}
    non_trainable_keys = ("moving_mean", "moving_variance")

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None):
        super().__init__(name)
        for arg, value, low in (("momentum", momentum, 0.0), ("epsilon", epsilon, 0.0)):
            if not (isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
                    and (low <= value < 1.0 if arg == "momentum" else value > low)):
                raise ValueError(f"BatchNormalization: {arg} must be in {'[0, 1)' if arg == 'momentum' else '> 0'}, "
                                 f"got {value!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)

    def init(self, rng, input_shape):
        n = self.output_shape(input_shape)[-1]
        keys = [*(["gamma"] if self.scale else []), *(["beta"] if self.center else []),
                "moving_mean", "moving_variance"]
        return {key: self.initial_value(key, rng, (n,)) for key in keys}

    def apply(self, params, x, *, key=None, training=False):
        shape = (1,) * (x.ndim - 1) + (-1,)
        if training and self.trainable:
            axes = tuple(range(x.ndim - 1))
            mean, var = jnp.mean(x, axis=axes), jnp.var(x, axis=axes)
            m = self.momentum
            self.assign_weight("moving_mean", m * params["moving_mean"] + (1 - m) * mean)
            self.assign_weight("moving_variance", m * params["moving_variance"] + (1 - m) * var)
        else:
            mean, var = params["moving_mean"], params["moving_variance"]
        y = (x - mean.reshape(shape)) / jnp.sqrt(var.reshape(shape) + self.epsilon)
        if self.scale:
            y = y * params["gamma"].reshape(shape)
        if self.center:
            y = y + params["beta"].reshape(shape)
        return y
