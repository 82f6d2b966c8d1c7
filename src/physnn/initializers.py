"""Initial parameter values, drawn on the host from an explicit NumPy generator.

Every function takes a ``numpy.random.Generator`` (seeded by the model, so the same seed gives the same
weights; ``generator`` makes one from an int seed or a ``jax.random`` key) and returns a NumPy array in
JAX's default float dtype (float32, float64 with x64 enabled).
Initial weights are drawn once per model; doing it with ``jax.random`` would compile a program for it,
which cost more than compiling a training epoch (measured 5.6 CPU-s for the digits FFNN, against 0.2 s on
the host). For a kernel of shape (k_1, ..., k_r, n_in, n_out) the fans are

    fan_in = n_in * prod(k),   fan_out = n_out * prod(k).
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import jax
import numpy as np

# While a model file is loaded (physnn.saving), the number of parameters the initialisers may still create:
# the architecture must fit the arrays the file holds, so a crafted configuration cannot allocate more.
_allowance: contextvars.ContextVar = contextvars.ContextVar("physnn_initializer_allowance", default=None)


@contextlib.contextmanager
def allocation_limit(elements: int, what: str):
    """Inside this context the initialisers create at most ``elements`` numbers in total; one more raises
    ValueError naming ``what`` (before allocating)."""
    token = _allowance.set([int(elements), what])
    try:
        yield
    finally:
        _allowance.reset(token)


def _claim(shape):
    allowance = _allowance.get()
    if allowance is None:
        return
    size = math.prod(int(s) for s in shape)
    if size > allowance[0]:
        raise ValueError(f"{allowance[1]}: the architecture asks for a parameter of shape {tuple(shape)}, more "
                         f"numbers than the file's arrays hold")
    allowance[0] -= size


def generator(seed) -> np.random.Generator:
    """A NumPy generator from ``seed``, deterministically: an int s >= 0 gives ``default_rng(s)``; a
    ``jax.random`` key (``PRNGKey(s)``, uint32 words, or a typed ``jax.random.key(s)``) gives
    ``default_rng(words)`` of its key data (read on the host, no program compiled); a Generator is returned
    as it is. The same seed or key always gives the same initial values."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer or a jax.random key, got {seed!r}")
        return np.random.default_rng(int(seed))
    if isinstance(seed, (jax.Array, np.ndarray)):
        if jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
            seed = jax.random.key_data(seed)
        words = np.asarray(seed)
        if words.dtype == np.uint32 and words.size >= 1:
            return np.random.default_rng([int(w) for w in words.ravel()])
    raise ValueError(f"seed must be a non-negative integer, a jax.random key or a numpy Generator, got {seed!r}")


def default_dtype() -> np.dtype:
    """JAX's default float dtype: float32, or float64 when ``jax_enable_x64`` is on."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``: the last two axes times the receptive field."""
    if len(shape) < 2:
        raise ValueError(f"fans need a weight of at least 2 axes, got shape {tuple(shape)}")
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape) -> np.ndarray:
    """All zeros (biases)."""
    _claim(shape)
    return np.zeros(shape, default_dtype())


def uniform(rng: np.random.Generator, shape, low: float, high: float) -> np.ndarray:
    """U(low, high) entries (Keras's Embedding uses low = -0.05, high = 0.05)."""
    _claim(shape)
    return rng.uniform(low, high, shape).astype(default_dtype())


def normal(rng: np.random.Generator, shape, std: float = 1.0) -> np.ndarray:
    """N(0, std^2) entries: W = std * z, z ~ N(0, 1)."""
    _claim(shape)
    return (std * rng.standard_normal(shape)).astype(default_dtype())


def glorot_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Glorot/Xavier normal (untruncated): W ~ N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fans(shape)
    return normal(rng, shape, math.sqrt(2.0 / (fan_in + fan_out)))


def glorot_uniform(rng: np.random.Generator, shape) -> np.ndarray:
    """Glorot/Xavier uniform: W ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Keras's default kernel)."""
    fan_in, fan_out = fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(rng, shape, -limit, limit)


def lecun_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """LeCun normal (untruncated): W ~ N(0, 1 / fan_in)."""
    fan_in, _ = fans(shape)
    _claim(shape)
    return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(default_dtype())


def orthogonal(rng: np.random.Generator, shape) -> np.ndarray:
    """A random orthogonal matrix (Keras's recurrent kernel): orthonormal rows or columns, whichever are fewer.

    Q of the QR decomposition of a standard normal matrix, with the signs of R's diagonal moved into Q so
    that Q is uniformly distributed (Saxe et al. 2014; Mezzadri 2007).
    """
    rows, cols = math.prod(shape[:-1]), shape[-1]
    _claim(shape)
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(default_dtype())
