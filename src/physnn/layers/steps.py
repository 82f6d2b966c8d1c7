"""The count of training steps taken, as a layer: what a schedule of a loss term's weight reads inside the
compiled step (``physnn.generative.LinearAnnealing`` of the VAE's beta or the GAN's physics weight)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from physnn.layers.base import Layer


class TrainingSteps(Layer):
    """The number t of training steps taken so far, a non-trainable weight that ``fit`` advances by one after
    every step (saved with the weights, so a resumed fit continues the schedule). Output: t as [batch, 1]."""

    non_trainable_keys = ("steps",)

    def output_shape(self, input_shape):
        return (1,)

    def init(self, rng, input_shape):
        return {"steps": np.zeros((), np.float32)}

    def apply(self, params, x, *, key=None, training=False):
        steps = params["steps"]
        self.assign_weight("steps", steps + 1)  # (recorded only while training)
        return jnp.broadcast_to(steps, (jnp.shape(x)[0], 1))
