"""physnn: neural networks for the physical sciences, on a JAX engine."""

# the Keras namespaces (from physnn import layers, models, optimizers, regularizers, losses, initializers, utils,
# ops) and reservoir, whose Reservoir layer loads from files in any process
from physnn import (
    datasets,
    distributed,
    ensemble,
    initializers,
    layers,
    losses,
    models,
    ops,
    optimizers,
    regularizers,
    reservoir,
    utils,
)
from physnn.activations import ELU, LRELU, RELU, derivate, identity, sigmoid, softmax, tanh
from physnn.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from physnn.costs import L1, L2, CostCrossEntropy, CostLogReg, CostMAE, CostOLS, CostRMSE
from physnn.ffnn import FFNN
from physnn.layers import Input
from physnn.models import Model, Module, Sequential
from physnn.saving import load_model, register_serializable
from physnn.schedulers import (
    Adagrad,
    AdagradMomentum,
    Adam,
    AdamW,
    Constant,
    Momentum,
    RMS_prop,
    Scheduler,
    exponential_decay,
    inverse_time_decay,
    step_decay,
)
from physnn.training import TrainingDivergedError

__version__ = "0.1.0"

__all__ = [
    "ELU", "FFNN", "L1", "L2", "LRELU", "RELU", "Adagrad", "AdagradMomentum", "Adam", "AdamW", "Callback", "Constant",
    "CostCrossEntropy", "CostLogReg", "CostMAE", "CostOLS", "CostRMSE", "EarlyStopping", "History", "Input",
    "LambdaCallback", "Model", "ModelCheckpoint", "Module", "Momentum", "RMS_prop", "ReduceLROnPlateau",
    "Scheduler", "Sequential", "TrainingDivergedError", "derivate", "exponential_decay", "identity",
    "inverse_time_decay", "layers", "load_model", "register_serializable", "reservoir", "sigmoid", "softmax",
    "step_decay", "tanh",
    # the Keras namespaces (modules)
    "datasets", "distributed", "ensemble", "initializers", "losses", "models", "ops", "optimizers", "regularizers",
    "utils",
]
