"""Argument checks shared by the convolution and pooling layers (tuples of sizes, padding, lengths), and
``add_bias``, the explicit broadcast of a bias over the leading axes."""

from __future__ import annotations

import math

import numpy as np


def add_bias(z, bias):
    """``z + bias`` with ``bias`` [..., n] broadcast explicitly over the leading axes of ``z`` [batch, ..., n]
    (the same values as NumPy's implicit rank promotion, which the tests forbid)."""
    return z + bias.reshape((1,) * (z.ndim - bias.ndim) + bias.shape)


def normalize_tuple(value, rank: int, arg: str, layer: str) -> tuple:
    """``value`` as a tuple of ``rank`` positive ints (an int is repeated); ValueError otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * rank
    try:
        value = tuple(value)
    except TypeError:
        value = None
    if (value is None or len(value) != rank
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ValueError(f"{layer}: {arg} must be a positive int or a tuple of {rank} positive ints, "
                         f"got {value!r}")
    return tuple(int(v) for v in value)


def normalize_padding(padding, layer: str) -> str:
    """'valid' or 'same' (case-insensitive); ValueError otherwise."""
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def same_padding(length: int, window: int, stride: int) -> tuple[int, int]:
    """TF/Keras 'same' padding (before, after) of one axis: total max((out - 1) s + k - n, 0) with
    out = ceil(n / s), the odd element at the end."""
    total = max((math.ceil(length / stride) - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def window_output_length(length, window: int, stride: int, padding: str):
    """Output length of a sliding window (TF/Keras rule).

    valid: floor((n - k) / s) + 1 (requires n >= k);  same: ceil(n / s).  ``None`` stays ``None``;
    returns 0 when a 'valid' window does not fit (the caller raises the shape error).
    """
    if length is None:
        return None
    if padding == "same":
        return math.ceil(length / stride)
    if length < window:
        return 0
    return (length - window) // stride + 1
