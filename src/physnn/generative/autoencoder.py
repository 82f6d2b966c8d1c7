"""The autoencoder: x -> code z = f(x) (the encoder) -> reconstruction x^ = g(z) (the decoder)."""

from __future__ import annotations

import jax
import numpy as np

from physnn.models import Module
from physnn.training import flat_jit


def _check_model(model, what: str):
    if not isinstance(model, Module):
        raise ValueError(f"{what} must be a physnn model (Sequential, Model or a Module subclass), got {model!r}")
    return model


class Autoencoder(Module):
    """x^ = g(f(x)) with an encoder f and a decoder g (any physnn models), trained to reproduce its input:
    ``ae.compile(optimizer="adam", loss="mse"); ae.fit(x, x, ...)``. Its parameters are those of both models
    (one pytree, one optimiser state).

    Arguments:
        encoder: x [n, *input_shape] -> z [n, *code_shape]; decoder: z -> x^ [n, *input_shape].
    """

    def __init__(self, encoder, decoder, name=None, seed=0):
        super().__init__(name=name or "autoencoder", seed=seed)
        self.encoder = _check_model(encoder, "encoder")
        self.decoder = _check_model(decoder, "decoder")

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def _part(self, name: str, part: Module, x, label: str) -> np.ndarray:
        """``part``'s forward pass at inference with this model's parameters, compiled once per shape."""
        if not self.built:
            raise ValueError(f"model '{self.name}' is not built yet: fit it, or call build(input_shape)")
        x = self._as_input_array(x, label)
        if name not in self._compiled:
            self._compiled[name] = flat_jit(lambda params, x: part.forward(params, {}, x, None, False)[0])
        return np.asarray(self._compiled[name](self.params, jax.device_put(x)))

    def encode(self, x) -> np.ndarray:
        """The codes z = f(x) of inputs x [n, *input_shape] (inference mode)."""
        x = self._as_input(x)
        self._ensure_built(x)
        return self._part("encode", self.encoder, x, "x")

    def decode(self, z) -> np.ndarray:
        """The reconstructions x^ = g(z) of codes z [n, *code_shape] (inference mode)."""
        return self._part("decode", self.decoder, z, "z")

    def reconstruction_error(self, x) -> np.ndarray:
        """e_i = mean over the features of (x_i - x^_i)^2, one value per sample: [n] (the anomaly score)."""
        x = self._as_input(x)
        self._ensure_built(x)
        x_hat = self.predict(x)
        return np.mean((np.asarray(x, x_hat.dtype) - x_hat) ** 2, axis=tuple(range(1, x_hat.ndim)))

    def get_config(self) -> dict:
        raise ValueError("an Autoencoder holds two models; save its encoder and decoder, or its weights")

