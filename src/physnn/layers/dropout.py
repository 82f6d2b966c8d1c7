"""Inverted dropout."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from physnn.hyperparameters import hyperparameter, is_bound
from physnn.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout: in training y = m ⊙ x / (1 - rate), m_i ~ Bernoulli(1 - rate); else y = x.

    Dividing by the keep probability keeps E[y] = x, so nothing changes at inference.

    Arguments:
        rate: probability of zeroing an element, in [0, 1).
        seed: optional int folded into the key, so two Dropout layers given the same key differ;
            without a ``key`` in training the mask is drawn from ``PRNGKey(seed)``.

    ``apply(params, x, key=..., training=True)`` needs a PRNG key (or a seed); the same key gives the
    same mask. The rate is read through ``physnn.hyperparameters`` (a sweep may train several rates in one
    vmapped program).
    """

    per_sample = True

    supports_masking = True
    traceable_hyperparameters = {"rate": "[0, 1)"}

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"Dropout: seed must be an int or None, got {seed!r}")
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, ...] -> y of the same shape."""
        if not training or (self.rate == 0.0 and not is_bound(self, "rate")):
            return x
        if key is None:
            if self.seed is None:
                raise ValueError(f"Layer '{self.name}' (Dropout) needs a PRNG key (or a seed) when training")
            key = jax.random.PRNGKey(self.seed)
        elif self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        keep = 1.0 - hyperparameter(self, "rate")
        mask = jax.random.bernoulli(key, keep, jnp.shape(x))
        return jnp.where(mask, x / keep, jnp.zeros_like(x))
