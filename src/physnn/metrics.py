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


#: The metrics that are means over samples of per-sample values (every named one).
PER_SAMPLE_MEANS = tuple(METRICS.values())


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


# --- offline metrics of generated samples (host-side, NumPy / scikit-learn) ----------------------------------


def _rows(a, name) -> np.ndarray:
    a = np.asarray(a, np.float64)
    if a.ndim < 2 or len(a) < 2:
        raise ValueError(f"{name} must hold at least 2 samples [n, ...], got shape {a.shape}")
    return a.reshape(len(a), -1)


def frechet_distance(real, generated, components: int = 32, reference=None) -> float:
    """The Frechet distance between Gaussians fitted to two sets of samples in a PCA feature space,

        FD = ||mu_r - mu_g||^2 + tr(C_r + C_g - 2 (C_r C_g)^{1/2})

    (Heusel et al. 2017's FID with PCA features in place of Inception's: no downloads). The PCA with
    ``components`` axes is fitted on ``reference`` (the training data; default ``real``). The trace of the
    square root is taken in its symmetric form, tr (C_r^{1/2} C_g C_r^{1/2})^{1/2}, from eigenvalues (clipped at 0):
    exact for covariances, and stable when they are singular (data on a subspace of fewer than ``components``
    dimensions), where a general matrix square root of C_r C_g is not. real, generated: [n, ...] arrays."""
    from sklearn.decomposition import PCA

    real, generated = _rows(real, "real"), _rows(generated, "generated")
    reference = real if reference is None else _rows(reference, "reference")
    components = min(int(components), reference.shape[1], len(reference))
    pca = PCA(components, random_state=0).fit(reference)
    a, b = pca.transform(real), pca.transform(generated)
    ca, cb = np.atleast_2d(np.cov(a.T)), np.atleast_2d(np.cov(b.T))
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)))
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * cross)


def nearest_neighbour_ratio(generated, train, test) -> float:
    """mean_g min_t ||g - t|| / mean_s min_t ||s - t|| over generated samples g, training samples t and held-out
    samples s: about 1 for samples as new as unseen data, < 1 when the model reproduces its training set
    (memorisation)."""
    from sklearn.neighbors import NearestNeighbors

    train = _rows(train, "train")
    index = NearestNeighbors(n_neighbors=1).fit(train)
    gen = index.kneighbors(_rows(generated, "generated"))[0].mean()
    held = index.kneighbors(_rows(test, "test"))[0].mean()
    return float(gen / held)


def classifier_score(probabilities) -> tuple[float, np.ndarray]:
    """The inception-score analogue with a classifier trained on the real data: exp(E_x KL(p(y|x) || p(y))) from
    its class probabilities [n, classes] of the generated samples (high for confident and varied samples; at most
    the number of classes), and the fraction of the samples given to each class [classes]."""
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or not np.allclose(p.sum(1), 1.0, atol=1e-4) or (p < 0).any():
        raise ValueError("probabilities must be rows of class probabilities [n, classes]")
    p = np.clip(p, 1e-12, 1.0)
    marginal = p.mean(0)
    score = float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))
    return score, np.bincount(p.argmax(1), minlength=p.shape[1]) / len(p)
