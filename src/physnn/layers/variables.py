"""Weights made with ``add_weight``: Keras's habit inside subclassed models and custom layers.

    class Projectile(physnn.Model):
        def __init__(self):
            super().__init__()
            self.g = self.add_weight(shape=(), initializer="ones", name="g")

        def call(self, t):
            return -0.5 * self.g * t**2

A ``Variable`` holds no numbers: like every layer, its value lives in the model's parameter pytree, here under
the owner's name (``params[owner.name][variable.name]``). Assigned to an attribute (``self.g = ...``), it is
*resolved* on every access: inside a forward pass (and inside the loss of ``fit``) ``self.g`` is the traced
array, so ``jit`` and ``grad`` see a pure function of the parameters; outside, it is the ``Variable``, whose
``numpy()`` reads the trained value from the model. Created in a custom layer's ``build``, its value is that
layer's parameter entry (bound while ``Layer.apply`` runs ``call``).
"""

from __future__ import annotations

import threading
import zlib

import numpy as np

from physnn import initializers
from physnn.layers.context import _stack

_local = threading.local()


def _bindings() -> list:
    if not hasattr(_local, "bindings"):
        _local.bindings = []
    return _local.bindings


class bind:
    """``with bind(layer, params):`` the variables of ``layer`` resolve to ``params`` (its parameter dict)."""

    def __init__(self, owner, params):
        self.entry = (owner, params)

    def __enter__(self):
        _bindings().append(self.entry)

    def __exit__(self, *exc):
        _bindings().pop()


def _draw(initializer, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    if isinstance(initializer, (int, float, np.number)) and not isinstance(initializer, bool):
        return np.full(shape, initializer, dtype=initializers.default_dtype())
    return np.asarray(initializers.get(initializer).sample(rng, shape), dtype=initializers.default_dtype())


class Variable:
    """A weight of ``shape`` created by ``add_weight`` on ``owner`` (a Module or a Layer).

    Arguments:
        owner: the model or layer whose attribute it is.
        name: its key in the owner's parameter dict (unique per owner).
        shape: the weight's shape (``()`` for a scalar).
        initializer: a name, an initializer object (``physnn.initializers``) or a number.
        trainable: False for a weight ``fit`` leaves alone (a non-trainable weight).
        regularizer: None or a callable w -> scalar penalty added to the loss (``physnn.regularizers``).
    """

    _is_physnn_variable = True

    def __init__(self, owner, name: str, shape, initializer="glorot_uniform", trainable: bool = True,
                 regularizer=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"add_weight: name must be a non-empty string, got {name!r}")
        try:
            shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list)) else
                                           (() if shape is None else (shape,))))
        except (TypeError, ValueError):
            raise ValueError(f"add_weight: shape must be a tuple of non-negative ints, got {shape!r}") from None
        if any(s < 0 for s in shape):
            raise ValueError(f"add_weight: shape must be a tuple of non-negative ints, got {shape!r}")
        if not isinstance(trainable, (bool, np.bool_)):
            raise ValueError(f"add_weight: trainable must be True or False, got {trainable!r}")
        if regularizer is not None and not callable(regularizer):
            from physnn import regularizers

            regularizer = regularizers.get(regularizer)
        _draw(initializer, np.random.default_rng(0), (0,))  # an unknown initializer fails here, naming itself
        self.owner, self.name, self.shape = owner, name, shape
        self.initializer, self.trainable, self.regularizer = initializer, bool(trainable), regularizer

    def initial_value(self, seed: int) -> np.ndarray:
        """The value drawn for a model seeded with ``seed`` (one stream per variable name)."""
        return _draw(self.initializer, np.random.default_rng((seed, zlib.crc32(self.name.encode()))), self.shape)

    # --- resolution --------------------------------------------------------------------------------

    def resolve(self):
        """Inside a forward pass: the current (traced) array; outside: this Variable."""
        for owner, params in reversed(_bindings()):
            if owner is self.owner:
                return params[self.name]
        if _stack() and not _is_layer(self.owner):
            return _stack()[-1].variable(self)
        return self

    # --- outside a forward pass: read the value from the model ------------------------------------

    @property
    def value(self) -> np.ndarray:
        """The value in the model that holds it (after ``build``/``fit``), as a NumPy array."""
        model = self.owner if not _is_layer(self.owner) else self.owner._model()
        key = self.owner.name
        if model is None or not model.built or key not in model.params or self.name not in model.params[key]:
            raise ValueError(f"weight '{self.name}' of '{self.owner.name}' has no value yet: build or fit the model "
                             "that holds it first")
        return np.asarray(model.params[key][self.name])

    def numpy(self) -> np.ndarray:
        return self.value

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return f"<Variable '{self.owner.name}/{self.name}' shape={self.shape} trainable={self.trainable}>"


def _is_layer(owner) -> bool:
    return hasattr(owner, "init") and hasattr(owner, "apply") and not hasattr(owner, "forward_with_losses")


def add_weight(owner, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, regularizer=None,
               name=None) -> Variable:
    """Keras's ``add_weight`` for ``owner``: a new ``Variable`` (see the module docstring). ``dtype`` is accepted
    for Keras's signature (weights are JAX's default float); ``name`` defaults to the attribute it is assigned
    to."""
    variables = owner.__dict__.setdefault("_variables", {})
    auto = name is None
    name = f"weight_{len(variables)}" if auto else name
    if name in variables:
        raise ValueError(f"add_weight: '{owner.name}' already has a weight named {name!r}")
    variable = Variable(owner, name, shape, initializer, trainable, regularizer)
    variable._auto_name = auto
    variables[name] = variable
    return variable


def adopt(owner, attribute: str, variable: Variable) -> None:
    """``owner.<attribute> = variable``: the variable is found under the attribute's name from now on (an
    unnamed one takes that name, as the parameter key)."""
    variables = owner.__dict__.setdefault("_variables", {})
    if getattr(variable, "_auto_name", False) and variables.get(variable.name) is variable:
        del variables[variable.name]
        variable.name, variable._auto_name = attribute, False
        if attribute in variables and variables[attribute] is not variable:
            raise ValueError(f"add_weight: '{owner.name}' already has a weight named {attribute!r}")
        variables[attribute] = variable
    owner.__dict__.setdefault("_variable_attributes", {})[attribute] = variable.name


def lookup(owner, attribute: str):
    """The resolved value of the variable assigned to ``owner.<attribute>``; AttributeError if there is none."""
    names = owner.__dict__.get("_variable_attributes")
    if not names or attribute not in names:
        raise AttributeError(f"'{type(owner).__name__}' object has no attribute '{attribute}'")
    return owner.__dict__["_variables"][names[attribute]].resolve()


class WeightOwner:
    """What Layer and Module share: Keras's ``add_weight``, and ``self.<attribute>`` resolving the ``Variable``
    assigned to it (the traced array inside a forward pass or a loss, the ``Variable`` outside)."""

    def __setattr__(self, name, value):
        if getattr(value, "_is_physnn_variable", False):  # self.w = self.add_weight(...)
            adopt(self, name, value)
            return
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_variables", "_variable_attributes"):
            raise AttributeError(name)
        return lookup(self, name)

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True, regularizer=None,
                   name=None) -> Variable:
        """Keras's ``add_weight``, in a subclassed model's ``__init__`` or a custom layer's ``build``: a weight of
        ``shape`` (``()`` a scalar) that ``call`` (and the loss) read as ``self.<attribute>``, trained by ``fit``
        unless ``trainable=False``, its ``regularizer`` added to the loss. Returns the ``Variable``, whose
        ``numpy()`` reads the trained value."""
        return add_weight(self, shape, initializer, dtype, trainable, regularizer, name)


def own_weights(owner):
    """The entry a model's own ``add_weight`` weights take among its layers: a layer named as the model whose
    parameters are those weights (its non-trainable ones and regularisers included), so that ``fit``,
    ``summary``, ``get_weights`` and saving treat them as every other layer's. Not listed in ``model.layers``."""
    from physnn.layers.base import Layer

    class _OwnWeights(Layer):
        def __init__(self):
            super().__init__(name=owner.name)
            self.owner = owner

        @property
        def non_trainable_keys(self):
            return tuple(v.name for v in owner.__dict__.get("_variables", {}).values() if not v.trainable)

        def regularization(self, params):
            return sum((v.regularizer(params[v.name]) for v in owner.__dict__.get("_variables", {}).values()
                        if v.regularizer is not None and v.name in params), 0.0)

    return _OwnWeights()
