"""Gradient-free training: evolution strategies and a genetic algorithm (issue 16).

Pure strategies over a flat parameter vector (``strategies``: ``openai_es``, ``snes``, ``sep_cma_es``,
``cma_es``, ``simple_ga``, each ``Strategy(init, ask, tell)``), the same as configuration objects
(``OpenES``, ``SNES``, ``SepCMAES``, ``CMAES``, ``SimpleGA``; by name "openai_es", "snes", "sep_cma_es",
"cma_es", "ga"), and ``minimize(loss_fn, params, strategy=..., generations=..., popsize=..., sigma=..., seed=...)``
running a whole search as one compiled ``lax.scan``::

    from physnn import evolve
    result = evolve.minimize(loss_fn, params, strategy="cma_es", generations=200, popsize=32, sigma=0.3, seed=0)
    result.params, result.history["best"], result.history["mean"]
    result = evolve.maximize(reward_fn, params, strategy="cma_es", generations=200, seed=0)  # minimize of -R
    result.params, result.reward, result.history["best"]      # rewards, their own sign

``pendulum``: a torque-limited damped pendulum simulated in JAX, the reward of a policy network swinging it up.
"""

from physnn.evolve import strategies
from physnn.evolve.api import (
           CMAES,
           SNES,
           STRATEGIES,
           Evolver,
           OpenES,
           Result,
           RewardResult,
           SepCMAES,
           SimpleGA,
           get,
           maximize,
           minimize,
)
from physnn.evolve.strategies import Strategy, centred_ranks, cma_es, openai_es, sep_cma_es, simple_ga, snes

__all__ = ["CMAES", "SNES", "STRATEGIES", "Evolver", "OpenES", "Result", "RewardResult", "SepCMAES", "SimpleGA",
           "Strategy", "centred_ranks", "cma_es", "get", "maximize", "minimize", "openai_es", "sep_cma_es", "simple_ga",
           "snes", "strategies"]
