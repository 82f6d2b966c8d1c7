"""Elementwise activation functions and their derivatives (the course's `activation` module).

Every function maps an array of pre-activations ``z`` of any shape to activations of the same shape.
``derivate(f)`` returns f'(z) elementwise, with closed forms for the named functions and, for any other
function, the course's ``elementwise_grad`` (the gradient of sum_i f(z)_i, by reverse-mode autodiff).
Integer and boolean inputs (the course's demos pass ``np.array([[4, 5, 6]]).T`` or ``np.arange(...)``) are
computed in float: float32, or float64 under ``jax.enable_x64``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

LRELU_SLOPE = 10e-4  # the course's ``delta = 10e-4``, i.e. 0.001 (PyTorch's default slope is 0.01)
ELU_ALPHA = 1.0


def _float(z):
    """``z`` as an array of a floating dtype: a float (or complex) array is returned as it is, an integer or
    boolean array or a Python number is converted (float32; float64 under ``jax.enable_x64``)."""
    if not hasattr(z, "dtype"):
        z = jnp.asarray(z)
    if jnp.issubdtype(z.dtype, jnp.inexact):
        return z
    return jnp.asarray(z, dtype=jnp.result_type(float))


def identity(z):
    """f(z) = z (an integer z comes back as float)."""
    return _float(z)


def sigmoid(z):
    """f(z) = 1 / (1 + e^{-z}), evaluated without overflow for large |z|."""
    return jax.nn.sigmoid(_float(z))


def tanh(z):
    """f(z) = tanh(z)."""
    return jnp.tanh(_float(z))


def RELU(z):
    """f(z) = max(z, 0)."""
    return jnp.maximum(_float(z), 0)


def LRELU(z):
    """Leaky ReLU, f(z) = z for z > 0 and delta z otherwise, delta = ``LRELU_SLOPE`` = 10e-4 = 0.001 (the
    course's ``delta = 10e-4``; Keras's default is 0.2, PyTorch's 0.01)."""
    z = _float(z)
    return jnp.where(z > 0, z, LRELU_SLOPE * z)


def ELU(z):
    """f(z) = z for z > 0 and alpha (e^z - 1) otherwise, alpha = 1."""
    z = _float(z)
    return jnp.where(z > 0, z, ELU_ALPHA * jnp.expm1(jnp.minimum(z, 0)))


def softmax(z):
    """Row-wise softmax over the last axis, s_i = e^{z_i - max z} / sum_j e^{z_j - max z}.

    Subtracting the row maximum keeps the exponentials finite for any input.
    """
    z = _float(z)
    z = z - jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
    e = jnp.exp(z)
    return e / jnp.sum(e, axis=-1, keepdims=True)


def _d_identity(z):
    return jnp.ones_like(_float(z))


def _d_sigmoid(z):
    s = jax.nn.sigmoid(_float(z))
    return s * (1 - s)


def _d_tanh(z):
    return 1 - jnp.tanh(_float(z)) ** 2


def _d_relu(z):
    z = _float(z)
    return jnp.where(z > 0, 1.0, 0.0).astype(z.dtype)


def _d_lrelu(z):
    z = _float(z)
    return jnp.where(z > 0, 1.0, LRELU_SLOPE).astype(z.dtype)


def _d_elu(z):
    z = _float(z)
    return jnp.where(z > 0, 1.0, ELU_ALPHA * jnp.exp(jnp.minimum(z, 0))).astype(z.dtype)


def _d_softmax(z):
    s = softmax(z)
    return s * (1 - s)


_DERIVATIVES: dict[Callable, Callable] = {
    identity: _d_identity,
    sigmoid: _d_sigmoid,
    tanh: _d_tanh,
    RELU: _d_relu,
    LRELU: _d_lrelu,
    ELU: _d_elu,
    softmax: _d_softmax,
}

def leaky_relu(z):
    """Keras's ``leaky_relu``: z for z > 0, else 0.2 z (Keras's default slope; the course's ``LRELU`` has 0.001)."""
    return jax.nn.leaky_relu(_float(z), negative_slope=0.2)


def _keras(fn, name: str, doc: str) -> Callable:
    def activation(z):
        return fn(_float(z))

    activation.__name__ = activation.__qualname__ = name
    activation.__doc__ = doc
    return activation


# Keras's other activations by their Keras names (jax.nn's definitions, which are Keras 3's on JAX).
softplus = _keras(jax.nn.softplus, "softplus", "log(1 + e^z).")
softsign = _keras(jax.nn.soft_sign, "softsign", "z / (1 + |z|).")
selu = _keras(jax.nn.selu, "selu", "lambda (z if z > 0 else alpha (e^z - 1)), Klambauer et al. 2017.")
silu = _keras(jax.nn.silu, "silu", "z sigmoid(z) (swish).")
gelu = _keras(jax.nn.gelu, "gelu", "z Phi(z), tanh-approximated as Keras's default.")
exponential = _keras(jnp.exp, "exponential", "e^z.")
relu6 = _keras(jax.nn.relu6, "relu6", "min(max(z, 0), 6).")
hard_sigmoid = _keras(lambda z: jnp.clip(z / 6.0 + 0.5, 0.0, 1.0), "hard_sigmoid", "clip(z / 6 + 1/2, 0, 1) (Keras 3).")
log_softmax = _keras(lambda z: jax.nn.log_softmax(z, axis=-1), "log_softmax", "z - log sum e^z over the last axis.")

ACTIVATIONS: dict[str, Callable] = {
    "identity": identity,
    "linear": identity,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": RELU,
    "lrelu": LRELU,  # the course's slope, 0.001
    "leaky_relu": leaky_relu,  # Keras's, 0.2
    "elu": ELU,
    "softmax": softmax,
    "softplus": softplus,
    "softsign": softsign,
    "selu": selu,
    "silu": silu,
    "swish": silu,
    "gelu": gelu,
    "exponential": exponential,
    "relu6": relu6,
    "hard_sigmoid": hard_sigmoid,
    "log_softmax": log_softmax,
}


def derivate(func: Callable) -> Callable:
    """Return z -> f'(z), the elementwise derivative of the activation ``func``.

    Closed forms: sigmoid' = s(1 - s), tanh' = 1 - tanh^2, RELU' = [z > 0], LRELU' = 1 or 0.001 (the
    course's), ELU' = 1 or e^z. For ``softmax`` this is the diagonal of the Jacobian, s_i (1 - s_i); the full
    Jacobian is diag(s) - s s^T (with cross-entropy the output delta is simply s - t). (The course's
    ``derivate(softmax)`` is autograd's ``elementwise_grad``, the gradient of sum_i s_i = 1, i.e. ~1e-10.)
    Any other function is differentiated as the course's ``elementwise_grad``: the gradient of
    sum_i f(z)_i, one reverse-mode pass with a cotangent of ones, which is f'(z) for an elementwise f and the
    gradient dC/dy for a scalar cost (the course: "derivate() can also be used for cost functions",
    ``derivate(CostOLS(target))(y)``). Integer z is computed in float.
    """
    if func in _DERIVATIVES:
        return _DERIVATIVES[func]

    def derivative(z):
        z = jnp.asarray(z, dtype=jnp.result_type(_float(z), jnp.float32))
        out, pullback = jax.vjp(func, z)
        return pullback(jnp.ones_like(out))[0]

    return derivative


def get_activation(activation: str | Callable | None) -> Callable:
    """Resolve an activation given by name (case-insensitive), by function, or None (identity).

    Raises ValueError naming the valid names for an unknown name.
    """
    if activation is None:
        return identity
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    raise ValueError(
        f"activation={activation!r} is not known; valid names are {sorted(ACTIVATIONS)} or any callable"
    )


def activation_name(func: Callable) -> str | None:
    """The canonical name of a built-in activation function (used when saving models), else None."""
    for name, f in ACTIVATIONS.items():
        if f is func:
            return name
    return None
