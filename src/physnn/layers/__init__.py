"""Layers: hyperparameters plus pure functions over parameter pytrees (see ``base.py`` for the protocol)."""

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
from physnn.layers.serialize import LAYERS, deserialize, register_layer, serialize
from physnn.layers.symbolic import Input, SymbolicTensor

__all__ = [
    "LAYERS", "Add", "AveragePooling1D", "AveragePooling2D", "Bidirectional", "Concatenate", "Conv1D",
    "Conv2D", "Dense", "Dropout", "Embedding", "Flatten", "GRU", "Input", "LSTM", "Layer", "MaxPooling1D",
    "MaxPooling2D", "MinPooling1D", "MinPooling2D", "Reshape", "SimpleRNN", "SymbolicTensor",
    "UpSampling2D", "deserialize", "register_layer", "serialize",
]
