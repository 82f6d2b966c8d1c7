"""NumPy reference forms of the activations, shared by the activation and cost tests."""

import numpy as np

from physnn.activations import ELU, LRELU, RELU, identity, sigmoid, softmax, tanh

ELEMENTWISE_NUMPY = {
    identity: lambda z: z,
    sigmoid: lambda z: 1 / (1 + np.exp(-z)),
    tanh: np.tanh,
    RELU: lambda z: np.maximum(z, 0),
    LRELU: lambda z: np.where(z > 0, z, 10e-4 * z),  # the course's delta = 10e-4 = 0.001
    ELU: lambda z: np.where(z > 0, z, np.expm1(z)),
}

# softmax without the max shift: the tests only feed it small |z|
NUMPY_ACTIVATIONS = {**ELEMENTWISE_NUMPY, softmax: lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)}
