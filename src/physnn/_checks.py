"""Argument checks shared by the modules that validate plain numbers, and physnn's size limits.

Every check raises ``ValueError`` naming the argument (booleans are never accepted as numbers), so the CLI
reports it as one line with exit status 2.

Size limits (documented in the README's "Limits" section):

* ``MAX_EPOCHS`` = 10**7 training epochs per ``fit`` (FFNN, Module, the CLI);
* ``MAX_EXTRAPOLATE_STEPS`` = 10**6 steps of ``sequences.extrapolate`` (and ``physnn extrapolate --steps``);
* ``MAX_ELEMENTS`` = 2**31 numbers in one model's parameters (8 GiB of float32), checked before allocating;
* training memory: an ``FFNN`` fit whose estimated arrays (weights, gradients, optimiser moments and the
  activations of the largest batch) exceed the machine's physical memory is refused before it starts.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

MAX_EPOCHS = 10**7
MAX_EXTRAPOLATE_STEPS = 10**6
MAX_ELEMENTS = 2**31


def count(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int >= ``minimum`` (and <= ``maximum``); ValueError naming ``name`` otherwise
    (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, received {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum:,} (physnn's limit), received {value!r}")
    return int(value)


def integer(name: str, value) -> int:
    """``value`` as an int of any sign (the range is the caller's check); booleans and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def seed(name: str, value) -> int:
    """A seed: an integer >= 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def real(name: str, value, low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False) -> float:
    """``value`` as a finite float in the interval [low, high] (ends excluded with ``*_open``)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        interval = ""
        if low is not None or high is not None:
            interval = (f" in {'(' if low_open else '['}{'-inf' if low is None else low}, "
                        f"{'inf' if high is None else high}{')' if high_open else ']'}")
        raise ValueError(f"{name} must be a finite number{interval}, got {value!r}")
    return float(value)


def flag(name: str, value) -> bool:
    """``value`` as a bool; only True/False (and NumPy booleans) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def shape(name: str, value, allow_none: bool = True) -> tuple:
    """A per-sample shape: an int or a sequence of positive ints (None for a free length when allowed)."""
    entries = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        entries = tuple(entries)
    except TypeError:
        entries = None
    if isinstance(value, (str, bytes)) or entries is None or not entries or not all(
            (d is None and allow_none) or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1)
            for d in entries):
        free = " (or None for a free length)" if allow_none else ""
        raise ValueError(f"{name} must be a non-empty tuple of positive integers{free}, got {value!r}")
    return tuple(None if d is None else int(d) for d in entries)


def elements(what: str, size: int, how: str = "") -> None:
    """Refuse a parameter count above ``MAX_ELEMENTS`` before anything is allocated."""
    if size > MAX_ELEMENTS:
        raise ValueError(f"{what} would hold {size:,} numbers{how}, more than physnn's limit of "
                         f"{MAX_ELEMENTS:,} (2**31) parameters per model")


def physical_memory() -> int | None:
    """The machine's physical memory in bytes (None when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def memory(what: str, nbytes: int, how: str) -> None:
    """Refuse a computation whose estimated arrays exceed the physical memory."""
    total = physical_memory()
    if total is not None and nbytes > total:
        raise ValueError(f"{what} needs about {nbytes / 2**30:,.1f} GiB ({how}), more than this machine's "
                         f"{total / 2**30:,.1f} GiB of memory")
