r"""The reservoir as a layer: a fixed leaky-integrator echo-state reservoir inside Sequential/Model.

    x(t) = (1 - a) x(t-1) + a tanh(W_in [1; u(t)] + W x(t-1)),      x(0) = 0,

u(t) the layer's input at step t (Jaeger 2001; Lukoševičius 2012). W [N, N] and W_in [N, 1 + n_in] are drawn
as in ``physnn.reservoir.matrices`` and are ``non_trainable_keys``: ``fit`` never changes them, so a
trainable layer before the reservoir (an input transformation) and after it (the readout) train around a
fixed reservoir. ``train_input=True`` makes W_in trainable too (gradients through the unrolled reservoir).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from physnn import initializers
from physnn.layers.base import Layer
from physnn.layers.serialize import register_layer
from physnn.reservoir.matrices import check_hyperparameters, reservoir_matrices
from physnn.reservoir.update import leaky_update


@register_layer
class Reservoir(Layer):
    """A fixed echo-state reservoir over a sequence.

    Arguments:
        units: N, the reservoir size.
        spectral_radius, leak_rate, input_scaling, density, bias_scaling: as ``physnn.reservoir.ESN``.
        return_sequences: return every state [batch, time, N] (default) or the last one [batch, N].
        train_input: let ``fit`` train W_in (W stays fixed either way).
        seed: the matrices' seed; None (default) takes one from the model's generator (layer i of a model
            seeded s draws from ``default_rng((s, i))``), so the model's seed decides.
        name: layer name.

    Shapes: x [batch, time, n_in] -> [batch, time, N] or [batch, N]. Parameters ``W`` [N, N] and ``W_in``
    [N, 1 + n_in] (column 0 the bias), both non-trainable unless ``train_input``.
    """

    def __init__(self, units, spectral_radius=1.25, leak_rate=0.3, input_scaling=1.0, density=0.1,
                 bias_scaling=1.0, return_sequences=True, train_input=False, seed=None, name=None):
        super().__init__(name)
        hp = check_hyperparameters(units, spectral_radius, leak_rate, input_scaling, density, bias_scaling,
                                   0 if seed is None else seed, "Reservoir")
        hp["seed"] = seed
        for key, value in hp.items():
            setattr(self, key, value)
        self.return_sequences = bool(return_sequences)
        self.train_input = bool(train_input)

    @property
    def non_trainable_keys(self) -> tuple[str, ...]:
        return ("W",) if self.train_input else ("W", "W_in")

    def output_shape(self, input_shape):
        return self.sequence_output_shape(input_shape)

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        n_in = input_shape[1]
        W = initializers.zeros((self.units, self.units))  # claims the sizes (model loading bounds them)
        W_in = initializers.zeros((self.units, 1 + n_in))
        seed = int(rng.integers(0, 2**32)) if self.seed is None else self.seed
        W64, W_in64 = reservoir_matrices(self.units, n_in, self.spectral_radius, self.density, self.input_scaling,
                                         self.bias_scaling, seed)
        W[...] = W64
        W_in[...] = W_in64
        return {"W": W, "W_in": W_in}

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, time, n_in] -> the states x(1..T) [batch, time, N], or x(T) [batch, N], from x(0) = 0."""
        x = jnp.asarray(x)
        W, W_in = params["W"], params["W_in"]
        p = W_in[None, None, :, 0] + x @ W_in[:, 1:].T  # [batch, time, N]
        a = self.leak_rate

        def step(h, p_t):
            h = leaky_update(h, p_t, W.T, a)
            return h, (h if self.return_sequences else None)

        h0 = jnp.zeros((x.shape[0], self.units), p.dtype)
        h, hs = jax.lax.scan(step, h0, jnp.swapaxes(p, 0, 1))
        return jnp.swapaxes(hs, 0, 1) if self.return_sequences else h


__all__ = ["Reservoir"]
