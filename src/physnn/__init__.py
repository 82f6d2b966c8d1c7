"""physnn: neural networks for the physical sciences, on a JAX engine."""

from physnn import _cache  # noqa: F401  (turns on the persistent compilation cache)
from physnn.activations import ELU, LRELU, RELU, derivate, identity, sigmoid, softmax, tanh
from physnn.costs import L1, L2, CostCrossEntropy, CostLogReg, CostMAE, CostOLS, CostRMSE
from physnn.schedulers import (
    Adagrad,
    AdagradMomentum,
    Adam,
    Constant,
    Momentum,
    RMS_prop,
    Scheduler,
    exponential_decay,
    inverse_time_decay,
    step_decay,
)

__version__ = "0.1.0"
from physnn.callbacks import (  # noqa: E402
    Callback,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from physnn.ffnn import FFNN  # noqa: E402
from physnn.training import TrainingDivergedError  # noqa: E402
from physnn import layers  # noqa: E402
from physnn.layers import Input  # noqa: E402
from physnn.models import Model, Module, Sequential  # noqa: E402
from physnn.saving import load_model  # noqa: E402
