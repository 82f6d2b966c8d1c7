"""The one fit loop: epochs, callbacks, the divergence stop and interrupts, for every model.

``FFNN.fit`` and ``Module.fit`` (and everything built on them) prepare their data and one compiled epoch
program, then hand both to ``fit_loop``. What the loop guarantees:

* the model holds the parameters of the last *finished* epoch whose logs are finite: after a
  ``TrainingDivergedError`` (naming the epoch, 1-based) and after Ctrl-C alike;
* epoch e + 1 is queued before epoch e's logs are read (JAX dispatches asynchronously, so the host's work
  on epoch e overlaps the device's on e + 1) whenever no callback may change the model in between;
* callbacks see the model as it is after each epoch (``on_epoch_end(epoch, logs)``), may change it
  (``ReduceLROnPlateau`` the optimiser state, ``EarlyStopping`` the weights) and may stop training
  (``model.stop_training = True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import numpy as np

from physnn.callbacks import Callback, History, ProgressBar, run_callbacks

# Callbacks that only read the logs: the next epoch may be queued before they run (a callback class may also
# declare ``reads_logs_only = True``: it reads the logs and may set stop_training, and changes nothing else).
PASSIVE_CALLBACKS = (History, ProgressBar)


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite during training."""


def check_finite(logs: dict, epoch: int, hint: str = "") -> None:
    """Raise ``TrainingDivergedError`` naming the epoch (1-based) when a logged value is NaN or infinite."""
    bad = {k: v for k, v in logs.items() if not math.isfinite(float(v))}
    if bad:
        name, value = next(iter(bad.items()))
        raise TrainingDivergedError(
            f"training diverged: {name} = {value} at epoch {epoch}. The learning rate{hint} is probably "
            "too large for this problem: try a smaller eta (e.g. 10x smaller), standardise the inputs, "
            "or clip the targets."
        )


def fit_seed(model_seed: int, stream: int, seed: int | None = None) -> np.uint32:
    """The seed of one fit's shuffling and dropout: ``seed`` when given, else stream number ``stream`` of the
    model's seed, (model_seed + 1_000_003 * stream) mod 2^32, so successive fits draw different streams and
    the same model seed gives the same sequence of fits."""
    return np.uint32((model_seed + 1_000_003 * stream if seed is None else seed) % 2**32)


def check_callbacks(callbacks) -> list:
    """The user's ``callbacks`` argument as a list: None or a list/tuple of ``Callback`` objects, else a
    ValueError."""
    if callbacks is None:
        return []
    if not (isinstance(callbacks, (list, tuple)) and all(isinstance(c, Callback) for c in callbacks)):
        raise ValueError(f"callbacks must be a list of Callback objects, got {callbacks!r}")
    return list(callbacks)


def fit_loop(run_epoch: Callable, *, get_carry: Callable, set_carry: Callable, model, epochs: int,
             initial_epoch: int = 0, callbacks: Sequence[Callback] = (), hint: str = "",
             diagnose: Callable[[], str] | None = None) -> None:
    """Run epochs ``initial_epoch .. epochs - 1``.

    Arguments:
        run_epoch: ``(carry, epoch_index) -> (carry, logs)``, one compiled epoch (asynchronous; logs are
            device scalars).
        get_carry: ``() -> carry`` from the model as it is now; set_carry: ``carry -> None`` into the model.
        model: what the callbacks see (``set_model``); its ``stop_training`` is read after every epoch.
        callbacks: called in order; the History, if any, among them.
        hint: added to the divergence message after "The learning rate" (e.g. " (eta=0.1)").
        diagnose: ``() -> str`` naming a cause of divergence other than the learning rate ("" if none),
            called with the model holding the last finite parameters.
    Raises:
        TrainingDivergedError when an epoch's logs are not finite (the model keeps the epoch before).
    """
    queue = all(isinstance(c, PASSIVE_CALLBACKS) or getattr(c, "reads_logs_only", False) for c in callbacks)
    for callback in callbacks:
        callback.set_model(model)
    model.stop_training = False
    run_callbacks(callbacks, "on_train_begin", {})
    try:
        pending = run_epoch(get_carry(), initial_epoch)
        for epoch in range(initial_epoch, epochs):
            carry, logs = pending
            last = epoch + 1 == epochs
            if queue and not last:  # dispatch the next epoch before waiting for this one's logs
                pending = run_epoch(carry, epoch + 1)
            logs = {k: float(v) for k, v in jax.device_get(logs).items()}
            try:
                check_finite(logs, epoch + 1, hint)
            except TrainingDivergedError as err:
                cause = diagnose() if diagnose else ""
                raise TrainingDivergedError(f"{err}{cause}") from None
            set_carry(carry)
            run_callbacks(callbacks, "on_epoch_end", epoch, logs)
            if model.stop_training:
                break
            if not queue and not last:  # a callback may have changed the model: start from it
                pending = run_epoch(get_carry(), epoch + 1)
    finally:
        run_callbacks(callbacks, "on_train_end", {})
