"""Training data checked on the host before it reaches a compiled program."""

from __future__ import annotations

import numpy as np


def prepare_array(value, name: str, dtype=None) -> np.ndarray:
    """Convert to a NumPy array, refusing NaN/inf with a ValueError naming the argument."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric array-like: {err}") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        count = int(np.sum(~np.isfinite(array)))
        raise ValueError(f"{name} contains {count} NaN or infinite value(s)")
    return array
