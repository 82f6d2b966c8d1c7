"""Random layers of the generative models: training-only Gaussian noise and the VAE's reparameterised sample."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from physnn import _checks
from physnn.hyperparameters import hyperparameter, is_bound
from physnn.layers.base import Layer


def _key(layer: Layer, key, seed):
    """The PRNG key of one random draw: the model's key for this call (folded with ``seed`` when given)."""
    if key is None:
        if seed is None:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) needs a PRNG key (or a seed) when "
                             "training")
        return jax.random.PRNGKey(seed)
    return key if seed is None else jax.random.fold_in(key, seed)


class GaussianNoise(Layer):
    """Additive Gaussian noise while training, y = x + stddev eps with eps ~ N(0, 1) drawn from the step's key
    (a fresh draw every step); y = x at inference. The denoising autoencoder's corruption (Vincent et al. 2008).

    Arguments:
        stddev: the noise's standard deviation, >= 0.
        seed: optional int folded into the key (two such layers given one key then draw differently).

    The standard deviation is read through ``physnn.hyperparameters`` (a sweep may train several in one program).
    """

    per_sample = True

    traceable_hyperparameters = {"stddev": "[0, inf)"}

    def __init__(self, stddev, seed=None, name=None):
        super().__init__(name)
        self.stddev = _checks.real("stddev", stddev, 0.0)
        self.seed = None if seed is None else _checks.seed("seed", seed)

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, ...] -> y of the same shape."""
        if not training or (self.stddev == 0.0 and not is_bound(self, "stddev")):
            return x
        noise = jax.random.normal(_key(self, key, self.seed), jnp.shape(x), jnp.result_type(x))
        return x + hyperparameter(self, "stddev") * noise


class Sampling(Layer):
    """The reparameterisation trick of the variational autoencoder (Kingma & Welling 2014, eq. 10): from the
    encoder's [mu, log sigma^2] (last axis of size 2 d), z = mu + exp(log sigma^2 / 2) eps, eps ~ N(0, I) from
    the step's key, so z is a differentiable function of the encoder's output. At inference z = mu.

    Arguments:
        seed: optional int folded into the key.
    """

    def __init__(self, seed=None, name=None):
        super().__init__(name)
        self.seed = None if seed is None else _checks.seed("seed", seed)

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape or input_shape[-1] is None or input_shape[-1] % 2:
            raise self.shape_error("(..., 2 * latent_dim): the mean and the log-variance", input_shape)
        return (*input_shape[:-1], input_shape[-1] // 2)

    def apply(self, params, x, *, key=None, training=False):
        """[batch, ..., 2 d] -> z [batch, ..., d]."""
        mu, log_var = jnp.split(x, 2, axis=-1)
        if not training:
            return mu
        eps = jax.random.normal(_key(self, key, self.seed), jnp.shape(mu), jnp.result_type(mu))
        return mu + jnp.exp(0.5 * log_var) * eps
