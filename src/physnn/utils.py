"""``keras.utils`` habits: one-hot labels, one call to seed everything, row normalisation.

``set_random_seed(s)`` does what Keras's does (Python's ``random.seed(s)`` and NumPy's ``np.random.seed(s)``;
JAX has no global generator to seed) and, for physnn, makes ``s`` the seed of every model created afterwards
without an explicit ``seed=`` (``default_seed()``; 0 until it is called). Models given ``seed=`` keep theirs.
"""

from __future__ import annotations

import random

import numpy as np

from physnn import _checks

_MAX_SEED = 2**32 - 1  # NumPy's legacy global generator takes seeds in [0, 2**32)
_default_seed = 0


def default_seed() -> int:
    """The seed of a model created without ``seed=``: 0, or the value of the last ``set_random_seed``."""
    return _default_seed


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and physnn's default model seed with ``seed``.

    Arguments:
        seed: an integer in [0, 2**32) (ValueError otherwise, naming ``seed``).
    """
    global _default_seed
    seed = _checks.count("seed", seed, minimum=0, maximum=_MAX_SEED)
    random.seed(seed)
    np.random.seed(seed)
    _default_seed = seed


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows of integer class labels (Keras's ``to_categorical``).

    out[..., k] = 1 if y[...] == k else 0, float. A trailing axis of length 1 is dropped first ([n, 1] gives
    [n, num_classes], as Keras).

    Arguments:
        y: integer class labels, any shape (floats holding integers are accepted).
        num_classes: number of classes C; None infers max(y) + 1.
    Returns:
        float array of shape y.shape (without a trailing 1) + (C,).
    Raises:
        ValueError when a label is not an integer, is negative or is >= num_classes.
    """
    labels = np.asarray(y)
    if labels.dtype.kind == "b" or (labels.dtype.kind not in "iuf") or (
            labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels)))):
        raise ValueError(f"to_categorical takes integer class labels, got an array of dtype {labels.dtype}"
                         + (" holding non-integer values" if labels.dtype.kind == "f" else ""))
    labels = labels.astype(np.int64)
    shape = labels.shape[:-1] if labels.ndim > 1 and labels.shape[-1] == 1 else labels.shape
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    num_classes = _checks.count("num_classes", num_classes, minimum=1 if labels.size else 0)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, num_classes={num_classes}), got labels in "
                         f"[{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, num_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out.reshape((*shape, num_classes))


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """x / ||x||_order along ``axis`` (Keras's ``normalize``); zero vectors stay zero.

    Arguments:
        x: array; axis: the axis normalised; order: the norm's order (2: Euclidean).
    """
    x = np.asarray(x, dtype=float)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["default_seed", "normalize", "set_random_seed", "to_categorical"]
