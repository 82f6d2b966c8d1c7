"""Configurations of the 2-D Ising model from a compiled Markov-chain Monte Carlo.

The model: spins s_i = +-1 on an L x L square lattice with periodic boundaries, energy
H = -J sum_<ij> s_i s_j (nearest neighbours, J = 1, no field), sampled from the Boltzmann distribution
exp(-H / T) (k_B = 1). The exact infinite-lattice results (Onsager 1944; Yang 1952) the samples are tested
against:

    T_c = 2 / ln(1 + sqrt 2) = 2.2692,
    M(T) = (1 - sinh(2 / T)^-4)^(1/8) for T < T_c (0 above),
    u(T) = -coth(2K) [1 + (2 / pi) (2 tanh^2(2K) - 1) K_1(k)],  K = 1 / T,  k = 2 sinh(2K) / cosh^2(2K),

with K_1 the complete elliptic integral of the first kind (``scipy.special.ellipk(k**2)``); u(T_c) = -sqrt 2.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache
from physnn._checks import count, flag
from physnn._checks import seed as check_seed

T_CRITICAL = 2.0 / np.log(1.0 + np.sqrt(2.0))

__all__ = ["Ising", "T_CRITICAL", "ising", "onsager_energy", "onsager_magnetization"]


class Ising(NamedTuple):
    spins: np.ndarray  # [n, L, L] int8 of +-1
    temperature: np.ndarray  # [n] the temperature each configuration was sampled at
    magnetization: np.ndarray  # [n] m = (1/N) sum_i s_i, signed (|m| is the order parameter)
    energy: np.ndarray  # [n] u = H / N, per spin


def onsager_magnetization(T) -> np.ndarray:
    """Onsager's (Yang's) spontaneous magnetisation per spin of the infinite lattice,
    M(T) = (1 - sinh(2/T)^-4)^(1/8) below T_c and 0 above. T: array-like -> array of the same shape."""
    T = np.asarray(T, np.float64)
    inner = 1.0 - np.sinh(2.0 / T) ** -4.0
    return np.where(T < T_CRITICAL, np.clip(inner, 0.0, None) ** 0.125, 0.0)


def onsager_energy(T) -> np.ndarray:
    """Onsager's energy per spin of the infinite lattice, u(T) (the module's docstring). T: array-like ->
    array of the same shape."""
    from scipy.special import ellipk

    K = 1.0 / np.asarray(T, np.float64)
    k2 = np.minimum((2.0 * np.sinh(2.0 * K) / np.cosh(2.0 * K) ** 2) ** 2, 1.0 - 1e-15)  # K_1 diverges at T_c
    return -1.0 / np.tanh(2.0 * K) * (1.0 + 2.0 / np.pi * (2.0 * np.tanh(2.0 * K) ** 2 - 1.0) * ellipk(k2))


def _half_sweep(s, other, bits, thresholds, shift):
    """Metropolis update of one sublattice of the checkerboard, all of its sites at once (their neighbours
    are all on the other sublattice, so the parallel update is the sequential one).

    The lattice is stored as its two sublattices, each [B, L, L/2]: site (i, j) with i + j even is
    ``black[i, j // 2]``, with i + j odd ``white[i, j // 2]``. The four neighbours of a site in compressed
    column c of row i are the other sublattice's (i - 1, c), (i + 1, c), (i, c) and (i, c - shift) on even
    rows, (i, c + shift) on odd rows; shift = +1 updating black, -1 updating white (periodic in i and c).
    A flip costs dE = 2 s h in {-8, -4, 0, 4, 8} (h the neighbour sum) and is accepted if dE <= 0, or if the
    site's 32 random bits are below ``thresholds`` = floor(2^32 exp(-dE / T)) for dE = 4, 8.

    s, other: [B, L, L/2] int32; bits: [B, L, L/2] uint32; thresholds: [B, 2] uint32."""
    even_row = (jnp.arange(s.shape[1]) % 2 == 0)[None, :, None]
    side = jnp.where(even_row, jnp.roll(other, shift, 2), jnp.roll(other, -shift, 2))
    dE = 2 * s * (jnp.roll(other, 1, 1) + jnp.roll(other, -1, 1) + other + side)
    threshold = jnp.where(dE == 4, thresholds[:, :1, None], thresholds[:, 1:, None])
    return jnp.where((dE <= 0) | (bits < threshold), -s, s)


def _sweep(black, white, key, thresholds):
    """One checkerboard Metropolis sweep: the black sublattice, then the white one."""
    key_black, key_white = jax.random.split(key)
    black = _half_sweep(black, white, jax.random.bits(key_black, black.shape, jnp.uint32), thresholds, 1)
    white = _half_sweep(white, black, jax.random.bits(key_white, white.shape, jnp.uint32), thresholds, -1)
    return black, white


def _lattice(black, white):
    """The full [B, L, L] lattice from its two sublattices (see ``_half_sweep``)."""
    B, L, half = black.shape
    pairs = jnp.stack([black, white], axis=-1)  # even rows: (black, white) along j
    swapped = jnp.stack([white, black], axis=-1)  # odd rows start with a white site
    even_row = (jnp.arange(L) % 2 == 0)[None, :, None, None]
    return jnp.where(even_row, pairs, swapped).reshape(B, L, 2 * half)


def _observables(s):
    """(m, u) per spin of configurations s [B, L, L]: the mean spin and -(1/N) sum_i s_i (s_right + s_down)."""
    m = jnp.mean(s, axis=(1, 2), dtype=jnp.float32)
    u = -jnp.mean(s * (jnp.roll(s, -1, 1) + jnp.roll(s, -1, 2)), axis=(1, 2), dtype=jnp.float32)
    return m, u


@partial(_cache.jit, static_argnames=("L", "equilibration", "spacing", "samples"))
def _run(key, thresholds, signs, L, equilibration, spacing, samples):
    """Every chain at once: ``equilibration`` sweeps, then ``samples`` configurations ``spacing`` sweeps
    apart. thresholds [B, 2]; signs [B] the ordered start. Returns spins [samples, B, L, L] int8, m and u
    [samples, B]."""
    start = jnp.broadcast_to(signs[:, None, None], (signs.shape[0], L, L // 2)).astype(jnp.int32)

    def sweeps(lattice, key, n):
        return jax.lax.fori_loop(0, n, lambda k, bw: _sweep(*bw, jax.random.fold_in(key, k), thresholds), lattice)

    key_eq, key_samples = jax.random.split(key)
    lattice = sweeps((start, start), key_eq, equilibration)

    def sample(lattice, key):
        lattice = sweeps(lattice, key, spacing)
        s = _lattice(*lattice)
        m, u = _observables(s)
        return lattice, (s.astype(jnp.int8), m, u)

    _, (spins, m, u) = jax.lax.scan(sample, lattice, jax.random.split(key_samples, samples))
    return spins, m, u


def ising(L: int = 32, temperatures=(1.5, 2.0, 2.5, 3.0), samples_per_temperature: int = 100, seed: int = 0, *,
          chains: int | None = None, equilibration: int | None = None, spacing: int | None = None,
          symmetrize: bool = True) -> Ising:
    """Equilibrium configurations of the 2-D Ising model (J = 1, no field, periodic L x L lattice) at each of
    ``temperatures``, from checkerboard Metropolis Monte Carlo compiled into one program (every chain of
    every temperature advanced together).

    How equilibrium and independence are handled:

    * Each temperature runs ``chains`` independent chains; each chain yields
      ``samples_per_temperature / chains`` configurations, ``spacing`` sweeps apart, after ``equilibration``
      sweeps. Chains start fully ordered (all +1 or all -1 at random): below T_c a random start freezes into
      stripe domains that live for ~L^2 sweeps and bias |m| low, while above T_c the ordered start melts within
      a few tens of sweeps.
    * The defaults are conservative for L <= 64: ``equilibration`` = 4 L^2 sweeps (4096 at L = 32, longer than
      Metropolis's relaxation time of |m| at T_c, ~L^2.17 / 4 ~ 500 sweeps at L = 32) and ``spacing`` = L^2 / 4
      (256 at L = 32, a few integrated autocorrelation times of |m| even at T_c; far from T_c successive
      samples are effectively independent). ``chains`` defaults to samples_per_temperature / 4, so most of
      the samples come from independent chains.
    * ``symmetrize``: each configuration is multiplied by an independent random sign, an exact symmetry of
      H, so m is symmetric about 0 at every temperature (below T_c a Metropolis chain of L >= 16 never tunnels
      between +M and -M on these time scales).

    Arguments:
        L: the linear lattice size (>= 4, even).
        temperatures: the temperatures T > 0 (k_B = 1, units of J); T_c = 2.2692.
        samples_per_temperature: configurations per temperature (a multiple of ``chains``).
        seed: every random number (starts, Metropolis bits, the symmetrising signs) comes from it.
        chains, equilibration, spacing: see above.
        symmetrize: apply the random global sign flip.

    Returns:
        ``Ising(spins [n, L, L] int8 +-1, temperature [n], magnetization [n], energy [n])`` with
        n = len(temperatures) * samples_per_temperature, ordered by temperature; m and u are per spin.
    """
    L = count("L", L, 4, 1024)
    if L % 2:
        raise ValueError(f"L must be even (the checkerboard update needs two sublattices), got {L}")
    T = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if T.ndim != 1 or T.size == 0 or not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise ValueError(f"temperatures must be a non-empty 1-D list of finite numbers > 0, got {temperatures!r}")
    per_T = count("samples_per_temperature", samples_per_temperature)
    chains = count("chains", chains if chains is not None else max(1, per_T // 4), 1, per_T)
    if per_T % chains:
        raise ValueError(f"samples_per_temperature ({per_T}) must be a multiple of chains ({chains})")
    equilibration = count("equilibration", equilibration if equilibration is not None else 4 * L * L, 0, 10**7)
    spacing = count("spacing", spacing if spacing is not None else max(1, L * L // 4), 1, 10**7)
    seed = check_seed("seed", seed)
    symmetrize = flag("symmetrize", symmetrize)
    count("configurations", T.size * per_T * L * L, 1, 2**31)

    rng = np.random.default_rng(seed)
    T_chain = np.repeat(T, chains)  # chain b runs at T_chain[b]
    accept = np.exp(-np.array([4.0, 8.0])[None, :] / T_chain[:, None])
    thresholds = np.minimum(np.floor(accept * 2.0**32), 2.0**32 - 1).astype(np.uint32)
    signs = rng.choice(np.array([-1, 1], np.int32), size=T_chain.size)
    key = jax.random.PRNGKey(int(rng.integers(2**31)))
    spins, m, u = _run(key, jnp.asarray(thresholds), jnp.asarray(signs), L=L, equilibration=equilibration,
                       spacing=spacing, samples=per_T // chains)
    # [samples, K * chains, ...] -> [K, chains * samples, ...], grouped by temperature
    def by_temperature(a):
        a = np.asarray(a)
        a = a.reshape(a.shape[0], T.size, chains, *a.shape[2:])
        return np.moveaxis(a, 0, 2).reshape(T.size * per_T, *a.shape[3:])

    spins, m, u = by_temperature(spins), by_temperature(m).astype(np.float64), by_temperature(u).astype(np.float64)
    if symmetrize:
        flip = rng.choice(np.array([-1, 1], np.int8), size=spins.shape[0])
        spins, m = spins * flip[:, None, None], m * flip
    return Ising(spins, np.repeat(T, per_T), m, u)
