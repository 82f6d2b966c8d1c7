"""Initial parameter values, drawn on the host from an explicit NumPy generator.

Every function takes a ``numpy.random.Generator`` (seeded by the model, so the same seed gives the same
weights; ``generator`` makes one from an int seed or a ``jax.random`` key) and returns a NumPy array in
JAX's default float dtype (float32, float64 with x64 enabled).
Initial weights are drawn once per model; doing it with ``jax.random`` would compile a program for it,
which cost more than compiling a training epoch (measured 5.6 CPU-s for the digits FFNN, against 0.2 s on
the host). For a kernel of shape (k_1, ..., k_r, n_in, n_out) the fans are

    fan_in = n_in * prod(k),   fan_out = n_out * prod(k).

Keras's initialiser classes (``GlorotUniform``, ``HeNormal``, ``Orthogonal``, ``RandomNormal``, ... and their
names, "glorot_uniform", "he_normal", ...; ``get``) are the layer arguments ``kernel_initializer=`` etc.: their
``sample(rng, shape)`` draws from the model's generator (or from their own ``seed=``) with the functions
above, and ``__call__(shape, dtype=None)`` is Keras's standalone call. (The lower-case functions here take a
generator; Keras's lower-case aliases of the classes are the strings: ``kernel_initializer="glorot_uniform"``.)
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import jax
import numpy as np

from physnn import _named

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


# --- Keras's initialiser classes -----------------------------------------------------------------------


def _shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
                                for s in shape):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def _number(name: str, value, *, positive=False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and math.isfinite(value) and (value > 0 or not positive)
    if not ok:
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value!r}")
    return float(value)


def keras_fans(shape) -> tuple[int, int]:
    """Keras's (fan_in, fan_out): (1, 1) for a scalar, (n, n) for a vector, else as ``fans``."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return fans(shape)


def truncated_normal(rng: np.random.Generator, shape, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """N(mean, std^2) truncated to [mean - 2 std, mean + 2 std]: standard normal draws outside [-2, 2] are drawn
    again until none is left (Keras's and TensorFlow's truncation; the result's std is 0.8796 std)."""
    _claim(shape)
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2
    return (mean + std * z).astype(default_dtype())


class Initializer:
    """Base class of Keras's initialisers.

    ``sample(rng, shape) -> np.ndarray`` draws the values a layer's weight starts from, on the host, from the
    model's generator ``rng`` (or from ``default_rng(seed)`` when the initialiser was given ``seed=``: same seed,
    same values). ``__call__(shape, dtype=None)`` is Keras's standalone use: it draws from the initialiser's own
    seed (when None, one drawn once from Python's ``random``, which ``physnn.utils.set_random_seed`` seeds), so
    repeated calls give the same values, and returns a JAX array. Subclasses implement ``draw(rng, shape)``.
    """

    seed = None

    def _set_seed(self, seed):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be None or a non-negative integer, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def draw(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Values of ``shape`` in JAX's default float dtype, from ``rng`` (``default_rng(seed)`` when seeded)."""
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        return self.draw(rng, _shape(shape))

    def __call__(self, shape, dtype=None):
        seed = self.seed
        if seed is None:
            if getattr(self, "_call_seed", None) is None:
                import random

                self._call_seed = random.randint(1, 10**9)  # Keras's make_default_seed
            seed = self._call_seed
        values = self.draw(np.random.default_rng(seed), _shape(shape))
        return jax.device_put(values.astype(np.dtype(dtype) if dtype is not None else default_dtype()))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash(type(self).__name__)


class Zeros(Initializer):
    """w = 0."""

    def draw(self, rng, shape):
        return zeros(shape)


class Ones(Initializer):
    """w = 1."""

    def draw(self, rng, shape):
        _claim(shape)
        return np.ones(shape, default_dtype())


class Constant(Initializer):
    """w = value (a number)."""

    def __init__(self, value=0.0):
        self.value = _number("value", value)

    def draw(self, rng, shape):
        _claim(shape)
        return np.full(shape, self.value, default_dtype())

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """w = gain * I for a 2-D shape (rows x columns; ones on the main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = _number("gain", gain)

    def draw(self, rng, shape):
        if len(shape) != 2:
            raise ValueError(f"Identity initialises 2-D weights only, got shape {shape}")
        _claim(shape)
        return (self.gain * np.eye(*shape)).astype(default_dtype())

    def get_config(self):
        return {"gain": self.gain}


class RandomNormal(Initializer):
    """w ~ N(mean, stddev^2) (Keras's defaults mean 0, stddev 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _number("mean", mean)
        self.stddev = _number("stddev", stddev)
        self._set_seed(seed)

    def draw(self, rng, shape):
        _claim(shape)
        return (self.mean + self.stddev * rng.standard_normal(shape)).astype(default_dtype())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(Initializer):
    """w ~ N(mean, stddev^2) truncated to mean +- 2 stddev (see ``truncated_normal``; Keras's defaults 0, 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _number("mean", mean)
        self.stddev = _number("stddev", stddev)
        self._set_seed(seed)

    def draw(self, rng, shape):
        return truncated_normal(rng, shape, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """w ~ U(minval, maxval) (Keras's defaults -0.05, 0.05; Embedding's default)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _number("minval", minval)
        self.maxval = _number("maxval", maxval)
        if self.maxval < self.minval:
            raise ValueError(f"RandomUniform: maxval must be >= minval, got minval={minval!r}, maxval={maxval!r}")
        self._set_seed(seed)

    def draw(self, rng, shape):
        return uniform(rng, shape, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(Initializer):
    """Keras's ``VarianceScaling``: with n = fan_in, fan_out or (fan_in + fan_out) / 2 (``mode``, each at least 1)
    and s = scale / n,

        truncated_normal:    w ~ N(0, sigma^2) truncated at +- 2 sigma, sigma = sqrt(s) / 0.87962566103423978
                             (so that the truncated values have variance s)
        untruncated_normal:  w ~ N(0, s)
        uniform:             w ~ U(-sqrt(3 s), sqrt(3 s))

    ("normal" means "truncated_normal", as in Keras.) The fans are ``keras_fans(shape)``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale = _number("scale", scale, positive=True)
        if mode not in _MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {_MODES}, got {mode!r}")
        if isinstance(distribution, str) and distribution.lower() == "normal":
            distribution = "truncated_normal"
        if not isinstance(distribution, str) or distribution.lower() not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")
        self.mode = mode
        self.distribution = distribution.lower()
        self._set_seed(seed)

    def variance(self, shape) -> float:
        """s = scale / n, the variance of the values drawn for ``shape``."""
        fan_in, fan_out = keras_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def draw(self, rng, shape):
        s = self.variance(shape)
        if self.distribution == "truncated_normal":
            return truncated_normal(rng, shape, 0.0, math.sqrt(s) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return normal(rng, shape, math.sqrt(s))
        limit = math.sqrt(3.0 * s)
        return uniform(rng, shape, -limit, limit)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _Scaled(VarianceScaling):
    """A VarianceScaling with fixed (scale, mode, distribution); only ``seed`` is an argument."""

    _preset = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None):
        super().__init__(*self._preset, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Scaled):
    """Glorot/Xavier uniform: w ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Keras's default kernel; the same
    values as ``glorot_uniform(rng, shape)``)."""

    _preset = (1.0, "fan_avg", "uniform")

    def draw(self, rng, shape):
        if len(shape) >= 2:
            return glorot_uniform(rng, shape)
        return super().draw(rng, shape)


class GlorotNormal(_Scaled):
    """Glorot/Xavier normal: truncated normal with variance 2 / (fan_in + fan_out) (Keras's; ``glorot_normal``
    is the untruncated form)."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_Scaled):
    """He normal: truncated normal with variance 2 / fan_in."""

    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_Scaled):
    """He uniform: U(-a, a), a = sqrt(6 / fan_in)."""

    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_Scaled):
    """LeCun normal: truncated normal with variance 1 / fan_in (``lecun_normal`` is the untruncated form)."""

    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_Scaled):
    """LeCun uniform: U(-a, a), a = sqrt(3 / fan_in)."""

    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """gain * Q, Q a uniformly random orthogonal matrix of shape (prod(shape[:-1]), shape[-1]) reshaped (see
    ``orthogonal``; Keras's recurrent kernel). At least 2-D."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = _number("gain", gain)
        self._set_seed(seed)

    def draw(self, rng, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initialises weights of at least 2 axes, got shape {shape}")
        q = orthogonal(rng, shape)
        return q if self.gain == 1.0 else (self.gain * q).astype(q.dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class _Function(Initializer):
    """A user's callable ``fn(shape, dtype=None) -> array`` as an initialiser (cannot be saved by name)."""

    def __init__(self, fn):
        self.fn = fn

    def draw(self, rng, shape):
        _claim(shape)
        values = np.asarray(self.fn(shape, dtype=default_dtype()))
        if values.shape != shape:
            raise ValueError(f"the initializer {self.fn!r} returned shape {values.shape} for shape {shape}")
        return values.astype(default_dtype())


#: class name -> class: the initialisers a configuration (a model file) may name.
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
    GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)}

#: Keras's string names (snake case of the class names, and its aliases) -> class.
NAMES: dict[str, type] = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant, "identity": Identity,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform, "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform, "orthogonal": Orthogonal,
}


def serialize(initializer: Initializer) -> dict:
    """``{"class_name": ..., "config": ...}`` of one of the classes in ``CLASSES``; ValueError for another."""
    return _named.describe(initializer, CLASSES, "initializer")


def deserialize(config: dict) -> Initializer:
    """The initialiser ``serialize`` described; ValueError for a class outside ``CLASSES`` or bad arguments."""
    return _named.rebuild(config, CLASSES, "initializer")


def get(identifier, argument: str = "initializer") -> Initializer | None:
    """An ``Initializer`` from a name (``NAMES`` or a class name, e.g. "glorot_uniform", "HeNormal"), a
    ``serialize`` dict, an Initializer (returned as it is), an Initializer class (instantiated) or a callable
    ``fn(shape, dtype=None)``; None stays None. ValueError naming ``argument`` otherwise."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        cls = NAMES.get(identifier.lower()) or CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"{argument}={identifier!r} is not known; valid names are {sorted(NAMES)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return _Function(identifier)
    raise ValueError(f"{argument}={identifier!r} must be an initializer name such as 'glorot_uniform', a "
                     "physnn.initializers object such as HeNormal(), or a callable fn(shape, dtype=None)")
