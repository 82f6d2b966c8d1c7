"""Weight penalties, Keras's ``keras.regularizers``: THE regularisers of physnn.

A regulariser is a callable R(w) -> scalar added to the training objective (``kernel_regularizer=`` and the
other layer arguments, ``physnn.costs.L1``/``L2`` for the course's networks and physics costs). The penalties
are Keras's, without a factor 1/2:

    L1(l1):        R(w) = l1 sum |w|
    L2(l2):        R(w) = l2 sum w^2
    L1L2(l1, l2):  R(w) = l1 sum |w| + l2 sum w^2

``w`` may be an array or any pytree of arrays (the sums then run over every leaf). ``get`` resolves a name
("l1", "l2" with Keras's default factor 0.01;
"l1_l2", whose factors default to 0 as Keras 3's), a ``{"class_name", "config"}`` dict, a regulariser
object or a callable; ``serialize``/``get_config`` describe one by name and configuration. The factors are
read through ``physnn.hyperparameters`` (a sweep may train several factors in one vmapped program).
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from physnn import _named
from physnn.hyperparameters import hyperparameter, is_bound


def _factor(name: str, value) -> float:
    """A penalty factor: a finite number >= 0 (None counts as 0, as Keras's L1L2)."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _sum(fn, w):
    return sum((jnp.sum(fn(leaf)) for leaf in jax.tree_util.tree_leaves(w)), 0.0)


class Regularizer:
    """Base class: ``__call__(w) -> scalar`` and ``get_config() -> dict`` (the constructor's arguments)."""

    def __call__(self, w):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


class L1L2(Regularizer):
    """R(w) = l1 sum |w| + l2 sum w^2 (Keras's ``L1L2``; both factors default to 0)."""

    traceable_hyperparameters = {"l1": "[0, inf)", "l2": "[0, inf)"}

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)

    def __call__(self, w):
        penalty = 0.0
        if self.l1 or is_bound(self, "l1"):
            penalty = penalty + hyperparameter(self, "l1") * _sum(jnp.abs, w)
        if self.l2 or is_bound(self, "l2"):
            penalty = penalty + hyperparameter(self, "l2") * _sum(jnp.square, w)
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """R(w) = l1 sum |w| (Keras's ``L1``, default l1 = 0.01)."""

    traceable_hyperparameters = {"l1": "[0, inf)"}

    def __init__(self, l1=0.01):
        self.l1 = _factor("l1", l1)

    def __call__(self, w):
        return hyperparameter(self, "l1") * _sum(jnp.abs, w)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """R(w) = l2 sum w^2 (Keras's ``L2``, default l2 = 0.01; no factor 1/2)."""

    traceable_hyperparameters = {"l2": "[0, inf)"}

    def __init__(self, l2=0.01):
        self.l2 = _factor("l2", l2)

    def __call__(self, w):
        return hyperparameter(self, "l2") * _sum(jnp.square, w)

    def get_config(self):
        return {"l2": self.l2}


# Keras's lower-case names are the classes themselves: l1(0.01), l2(0.01), l1_l2(l1=0.0, l2=0.0)
l1 = L1
l2 = L2
l1_l2 = L1L2


#: class name -> class: the regularisers a configuration (a model file) may name.
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (L1, L2, L1L2)}

#: Keras's names -> the regulariser they make (default factors).
NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def serialize(regularizer: Regularizer) -> dict:
    """``{"class_name": ..., "config": ...}`` of one of physnn's regularisers (``CLASSES``)."""
    return _named.describe(regularizer, CLASSES, "regulariser")


def deserialize(config: dict) -> Regularizer:
    """The regulariser ``serialize`` described; ValueError for a class outside ``CLASSES`` or bad arguments."""
    return _named.rebuild(config, CLASSES, "regulariser")


def get(identifier, argument: str = "regularizer"):
    """None, a regulariser (or any callable w -> scalar, returned as it is), a name ("l1", "l2", "l1_l2";
    case-insensitive, Keras's default factors) or a ``serialize`` dict; ValueError naming ``argument`` otherwise."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in NAMES:
        return NAMES[identifier.lower()]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"{argument}={identifier!r} is not known; use None, a name {sorted(NAMES)}, a physnn.regularizers "
                     "object such as L2(0.01), or a callable w -> scalar")


__all__ = ["CLASSES", "L1", "L1L2", "L2", "NAMES", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2",
           "serialize"]
