"""Layers to JSON-friendly dicts and back: ``{"class_name": "Dense", "config": {...}}``.

Activations that are physnn built-ins are written by name (``activations.activation_name``); a custom
callable cannot be written and raises ValueError. Regularisers (``L1``/``L2``) and wrapped layers are
nested ``{"class_name", "config"}`` dicts. Custom layer classes are added with ``register_layer``.
"""

from __future__ import annotations

from physnn.activations import activation_name
from physnn.costs import REGULARIZERS
from physnn.layers.base import Layer
from physnn.layers.conv import Conv1D, Conv2D
from physnn.layers.dense import Dense
from physnn.layers.dropout import Dropout
from physnn.layers.embedding import Embedding
from physnn.layers.merge import Add, Concatenate
from physnn.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    MaxPooling1D,
    MaxPooling2D,
    MinPooling1D,
    MinPooling2D,
)
from physnn.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from physnn.layers.reshape import Flatten, Reshape, UpSampling2D

LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    Dense, Conv1D, Conv2D, MaxPooling1D, AveragePooling1D, MinPooling1D, MaxPooling2D, AveragePooling2D,
    MinPooling2D, Flatten, Reshape, UpSampling2D, Dropout, Embedding, SimpleRNN, LSTM, GRU, Bidirectional,
    Concatenate, Add,
)}

_REGULARIZER_CLASSES = {cls.__name__: cls for cls in REGULARIZERS.values()}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Make a custom Layer subclass known to ``deserialize`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"register_layer expects a Layer subclass, got {cls!r}")
    LAYERS[cls.__name__] = cls
    return cls


def _encode(layer: Layer, key: str, value):
    if isinstance(value, Layer):
        return serialize(value)
    if isinstance(value, tuple):
        return [_encode(layer, key, v) for v in value]
    if type(value).__name__ in _REGULARIZER_CLASSES and hasattr(value, "get_config"):
        return {"class_name": type(value).__name__, "config": value.get_config()}
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


def _decode(value):
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        if value["class_name"] in _REGULARIZER_CLASSES:
            return _REGULARIZER_CLASSES[value["class_name"]](**value["config"])
        if value["class_name"] in LAYERS:
            return deserialize(value)
    return value


def deserialize(data: dict) -> Layer:
    """Rebuild a layer from ``serialize``'s dict; ValueError for an unknown class name."""
    if not isinstance(data, dict) or "class_name" not in data or "config" not in data:
        raise ValueError(f"deserialize expects {{'class_name': ..., 'config': ...}}, got {data!r}")
    name = data["class_name"]
    if name not in LAYERS:
        raise ValueError(f"Unknown layer class_name={name!r}; known: {sorted(LAYERS)} "
                         "(add custom layers with physnn.layers.serialize.register_layer)")
    config = {k: _decode(v) for k, v in data["config"].items()}
    return LAYERS[name].from_config(config)
