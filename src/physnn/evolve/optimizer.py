"""A strategy as an optimiser of the one engine: ``model.compile(optimizer=evolve.OpenES(...))``, one generation
per minibatch step of ``fit``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from physnn import _cache
from physnn.evolve import strategies as S
from physnn.training.lbfgs import FullBatchOptimizer


class EvolveState(NamedTuple):
    """key: the threefry key of the next generation; strategy: the strategy's state (its mean is kept equal to
    the model's trainable parameters)."""

    key: Any
    strategy: Any


def evolution_optimizer(evolver) -> FullBatchOptimizer:
    """The ``FullBatchOptimizer`` running ``evolver`` (an ``OpenES``, ``SNES``, ``SepCMAES``, ``CMAES`` or
    ``SimpleGA``) inside ``fit``: each minibatch step is one generation on that batch (``full_batch=False``:
    ``fit`` keeps its ``batch_size``, so an epoch of n samples is ceil(n / batch_size) generations; the ragged
    last batch is a generation too). ``opt_state.strategy.generation`` counts them.

    With theta the flattened trainable parameters and f the batch objective (``value_and_grad(p)[0]``; the
    gradient is unused and XLA drops it):

        state.mean <- theta;  population, state = ask(state, key);  fitness_i = f(population_i)  (vmap)
        state = tell(state, population, fitness);  change = theta - state.mean   (params <- params - change)

    The key starts as ``PRNGKey(evolver.seed)`` (its data made on the host) and is split every generation.
    """

    def strategy_for(x):
        return evolver.strategy(int(x.shape[0]))

    @_cache.jit
    def init(params):
        x0, _ = ravel_pytree(params)
        key = np.array([0, evolver.seed], np.uint32)  # = jax.random.PRNGKey(seed), without an eager program
        k_init, key = jax.random.split(key)
        return EvolveState(key, strategy_for(x0).init(x0, k_init))

    def update(grads, state, params, value, value_and_grad):
        del grads, value
        x, unravel = ravel_pytree(params)
        strategy = strategy_for(x)
        k_ask, key = jax.random.split(state.key)
        inner = state.strategy._replace(mean=x)
        population, inner = strategy.ask(inner, k_ask)
        fitness = jax.vmap(lambda v: value_and_grad(unravel(v))[0])(population)
        inner = strategy.tell(inner, population, S.clean_fitness(fitness.astype(x.dtype)))
        return unravel(x - inner.mean), EvolveState(key, inner)

    return FullBatchOptimizer(init, update, full_batch=False)
