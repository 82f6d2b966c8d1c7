"""Metrics by name, metric(y_true, y_pred) -> scalar over a batch (means, so batches can be averaged)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physnn.costs import mae, mse


def accuracy(y_true, y_pred, threshold: float = 0.5):
    """Fraction of correct class predictions; the kind follows the shapes, as Keras's "accuracy" does.

    One output column (or 1-D): binary, correct when [y_pred > threshold] == y_true.
    One-hot targets of the prediction's shape: correct when argmax y_pred == argmax y_true.
    Integer labels of shape [n] or [n, 1] against [n, classes] probabilities: argmax y_pred == y_true.
    """
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        return jnp.mean((y_pred.reshape(y_true.shape) > threshold) == (y_true > 0.5))
    predicted = jnp.argmax(y_pred, axis=-1)
    if y_true.shape == y_pred.shape:
        return jnp.mean(predicted == jnp.argmax(y_true, axis=-1))
    return jnp.mean(predicted == jnp.reshape(y_true, predicted.shape).astype(predicted.dtype))


def r2_score(y_true, y_pred):
    """Coefficient of determination, R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2 (over all outputs, the
    mean taken per output column).

    The one R^2 of physnn (experiments and the CLI report it). NumPy (or list) inputs are scored on the host
    and give a Python float (no JAX program is compiled); JAX arrays, tracers included, give a JAX scalar,
    so it also works inside jit. Constant targets (sum (y - mean y)^2 = 0) give nan: R^2 is undefined there.

    Arguments:
        y_true, y_pred: arrays of the same shape, [n] or [n, outputs].
    """
    if isinstance(y_true, jax.Array) or isinstance(y_pred, jax.Array):
        ss_res = jnp.sum((y_true - y_pred) ** 2)
        ss_tot = jnp.sum((y_true - jnp.mean(y_true, axis=0, keepdims=True)) ** 2)
        return jnp.where(ss_tot > 0, 1 - ss_res / jnp.where(ss_tot > 0, ss_tot, 1), jnp.nan)
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - np.mean(y_true, axis=0)) ** 2))
    return 1 - ss_res / ss_tot if ss_tot > 0 else float("nan")


METRICS: dict[str, Callable] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
}


def get_metric(metric) -> tuple[str, Callable]:
    """Resolve a metric name or callable to (name, fn); unknown names raise ValueError listing the valid ones."""
    if isinstance(metric, str):
        if metric.lower() in METRICS:
            name = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}.get(
                metric.lower(), metric.lower())
            return name, METRICS[metric.lower()]
        raise ValueError(f"metric={metric!r} is not known; valid names are {sorted(METRICS)} or a callable")
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    raise ValueError(f"metric={metric!r} must be a name or a callable metric(y_true, y_pred)")
