"""Schedules of a loss term's weight over the training steps (the VAE's beta, the GAN's physics weight): callables
of the step count t, which a model reads from a ``physnn.layers.TrainingSteps`` layer."""

from __future__ import annotations

import jax.numpy as jnp

from physnn import _checks


class LinearAnnealing:
    """A linear warm-up of a loss term's weight: beta(t) = beta_max min(1, t / warmup_steps) after t training steps
    (minibatches). The VAE's KL annealing (Bowman et al. 2016: the decoder learns to reconstruct before the prior
    pulls the codes in); a GAN's physics weight (the adversarial game settles before the physics term pulls).

    Arguments:
        warmup_steps: steps to reach ``beta_max`` (> 0); steps = epochs x minibatches per epoch.
        beta_max: the final weight (>= 0).
    """

    def __init__(self, warmup_steps: int, beta_max: float = 1.0):
        self.warmup_steps = _checks.count("warmup_steps", warmup_steps)
        self.beta_max = _checks.real("beta_max", beta_max, 0.0)

    def __call__(self, step):
        return self.beta_max * jnp.minimum(1.0, step / self.warmup_steps)

    def __repr__(self):
        return f"LinearAnnealing(warmup_steps={self.warmup_steps}, beta_max={self.beta_max})"


class CyclicalAnnealing:
    """Cyclical KL annealing (Fu et al. 2019): the linear ramp repeated every ``period`` steps,
    beta(t) = beta_max min(1, (t mod period) / (ramp period)); it counters posterior collapse.

    Arguments:
        period: steps per cycle (> 0).
        ramp: the fraction of a cycle spent rising, in (0, 1]; beta = beta_max for the rest.
        beta_max: the top weight (>= 0).
    """

    def __init__(self, period: int, ramp: float = 0.5, beta_max: float = 1.0):
        self.period = _checks.count("period", period)
        self.ramp = _checks.real("ramp", ramp, 0.0, 1.0, low_open=True)
        self.beta_max = _checks.real("beta_max", beta_max, 0.0)

    def __call__(self, step):
        return self.beta_max * jnp.minimum(1.0, jnp.mod(step, self.period) / (self.ramp * self.period))

    def __repr__(self):
        return f"CyclicalAnnealing(period={self.period}, ramp={self.ramp}, beta_max={self.beta_max})"
