"""Evolution strategies and a genetic algorithm as pure ``init / ask / tell`` functions over a flat vector.

Every strategy is a ``Strategy(init, ask, tell)`` of pure functions (jit-, vmap- and scan-safe), for a parameter
vector x of length n (a pytree flattened with ``jax.flatten_util.ravel_pytree``), with explicit PRNG keys::

    state = strategy.init(x0, key)                         # x0: [n]
    population, state = strategy.ask(state, key)           # population: [popsize, n]
    state = strategy.tell(state, population, fitness)      # fitness: [popsize], MINIMISED

``state.mean`` is the strategy's current estimate (the search distribution's mean; the elite for the genetic
algorithm), ``state.best_x`` / ``state.best_f`` the best member seen so far. Non-finite fitness (NaN, +-inf
from a diverging member) is treated as +inf: such a member ranks last and never poisons an update.

All five use only ranks of the fitness (or, for the genetic algorithm, the selection it implies), so they are
invariant under monotone transformations of the objective and need no gradient: step functions, binned
likelihoods and simulation rewards are all fine.

Constants are computed on the host (Python floats) when ``strategy(n)`` is built; states are NamedTuples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import schedulers


class Strategy(NamedTuple):
    """``init(x0, key) -> state``, ``ask(state, key) -> (population [popsize, n], state)``,
    ``tell(state, population, fitness [popsize]) -> state`` (minimisation); plus ``popsize`` and ``n``."""

    init: Callable[[Any, Any], Any]
    ask: Callable[[Any, Any], tuple[Any, Any]]
    tell: Callable[[Any, Any, Any], Any]
    popsize: int
    n: int


# --- shared pieces ----------------------------------------------------------------------------------------


def clean_fitness(fitness):
    """Fitness with every non-finite value (NaN, +-inf) replaced by +inf: it ranks last."""
    return jnp.where(jnp.isfinite(fitness), fitness, jnp.inf)


def _best(best_x, best_f, population, fitness):
    """(best_x, best_f) updated with the best member of this generation (fitness already cleaned)."""
    i = jnp.argmin(fitness)
    better = fitness[i] < best_f
    return jnp.where(better, population[i], best_x), jnp.where(better, fitness[i], best_f)


def _inf_like(x0):
    return jnp.full((), jnp.inf, x0.dtype)


def centred_ranks(fitness):
    """Centred-rank fitness shaping (Salimans et al. 2017): u_i = rank_i / (P - 1) - 1/2 in [-1/2, 1/2], rank 0
    for the lowest (best) fitness; non-finite fitness ranks last; ties broken by position."""
    p = fitness.shape[0]
    ranks = jnp.argsort(jnp.argsort(clean_fitness(fitness)))
    return ranks.astype(fitness.dtype) / (p - 1) - 0.5


# --- OpenAI-ES ---------------------------------------------------------------------------------------------


class OpenESState(NamedTuple):
    mean: Any
    sigma: Any
    opt_state: Any
    best_x: Any
    best_f: Any
    generation: Any


def openai_es(n: int, popsize: int, sigma: float, learning_rate: float = 0.05, weight_decay: float = 0.0,
              ) -> Strategy:
    """OpenAI evolution strategy (Salimans, Ho, Chen, Sidor & Sutskever 2017, arXiv:1703.03864).

    Antithetic sampling: eps_1..eps_{P/2} ~ N(0, I_n), eps_{P/2+j} = -eps_j, x_i = theta + sigma eps_i.
    Centred-rank shaping u_i = rank(f_i) / (P - 1) - 1/2 (``centred_ranks``); the search gradient of the smoothed
    loss E[f(theta + sigma eps)] is estimated as

        g = 1 / (P sigma) sum_i u_i eps_i  (+ weight_decay theta)

    and theta is moved by Adam on g (``physnn.schedulers.adam(learning_rate)``): theta <- theta - change.
    sigma is fixed.

    Arguments:
        n: parameters; popsize: P (even); sigma: noise scale; learning_rate: Adam's eta;
        weight_decay: L2 coefficient added to g (the paper's 0.005 for Atari).
    Returns:
        ``Strategy`` with state ``OpenESState(mean, sigma, opt_state, best_x, best_f, generation)``.
    """
    if popsize < 2 or popsize % 2:
        raise ValueError(f"popsize must be even and >= 2 for OpenAI-ES (antithetic pairs), received {popsize!r}")
    opt = schedulers.adam(learning_rate)
    half = popsize // 2

    def init(x0, key):
        del key
        return OpenESState(x0, jnp.asarray(sigma, x0.dtype), opt.init(x0), x0, _inf_like(x0), jnp.asarray(0))

    def ask(state, key):
        eps = jax.random.normal(key, (half, n), state.mean.dtype)
        eps = jnp.concatenate([eps, -eps])
        return state.mean[None, :] + state.sigma * eps, state

    def tell(state, population, fitness):
        fitness = clean_fitness(fitness)
        eps = (population - state.mean[None, :]) / state.sigma
        u = centred_ranks(fitness)
        grad = u @ eps / (popsize * state.sigma) + weight_decay * state.mean
        change, opt_state = opt.update(grad, state.opt_state, state.mean)
        best_x, best_f = _best(state.best_x, state.best_f, population, fitness)
        return state._replace(mean=state.mean - change, opt_state=opt_state, best_x=best_x, best_f=best_f,
                              generation=state.generation + 1)

    return Strategy(init, ask, tell, popsize, n)


# --- SNES -------------------------------------------------------------------------------------------------


class SNESState(NamedTuple):
    mean: Any
    sigma: Any      # [n], one scale per coordinate
    best_x: Any
    best_f: Any
    generation: Any


def snes_utilities(popsize: int) -> np.ndarray:
    """NES utilities (Wierstra et al. 2014): u_k = max(0, log(P/2 + 1) - log k) / sum_j max(0, ...) - 1/P for
    k = 1 (best) ... P (worst)."""
    k = np.arange(1, popsize + 1)
    u = np.maximum(0.0, math.log(popsize / 2 + 1) - np.log(k))
    return u / u.sum() - 1.0 / popsize


def snes(n: int, popsize: int, sigma: float, eta_mean: float = 1.0, eta_sigma: float | None = None) -> Strategy:
    """Separable natural evolution strategy (Schaul, Glasmachers & Schmidhuber 2011, "High dimensions and heavy
    tails for natural evolution strategies", GECCO; Wierstra et al. 2014, JMLR 15).

    Search distribution N(mu, diag(sigma^2)). Sample s_k ~ N(0, I_n), x_k = mu + sigma * s_k; sort by fitness
    (best first) and with the utilities u_k of ``snes_utilities`` take the natural gradients

        grad_mu = sum_k u_k s_k,    grad_sigma = sum_k u_k (s_k^2 - 1)
        mu <- mu + eta_mu sigma * grad_mu,    sigma <- sigma * exp(eta_sigma / 2 * grad_sigma)

    with eta_mu = 1 and eta_sigma = (3 + log n) / (5 sqrt n) by default.

    Arguments:
        n: parameters; popsize: P >= 2; sigma: initial scale (every coordinate); eta_mean, eta_sigma: rates.
    Returns:
        ``Strategy`` with state ``SNESState(mean, sigma [n], best_x, best_f, generation)``.
    """
    if eta_sigma is None:
        eta_sigma = (3 + math.log(n)) / (5 * math.sqrt(n))
    utilities = snes_utilities(popsize)

    def init(x0, key):
        del key
        return SNESState(x0, jnp.full((n,), sigma, x0.dtype), x0, _inf_like(x0), jnp.asarray(0))

    def ask(state, key):
        s = jax.random.normal(key, (popsize, n), state.mean.dtype)
        return state.mean[None, :] + state.sigma[None, :] * s, state

    def tell(state, population, fitness):
        fitness = clean_fitness(fitness)
        s = (population - state.mean[None, :]) / state.sigma[None, :]
        s = s[jnp.argsort(fitness)]
        u = jnp.asarray(utilities, s.dtype)
        grad_mu = u @ s
        grad_sigma = u @ (s * s - 1)
        best_x, best_f = _best(state.best_x, state.best_f, population, fitness)
        return state._replace(mean=state.mean + eta_mean * state.sigma * grad_mu,
                              sigma=state.sigma * jnp.exp(0.5 * eta_sigma * grad_sigma),
                              best_x=best_x, best_f=best_f, generation=state.generation + 1)

    return Strategy(init, ask, tell, popsize, n)


# --- CMA-ES (full and separable) ------------------------------------------------------------------------------


def default_cma_popsize(n: int) -> int:
    """lambda = 4 + floor(3 ln n) (Hansen 2016, Table 1)."""
    return 4 + int(math.floor(3 * math.log(n)))


class CMAConstants(NamedTuple):
    mu: int
    weights: np.ndarray
    mueff: float
    cc: float
    cs: float
    c1: float
    cmu: float
    damps: float
    chi_n: float


def cma_constants(n: int, popsize: int, separable: bool = False) -> CMAConstants:
    """The default strategy parameters of CMA-ES (Hansen 2016, arXiv:1604.00772, Table 1; positive weights):

        mu = floor(lambda / 2),  w_i ∝ ln((lambda + 1) / 2) - ln i  (i = 1..mu, sum w = 1),  mu_eff = 1 / sum w_i^2
        c_c = (4 + mu_eff / n) / (n + 4 + 2 mu_eff / n),   c_s = (mu_eff + 2) / (n + mu_eff + 5)
        c_1 = 2 / ((n + 1.3)^2 + mu_eff),   c_mu = min(1 - c_1, 2 (mu_eff - 2 + 1/mu_eff) / ((n + 2)^2 + mu_eff))
        d_s = 1 + 2 max(0, sqrt((mu_eff - 1) / (n + 1)) - 1) + c_s,   E||N(0, I)|| ~ sqrt(n) (1 - 1/(4n) + 1/(21n^2))

    ``separable=True``: the covariance learning rates of sep-CMA-ES (Ros & Hansen 2008) c_1' = c_1 (n + 2) / 3,
    c_mu' = min(1 - c_1', c_mu (n + 2) / 3).
    """
    mu = popsize // 2
    w = math.log((popsize + 1) / 2) - np.log(np.arange(1, mu + 1))
    w = w / w.sum()
    mueff = float(1.0 / np.sum(w * w))
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    cs = (mueff + 2) / (n + mueff + 5)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    if separable:
        c1 = min(1.0, c1 * (n + 2) / 3)
        cmu = min(1 - c1, cmu * (n + 2) / 3)
    damps = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return CMAConstants(mu, w, mueff, cc, cs, c1, cmu, damps, chi_n)


class CMAState(NamedTuple):
    mean: Any
    sigma: Any
    C: Any          # [n, n] (full) or [n] (separable: the diagonal)
    B: Any          # [n, n] eigenvectors of C (full) or None-like [n] ones (separable)
    D: Any          # [n] square roots of C's eigenvalues (full) or sqrt(diag C) (separable)
    p_sigma: Any
    p_c: Any
    best_x: Any
    best_f: Any
    generation: Any


def _cma(n: int, popsize: int, sigma: float, separable: bool) -> Strategy:
    k = cma_constants(n, popsize, separable)

    def init(x0, key):
        del key
        dtype = x0.dtype
        zeros = jnp.zeros((n,), dtype)
        ones = jnp.ones((n,), dtype)
        C = ones if separable else jnp.eye(n, dtype=dtype)
        B = ones if separable else jnp.eye(n, dtype=dtype)
        return CMAState(x0, jnp.asarray(sigma, dtype), C, B, ones, zeros, zeros, x0, _inf_like(x0),
                        jnp.asarray(0))

    def ask(state, key):
        z = jax.random.normal(key, (popsize, n), state.mean.dtype)
        y = z * state.D[None, :]
        if not separable:
            y = y @ state.B.T
        return state.mean[None, :] + state.sigma * y, state

    def tell(state, population, fitness):
        fitness = clean_fitness(fitness)
        dtype = state.mean.dtype
        w = jnp.asarray(k.weights, dtype)
        y = (population - state.mean[None, :]) / state.sigma
        y_sel = y[jnp.argsort(fitness)[: k.mu]]
        y_w = w @ y_sel
        mean = state.mean + state.sigma * y_w
        if separable:
            inv_sqrt_c_yw = y_w / state.D
        else:
            inv_sqrt_c_yw = state.B @ ((state.B.T @ y_w) / state.D)
        p_sigma = (1 - k.cs) * state.p_sigma + math.sqrt(k.cs * (2 - k.cs) * k.mueff) * inv_sqrt_c_yw
        norm_ps = jnp.linalg.norm(p_sigma)
        g = (state.generation + 1).astype(dtype)
        h_sigma = (norm_ps / jnp.sqrt(1 - (1 - k.cs) ** (2 * g)) < (1.4 + 2 / (n + 1)) * k.chi_n).astype(dtype)
        p_c = (1 - k.cc) * state.p_c + h_sigma * math.sqrt(k.cc * (2 - k.cc) * k.mueff) * y_w
        delta_h = (1 - h_sigma) * k.cc * (2 - k.cc)
        decay = 1 + k.c1 * delta_h - k.c1 - k.cmu  # sum w = 1
        if separable:
            C = decay * state.C + k.c1 * p_c * p_c + k.cmu * (w @ (y_sel * y_sel))
            D, B = jnp.sqrt(C), state.B
        else:
            rank_mu = (y_sel * w[:, None]).T @ y_sel
            C = decay * state.C + k.c1 * jnp.outer(p_c, p_c) + k.cmu * rank_mu
            C = 0.5 * (C + C.T)
            eigenvalues, B = jnp.linalg.eigh(C)
            D = jnp.sqrt(jnp.maximum(eigenvalues, jnp.finfo(dtype).tiny))
        sigma_new = state.sigma * jnp.exp(k.cs / k.damps * (norm_ps / k.chi_n - 1))
        best_x, best_f = _best(state.best_x, state.best_f, population, fitness)
        return CMAState(mean, sigma_new, C, B, D, p_sigma, p_c, best_x, best_f, state.generation + 1)

    return Strategy(init, ask, tell, popsize, n)


def cma_es(n: int, popsize: int | None = None, sigma: float = 0.3) -> Strategy:
    """CMA-ES with full covariance (Hansen & Ostermeier 2001; the equations of Hansen 2016, "The CMA Evolution
    Strategy: A Tutorial", arXiv:1604.00772, constants in ``cma_constants``). One generation:

        y_i = B D z_i, z_i ~ N(0, I), x_i = m + sigma y_i  (C = B D^2 B^T);  y_w = sum_{i<=mu} w_i y_{i:lambda}
        m <- m + sigma y_w
        p_s <- (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) C^{-1/2} y_w
        h_s = [ ||p_s|| / sqrt(1 - (1 - c_s)^{2(g+1)}) < (1.4 + 2/(n+1)) E||N(0,I)|| ]
        p_c <- (1 - c_c) p_c + h_s sqrt(c_c (2 - c_c) mu_eff) y_w
        C <- (1 + c_1 delta(h_s) - c_1 - c_mu) C + c_1 p_c p_c^T + c_mu sum_i w_i y_{i:lambda} y_{i:lambda}^T,
             delta(h_s) = (1 - h_s) c_c (2 - c_c)
        sigma <- sigma exp(c_s / d_s (||p_s|| / E||N(0,I)|| - 1))

    with an eigendecomposition of C every generation (O(n^3): for n up to a few hundred; use ``sep_cma_es``
    for networks). Positive recombination weights only (no active update).

    Arguments:
        n: parameters; popsize: lambda >= 4 (default 4 + floor(3 ln n)); sigma: initial step size.
    Returns:
        ``Strategy`` with state ``CMAState(mean, sigma, C [n, n], B [n, n], D [n], p_sigma, p_c, best_x, best_f,
        generation)``.
    """
    return _cma(n, popsize or default_cma_popsize(n), sigma, separable=False)


def sep_cma_es(n: int, popsize: int | None = None, sigma: float = 0.3) -> Strategy:
    """Separable CMA-ES (Ros & Hansen 2008, "A simple modification in CMA-ES achieving linear time and space
    complexity", PPSN X): ``cma_es`` with C restricted to its diagonal, so B = I, D = sqrt(diag C),
    C^{-1/2} y_w = y_w / D and the update is elementwise,

        C <- (1 + c_1' delta(h_s) - c_1' - c_mu') C + c_1' p_c^2 + c_mu' sum_i w_i y_{i:lambda}^2,

    with the larger learning rates c_1' = c_1 (n + 2) / 3, c_mu' = c_mu (n + 2) / 3 (``cma_constants``).
    O(n) per sample: suitable for networks.

    Returns:
        ``Strategy`` with state ``CMAState`` (C, D of shape [n]; B unused, ones).
    """
    return _cma(n, popsize or default_cma_popsize(n), sigma, separable=True)


# --- genetic algorithm --------------------------------------------------------------------------------------


class GAState(NamedTuple):
    mean: Any       # the elite (best member of the last generation)
    parents: Any    # [truncation, n], best first
    sigma: Any
    best_x: Any
    best_f: Any
    generation: Any


def simple_ga(n: int, popsize: int, sigma: float, truncation: int) -> Strategy:
    """Simple genetic algorithm of Such et al. 2017 ("Deep neuroevolution", arXiv:1712.06567): truncation
    selection, elitism, Gaussian mutation, no crossover.

    Generation g: the parents are the T best members of generation g - 1 (truncation selection), best first.
    Member 0 of the new population is the elite (parent 1, unmutated, re-evaluated: elitism); members
    i = 1..P-1 are children x_i = theta_{k_i} + sigma eps_i with k_i uniform on the T parents, eps_i ~ N(0, I)
    (one Gaussian draw per generation: k_i = floor(T Phi(z_i)) with an extra z_i ~ N(0, 1), Phi the normal CDF).
    The first population is x0 plus mutations. ``state.mean`` is the elite.

    Arguments:
        n: parameters; popsize: P >= 2; sigma: mutation scale; truncation: T, 1 <= T <= P.
    Returns:
        ``Strategy`` with state ``GAState(mean, parents [T, n], sigma, best_x, best_f, generation)``.
    """

    def init(x0, key):
        del key
        parents = jnp.broadcast_to(x0[None, :], (truncation, n))
        return GAState(x0, parents, jnp.asarray(sigma, x0.dtype),
                       x0, _inf_like(x0), jnp.asarray(0))

    def ask(state, key):
        # one draw for both: eps_i and an extra z_i ~ N(0, 1) giving the parent k_i = floor(T Phi(z_i)), uniform
        z = jax.random.normal(key, (popsize - 1, n + 1), state.mean.dtype)
        pick = jnp.clip(jnp.floor(truncation * jax.scipy.special.ndtr(z[:, n])), 0, truncation - 1).astype(int)
        children = state.parents[pick] + state.sigma * z[:, :n]
        return jnp.concatenate([state.parents[:1], children]), state

    def tell(state, population, fitness):
        fitness = clean_fitness(fitness)
        order = jnp.argsort(fitness)[:truncation]
        parents = population[order]
        best_x, best_f = _best(state.best_x, state.best_f, population, fitness)
        return state._replace(mean=parents[0], parents=parents, best_x=best_x,
                              best_f=best_f, generation=state.generation + 1)

    return Strategy(init, ask, tell, popsize, n)
