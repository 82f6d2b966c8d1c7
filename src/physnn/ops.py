"""Keras 3's ``keras.ops``, the array functions a custom loss or layer writes, on ``jax.numpy``.

``ops.mean(ops.square(y_true - y_pred), axis=-1)`` is ``jnp.mean(jnp.square(y_true - y_pred), axis=-1)``: each
name is the jax.numpy (or jax.nn, jax.lax) function of the same meaning, with Keras's argument names where they
differ (``cast(x, dtype)``, ``clip(x, x_min, x_max)``, ``one_hot(x, num_classes)``, ...). They trace under
``jit`` and ``grad`` like any JAX code. The list is explicit (``__all__``); importing this module changes nothing.
The cross-entropies are ``physnn.losses``' formulas (Keras's clipping of probabilities at 1e-7).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from physnn import losses as _losses

# --- arrays: creation, conversion, shape -------------------------------------------------------------------

zeros = jnp.zeros
ones = jnp.ones
full = jnp.full
zeros_like = jnp.zeros_like
ones_like = jnp.ones_like
full_like = jnp.full_like
eye = jnp.eye
identity = jnp.identity
arange = jnp.arange
linspace = jnp.linspace
logspace = jnp.logspace
meshgrid = jnp.meshgrid
tri = jnp.tri
tril = jnp.tril
triu = jnp.triu


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a JAX array (of ``dtype``)."""
    return jnp.asarray(x, dtype=dtype)


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array (on the host)."""
    return np.asarray(x)


def cast(x, dtype):
    """``x`` converted to ``dtype`` ("float32", jnp.int32, ...)."""
    return jnp.asarray(x).astype(dtype)


def shape(x) -> tuple:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(jnp.shape(x))


def is_tensor(x) -> bool:
    return isinstance(x, jax.Array)


size = jnp.size
ndim = jnp.ndim
dtype = jnp.result_type
reshape = jnp.reshape
transpose = jnp.transpose
expand_dims = jnp.expand_dims
squeeze = jnp.squeeze
ravel = jnp.ravel
concatenate = jnp.concatenate
stack = jnp.stack
hstack = jnp.hstack
vstack = jnp.vstack
split = jnp.split
tile = jnp.tile
repeat = jnp.repeat
flip = jnp.flip
roll = jnp.roll
pad = jnp.pad
take = jnp.take
take_along_axis = jnp.take_along_axis
swapaxes = jnp.swapaxes
moveaxis = jnp.moveaxis
broadcast_to = jnp.broadcast_to
where = jnp.where
sort = jnp.sort
argsort = jnp.argsort
nonzero = jnp.nonzero
copy = jnp.array
diag = jnp.diag
diagonal = jnp.diagonal


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """The block of ``shape`` starting at ``start_indices`` (``jax.lax.dynamic_slice``)."""
    return jax.lax.dynamic_slice(inputs, start_indices, shape)


# --- elementwise -------------------------------------------------------------------------------------------

add = jnp.add
subtract = jnp.subtract
multiply = jnp.multiply
divide = jnp.divide
true_divide = jnp.true_divide
floor_divide = jnp.floor_divide
mod = jnp.mod
power = jnp.power
negative = jnp.negative
reciprocal = jnp.reciprocal
abs = jnp.abs  # noqa: A001 - Keras's name
absolute = jnp.absolute
sign = jnp.sign
square = jnp.square
sqrt = jnp.sqrt
rsqrt = jax.lax.rsqrt
exp = jnp.exp
expm1 = jnp.expm1
log = jnp.log
log1p = jnp.log1p
log2 = jnp.log2
log10 = jnp.log10
logaddexp = jnp.logaddexp
sin = jnp.sin
cos = jnp.cos
tan = jnp.tan
arcsin = jnp.arcsin
arccos = jnp.arccos
arctan = jnp.arctan
arctan2 = jnp.arctan2
sinh = jnp.sinh
cosh = jnp.cosh
tanh = jnp.tanh
arcsinh = jnp.arcsinh
arccosh = jnp.arccosh
arctanh = jnp.arctanh
floor = jnp.floor
ceil = jnp.ceil
round = jnp.round  # noqa: A001 - Keras's name
maximum = jnp.maximum
minimum = jnp.minimum
erf = jax.scipy.special.erf
erfinv = jax.scipy.special.erfinv
real = jnp.real
imag = jnp.imag
conj = jnp.conj


def clip(x, x_min, x_max):
    """min(max(x, x_min), x_max)."""
    return jnp.clip(x, x_min, x_max)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# --- comparisons and logic ----------------------------------------------------------------------------------

equal = jnp.equal
not_equal = jnp.not_equal
greater = jnp.greater
greater_equal = jnp.greater_equal
less = jnp.less
less_equal = jnp.less_equal
logical_and = jnp.logical_and
logical_or = jnp.logical_or
logical_not = jnp.logical_not
logical_xor = jnp.logical_xor
isnan = jnp.isnan
isinf = jnp.isinf
isfinite = jnp.isfinite
isclose = jnp.isclose
allclose = jnp.allclose

# --- reductions ---------------------------------------------------------------------------------------------

sum = jnp.sum  # noqa: A001 - Keras's name
mean = jnp.mean
prod = jnp.prod
max = jnp.max  # noqa: A001 - Keras's name
min = jnp.min  # noqa: A001 - Keras's name
amax = jnp.amax
amin = jnp.amin
argmax = jnp.argmax
argmin = jnp.argmin
std = jnp.std
var = jnp.var
median = jnp.median
quantile = jnp.quantile
cumsum = jnp.cumsum
cumprod = jnp.cumprod
any = jnp.any  # noqa: A001 - Keras's name
all = jnp.all  # noqa: A001 - Keras's name
count_nonzero = jnp.count_nonzero
average = jnp.average
logsumexp = jax.nn.logsumexp


def moments(x, axes, keepdims=False):
    """(mean, variance) of ``x`` over ``axes``."""
    return jnp.mean(x, axis=axes, keepdims=keepdims), jnp.var(x, axis=axes, keepdims=keepdims)


# --- linear algebra -----------------------------------------------------------------------------------------

matmul = jnp.matmul
dot = jnp.dot
vdot = jnp.vdot
inner = jnp.inner
outer = jnp.outer
tensordot = jnp.tensordot
einsum = jnp.einsum
cross = jnp.cross
trace = jnp.trace
det = jnp.linalg.det
inv = jnp.linalg.inv
solve = jnp.linalg.solve
cholesky = jnp.linalg.cholesky
qr = jnp.linalg.qr
svd = jnp.linalg.svd
eigh = jnp.linalg.eigh


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """The vector or matrix norm (``jnp.linalg.norm``)."""
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


# --- neural-network functions -------------------------------------------------------------------------------

sigmoid = jax.nn.sigmoid
relu = jax.nn.relu
relu6 = jax.nn.relu6
softplus = jax.nn.softplus
softsign = jax.nn.soft_sign
silu = jax.nn.silu
swish = jax.nn.silu
selu = jax.nn.selu
hard_sigmoid = jax.nn.hard_sigmoid
log_sigmoid = jax.nn.log_sigmoid


def softmax(x, axis=-1):
    """exp(x) / sum exp(x) along ``axis``."""
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha)


def gelu(x, approximate=True):
    return jax.nn.gelu(x, approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    """max(x, negative_slope x) (Keras's default slope 0.2)."""
    return jax.nn.leaky_relu(x, negative_slope)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot vectors of the integer labels ``x`` along ``axis``."""
    return jax.nn.one_hot(x, num_classes, dtype=dtype or jnp.result_type(float), axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise -[y log p + (1 - y) log(1 - p)] (``physnn.losses.binary_crossentropy`` before its mean)."""
    return _losses.binary_crossentropy_elements(target, output, from_logits)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum_axis y log p per sample (``physnn.losses.categorical_crossentropy``)."""
    return _losses.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[y] per sample, integer labels (``physnn.losses.sparse_categorical_crossentropy``)."""
    return _losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


# --- gradients and control flow -----------------------------------------------------------------------------

stop_gradient = jax.lax.stop_gradient
cond = jax.lax.cond
fori_loop = jax.lax.fori_loop
scan = jax.lax.scan


def vectorized_map(function, elements):
    """``function`` mapped over the leading axis of ``elements`` (``jax.vmap``)."""
    return jax.vmap(function)(elements)


__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "arange", "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort", "average", "binary_crossentropy",
    "broadcast_to", "cast", "categorical_crossentropy", "ceil", "cholesky", "clip", "concatenate", "cond", "conj",
    "convert_to_numpy", "convert_to_tensor", "copy", "cos", "cosh", "count_nonzero", "cross", "cumprod", "cumsum",
    "det", "diag", "diagonal", "divide", "dot", "dtype", "eigh", "einsum", "elu", "equal", "erf", "erfinv", "exp",
    "expand_dims", "expm1", "eye", "flip", "floor", "floor_divide", "fori_loop", "full", "full_like", "gelu",
    "greater", "greater_equal", "hard_sigmoid", "hstack", "identity", "imag", "inner", "inv", "is_tensor",
    "isclose", "isfinite", "isinf", "isnan", "leaky_relu", "less", "less_equal", "linspace", "log", "log10",
    "log1p", "log2", "log_sigmoid", "log_softmax", "logaddexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logspace", "logsumexp", "matmul", "max", "maximum", "mean", "median", "meshgrid", "min",
    "minimum", "mod", "moments", "moveaxis", "multiply", "nan_to_num", "ndim", "negative", "nonzero", "norm",
    "not_equal", "one_hot", "ones", "ones_like", "outer", "pad", "power", "prod", "qr", "quantile", "ravel", "real",
    "reciprocal", "relu", "relu6", "repeat", "reshape", "roll", "round", "rsqrt", "scan", "selu", "shape", "sigmoid",
    "sign", "silu", "sin", "sinh", "size", "slice", "softmax", "softplus", "softsign", "solve", "sort",
    "sparse_categorical_crossentropy", "split", "sqrt", "square", "squeeze", "stack", "std", "stop_gradient",
    "subtract", "sum", "svd", "swapaxes", "swish", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile",
    "trace", "transpose", "tri", "tril", "triu", "true_divide", "var", "vdot", "vectorized_map", "vstack", "where",
    "zeros", "zeros_like",
]
