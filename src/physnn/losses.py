"""Keras's losses (``keras.losses``): per-sample functions and loss objects, THE Keras loss formulas of physnn.

Functions return one value per sample, the mean (or sum) over the last axis: ``mean_squared_error(y, p)`` of
[n, k] arrays is [n]. Loss objects (``MeanSquaredError()``, ``SparseCategoricalCrossentropy(from_logits=True)``,
...) are ``loss(y_true, y_pred, sample_weight=None) -> scalar``: Keras's "sum_over_batch_size" reduction,

    L = sum_i w_i l_i / (number of values l_i)          (w_i = 1 without sample weights),

so without weights L is the mean of the per-sample values over the batch. Both go straight into
``model.compile(loss=...)``; ``physnn.costs``' scalar functions (``mse``, ``categorical_crossentropy``, ...) are
batch means of the functions here. Below eps = 1e-7 (Keras's ``backend.epsilon()``), mean_k the mean over the
last axis and sum_k the sum over it.

``SparseCategoricalCrossentropy`` and ``sparse_categorical_crossentropy`` carry ``sparse = True``: they take
integer class labels y_true of shape [n] (or [n, 1]), not one-hot rows.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from physnn import _named

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip of probabilities and the guard of divisions and logs


def _as_arrays(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.result_type(float))
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank: when the ranks differ by one and the longer one ends in an axis of
    1, that axis is dropped, or (the other being a vector) a trailing axis of 1 is added to the vector; so a
    target [n] and a prediction [n, 1] are compared sample by sample, never broadcast to [n, n]."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        return (y_true, y_pred[..., None]) if y_pred.ndim == 1 else (y_true[..., 0], y_pred)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        return (y_true[..., None], y_pred) if y_true.ndim == 1 else (y_true, y_pred[..., 0])
    return y_true, y_pred


def _regression(y_true, y_pred):
    return _same_rank(*_as_arrays(y_true, y_pred))


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# --- regression ------------------------------------------------------------------------------------------


def mean_squared_error(y_true, y_pred):
    """l = mean_k (y - p)^2."""
    y_true, y_pred = _regression(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """l = mean_k |y - p|."""
    y_true, y_pred = _regression(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """l = 100 mean_k |(y - p) / max(|y|, eps)|."""
    y_true, y_pred = _regression(y_true, y_pred)
    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), EPSILON)), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """l = mean_k (log(max(p, eps) + 1) - log(max(y, eps) + 1))^2."""
    y_true, y_pred = _regression(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.log(jnp.maximum(y_pred, EPSILON) + 1.0)
                               - jnp.log(jnp.maximum(y_true, EPSILON) + 1.0)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """l = mean_k h(p - y), h(e) = e^2 / 2 for |e| <= delta, delta |e| - delta^2 / 2 beyond (Huber 1964)."""
    y_true, y_pred = _regression(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    return jnp.mean(jnp.where(abs_error <= delta, 0.5 * jnp.square(error), delta * abs_error - 0.5 * delta**2),
                    axis=-1)


def log_cosh(y_true, y_pred):
    """l = mean_k log(cosh(p - y)), computed as x + softplus(-2 x) - log 2 (no overflow for large |x|)."""
    y_true, y_pred = _regression(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """l = -sum_axis y^ p^ with y^ = y / ||y||, p^ = p / ||p|| (norms at least eps, as Keras's normalize): -1 for
    parallel vectors, 0 for orthogonal ones."""
    y_true, y_pred = _regression(y_true, y_pred)

    def unit(v):
        return v * jnp.minimum(jax.lax.rsqrt(jnp.sum(jnp.square(v), axis=axis, keepdims=True)), 1.0 / EPSILON)

    return -jnp.sum(unit(y_true) * unit(y_pred), axis=axis)


# --- probabilistic ---------------------------------------------------------------------------------------


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """l = -mean_axis [y log p + (1 - y) log(1 - p)].

    Probabilities are clipped to [eps, 1 - eps]; with ``from_logits`` p = sigmoid(z) and the logarithms are
    log_sigmoid(z) and log_sigmoid(-z) (exact for large |z|). ``label_smoothing`` s replaces y by
    y (1 - s) + s / 2.
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(binary_crossentropy_elements(y_true, y_pred, from_logits), axis=axis)


def binary_crossentropy_elements(y_true, y_pred, from_logits=False):
    """-[y log p + (1 - y) log(1 - p)] elementwise (Keras's ``ops.binary_crossentropy``), p clipped as above."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if from_logits:
        log_p, log_not_p = jax.nn.log_sigmoid(y_pred), jax.nn.log_sigmoid(-y_pred)
    else:
        p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        log_p, log_not_p = jnp.log(p), jnp.log(1.0 - p)
    return -(y_true * log_p + (1.0 - y_true) * log_not_p)


def _log_probabilities(y_pred, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)  # rows renormalised, as Keras
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """l = -sum_axis y log p, one-hot (or soft) y.

    Probabilities are renormalised to sum 1 along ``axis`` and clipped to [eps, 1 - eps]; with ``from_logits``
    log p = log_softmax(z). ``label_smoothing`` s replaces y by y (1 - s) + s / C (C classes).
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy needs y_true and y_pred of one shape (one-hot targets), got "
                         f"{y_true.shape} and {y_pred.shape}; integer labels take sparse_categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    return -jnp.sum(y_true * _log_probabilities(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """l = -log p[y]: as categorical cross-entropy with integer class labels y of shape y_pred.shape[:-1] (a
    trailing axis of 1 is dropped)."""
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy needs integer labels of shape {y_pred.shape[:-1]} for "
                         f"predictions {y_pred.shape}, got {labels.shape}")
    log_p = _log_probabilities(y_pred, from_logits, axis)
    one_hot = jax.nn.one_hot(labels.astype(jnp.int32), y_pred.shape[axis], dtype=log_p.dtype, axis=axis)
    return -jnp.sum(one_hot * log_p, axis=axis)


sparse_categorical_crossentropy.sparse = True


def kl_divergence(y_true, y_pred):
    """l = sum_k y log(y / p), y and p clipped to [eps, 1] (Kullback-Leibler divergence of p from y)."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    y_true, y_pred = jnp.clip(y_true, EPSILON, 1.0), jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """l = mean_k (p - y log(p + eps)) (the Poisson negative log-likelihood without log y!)."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


# --- hinge -----------------------------------------------------------------------------------------------


def _signed(y_true):
    """Labels in {0, 1} become {-1, 1} (when every label is 0 or 1, as Keras); others are kept."""
    binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """l = mean_k max(1 - y p, 0), labels y in {-1, 1} (or {0, 1}, mapped to {-1, 1})."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    return jnp.mean(jnp.maximum(1.0 - _signed(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """l = mean_k max(1 - y p, 0)^2, labels as ``hinge``."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _signed(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """l = max(max_k (1 - y) p - sum_k y p + 1, 0), one-hot y."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    positive = jnp.sum(y_true * y_pred, axis=-1)
    negative = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(negative - positive + 1.0, 0.0)


# Keras 2's short names (Keras 3 keeps them as strings)
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh

#: name -> per-sample function (what ``get`` and ``compile(loss=name)`` may name).
FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    huber, log_cosh, cosine_similarity, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge, categorical_hinge)}
FUNCTIONS.update({"mse": mse, "mae": mae, "mape": mape, "msle": msle, "kld": kld, "logcosh": log_cosh,
                  "bce": binary_crossentropy})


# --- loss objects ----------------------------------------------------------------------------------------

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None) -> scalar``.

    Subclasses implement ``call(y_true, y_pred) -> per-sample values``; ``__call__`` reduces them (Keras's
    ``reduce_weighted_values``): with l the values and w the sample weights (1 without),

        "sum_over_batch_size" (default), "mean":  sum w l / (number of values)
        "sum":                                     sum w l
        "mean_with_sample_weight":                 sum w l / sum w
        "none" / None:                             w l, unreduced

    Arguments:
        reduction: one of the above; name: a name (the snake-case function name by default).
    """

    sparse = False  # integer class labels as targets (SparseCategoricalCrossentropy)
    _function = None

    def __init__(self, reduction="sum_over_batch_size", name=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        self.name = name if name is not None else getattr(self._function, "__name__", type(self).__name__.lower())

    def call(self, y_true, y_pred):
        return type(self)._function(y_true, y_pred, **self._options())

    def _options(self) -> dict:
        return {}

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weights = jnp.asarray(sample_weight, values.dtype)
            values_, weights = _same_rank(values, weights)
            if weights.ndim < values_.ndim:
                weights = weights.reshape(weights.shape + (1,) * (values_.ndim - weights.ndim))
            values = values_ * weights
        if self.reduction in ("none", None) or values.ndim == 0:
            return values
        total = jnp.sum(values)
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            return total / jnp.sum(weights)
        return total / values.size

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name, **self._options()}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _loss_class(name: str, function, doc: str) -> type:
    return type(name, (Loss,), {"_function": staticmethod(function), "__doc__": doc, "__module__": __name__})


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error,
                               "L = mean over the batch of mean_k (y - p)^2 (see ``Loss`` for the reduction).")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "L = batch mean of mean_k |y - p|.")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "L = batch mean of 100 mean_k |(y - p) / max(|y|, eps)|.")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "L = batch mean of mean_k (log(p + 1) - log(y + 1))^2.")
LogCosh = _loss_class("LogCosh", log_cosh, "L = batch mean of mean_k log cosh(p - y).")
KLDivergence = _loss_class("KLDivergence", kl_divergence, "L = batch mean of sum_k y log(y / p).")
Poisson = _loss_class("Poisson", poisson, "L = batch mean of mean_k (p - y log(p + eps)).")
Hinge = _loss_class("Hinge", hinge, "L = batch mean of mean_k max(1 - y p, 0).")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "L = batch mean of mean_k max(1 - y p, 0)^2.")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge,
                               "L = batch mean of max(max_k (1 - y) p - sum_k y p + 1, 0).")


class Huber(Loss):
    """L = batch mean of ``huber(y, p, delta)``: quadratic for |p - y| <= delta, linear beyond."""

    _function = staticmethod(huber)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
            raise ValueError(f"delta must be a number > 0, got {delta!r}")
        self.delta = float(delta)
        super().__init__(reduction, name)

    def _options(self):
        return {"delta": self.delta}


class CosineSimilarity(Loss):
    """L = batch mean of ``cosine_similarity(y, p, axis)`` (-1 when every prediction points along its target)."""

    _function = staticmethod(cosine_similarity)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity"):
        self.axis = axis
        super().__init__(reduction, name)

    def _options(self):
        return {"axis": self.axis}


class BinaryCrossentropy(Loss):
    """L = batch mean of ``binary_crossentropy(y, p, from_logits, label_smoothing, axis)``."""

    _function = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy"):
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_fraction("label_smoothing", label_smoothing)
        self.axis = axis
        super().__init__(reduction, name)

    def _options(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(BinaryCrossentropy):
    """L = batch mean of ``categorical_crossentropy(y, p, from_logits, label_smoothing, axis)``, one-hot y."""

    _function = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)


class SparseCategoricalCrossentropy(Loss):
    """L = batch mean of ``sparse_categorical_crossentropy(y, p, from_logits, axis)``: integer labels y [n]."""

    sparse = True
    _function = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy"):
        self.from_logits = bool(from_logits)
        self.axis = axis
        super().__init__(reduction, name)

    def _options(self):
        return {"from_logits": self.from_logits, "axis": self.axis}


#: class name -> class: the loss objects a configuration (a model file) may name.
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh,
    CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge)}


def serialize(loss) -> dict | str:
    """A loss object as ``{"class_name", "config"}``, a loss function of ``FUNCTIONS`` as its name."""
    if isinstance(loss, Loss) and CLASSES.get(type(loss).__name__) is type(loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    name = getattr(loss, "__name__", None)
    if FUNCTIONS.get(name) is loss:
        return name
    raise ValueError(f"{loss!r} is not one of physnn.losses' classes or functions: it cannot be described by name")


def deserialize(config):
    """The loss ``serialize`` described; ValueError for anything outside ``CLASSES`` and ``FUNCTIONS``."""
    if isinstance(config, str):
        if config in FUNCTIONS:
            return FUNCTIONS[config]
        raise ValueError(f"unknown loss function {config!r}; known: {sorted(FUNCTIONS)}")
    return _named.rebuild(config, CLASSES, "loss")


def get(identifier):
    """A loss from a function or class name ("mean_squared_error", "mse", "Huber", ...), a ``serialize`` dict, a
    loss class (instantiated) or a callable (returned as it is); None stays None."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier in CLASSES:
            return CLASSES[identifier]()
        fn = FUNCTIONS.get(identifier) or FUNCTIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(f"loss {identifier!r} is not known; valid names are {sorted({*FUNCTIONS, *CLASSES})}")
        return fn
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"loss {identifier!r} must be a name, a physnn.losses object or a callable loss(y_true, y_pred)")


__all__ = sorted({"EPSILON", "Loss", "deserialize", "get", "serialize", "FUNCTIONS", "CLASSES", *CLASSES,
                  *FUNCTIONS, "MAE", "MAPE", "MSE", "MSLE", "KLD"} - {"bce"})
