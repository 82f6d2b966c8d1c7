"""Reservoir computing: echo state networks (``ESN``, closed-form ridge readout) and the ``Reservoir`` layer.

``ESN`` trains only its linear readout, in closed form; ``Reservoir`` is the same fixed reservoir as a layer
of a Sequential/functional model, its W and W_in non-trainable weights, so trainable layers may sit before
and after it and ``fit`` trains only those (see ``physnn.reservoir.esn`` for the equations). Both stack into
deep reservoirs (``layers=L``) and can train their input weights, leak rate and spectral radius by gradient
with the ridge readout solved inside the loss (``physnn.reservoir.gradient``). ``tune`` chooses an ESN's
hyperparameters on the training data alone.
"""

from physnn.reservoir.esn import ESN, load_esn, ridge_solve
from physnn.reservoir.gradient import RidgeReadoutLoss
from physnn.reservoir.layer import Reservoir
from physnn.reservoir.matrices import reservoir_matrices, spectral_radius
from physnn.reservoir.tune import tune

__all__ = ["ESN", "Reservoir", "RidgeReadoutLoss", "load_esn", "reservoir_matrices", "ridge_solve", "spectral_radius",
           "tune"]
