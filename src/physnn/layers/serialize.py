"""Layers to JSON-friendly dicts and back: ``{"class_name": "Dense", "config": {...}}``.

Activations that are physnn built-ins are written by name (``activations.activation_name``); a custom
callable cannot be written and raises ValueError. Wrapped layers and the course's regularisers
(``costs.L1``/``L2``) are nested ``{"class_name", "config"}`` dicts; Keras's initializer and regularizer objects
(``physnn.initializers``, ``physnn.regularizers``) are ``{"module": "initializers" | "regularizers",
"class_name", "config"}``, rebuilt from those modules' fixed ``CLASSES`` tables. Custom layer classes are
added with ``register_layer`` (or ``physnn.register_serializable``) or passed to ``deserialize(...,
custom_objects={name: cls})``; physnn's own classes are in ``physnn.layers.base.LAYERS`` from the moment they are
defined.

``deserialize`` builds nothing but the classes it knows (physnn's layers, initializers and regularisers, registered
layers,
``custom_objects``), and checks a configuration's keys against the constructor before calling it: a file's
contents never choose the code that runs, and a malformed configuration is a ValueError naming the class.
"""

from __future__ import annotations

import inspect

from physnn import initializers, regularizers
from physnn.activations import activation_name
from physnn.costs import REGULARIZERS
from physnn.layers.base import LAYERS, Layer

# Classes registered by user code (``register_layer`` / ``physnn.register_serializable``), class name -> class.
# Kept apart from ``LAYERS`` (physnn's own, filled when a class is defined) so that what a file may build is
# physnn's layers plus what the user named explicitly.
REGISTERED: dict[str, type[Layer]] = {}

_REGULARIZER_CLASSES = {cls.__name__: cls for cls in REGULARIZERS.values()}  # the course's L1(lam), L2(lam)
# Keras's objects a configuration may hold, by the "module" key of their description: fixed tables of classes
_OBJECT_CLASSES = {"initializers": initializers.CLASSES, "regularizers": regularizers.CLASSES}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Make a custom Layer subclass known to ``deserialize`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"register_layer expects a Layer subclass, got {cls!r}")
    REGISTERED[cls.__name__] = cls
    return cls


def _encode(layer: Layer, key: str, value):
    if isinstance(value, Layer):
        return serialize(value)
    if isinstance(value, tuple):
        return [_encode(layer, key, v) for v in value]
    if _REGULARIZER_CLASSES.get(type(value).__name__) is type(value):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    for module, classes in _OBJECT_CLASSES.items():
        if classes.get(type(value).__name__) is type(value):
            return {"module": module, "class_name": type(value).__name__, "config": value.get_config()}
    if callable(value) and key.endswith(("_initializer", "_regularizer")):
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): {key}={value!r} is a custom callable and "
                         f"cannot be serialised; use a name or an object of physnn.{key.rsplit('_', 1)[1]}s")
    if callable(value):
        name = activation_name(value)
        if name is None:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}): {key}={value!r} is a custom callable and "
                "cannot be serialised; use a built-in name such as 'relu' or a physnn.activations function"
            )
        return name
    return value


def serialize(layer: Layer) -> dict:
    """``{"class_name": <class name>, "config": <JSON-friendly get_config()>}``."""
    config = {k: _encode(layer, k, v) for k, v in layer.get_config().items()}
    return {"class_name": type(layer).__name__, "config": config}


def check_config(cls: type, config, what: str) -> None:
    """ValueError unless ``config`` is a dict of keyword arguments that ``cls(**config)`` accepts: no unknown
    key, no missing required argument (``what`` names the object in the message)."""
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"{what}: the configuration must be a dict of keyword arguments, got {config!r}")
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return  # no signature to check against (a class implemented in C)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    names = {p.name for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                       inspect.Parameter.KEYWORD_ONLY)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ValueError(f"{what}: unknown configuration key(s) {unknown}; {cls.__name__} accepts {sorted(names)}")
    missing = [p.name for p in parameters if p.name in names and p.default is inspect.Parameter.empty
               and p.name not in config]
    if missing:
        raise ValueError(f"{what}: the configuration lacks the required argument(s) {missing}")


def _layer_class(name, custom_objects) -> type[Layer] | None:
    cls = (custom_objects or {}).get(name)
    if isinstance(cls, type) and issubclass(cls, Layer):
        return cls
    return REGISTERED.get(name) or LAYERS.get(name)


def _decode(value, custom_objects):
    if (isinstance(value, dict) and set(value) == {"module", "class_name", "config"}
            and value["module"] in _OBJECT_CLASSES and isinstance(value["class_name"], str)):
        classes, name = _OBJECT_CLASSES[value["module"]], value["class_name"]
        if name not in classes:
            raise ValueError(f"unknown {value['module'][:-1]} class {name!r}; known: {sorted(classes)}")
        check_config(classes[name], value["config"], f"{value['module'][:-1]} {name}")
        return classes[name](**value["config"])
    if isinstance(value, dict) and set(value) == {"class_name", "config"} and isinstance(value["class_name"], str):
        name = value["class_name"]
        if name in _REGULARIZER_CLASSES:
            cls = _REGULARIZER_CLASSES[name]
            check_config(cls, value["config"], f"regulariser {name}")
            return cls(**value["config"])
        if _layer_class(name, custom_objects) is not None:
            return deserialize(value, custom_objects)
    if isinstance(value, list):
        return [_decode(v, custom_objects) for v in value]
    return value


def deserialize(data: dict, custom_objects: dict | None = None) -> Layer:
    """Rebuild a layer from ``serialize``'s dict. Only physnn's layer classes, registered ones and the Layer
    subclasses in ``custom_objects`` (class name -> class) are built; ValueError for any other class name, for
    unknown or missing constructor arguments, and for a configuration the constructor rejects."""
    if not isinstance(data, dict) or "class_name" not in data or "config" not in data:
        raise ValueError(f"deserialize expects {{'class_name': ..., 'config': ...}}, got {data!r}")
    name = data["class_name"]
    cls = _layer_class(name, custom_objects) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"Unknown layer class_name={name!r}; known: {sorted({*LAYERS, *REGISTERED})} (add custom "
                         "layers with physnn.register_serializable or pass them in custom_objects)")
    what = f"layer {name}"
    if not isinstance(data["config"], dict):
        raise ValueError(f"{what}: the configuration must be a dict, got {data['config']!r}")
    config = {k: _decode(v, custom_objects) for k, v in data["config"].items()}
    if getattr(cls.from_config, "__func__", None) is Layer.from_config.__func__:  # cls(**config)
        check_config(cls, config, what)
    try:
        return cls.from_config(config)
    except (TypeError, KeyError, AttributeError, IndexError) as err:
        raise ValueError(f"{what}: cannot be built from the configuration {config!r} "
                         f"({type(err).__name__}: {err})") from err
