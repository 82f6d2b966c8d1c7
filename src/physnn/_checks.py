"""Argument checks shared by the modules that validate plain numbers (datasets, bptt, sequences)."""

from __future__ import annotations

import numbers


def count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; ValueError naming ``name`` otherwise (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, received {value!r}")
    return int(value)
