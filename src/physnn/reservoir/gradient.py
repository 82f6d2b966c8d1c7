r"""A reservoir's input weights, leak rate and spectral radius trained by gradient, the readout solved in the loss.

The readout of an ESN has a closed form for any reservoir, so the reservoir's own parameters θ (W_in, the leak
rate a, the spectral-radius scale ρ_s; ``physnn.reservoir.Reservoir(train=...)``) can be trained on the error
of that readout (the "ridge readout inside the loss"; Jaeger, Lukoševičius, Popovici & Siewert 2007 for the
leak rate; Thiede & Parlitz 2019, "Gradient based hyperparameter optimization in echo state networks"):

    Z_θ = [1; u(t); x_θ(t)] over the fitting steps  warmup <= t < split,     V_θ the same over  t >= split,
    W_out(θ)^T = (Z_θ^T Z_θ + β I)^(-1) Z_θ^T Y_fit                          (Lukoševičius 2012, eq. 9),
    L(θ) = mean_t ||V_θ W_out(θ)^T - Y_held||^2 / var(Y_held),

the held-out one-step error of the readout fitted on the earlier steps (normalised: L = NRMSE^2). Its gradient
flows through the solve and through the unrolled reservoir (``lax.scan``); training is the engine's ``fit``
(one full-batch Adam step per epoch), the reservoir a ``Reservoir`` layer with its W non-trainable.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from physnn import _checks
from physnn.hyperparameters import hyperparameter


class RidgeReadoutLoss:
    """The held-out error of the ridge readout solved inside the loss (module docstring).

    Arguments:
        ridge: β >= 0 of the solve (float64 models need ~1e-8 and more; float32 ~1e-4).
        warmup: the first steps of every sequence left out (washout).
        split: the steps warmup <= t < split fit the readout, t >= split score it.
        quadratic: the features [1; u; x; x∘x] (``ESN(readout="quadratic")``) instead of [1; u; x].

    Called as ``loss(y_true [B, T, n_out], y_pred [B, T, D_x], x=[B, T, n_in])`` with y_pred the reservoir
    states (a model ending in ``Reservoir(return_sequences=True)``); returns the scalar L. It couples every
    step of every sequence, so ``fit`` must see the whole data in order (``batch_size=len(x)``,
    ``shuffle=False``; ``fit`` refuses anything else).
    """

    whole_data_in_order = True

    traceable_hyperparameters = {"ridge": "[0, inf)"}

    def __init__(self, ridge: float, warmup: int, split: int, quadratic: bool = False):
        self.ridge = _checks.real("ridge", ridge, low=0.0)
        self.warmup = _checks.count("warmup", warmup, 0)
        self.split = _checks.count("split", split, self.warmup + 1)
        self.quadratic = bool(quadratic)
        self.__name__ = "ridge_readout"

    def features(self, x, states):
        """z(t) = [1; u(t); x(t)] (quadratic: and x∘x), [B, T, D]."""
        parts = [jnp.ones(x.shape[:-1] + (1,), states.dtype), x.astype(states.dtype), states]
        return jnp.concatenate(parts + ([states * states] if self.quadratic else []), axis=-1)

    def readout(self, z_fit, y_fit):
        """W_out^T [D, n_out] of (Z^T Z + β I) W = Z^T Y, solved after scaling Z^T Z's diagonal to 1."""
        D = z_fit.shape[-1]
        Z, Y = z_fit.reshape(-1, D), y_fit.reshape(-1, y_fit.shape[-1]).astype(z_fit.dtype)
        A = Z.T @ Z + hyperparameter(self, "ridge") * jnp.eye(D, dtype=Z.dtype)  # (a sweep may trace β)
        d = jnp.sqrt(jnp.diag(A))
        return jnp.linalg.solve(A / d[:, None] / d[None, :], (Z.T @ Y) / d[:, None]) / d[:, None]

    def __call__(self, y_true, y_pred, x):
        T = y_pred.shape[1]
        if self.split >= T:
            raise ValueError(f"RidgeReadoutLoss: split={self.split} leaves no held-out step of the {T}")
        z = self.features(x, y_pred)
        W_out_T = self.readout(z[:, self.warmup:self.split], y_true[:, self.warmup:self.split])
        held = y_true[:, self.split:].astype(z.dtype)
        error = z[:, self.split:] @ W_out_T - held
        return jnp.mean(error**2) / jnp.var(held)


def train_reservoir(reservoir, u, y, warmup: int, ridge: float, quadratic: bool, epochs: int, learning_rate: float,
                    holdout: float, seed: int, initial: dict | None = None):
    """Train ``reservoir`` (a ``Reservoir`` layer with ``train`` set) on one series by the engine's ``fit``.

    Arguments:
        reservoir: the layer; its matrices come from its ``seed``.
        u, y: the series [T, n_in], [T, n_out] (NumPy).
        warmup, ridge, quadratic: as ``RidgeReadoutLoss``; holdout: the scored fraction at the end.
        epochs: full-batch Adam steps; learning_rate: Adam's η; seed: the model's seed.
        initial: None, or {parameter name: array} to start from instead of the layer's drawn values (an ESN
            trained before continues from its trained W_in).
    Returns:
        (the trained layer's parameters {name: NumPy array}, the loss history [epochs]).
    """
    from physnn.models import Sequential
    from physnn.schedulers import Adam

    split = int(len(u) * (1 - holdout))
    if not warmup < split < len(u):
        raise ValueError(f"the fitting part (steps {warmup}..{split}) and the held-out part ({len(u) - split} "
                         "steps) must both be non-empty: lower warmup or change holdout")
    model = Sequential([reservoir], seed=seed)
    model.compile(optimizer=Adam(learning_rate), loss=RidgeReadoutLoss(ridge, warmup, split, quadratic))
    if initial:
        model.build(u.shape)
        paths = [(reservoir.name, key) for key in initial]
        model.assign_weights(paths, [np.asarray(initial[key]) for _, key in paths], f"Reservoir '{reservoir.name}'")
    history = model.fit(u[None], y[None], epochs=epochs, batch_size=1, shuffle=False, verbose=0)
    params = {k: np.asarray(v, np.float64) for k, v in model.params[reservoir.name].items()}
    return params, np.asarray(history.history["loss"])


__all__ = ["RidgeReadoutLoss", "train_reservoir"]
