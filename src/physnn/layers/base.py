"""The layer protocol: a layer is its hyperparameters plus pure functions over a parameter pytree.

A layer never owns arrays. Its three functions are

* ``output_shape(input_shape) -> shape``  validates a per-sample shape (no batch axis) and raises
  ``ValueError`` naming the layer, the expected and the received shape;
* ``init(rng, input_shape) -> params``     a dict of arrays (``{}`` for a layer without weights), drawn
  from the NumPy generator ``rng`` (see ``physnn.initializers`` for why initial values come from the host);
* ``apply(params, x, *, key=None, training=False) -> y``  the forward map on a batch x of shape
  [batch, *input_shape], ``key`` a PRNG key for random layers (Dropout), ``training`` their switch.

Layers that carry state between batches (``stateful`` recurrent layers) also override
``init_state(batch_size, input_shape)`` and ``forward(params, state, x, key, training) -> (y, state)``.

Calling a layer, ``layer(x)``, is the Keras habit: on an ``Input`` (a ``SymbolicTensor``) it records a
node of a functional model; inside ``Module.call`` it runs the layer with the parameters the enclosing
model holds for it (see ``physnn.layers.context``).

``LAYERS`` is the one registry of physnn's layer classes (class name -> class): ``Layer.__init_subclass__``
fills it when a public class is defined in a ``physnn.`` module, and serialisation, the ``physnn.layers``
exports and the layer-test harness all iterate it. A class defined by user code is not added (defining a
class must not make it loadable from a file); users register theirs with ``physnn.register_serializable``.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from physnn.layers.variables import WeightOwner

_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)


def _snake(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """Keras-style names: dense, dense_1, dense_2, ... (counted per prefix, per process)."""
    n = next(_name_counters[prefix])
    return prefix if n == 0 else f"{prefix}_{n}"


def as_shape(shape) -> tuple:
    """Normalise a shape given as an int, list or tuple (None allowed for a free length)."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(None if s is None else int(s) for s in shape)


def _check_trainable(trainable) -> bool:
    if not isinstance(trainable, (bool, np.bool_)):
        raise ValueError(f"trainable must be True or False, got {trainable!r}")
    return bool(trainable)


def weight_arguments(cls) -> dict:
    """Keras's weight arguments of a layer class and their defaults, in Keras's order: for each weight of
    ``cls.weight_specs`` ``<argument>_initializer`` (its Keras default), then each ``<argument>_regularizer``
    (None), then ``activity_regularizer`` (None), which every layer takes."""
    specs = getattr(cls, "weight_specs", {})
    arguments = {f"{argument}_initializer": default for argument, default in specs.values()}
    arguments.update({f"{argument}_regularizer": None for argument, _ in specs.values()})
    arguments["activity_regularizer"] = None
    return arguments


def _with_keyword_arguments(signature: inspect.Signature, defaults: dict) -> inspect.Signature:
    """A layer constructor's signature with the keyword arguments every layer accepts (``trainable``, the
    weight arguments of ``weight_arguments``) that it does not name itself."""
    parameters = list(signature.parameters.values())
    names = {p.name for p in parameters}
    at = next((i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_KEYWORD), len(parameters))
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
             for name, default in {**defaults, "trainable": True}.items() if name not in names]
    return signature.replace(parameters=parameters[:at] + extra + parameters[at:])


#: Keras's layer hooks and the physnn protocol method each one stands in for.
_KERAS_HOOKS = {"build": "init", "call": "apply", "compute_output_shape": "output_shape"}

#: physnn's own concrete layer classes, class name -> class, filled by ``Layer.__init_subclass__``.
LAYERS: dict[str, type] = {}


def _register(cls) -> None:
    """Add ``cls`` to ``LAYERS`` if it is a public class defined at module level in a physnn module."""
    module = cls.__module__ or ""
    if not module.startswith("physnn.") or cls.__name__.startswith("_") or "<locals>" in cls.__qualname__:
        return
    known = LAYERS.get(cls.__name__)
    if known is not None and (known.__module__, known.__qualname__) != (module, cls.__qualname__):
        raise TypeError(f"two physnn layer classes are named {cls.__name__!r}: {known.__module__}.{known.__qualname__}"
                        f" and {module}.{cls.__qualname__}; a saved model names its layers by class name")
    LAYERS[cls.__name__] = cls


class Layer(WeightOwner):
    """Base class for every layer. Subclasses implement ``output_shape``, ``init`` and ``apply``.

    The constructor arguments of every subclass are recorded automatically, so ``get_config()`` and
    ``from_config`` round-trip a layer for ``save``/``load_model`` without code in each subclass.
    """

    stateful = False
    #: True when a sample's output depends on that sample alone (no batch statistics, no state, no draws
    #: shared across the batch): ``fit`` may then pad a ragged last batch with zero-weight samples, so every
    #: step of an epoch has one shape (``Module._pads_ragged_batch``). False by default: a layer written by a
    #: user may mix samples, and says so by leaving it False.
    per_sample = False
    input_shape_hint = None  # set by the ``input_shape=`` / ``input_dim=`` keyword of any layer
    #: Keras masking: a layer that ``supports_masking`` passes the mask of its input on (Dense, Dropout); one
    #: that ``accepts_mask`` takes it as ``forward(..., mask=[batch, time] bool)`` (the recurrent layers).
    supports_masking = False
    accepts_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register(cls)
        original_init = cls.__dict__.get("__init__")
        if original_init is None:
            return
        signature = inspect.signature(original_init)
        keras_arguments = {k: v for k, v in weight_arguments(cls).items() if k not in signature.parameters}

        def __init__(self, *args, **kw):
            # Keras's habit of giving the model's input shape to the first layer: Dense(8, input_shape=(4,))
            input_shape = kw.pop("input_shape", None)
            trainable = kw.pop("trainable", True)
            if "input_dim" in kw and "input_dim" not in signature.parameters:  # Embedding has its own
                input_shape = (kw.pop("input_dim"),)
            if input_shape is not None:
                self.input_shape_hint = as_shape(input_shape)
            given = {k: kw.pop(k) for k in list(kw) if k in keras_arguments}  # the initializers and regularizers
            outer = not hasattr(self, "_config")  # (not the __init__ of a base class called by a subclass's)
            if outer:
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                self._config = {k: v for k, v in list(bound.arguments.items())[1:]
                                if signature.parameters[k].kind not in (inspect.Parameter.VAR_KEYWORD,
                                                                        inspect.Parameter.VAR_POSITIONAL)}
            original_init(self, *args, **kw)
            self._set_weight_arguments(given, record=outer)
            self.trainable = _check_trainable(trainable)

        __init__.__signature__ = _with_keyword_arguments(signature, keras_arguments)
        __init__.__doc__ = original_init.__doc__
        cls.__init__ = __init__

    def __init__(self, name: str | None = None, trainable: bool = True):
        self.name = name or unique_name(_snake(type(self).__name__))
        self.trainable = _check_trainable(trainable)

    #: Keys of this layer's parameter dict that ``fit`` never trains (weights fixed by design, such as a
    #: reservoir's recurrent matrix); they are saved, loaded and counted as non-trainable parameters.
    non_trainable_keys: tuple[str, ...] = ()

    # --- Keras's weight arguments: initializers, regularizers, the activity regularizer ---------------

    #: parameter key -> (argument, Keras's default initializer): the weights whose initial values and
    #: penalties are constructor arguments, ``<argument>_initializer`` and ``<argument>_regularizer`` (Dense:
    #: {"kernel": ("kernel", "glorot_uniform"), "bias": ("bias", "zeros")}). Every layer also takes
    #: ``activity_regularizer``. The resolved objects are the attributes of those names.
    weight_specs: dict[str, tuple[str, str]] = {}
    activity_regularizer = None

    def _set_weight_arguments(self, given: dict, record: bool) -> None:
        """Resolve the weight arguments (``physnn.initializers.get`` / ``physnn.regularizers.get``, ValueError
        naming the layer and the argument) into attributes; the defaults fill the ones not set yet. With
        ``record`` the non-default ones join the configuration (``get_config``)."""
        from physnn import initializers, regularizers

        for argument, default in weight_arguments(type(self)).items():
            if argument not in given and argument in self.__dict__:
                continue  # set by a subclass's call of a base class's __init__
            value = given.get(argument, default)
            what = f"Layer '{self.name}' ({type(self).__name__}): {argument}"
            if argument.endswith("_initializer"):
                resolved = initializers.get(default if value is None else value, what)
            else:
                resolved = regularizers.get(value, what)
            object.__setattr__(self, argument, resolved)
            if record and argument in given and value != default:
                self._config[argument] = value

    def initial_value(self, key: str, rng: np.random.Generator, shape) -> np.ndarray:
        """The initial value of parameter ``key`` (a key of ``weight_specs``) of ``shape``, drawn by its
        initializer from the model's generator ``rng``."""
        argument = self.weight_specs[key][0]
        return getattr(self, f"{argument}_initializer").sample(rng, tuple(shape))

    def activity_penalty(self, outputs):
        """Keras's activity penalty of this layer's outputs: R(y) / batch size summed over the output arrays
        (Keras 3 divides by the batch size, so the weighting does not change with it); None without an
        ``activity_regularizer``. The model adds it to the batch's objective (``LayerContext.call``)."""
        if self.activity_regularizer is None:
            return None
        import jax

        return sum((self.activity_regularizer(y) / (y.shape[0] if y.ndim else 1)
                    for y in jax.tree_util.tree_leaves(outputs)), 0.0)

    # --- Keras-style custom layers: add_weight in build, the forward map in call ---------------------

    def _keras_style(self, hook: str) -> bool:
        """Whether the subclass writes Keras's hook (``build``, ``call``, ``compute_output_shape``) instead of
        physnn's counterpart (``init``, ``apply``, ``output_shape``)."""
        cls, own = type(self), _KERAS_HOOKS[hook]
        return getattr(cls, hook, None) is not getattr(Layer, hook, None) and getattr(cls, own) is getattr(Layer, own)

    def build(self, input_shape) -> None:
        """Keras's hook: create the weights with ``add_weight`` for ``input_shape`` (batch axis first, None)."""

    def call(self, inputs, training=False):
        """Keras's hook: the forward map, reading the weights as attributes."""
        raise NotImplementedError(f"{type(self).__name__} must define apply(params, x) or call(inputs)")

    def _build_once(self, input_shape):
        if not self.__dict__.get("_built_keras", False):
            self.build((None, *input_shape))
            self.__dict__["_built_keras"] = True

    def assign_weight(self, key: str, value) -> None:
        """Inside ``apply`` while training: ``value`` becomes the weight ``key`` (one of ``non_trainable_keys``)
        after this step of ``fit`` (Keras's ``variable.assign`` of a non-trainable weight)."""
        from physnn.layers.context import assign_weight

        if key not in self.non_trainable_keys:
            raise ValueError(f"Layer '{self.name}': assign_weight({key!r}) needs a non-trainable weight, one of "
                             f"{self.non_trainable_keys}")
        assign_weight(self.name, key, value)

    def add_loss(self, value) -> None:
        """Add the scalar ``value`` to the training objective of the batch being computed (call it inside
        ``apply``/``forward``); ``evaluate`` includes it in the loss, as Keras does."""
        from physnn.layers.context import add_loss

        add_loss(value, self.name)

    def add_metric(self, value, name: str) -> None:
        """Report the scalar ``value`` as the metric ``name`` of the batch being computed (inside ``apply``):
        it is averaged into ``fit``'s history and returned by ``evaluate``, and not minimised."""
        from physnn.layers.context import add_metric

        add_metric(value, name, self.name)

    # --- the protocol --------------------------------------------------------------------------------

    def output_shape(self, input_shape: tuple) -> tuple:
        """The per-sample output shape for a per-sample ``input_shape``; ValueError if it does not fit. A
        Keras-style layer answers with its ``compute_output_shape`` or, without one, by tracing ``call``
        abstractly (nothing is computed)."""
        if self._keras_style("compute_output_shape"):
            return tuple(self.compute_output_shape((None, *input_shape))[1:])
        if self._keras_style("call"):
            import jax

            self._build_once(tuple(input_shape))
            spec = {v.name: jax.ShapeDtypeStruct(v.shape, np.float32)
                    for v in self.__dict__.get("_variables", {}).values()}
            x = jax.ShapeDtypeStruct((1, *input_shape), np.float32)
            return tuple(jax.eval_shape(lambda p, x: self.apply(p, x), spec, x).shape[1:])
        return tuple(input_shape)

    def init(self, rng: np.random.Generator, input_shape: tuple) -> dict:
        """Create the parameters for a per-sample ``input_shape``, random ones drawn from ``rng``. A Keras-style
        layer runs its ``build`` once and draws each ``add_weight`` weight from ``rng``."""
        if not (self._keras_style("build") or self._keras_style("call")):
            return {}
        self._build_once(tuple(input_shape))
        variables = self.__dict__.get("_variables", {})
        self.non_trainable_keys = tuple(v.name for v in variables.values() if not v.trainable)
        seed = int(rng.integers(2**31))
        return {v.name: v.initial_value(seed) for v in variables.values()}

    def apply(self, params: dict, x, *, key=None, training: bool = False):
        """The forward map on a batch ``x`` of shape [batch, *input_shape]; a Keras-style layer runs ``call``
        with its weights bound to ``params``."""
        if not self._keras_style("call"):
            raise NotImplementedError(f"{type(self).__name__} must define apply(params, x) or call(inputs)")
        import inspect as _inspect

        from physnn.layers.variables import bind

        with bind(self, params):
            if "training" in _inspect.signature(self.call).parameters:
                return self.call(x, training=training)
            return self.call(x)

    def compute_mask(self, inputs, mask):
        """The mask of this layer's output (Keras): ``mask`` passed on when ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    def init_state(self, batch_size: int, input_shape: tuple):
        """State carried between batches (only stateful layers have one)."""
        return {}

    def forward(self, params, state, x, *, key=None, training: bool = False):
        """``apply`` with the state threaded through: (params, state, x) -> (y, state)."""
        return self.apply(params, x, key=key, training=training), state

    def regularization(self, params: dict):
        """The penalty this layer adds to the loss for its ``params``: sum of R_k(params[k]) over the weights k
        with a regulariser (``<argument>_regularizer`` of ``weight_specs``, ``add_weight(regularizer=...)``),
        trainable ones only, as Keras; 0.0 without any.

        The model sums ``layer.regularization(params[layer.name])`` over its layers.
        """
        if not self.trainable:
            return 0.0
        penalties = [(key, getattr(self, f"{argument}_regularizer", None))
                     for key, (argument, _) in self.weight_specs.items()]
        penalties += [(v.name, v.regularizer) for v in self.__dict__.get("_variables", {}).values() if v.trainable]
        return sum((reg(params[key]) for key, reg in penalties
                    if reg is not None and key in params and key not in self.non_trainable_keys), 0.0)

    # --- helpers -------------------------------------------------------------------------------------

    def count_params(self, input_shape) -> int:
        """Number of scalar parameters the layer creates for ``input_shape`` (Keras's count)."""
        import jax

        params = self.init(np.random.default_rng(0), as_shape(input_shape))
        return int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))

    def _model(self):
        owner = getattr(self, "_owner", None)
        return None if owner is None else owner()

    def get_weights(self) -> list:
        """This layer's parameters as NumPy arrays, in creation order (kernel before bias), read from the model
        that built it last (a layer holds no arrays itself); ``[]`` before a model has built it, as Keras."""
        model = self._model()
        if model is None or not model.built:
            return []
        return [np.asarray(model.weight_at(p)) for p in model.weight_paths(self.name)]

    def set_weights(self, weights) -> None:
        """Replace this layer's parameters in the model that built it, given in ``get_weights``'s order."""
        model = self._model()
        if model is None or not model.built:
            raise ValueError(f"Layer '{self.name}' has no weights yet: build the model that holds it first")
        model.assign_weights(model.weight_paths(self.name), weights, f"Layer '{self.name}'")

    @property
    def weights(self) -> list:
        return self.get_weights()

    def shape_error(self, expected: str, received) -> ValueError:
        """A ValueError naming this layer, the expected and the received per-sample shape."""
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expects input of shape {expected} per sample, "
            f"got {tuple(received)}"
        )

    def sequence_output_shape(self, input_shape) -> tuple:
        """For a recurrent layer (``units``, ``return_sequences``) on (time, features): (time, units) for the
        whole sequence, else (units,); a ValueError naming the layer for another shape."""
        input_shape = tuple(input_shape)
        self.expect_ndim(input_shape, 2, "(time, features)")
        if input_shape[1] is None:
            raise self.shape_error("(time, features) with a known number of features", input_shape)
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def expect_ndim(self, input_shape, ndim: int, expected: str):
        if len(input_shape) != ndim:
            raise self.shape_error(expected, input_shape)

    def get_config(self) -> dict:
        """Constructor arguments (with ``name``) that rebuild this layer."""
        config = dict(getattr(self, "_config", {}))
        config["name"] = self.name
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __call__(self, x, *args, **kwargs):
        from physnn.layers.context import call_layer
        from physnn.layers.symbolic import SymbolicTensor, symbolic_call

        if isinstance(x, SymbolicTensor) or (isinstance(x, Sequence) and x and
                                             all(isinstance(t, SymbolicTensor) for t in x)):
            return symbolic_call(self, x)
        return call_layer(self, x, *args, **kwargs)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "_config", {}).items() if k != "name")
        return f"{type(self).__name__}({args})"
