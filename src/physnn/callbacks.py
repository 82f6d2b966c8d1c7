"""Training callbacks, Keras-style: History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LambdaCallback
and the live progress bar.

A callback gets ``set_model(model)`` and then ``on_train_begin(logs)``, ``on_epoch_end(epoch, logs)`` after every
epoch (``epoch`` counts from 0, ``logs`` maps names such as "loss", "val_loss", "accuracy" to floats) and
``on_train_end(logs)``. Setting ``model.stop_training = True`` ends training after the current epoch. A model
offers ``params`` (read/write), ``opt_state`` (read/write) and ``save(path)``.
"""

from __future__ import annotations

import math
import os

import jax
import numpy as np

from physnn import _checks
from physnn.schedulers import get_lr_scale, set_lr_scale


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_end(self, epoch: int, logs: dict):
        pass

    def on_train_end(self, logs=None):
        pass


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is the list of per-epoch losses."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def _repr_html_(self):
        """In a notebook: the first and last epochs' logs as an HTML table."""
        from physnn._notebook import html_table

        names = list(self.history)
        shown = sorted({0, 1, len(self.epoch) - 2, len(self.epoch) - 1} & set(range(len(self.epoch))))
        rows = [[self.epoch[i] + 1] + [f"{self.history[k][i]:.4g}" for k in names] for i in shown]
        return html_table(["epoch", *names], rows, caption=f"History: {len(self.epoch)} epochs")

    def plot(self, keys=None, ax=None, logy: bool | None = None):
        """The curves of ``keys`` (default: every logged quantity, a val_ curve dashed in its training curve's
        colour) against the epoch, on ``ax`` (default: a new figure). Losses on a log axis unless ``logy`` is
        False. Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        keys = list(self.history) if keys is None else list(keys)
        unknown = [k for k in keys if k not in self.history]
        if unknown:
            raise ValueError(f"History.plot: {unknown} not logged; logged are {list(self.history)}")
        if ax is None:
            ax = plt.figure(figsize=(6, 3.6)).add_subplot()
        epochs = [e + 1 for e in self.epoch]
        colours = {}
        for key in keys:
            base = key[4:] if key.startswith("val_") else key
            colour = colours.setdefault(base, f"C{len(colours)}")
            ax.plot(epochs, self.history[key], color=colour, ls="--" if key.startswith("val_") else "-", label=key)
        if logy if logy is not None else all("loss" in k for k in keys):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        return ax


def _mode_sign(monitor: str, mode: str) -> float:
    """+1 when larger is better, -1 when smaller is better."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if any(k in monitor for k in ("acc", "r2")) else "min"
    return 1.0 if mode == "max" else -1.0


class _Monitor(Callback):
    """Tracks the best value of a logged quantity and how many epochs since it improved by min_delta."""

    def __init__(self, monitor, min_delta, mode):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a logged quantity such as 'val_loss', got {monitor!r}")
        if not isinstance(mode, str):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        _checks.real("min_delta", min_delta)
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.sign = _mode_sign(monitor, mode)

    def on_train_begin(self, logs=None):
        self.best = -math.inf
        self.best_epoch = None
        self.wait = 0

    def _improved(self, epoch, logs) -> bool:
        if self.monitor not in logs:
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which is not logged; logged "
                             f"quantities are {sorted(logs)} (val_* needs validation data)")
        score = self.sign * float(logs[self.monitor])
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            return True
        self.wait += 1
        return False


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the model ends with the parameters of its best epoch (also when training
    ran to the last epoch without stopping).
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best_weights=False, mode="auto"):
        super().__init__(monitor, min_delta, mode)
        _checks.integer("patience", patience)
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.patience = int(patience)
        self.restore_best_weights = _checks.flag("restore_best_weights", restore_best_weights)
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best_params = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        if self._improved(epoch, logs):
            if self.restore_best_weights:
                self.best_params = jax.tree_util.tree_map(np.array, self.model.params)
        elif self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_params is not None:
            self.model.params = jax.tree_util.tree_map(jax.numpy.asarray, self.best_params)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has stalled for ``patience`` epochs.

    Works with every physnn optimiser without recompiling: it scales the state's ``scale``, a factor every
    update multiplies the learning rate with (``schedulers.set_lr_scale``; every group of a ``partition``).
    ``min_scale`` bounds the total reduction
    (lr >= min_scale * initial lr). The current factor is logged as "lr_scale".
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                 min_scale=0.0, mode="auto"):
        super().__init__(monitor, min_delta, mode)
        _checks.real("factor", factor)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        _checks.integer("patience", patience)
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        cooldown = _checks.count("cooldown", cooldown, minimum=0)
        min_scale = _checks.real("min_scale", min_scale, 0.0, 1.0)
        self.factor, self.patience, self.cooldown, self.min_scale = factor, patience, cooldown, min_scale

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.cooldown_left = 0

    def on_epoch_end(self, epoch, logs):
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if not self._improved(epoch, logs) and self.wait >= self.patience:
            state = self.model.opt_state
            scale = max(get_lr_scale(state) * self.factor, self.min_scale)
            self.model.opt_state = set_lr_scale(state, scale)
            self.cooldown_left, self.wait = self.cooldown, 0
        logs["lr_scale"] = get_lr_scale(self.model.opt_state)


class ModelCheckpoint(_Monitor):
    """Save the model to ``filepath`` after every epoch, or only when ``monitor`` improved (save_best_only).

    ``filepath`` may contain ``{epoch}`` (1-based) and any logged name, e.g. "ckpt-{epoch:03d}-{val_loss:.3f}.npz".
    ``include_optimizer=False`` saves architecture and weights only (needed when the loss, a metric or the
    optimiser is Python code a model file cannot store, such as ``PhysicsGuidedLoss``; see ``Module.save``).
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", include_optimizer=True):
        super().__init__(monitor, 0.0, mode)
        if not isinstance(filepath, (str, os.PathLike)) or not str(filepath):
            raise ValueError(f"ModelCheckpoint: filepath must be a path, got {filepath!r}")
        self.filepath, self.save_best_only = str(filepath), _checks.flag("save_best_only", save_best_only)
        self.include_optimizer = bool(include_optimizer)

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only and not self._improved(epoch, logs):
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.include_optimizer:
            self.model.save(path)
        else:
            self.model.save(path, include_optimizer=False)


class LambdaCallback(Callback):
    """A plain hook: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`` (and on_train_begin/end)."""

    def __init__(self, on_epoch_end=None, on_train_begin=None, on_train_end=None):
        for name, hook in (("on_epoch_end", on_epoch_end), ("on_train_begin", on_train_begin),
                           ("on_train_end", on_train_end)):
            if hook is not None and not callable(hook):
                raise ValueError(f"LambdaCallback: {name} must be a function or None, got {hook!r}")
        self._epoch_end, self._begin, self._end = on_epoch_end, on_train_begin, on_train_end

    def on_train_begin(self, logs=None):
        if self._begin:
            self._begin(logs)

    def on_epoch_end(self, epoch, logs):
        if self._epoch_end:
            self._epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self._end:
            self._end(logs)


class ProgressBar(Callback):
    """A live rich progress bar: one tick per epoch, showing the latest logs (loss, accuracy, val_*)."""

    def __init__(self, epochs: int, description: str = "training"):
        self.epochs, self.description = epochs, description

    def on_train_begin(self, logs=None):
        from physnn._notebook import OutputLine, in_notebook

        self.line = None
        if in_notebook():  # one output line replaced in place (rich's live display needs ipywidgets there)
            import time

            self.line, self.start = OutputLine(f"{self.description}: 0/{self.epochs}"), time.perf_counter()
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[logs]}"))
        self.task = self.progress.add_task(self.description, total=self.epochs, logs="")
        self.progress.start()

    def on_epoch_end(self, epoch, logs):
        text = "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
        if self.line is not None:
            import time

            done = int(30 * (epoch + 1) / self.epochs)
            self.line.update(f"{self.description} [{'#' * done}{'.' * (30 - done)}] {epoch + 1}/{self.epochs} "
                             f"{time.perf_counter() - self.start:.1f} s  {text}")
            return
        self.progress.update(self.task, completed=epoch + 1, logs=text)

    def on_train_end(self, logs=None):
        if self.line is None:
            self.progress.stop()


def run_callbacks(callbacks, hook: str, *args):
    for callback in callbacks:
        getattr(callback, hook)(*args)
