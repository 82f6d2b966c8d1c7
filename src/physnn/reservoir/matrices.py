"""The fixed matrices of a reservoir, drawn on the host from explicit NumPy generators.

W [N, N] is sparse random: each entry is non-zero with probability ``density``, the non-zeros uniform in
(-1, 1); the matrix is then rescaled so that its spectral radius max |λ_i(W)| is exactly ``spectral_radius``
(Jaeger 2001; Lukoševičius 2012, section 3.2). W_in [N, 1 + n_in] is dense uniform: its first column (the
bias, multiplying the constant 1) in (-bias_scaling, bias_scaling), the others in
(-input_scaling, input_scaling).

Layer l (0-based) of a deep reservoir draws W from ``numpy.random.default_rng((seed, 2 l))`` and W_in from
``default_rng((seed, 2 l + 1))`` (layer 0: (seed, 0) and (seed, 1)), so the same seed gives the same W
whatever the number of inputs, and a deep reservoir's first layer is the one-layer reservoir. Values are
float64 (callers cast). The unscaled W and its spectral radius are cached (a search over the spectral
radius of one reservoir draws and diagonalises W once).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from physnn import _checks

#: Up to this many units the spectral radius comes from all eigenvalues (numpy.linalg.eigvals); above it,
#: from an Arnoldi power iteration on the sparse matrix (scipy's ARPACK), falling back to a plain power
#: iteration if that does not converge.
EIG_LIMIT = 2000


def spectral_radius(W: np.ndarray) -> float:
    """max |λ_i(W)| of a square matrix W [N, N]: all eigenvalues for N <= ``EIG_LIMIT``, else the dominant
    one by (Arnoldi) power iteration."""
    W = np.asarray(W, np.float64)
    if W.shape[0] <= EIG_LIMIT:
        return float(np.max(np.abs(np.linalg.eigvals(W))))
    import scipy.sparse
    import scipy.sparse.linalg

    try:
        values = scipy.sparse.linalg.eigs(scipy.sparse.csr_matrix(W), k=1, which="LM", tol=1e-10,
                                          return_eigenvectors=False, v0=np.ones(W.shape[0]))
        return float(np.abs(values[0]))
    except scipy.sparse.linalg.ArpackNoConvergence:
        return _power_iteration(W)


def _power_iteration(W: np.ndarray, iterations: int = 2000) -> float:
    """ρ(W) = lim ||W^k v||^(1/k): the mean log growth of a renormalised vector over the second half of the
    iterations (works for a complex dominant pair too, to about 1e-3 relative)."""
    v = np.random.default_rng(0).standard_normal(W.shape[0])
    v /= np.linalg.norm(v)
    logs = []
    for _ in range(iterations):
        v = W @ v
        norm = np.linalg.norm(v)
        if norm == 0.0:
            return 0.0
        logs.append(np.log(norm))
        v /= norm
    return float(np.exp(np.mean(logs[iterations // 2:])))


_radius = spectral_radius


def check_hyperparameters(units, spectral_radius, leak_rate, input_scaling, density, bias_scaling, seed,
                          owner: str) -> dict:
    """The reservoir's hyperparameters checked (ValueError naming the one that is wrong)."""
    def real(name, value, **kw):
        try:
            return _checks.real(name, value, **kw)
        except ValueError as err:
            raise ValueError(f"{owner}: {err}") from None

    try:
        units = _checks.count("units", units, 1, 50_000)
        seed = _checks.seed("seed", seed)
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None
    return {
        "units": units,
        "spectral_radius": real("spectral_radius", spectral_radius, low=0.0, low_open=True),
        "leak_rate": real("leak_rate", leak_rate, low=0.0, high=1.0, low_open=True),
        "input_scaling": real("input_scaling", input_scaling, low=0.0),
        "density": real("density", density, low=0.0, high=1.0, low_open=True),
        "bias_scaling": real("bias_scaling", bias_scaling, low=0.0),
        "seed": seed,
    }


def _unscaled(units: int, density: float, seed: int, layer: int) -> np.ndarray:
    """The random sparse W of ``reservoir_matrices`` before scaling."""
    rng = np.random.default_rng((seed, 2 * layer))
    values = rng.uniform(-1.0, 1.0, (units, units))
    return np.where(rng.random((units, units)) < density, values, 0.0)


@lru_cache(maxsize=1024)
def _unscaled_radius(units: int, density: float, seed: int, layer: int) -> float:
    """The spectral radius of ``_unscaled(...)``, remembered: a search that redraws one reservoir at many radii
    (``tune``) pays the eigenvalues once, and the cache holds numbers, not matrices."""
    return _radius(_unscaled(units, density, seed, layer))  # (reservoir_matrices's argument shadows the name)


def reservoir_matrices(units: int, n_inputs: int, spectral_radius: float = 1.25, density: float = 0.1,
                       input_scaling: float = 1.0, bias_scaling: float = 1.0, seed: int = 0, layer: int = 0):
    """Draw (W, W_in) of one reservoir layer.

    Arguments:
        units: N, the reservoir size.
        n_inputs: n_in, the input dimension (a deep reservoir's layer l > 0 has n_in = N).
        spectral_radius: ρ, the spectral radius W is scaled to.
        density: probability that an entry of W is non-zero.
        input_scaling, bias_scaling: half-widths of the uniform input and bias weights.
        seed: W from ``default_rng((seed, 2 layer))``, W_in from ``default_rng((seed, 2 layer + 1))``.
        layer: the layer's index in a deep reservoir (0 for a one-layer reservoir).

    Returns:
        W [N, N] float64 with max |λ(W)| = ρ, W_in [N, 1 + n_in] float64 (column 0 multiplies the constant 1).

    Raises:
        ValueError: if W has no non-zero eigenvalue (too few units for the density).
    """
    key = (int(units), float(density), int(seed), int(layer))
    W, radius = _unscaled(*key), _unscaled_radius(*key)
    if not radius > 1e-12:
        raise ValueError(f"the random W of {units} units at density {density} has spectral radius 0 (too few "
                         "non-zero entries); raise density or units")
    W = W * (spectral_radius / radius)
    rng_in = np.random.default_rng((seed, 2 * layer + 1))
    W_in = rng_in.uniform(-1.0, 1.0, (units, 1 + n_inputs))
    W_in[:, 0] *= bias_scaling
    W_in[:, 1:] *= input_scaling
    return W, W_in


def deep_reservoir_matrices(units: int, n_inputs: int, layers: int = 1, **kwargs):
    """(Ws, W_ins): the tuples of the L layers' (W, W_in) (``reservoir_matrices`` with ``layer=l``; layer 0
    takes the n_in inputs, layer l > 0 the N states below it). ``kwargs`` as ``reservoir_matrices``."""
    pairs = [reservoir_matrices(units, n_inputs if layer == 0 else units, layer=layer, **kwargs)
             for layer in range(layers)]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
