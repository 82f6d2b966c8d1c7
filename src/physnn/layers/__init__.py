"""Layers: hyperparameters plus pure functions over parameter pytrees (see ``base.py`` for the protocol).

Every public layer class of physnn is exported here from ``LAYERS`` (``physnn.layers.base``), the registry
``Layer.__init_subclass__`` fills when such a class is defined: importing the modules below defines (and so
registers) them, and the registry decides the exported names and ``__all__``. A new layer module is imported
below; ``tests/layers/test_harness.py`` checks that every registered class is exported and covered by the
layer-test harness.
"""

# each module defines, and so registers, its layer classes: Dense, Conv1D/Conv2D, Dropout, Embedding,
# Add/Concatenate, GaussianNoise/Sampling, the pooling layers, SimpleRNN/LSTM/GRU/Bidirectional,
# Flatten/Reshape/UpSampling1D/UpSampling2D, Activation/RepeatVector/Global*Pooling*/LayerNormalization, TrainingSteps
from physnn.layers import conv, core, dense, dropout, embedding, merge, noise, pooling, recurrent, reshape, steps  # noqa: F401
from physnn.layers.base import LAYERS, Layer
from physnn.layers.serialize import deserialize, register_layer, serialize
from physnn.layers.symbolic import Input, SymbolicTensor
from physnn.layers.text import TextVectorization
from physnn.reservoir import layer as _reservoir  # noqa: F401  (Reservoir; after serialize, which it imports)

globals().update(LAYERS)

__all__ = ["Input", "LAYERS", "Layer", "SymbolicTensor", "TextVectorization", "deserialize", "register_layer",
           "serialize"]
__all__ += sorted(LAYERS)
