"""Hyperparameters traced into a compiled program, so that k trials of a sweep train in one vmapped program.

A hyperparameter that does not change any shape — a dropout rate, an L2 factor, a reservoir's leak rate, a
ridge — is a Python attribute of a layer, a regulariser or a loss, read while the program is traced; it is
baked into the program as a constant. To train k values of it together (``physnn.ensemble.fit_replicas(...,
hyperparameters=...)``, ``physnn.sweep.hyperparameter_objective``) it must instead be an *input* of the
program. A binding ``{name: (owner, attribute)}`` names the attributes; the epoch's carry holds their values
``{name: value}`` (one per replica under ``vmap``), and while the model's objective is traced, ``bound(binding,
values)`` makes ``hyperparameter(owner, attribute)`` return the traced value instead of the attribute. Code that
reads a tunable attribute reads it through ``hyperparameter``; with nothing bound it is the attribute itself.

A class says which of its attributes may be traced, and their valid values, in ``traceable_hyperparameters``:
``{attribute: interval}`` with the interval written as text, ``"[0, 1)"`` or ``"[0, inf)"``. A binding naming
any other attribute (one read only while building, a reservoir's spectral radius, or one not read at all) is
refused, and ``check_values`` holds traced values to the same intervals the constructors hold them to.

The values are explicit arguments of the compiled programs (never closed over), so a program compiled for one
set of values is never reused for another; the binding (which attributes) is part of the program cache key.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers

import numpy as np

_BOUND: contextvars.ContextVar[dict | None] = contextvars.ContextVar("physnn_hyperparameters", default=None)


def _mapping() -> dict:
    return _BOUND.get() or {}


def hyperparameter(owner, attribute: str):
    """``owner.attribute`` in the program being traced: the value bound to it (a tracer) if any, else the
    attribute itself."""
    return _mapping().get((id(owner), attribute), getattr(owner, attribute))


def is_bound(owner, attribute: str) -> bool:
    """Whether ``owner.attribute`` is traced (a Python shortcut on its value, ``if rate == 0``, must not run)."""
    return (id(owner), attribute) in _mapping()


@contextlib.contextmanager
def bound(binding: dict, values: dict):
    """Within the block, ``hyperparameter(owner, attribute)`` returns ``values[name]`` for every
    ``name: (owner, attribute)`` of ``binding`` present in ``values``."""
    mapping = dict(_mapping())
    for name, value in values.items():
        owner, attribute = binding[name]
        mapping[(id(owner), attribute)] = value
    token = _BOUND.set(mapping)
    try:
        yield
    finally:
        _BOUND.reset(token)


def traceable(owner) -> dict:
    """The attributes of ``owner`` that may be traced: ``{attribute: interval}`` (its class's
    ``traceable_hyperparameters``; empty for objects that declare none)."""
    return dict(getattr(owner, "traceable_hyperparameters", None) or {})


def _interval(text: str):
    """``"[0, 1)"`` -> (0.0, 1.0, True, False): the bounds and whether each is included."""
    low, high = (float(b) for b in text[1:-1].split(","))
    return low, high, text[0] == "[", text[-1] == "]"


def check_values(binding: dict, values: dict) -> None:
    """A ValueError naming the hyperparameter for any of ``values`` ({name: number or array}) that is not finite
    or falls outside the interval its owner declares for it (``traceable``)."""
    for name, value in values.items():
        owner, attribute = binding[name]
        text = traceable(owner)[attribute]
        low, high, low_in, high_in = _interval(text)
        v = np.asarray(value, np.float64)
        inside = np.isfinite(v) & ((v >= low) if low_in else (v > low)) & ((v <= high) if high_in else (v < high))
        if not np.all(inside):
            bad = v.reshape(-1)[~inside.reshape(-1)][0]
            raise ValueError(f"hyperparameter {name!r}: {type(owner).__name__}.{attribute} must be in {text}, "
                             f"got {bad!r}")


def check_binding(binding: dict) -> dict:
    """``{name: (owner, attribute)}`` with every attribute one its owner declares traceable (``traceable``) and
    holding a number (a ValueError naming the entry otherwise)."""
    if not isinstance(binding, dict):
        raise ValueError(f"hyperparameters must be a dict {{name: (owner, attribute, values)}}, got {binding!r}")
    out = {}
    for name, target in binding.items():
        if not (isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], str)):
            raise ValueError(f"hyperparameter {name!r}: expected (owner, attribute name), got {target!r}")
        owner, attribute = target
        value = getattr(owner, attribute, None)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"hyperparameter {name!r}: {type(owner).__name__} has no numeric attribute "
                             f"{attribute!r} (got {value!r})")
        allowed = traceable(owner)
        if attribute not in allowed:
            raise ValueError(f"hyperparameter {name!r}: {type(owner).__name__}.{attribute} cannot be traced (it is "
                             f"not read through physnn.hyperparameters while training); traceable: "
                             f"{sorted(allowed) or 'none'}")
        out[name] = (owner, attribute)
    return out


def binding_key(binding: dict) -> tuple:
    """The binding as a hashable key of the program cache (which attributes of which objects)."""
    return tuple(sorted((name, id(owner), attribute) for name, (owner, attribute) in binding.items()))


__all__ = ["binding_key", "bound", "check_binding", "check_values", "hyperparameter", "is_bound", "traceable"]
