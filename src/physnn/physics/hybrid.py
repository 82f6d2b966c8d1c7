"""Hybrid physics + network model (course eq. 4.9): F(x) = rho(x) + G(x; Theta).

rho is a known but incomplete physical model (e.g. the undamped oscillator) and the network G only learns
the discrepancy y - rho(x), which is usually smaller and simpler than y itself, so fewer data suffice.
With ``physics_fn=None`` the same class is the network alone (rho = 0), the baseline to compare with.

The network is a pure MLP (``physnn.physics.mlp``) trained full-batch on the mean squared error with Adam
in one compiled ``lax.scan`` (float64). Inputs are standardised with the training mean and standard
deviation; the target of G, the residual r = y - rho(x), is standardised the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks
from physnn.physics.mlp import mlp_apply, mlp_init
from physnn.training.lbfgs import minimize


def _as_2d(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape [n] or [n, features] with n >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite values only")
    return arr


@functools.partial(_cache.jit, static_argnames=("activation", "epochs", "eta", "l2"))
def _train(params, z, r, *, activation, epochs, eta, l2):
    """Adam on mean (G(z) - r)^2 + l2 sum W^2 for ``epochs`` full-batch steps (compiled once per shape)."""

    def loss(p):
        penalty = sum(jnp.sum(layer["W"] ** 2) for layer in p)
        return jnp.mean((mlp_apply(p, z, activation) - r) ** 2) + l2 * penalty

    params, losses, _ = minimize(loss, params, adam_steps=epochs, eta=eta)
    return params, losses


class HybridModel:
    """F(x) = rho(x) + G(x; Theta) (eq. 4.9): a known physics model plus a network for what it misses.

    Arguments:
        physics_fn: rho, a function of x (NumPy array [n] or [n, features]) returning the physics prediction
            with the shape of y; None for the network alone.
        hidden: hidden-layer widths of G.
        activation: hidden activation of G (name or callable).
        eta: Adam learning rate.
        l2: weight of an L2 penalty sum W^2 on G's weights (0 = none).

    Example:
        >>> import numpy as np
        >>> t = np.linspace(0.0, 10.0, 200)
        >>> x = np.cos(t) + 0.1 * np.sin(3.0 * t)       # the physics rho(t) = cos t misses a small term
        >>> model = HybridModel(lambda t: np.cos(t), hidden=(16,)).fit(t, x, epochs=300, seed=0)
        >>> model.predict(np.array([10.5, 11.0])).shape
        (2,)
    """

    def __init__(self, physics_fn: Callable | None = None, hidden: Sequence[int] = (32, 32),
                 activation: str | Callable = "tanh", eta: float = 1e-2, l2: float = 0.0):
        if physics_fn is not None and not callable(physics_fn):
            raise ValueError(f"physics_fn must be a callable rho(x) or None, got {physics_fn!r}")
        hidden = tuple(hidden)
        if not hidden or not all(isinstance(h, (int, np.integer)) and h > 0 for h in hidden):
            raise ValueError(f"hidden must be one or more positive integers, got {hidden!r}")
        if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
            raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
        if not (isinstance(l2, (int, float)) and l2 >= 0):
            raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
        self.physics_fn, self.hidden, self.activation = physics_fn, hidden, activation
        self.eta, self.l2 = eta, l2
        self.params = None
        self.loss_history = None

    def _physics(self, x2d: np.ndarray, n_out: int | None = None) -> np.ndarray:
        if self.physics_fn is None:
            return np.zeros((x2d.shape[0], n_out or self._n_out))
        x_in = x2d[:, 0] if self._x_was_1d else x2d
        rho = np.asarray(self.physics_fn(x_in), dtype=np.float64)
        rho = rho[:, None] if rho.ndim == 1 else rho
        expected = (x2d.shape[0], n_out or self._n_out)
        if rho.shape != expected:
            raise ValueError(f"physics_fn must return the shape of y, {expected} (or [n]), got {rho.shape}")
        return rho

    def fit(self, x, y, epochs: int = 2000, seed: int = 0) -> HybridModel:
        """Train G on r = y - rho(x) with full-batch Adam; returns self (``loss_history`` per epoch).

        Arguments:
            x: inputs, [n] or [n, features]; y: targets, [n] or [n, outputs].
            epochs: Adam steps; seed: seeds the initial weights.
        """
        _checks.count("epochs", epochs, maximum=_checks.MAX_EPOCHS)
        _checks.seed("seed", seed)
        self._x_was_1d = np.ndim(x) == 1
        self._y_was_1d = np.ndim(y) == 1
        x2d, y2d = _as_2d("x", x), _as_2d("y", y)
        if x2d.shape[0] != y2d.shape[0]:
            raise ValueError(f"x and y must have the same number of samples, "
                             f"got {x2d.shape[0]} and {y2d.shape[0]}")
        self._n_in, self._n_out = x2d.shape[1], y2d.shape[1]
        residual = y2d - self._physics(x2d)
        self._x_mean, self._x_std = x2d.mean(0), np.where(x2d.std(0) > 0, x2d.std(0), 1.0)
        self._r_mean, self._r_std = residual.mean(0), np.where(residual.std(0) > 0, residual.std(0), 1.0)
        with jax.enable_x64(True):
            params = mlp_init(seed, (self._n_in, *self.hidden, self._n_out), jnp.float64)
            z = (x2d - self._x_mean) / self._x_std
            r = (residual - self._r_mean) / self._r_std
            params, losses = _train(params, z, r, activation=self.activation, epochs=int(epochs),
                                    eta=float(self.eta), l2=float(self.l2))
            losses = np.asarray(losses)
        if not np.all(np.isfinite(losses)):
            raise ValueError(f"training diverged (non-finite loss) with eta={self.eta}; lower eta")
        self.params = jax.tree_util.tree_map(np.asarray, params)
        self.loss_history = losses[:-1]
        return self

    def network(self, x) -> np.ndarray:
        """G(x; Theta) alone, in the units of y, shape [n, outputs]."""
        if self.params is None:
            raise ValueError("HybridModel.network called before fit")
        x2d = _as_2d("x", x)
        if x2d.shape[1] != self._n_in:
            raise ValueError(f"x must have {self._n_in} features, got {x2d.shape[1]}")
        with jax.enable_x64(True):
            g = np.asarray(mlp_apply(self.params, jnp.asarray((x2d - self._x_mean) / self._x_std),
                                     self.activation))
        return self._r_mean + self._r_std * g

    def predict(self, x) -> np.ndarray:
        """F(x) = rho(x) + G(x; Theta), shaped like the training y ([n] if y was 1-D)."""
        if self.params is None:
            raise ValueError("HybridModel.predict called before fit")
        x2d = _as_2d("x", x)
        out = self._physics(x2d) + self.network(x2d)
        return out[:, 0] if self._y_was_1d else out
