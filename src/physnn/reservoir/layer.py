r"""The reservoir as a layer: a fixed leaky-integrator echo-state reservoir inside Sequential/Model.

    x(t) = (1 - a) x(t-1) + a tanh(W_in [1; u(t)] + ρ_s W x(t-1)),      x(0) = 0,

u(t) the layer's input at step t (Jaeger 2001; Lukoševičius 2012); with ``layers=L`` the deep form of
``physnn.reservoir.update`` (layer l > 1 driven by layer l - 1, every layer's state returned). W [N, N] and
W_in [N, 1 + n_in] are drawn as in ``physnn.reservoir.matrices`` and are ``non_trainable_keys``: ``fit`` never
changes them, so a trainable layer before the reservoir (an input transformation) and after it (the readout)
train around a fixed reservoir.

``train`` names what ``fit`` may change by gradient through the unrolled reservoir:

    "input"   the input matrices W_in (every layer's),
    "leak"    the leak rate, a = sigmoid(leak_logit) (so it stays in (0, 1)),
    "radius"  the spectral radius, through a scale ρ_s = exp(log_radius) on every W (W itself stays fixed:
              the radius becomes ρ_s times the drawn one).

``physnn.reservoir.RidgeReadoutLoss`` trains them with the ridge readout solved inside the loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _checks, initializers
from physnn.hyperparameters import hyperparameter
from physnn.layers.base import Layer
from physnn.layers.serialize import register_layer
from physnn.reservoir.matrices import check_hyperparameters, deep_reservoir_matrices
from physnn.reservoir.update import drive

TRAINABLE = ("input", "leak", "radius")


def check_trainable(train, owner: str, name: str = "trainable") -> tuple[str, ...]:
    """``train`` as a tuple of names from ``TRAINABLE`` in their order there (ValueError naming the argument
    ``name`` and a wrong entry)."""
    if isinstance(train, str):
        train = (train,)
    try:
        train = tuple(train)
    except TypeError:
        raise ValueError(f"{owner}: {name} must be a tuple of names from {TRAINABLE}, got {train!r}") from None
    unknown = [t for t in train if t not in TRAINABLE]
    if unknown:
        raise ValueError(f"{owner}: {name}={train!r} holds unknown names {unknown!r}; valid names are {TRAINABLE}")
    return tuple(t for t in TRAINABLE if t in train)


def matrix_keys(layers: int) -> list[tuple[str, str]]:
    """The parameter names of each layer's (W, W_in): ("W", "W_in"), then ("W_1", "W_in_1"), ..."""
    return [("W", "W_in") if layer == 0 else (f"W_{layer}", f"W_in_{layer}") for layer in range(layers)]


@register_layer
class Reservoir(Layer):
    """A fixed (deep) echo-state reservoir over a sequence.

    Arguments:
        units: N, the reservoir size (of each layer).
        spectral_radius, leak_rate, input_scaling, density, bias_scaling: as ``physnn.reservoir.ESN``.
        layers: L >= 1 stacked reservoirs (the output holds every layer's state, [..., L·N]).
        return_sequences: return every state [batch, time, L·N] (default) or the last one [batch, L·N].
        train: what ``fit`` trains by gradient, a tuple of "input", "leak", "radius" (default none; see the
            module docstring). W stays fixed either way.
        seed: the matrices' seed; None (default) takes one from the model's generator (layer i of a model
            seeded s draws from ``default_rng((s, i))``), so the model's seed decides.
        name: layer name.

    Shapes: x [batch, time, n_in] -> [batch, time, L·N] or [batch, L·N]. Parameters ``W`` [N, N] and ``W_in``
    [N, 1 + n_in] (column 0 the bias), ``W_l``/``W_in_l`` [N, 1 + N] for the layers l = 1..L-1 above, and
    with ``train`` the scalars ``leak_logit`` and ``log_radius``.
    """

    per_sample = True

    def __init__(self, units, spectral_radius=1.25, leak_rate=0.3, input_scaling=1.0, density=0.1,
                 bias_scaling=1.0, layers=1, return_sequences=True, train=(), seed=None, name=None):
        super().__init__(name)
        hp = check_hyperparameters(units, spectral_radius, leak_rate, input_scaling, density, bias_scaling,
                                   0 if seed is None else seed, "Reservoir")
        hp["seed"] = seed
        for key, value in hp.items():
            setattr(self, key, value)
        try:
            self.layers = _checks.count("layers", layers, 1, 64)
        except ValueError as err:
            raise ValueError(f"Reservoir: {err}") from None
        self.return_sequences = bool(return_sequences)
        self.train = check_trainable(train, "Reservoir", "train")

    @property
    def traceable_hyperparameters(self) -> dict:
        """The leak rate may be traced (``physnn.hyperparameters``) unless it is trained."""
        return {} if "leak" in self.train else {"leak_rate": "(0, 1]"}

    @property
    def non_trainable_keys(self) -> tuple[str, ...]:
        keys = matrix_keys(self.layers)
        return tuple(W for W, _ in keys) + (() if "input" in self.train else tuple(W_in for _, W_in in keys))

    def output_shape(self, input_shape):
        shape = self.sequence_output_shape(input_shape)
        return shape[:-1] + (self.layers * self.units,)

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        n_in = input_shape[1]
        seed = int(rng.integers(0, 2**32)) if self.seed is None else self.seed
        Ws, W_ins = deep_reservoir_matrices(self.units, n_in, self.layers, spectral_radius=self.spectral_radius,
                                            density=self.density, input_scaling=self.input_scaling,
                                            bias_scaling=self.bias_scaling, seed=seed)
        params = {}
        for (W_key, W_in_key), W64, W_in64 in zip(matrix_keys(self.layers), Ws, W_ins):
            params[W_key] = initializers.zeros(W64.shape)  # claims the sizes (model loading bounds them)
            params[W_in_key] = initializers.zeros(W_in64.shape)
            params[W_key][...] = W64
            params[W_in_key][...] = W_in64
        dtype = initializers.default_dtype()
        if "leak" in self.train:
            a = min(max(self.leak_rate, 1e-6), 1 - 1e-6)
            params["leak_logit"] = np.asarray(np.log(a / (1 - a)), dtype)
        if "radius" in self.train:
            params["log_radius"] = np.zeros((), dtype)
        return params

    def leak(self, params):
        """The leak rate a: ``leak_rate`` (through ``physnn.hyperparameters``: a sweep may trace it), or
        sigmoid(leak_logit) when trained."""
        return jax.nn.sigmoid(params["leak_logit"]) if "leak_logit" in params else hyperparameter(self, "leak_rate")

    def radius_scale(self, params):
        """ρ_s: 1, or exp(log_radius) when the spectral radius is trained."""
        return jnp.exp(params["log_radius"]) if "log_radius" in params else 1.0

    def apply(self, params, x, *, key=None, training=False):
        """x [batch, time, n_in] -> the states x(1..T) [batch, time, L·N], or x(T) [batch, L·N], from x(0) = 0."""
        x = jnp.asarray(x)
        keys = matrix_keys(self.layers)
        scale = self.radius_scale(params)
        Ws_T = tuple(scale * params[W].T for W, _ in keys)
        W_ins_T = tuple(params[W_in].T for _, W_in in keys)
        x0 = jnp.zeros(self.layers * self.units, jnp.result_type(x, *Ws_T))
        _, hs = jax.vmap(lambda u: drive(Ws_T, W_ins_T, self.leak(params), x0, u))(x)
        return hs if self.return_sequences else hs[:, -1]


__all__ = ["Reservoir", "check_trainable"]
