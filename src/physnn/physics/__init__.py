"""Physics-informed learning: physics-guided costs, trial-solution ODE solvers, hybrid and parameter models.

* ``losses``  PhysicsGuidedLoss (eq. 4.4) and the penalty terms threshold (4.6), monotonic (4.7),
              conservation (4.12) and normalisation (4.15);
* ``ode``     solve_ode: trial solutions g = u0 + (x - x0) N(x) (eq. 2.13), first and second order, systems;
* ``hybrid``  HybridModel: F = rho(x) + G(x; Theta) (eq. 4.9);
* ``params``  fit_projectile, fit_spring: physical constants as trainable parameters;
* ``mlp``     the small pure MLP and the compiled Adam + L-BFGS loop these use.
"""

from physnn.physics.hybrid import HybridModel
from physnn.physics.losses import (
    PhysicsGuidedLoss,
    conservation_penalty,
    monotonic_penalty,
    normalization_penalty,
    threshold_penalty,
)
from physnn.physics.mlp import mlp_apply, mlp_init
from physnn.physics.ode import ODESolution, solve_ode
from physnn.physics.params import ProjectileFit, SpringFit, fit_projectile, fit_spring
from physnn.training.lbfgs import minimize

__all__ = [
    "HybridModel",
    "ODESolution",
    "PhysicsGuidedLoss",
    "ProjectileFit",
    "SpringFit",
    "conservation_penalty",
    "fit_projectile",
    "fit_spring",
    "minimize",
    "mlp_apply",
    "mlp_init",
    "monotonic_penalty",
    "normalization_penalty",
    "solve_ode",
    "threshold_penalty",
]
