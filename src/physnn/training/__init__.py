"""The engine every model trains on: one compiled epoch and one fit loop.

* ``epoch``: ``make_epoch`` builds the minibatch epoch (jit + ``lax.scan`` over shuffled batches, a ragged
  tail batch, frozen entries left out of the gradient); ``keras_layout`` / ``course_layout`` cut the data.
* ``loop``: ``fit_loop`` runs epochs with callbacks, the divergence stop and interrupts; ``fit_seed`` is the
  one per-fit seeding formula.
* ``lbfgs``: full-batch minimisation (L-BFGS with a strong-Wolfe line search, Adam then L-BFGS).
* ``jit``: ``flat_jit`` compiles functions of pytrees as functions of their leaves.
* ``data``: ``prepare_array`` checks training arrays on the host.
"""

from physnn.training.data import prepare_array
from physnn.training.epoch import (
    Layout,
    TrainState,
    batched_pass,
    course_layout,
    keras_layout,
    make_epoch,
    merge_params,
    split_params,
)
from physnn.training.jit import flat_jit
from physnn.training.loop import TrainingDivergedError, check_callbacks, check_finite, fit_loop, fit_seed

__all__ = [
    "Layout", "TrainState", "TrainingDivergedError", "batched_pass", "check_callbacks", "check_finite",
    "course_layout", "fit_loop",
    "fit_seed", "flat_jit", "keras_layout", "make_epoch", "merge_params", "prepare_array", "split_params",
]
