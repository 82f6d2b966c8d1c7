"""The strategies as small configuration objects, looked up by name, and ``minimize``: a whole run as one
compiled ``lax.scan`` over generations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physnn import _cache, _checks, schedulers
from physnn.evolve import strategies as S

MAX_POPSIZE = 10**6
MAX_GENERATIONS = 10**7


class Evolver(schedulers.Scheduler):
    """Base of the strategy objects: hyperparameters checked on construction (ValueError naming the argument),
    ``strategy(n)`` builds the pure ``Strategy`` for n parameters. As an optimiser of the engine
    (``model.compile(optimizer=evolve.OpenES(...))``) ``functional()`` gives the ``FullBatchOptimizer`` of
    ``physnn.evolve.optimizer.evolution_optimizer``: one generation per minibatch step of ``fit`` on that batch."""

    name = ""

    def __init__(self, popsize: int | None, sigma: float, seed: int = 0):
        if popsize is not None:
            popsize = _checks.count("popsize", popsize, minimum=self._min_popsize, maximum=MAX_POPSIZE)
        self.popsize = popsize
        self.sigma = _checks.real("sigma", sigma, low=0, low_open=True)
        self.seed = _checks.seed("seed", seed)
        self._state = None

    _min_popsize = 2

    @property
    def eta(self) -> float:
        """The step scale the trainer reports: Adam's learning rate for OpenES, sigma otherwise."""
        return getattr(self, "learning_rate", self.sigma)

    def functional(self):
        from physnn.evolve.optimizer import evolution_optimizer

        return evolution_optimizer(self)

    def update_change(self, gradient, params=None):
        raise ValueError(f"{type(self).__name__} needs the loss function, not a gradient: train with "
                         "model.compile(optimizer=...) and fit, or use evolve.minimize")

    def strategy(self, n: int) -> S.Strategy:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


class OpenES(Evolver):
    """OpenAI-ES (Salimans et al. 2017; equations in ``strategies.openai_es``): antithetic Gaussian
    perturbations of scale ``sigma``, centred ranks, Adam with ``learning_rate`` on the search gradient.

    Arguments:
        popsize: even, >= 2; sigma: > 0; learning_rate: Adam's eta > 0; weight_decay: >= 0; seed: >= 0.
    """

    name = "openai_es"

    def __init__(self, popsize: int = 64, sigma: float = 0.05, learning_rate: float = 0.05,
                 weight_decay: float = 0.0, seed: int = 0):
        super().__init__(popsize, sigma, seed)
        if self.popsize % 2:
            raise ValueError(f"popsize must be even for OpenES (antithetic pairs), received {popsize!r}")
        self.learning_rate = _checks.real("learning_rate", learning_rate, low=0, low_open=True)
        self.weight_decay = _checks.real("weight_decay", weight_decay, low=0)

    def strategy(self, n: int) -> S.Strategy:
        return S.openai_es(n, self.popsize, self.sigma, self.learning_rate, self.weight_decay)


class SNES(Evolver):
    """Separable natural evolution strategy (Schaul et al. 2011; ``strategies.snes``).

    Arguments:
        popsize: >= 2; sigma: initial scale > 0; eta_mean: > 0; eta_sigma: > 0 or None for
        (3 + ln n) / (5 sqrt n); seed: >= 0.
    """

    name = "snes"

    def __init__(self, popsize: int = 32, sigma: float = 0.3, eta_mean: float = 1.0,
                 eta_sigma: float | None = None, seed: int = 0):
        super().__init__(popsize, sigma, seed)
        self.eta_mean = _checks.real("eta_mean", eta_mean, low=0, low_open=True)
        self.eta_sigma = None if eta_sigma is None else _checks.real("eta_sigma", eta_sigma, low=0, low_open=True)

    def strategy(self, n: int) -> S.Strategy:
        return S.snes(n, self.popsize, self.sigma, self.eta_mean, self.eta_sigma)


class CMAES(Evolver):
    """CMA-ES with full covariance (Hansen 2016; ``strategies.cma_es``), for up to a few hundred parameters.

    Arguments:
        popsize: lambda >= 4, or None for 4 + floor(3 ln n); sigma: initial step size > 0; seed: >= 0.
    """

    name = "cma_es"
    _min_popsize = 4
    _separable = False

    def __init__(self, popsize: int | None = None, sigma: float = 0.3, seed: int = 0):
        super().__init__(popsize, sigma, seed)

    def strategy(self, n: int) -> S.Strategy:
        maker = S.sep_cma_es if self._separable else S.cma_es
        return maker(n, self.popsize, self.sigma)


class SepCMAES(CMAES):
    """Separable (diagonal) CMA-ES (Ros & Hansen 2008; ``strategies.sep_cma_es``), linear in n: for networks.

    Arguments: as ``CMAES``.
    """

    name = "sep_cma_es"
    _separable = True


class SimpleGA(Evolver):
    """Genetic algorithm of Such et al. 2017 (``strategies.simple_ga``): truncation selection of the
    ``truncation`` best, one elite kept unmutated, Gaussian mutation of scale ``sigma``.

    Arguments:
        popsize: >= 2; sigma: mutation scale > 0; truncation: parents per generation, 1..popsize, or None for
        max(1, popsize // 4); seed: >= 0.
    """

    name = "ga"

    def __init__(self, popsize: int = 32, sigma: float = 0.1, truncation: int | None = None, seed: int = 0):
        super().__init__(popsize, sigma, seed)
        if truncation is None:
            truncation = max(1, self.popsize // 4)
        self.truncation = _checks.count("truncation", truncation, minimum=1, maximum=self.popsize)

    def strategy(self, n: int) -> S.Strategy:
        return S.simple_ga(n, self.popsize, self.sigma, self.truncation)


STRATEGIES: dict[str, type[Evolver]] = {cls.name: cls for cls in (OpenES, SNES, SepCMAES, CMAES, SimpleGA)}


def get(strategy, **options) -> Evolver:
    """An ``Evolver`` from a name of ``STRATEGIES`` and keyword options (or an ``Evolver`` given as is)."""
    if isinstance(strategy, Evolver):
        if options:
            raise ValueError(f"strategy is already configured ({strategy!r}); options {sorted(options)} apply only "
                             f"to a strategy given by name")
        return strategy
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)} or an evolve strategy object, "
                         f"received {strategy!r}")
    return STRATEGIES[strategy](**options)


# --- minimize -----------------------------------------------------------------------------------------------


class Result(NamedTuple):
    """params: the best parameters found (pytree like the input); history: {"best": [generations] loss of the
    generation's best member, "mean": [generations] loss at the strategy's estimate ``state.mean`` after the
    generation's update} as NumPy arrays; loss: the loss of ``params``; state: the final strategy state."""

    params: Any
    history: dict
    loss: float
    state: Any


def minimize(loss_fn: Callable, params, strategy="cma_es", generations: int = 200, popsize: int | None = None,
             sigma: float | None = None, seed: int | None = None, **options) -> Result:
    """Minimise ``loss_fn(params) -> scalar`` without gradients: one compiled program (``lax.scan`` over
    generations; each generation ``ask``, ``jax.vmap(loss_fn)`` over the population, ``tell``).

    The parameter pytree is flattened with ``ravel_pytree``; ``loss_fn`` sees pytrees like ``params`` and may be
    non-differentiable (step functions, binned likelihoods, simulations); non-finite losses rank last.

    Arguments:
        loss_fn: params -> scalar loss, traceable by JAX.
        params: initial parameters, any pytree of floating arrays (the search starts there).
        strategy: "openai_es", "snes", "sep_cma_es", "cma_es", "ga", or a configured ``OpenES``/``SNES``/
            ``SepCMAES``/``CMAES``/``SimpleGA`` object.
        generations: >= 1.
        popsize, sigma, **options: for a strategy given by name (default popsize 32, sigma 0.3; other options
            such as ``learning_rate`` go to its class); an object keeps its own.
        seed: seed >= 0 (default: the object's seed, 0 for a name); same seed, same numbers. The keys (one per
            generation) are keys of JAX's "rbg" PRNG whose data NumPy's ``default_rng(seed)`` draws on the host:
            no threefry hash in the program, which halves its compile time (about 1 s -> 0.5 s, measured).
    Returns:
        ``Result(params, history, loss, state)``: ``params`` is whichever of the best member ever evaluated and
        the final ``state.mean`` has the lower loss.
    """
    if isinstance(strategy, Evolver):
        if popsize is not None or sigma is not None or options:
            raise ValueError("popsize, sigma and options apply only to a strategy given by name; "
                             f"{strategy!r} is already configured")
        evolver = strategy
    else:
        evolver = get(strategy, popsize=32 if popsize is None else popsize, sigma=0.3 if sigma is None else sigma,
                      **options)
    seed = evolver.seed if seed is None else _checks.seed("seed", seed)
    generations = _checks.count("generations", generations, maximum=MAX_GENERATIONS)
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a function params -> scalar, received {loss_fn!r}")
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must hold at least one array, received an empty pytree")
    for leaf in leaves:
        if not jnp.issubdtype(np.result_type(leaf), jnp.inexact):
            raise ValueError(f"params must hold floating arrays, received a leaf of dtype {np.result_type(leaf)}")
    # the keys: raw data of JAX's "rbg" PRNG (XLA's RngBitGenerator) drawn on the host from NumPy's generator;
    # unlike threefry keys they put no hash function into the program, which halves its compile time
    key_data = np.random.default_rng(seed).integers(0, 2**32, size=(generations + 1, 4), dtype=np.uint32)
    out_params, out_loss, best, mean, state = _run(params, key_data, loss_fn=loss_fn, evolver=evolver,
                                                   generations=generations)
    history = {"best": np.asarray(best), "mean": np.asarray(mean)}
    return Result(out_params, history, float(out_loss), state)


def _minimize(params, key_data, *, loss_fn, evolver, generations):
    """The compiled body of ``minimize`` (JAX's own cache: one program per loss_fn, strategy and shapes)."""
    x0, unravel = ravel_pytree(params)
    strat = evolver.strategy(x0.shape[0])

    def loss(x):
        value = jnp.asarray(loss_fn(unravel(x)))
        if value.shape != ():
            raise ValueError(f"loss_fn must return a scalar, returned shape {value.shape}")
        return value.astype(x0.dtype)

    keys = jax.random.wrap_key_data(key_data, impl="rbg")  # the init key, then one per generation
    state = strat.init(x0, keys[0])

    def generation(state, key):
        population, state = strat.ask(state, key)
        fitness = S.clean_fitness(jax.vmap(loss)(population))
        state = strat.tell(state, population, fitness)
        return state, (jnp.min(fitness), loss(state.mean))

    state, (best, mean) = jax.lax.scan(generation, state, keys[1:])
    mean_f = S.clean_fitness(mean[-1])
    use_mean = mean_f <= state.best_f
    x = jnp.where(use_mean, state.mean, state.best_x)
    return unravel(x), jnp.minimum(mean_f, state.best_f), best, mean, state


_run = _cache.jit(_minimize, static_argnames=("loss_fn", "evolver", "generations"))


# --- maximize -----------------------------------------------------------------------------------------------


class RewardResult(NamedTuple):
    """params: the best parameters found; history: {"best": [generations] reward of the generation's best member,
    "mean": [generations] reward at ``state.mean`` after the generation's update} (NumPy, the reward's sign);
    reward: the reward of ``params``; state: the final strategy state (its ``best_f`` is -reward)."""

    params: Any
    history: dict
    reward: float
    state: Any


class _Negated:
    """loss(params) = -reward_fn(params); equal (and hashing equal) for the same reward_fn, so that ``minimize``'s
    compiled program (static on the loss) is reused when ``maximize`` is called again with the same reward."""

    __slots__ = ("reward_fn",)

    def __init__(self, reward_fn):
        self.reward_fn = reward_fn

    def __call__(self, params):
        return -jnp.asarray(self.reward_fn(params))

    def __eq__(self, other):
        return type(other) is _Negated and other.reward_fn == self.reward_fn

    def __hash__(self):
        return hash((_Negated, self.reward_fn))


def maximize(reward_fn: Callable, params, strategy="cma_es", generations: int = 200,
             popsize: int | None = None, sigma: float | None = None, seed: int | None = None,
             **options) -> RewardResult:
    """Maximise ``reward_fn(params) -> scalar`` without gradients: ``minimize`` of the loss L = -R (a thin
    wrapper, the same compiled search), reported with the reward's sign,

        history["best"][g] = max_i R(x_i^(g)) = -min_i L(x_i^(g)),   history["mean"][g] = R(m^(g)).

    Non-finite rewards rank last (as non-finite losses do). Same seed, same numbers.

    Arguments:
        reward_fn: params -> scalar reward, traceable by JAX (a simulation's return, an accuracy, ...).
        params, strategy, generations, popsize, sigma, seed, **options: as ``minimize`` (the same defaults).
    Returns:
        ``RewardResult(params, history, reward, state)``.
    """
    if not callable(reward_fn):
        raise ValueError(f"reward_fn must be a function params -> scalar, received {reward_fn!r}")
    try:
        result = minimize(_Negated(reward_fn), params, strategy=strategy, generations=generations,
                          popsize=popsize, sigma=sigma, seed=seed, **options)
    except ValueError as err:
        if "loss_fn must return a scalar" in str(err):
            raise ValueError(str(err).replace("loss_fn", "reward_fn")) from None
        raise
    history = {key: -value for key, value in result.history.items()}
    return RewardResult(result.params, history, -result.loss, result.state)
