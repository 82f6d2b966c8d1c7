"""Callbacks: the monitoring rules on scripted logs (a stand-in model), then with real models: restored
weights, checkpoint files, learning-rate reduction without recompilation, hooks and History."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn as keras
from physnn import EarlyStopping, History, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau, layers
from physnn.callbacks import Callback
from physnn.schedulers import Constant

# ------------------------------------------------------------------- the rules, on scripted logs


class FakeModel:
    """What a callback may touch: params, opt_state, stop_training and save()."""

    def __init__(self):
        self.params = {"w": jnp.zeros(2)}
        self.opt_state = {"scale": jnp.ones((), jnp.float32)}
        self.stop_training = False
        self.saved = []

    def save(self, path):
        self.saved.append(path)


def _drive(callback, values, monitor="val_loss", model=None):
    """Feed ``values`` of ``monitor`` epoch by epoch (params = [epoch, epoch]) until the callback stops."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin({})
    epochs = 0
    for epoch, value in enumerate(values):
        model.params = {"w": jnp.full(2, float(epoch))}
        callback.on_epoch_end(epoch, {monitor: value, "loss": 1.0})
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end({})
    return model, epochs


@pytest.mark.parametrize("patience, values, stopped_epoch", [
    (0, [3, 2, 2.5, 1], 2),  # patience 0 stops at the first epoch without improvement (as Keras)
    (1, [3, 2, 2.5, 1], 2),
    (2, [3, 2, 2.5, 1, 1.5, 1.2, 0.5], 5),  # one stalled epoch is forgiven; two are not
    (2, [3, 2, 2.5, 1.9, 1.95, 1.0], None),  # a stall, an improvement, a stall: never two in a row
    (2, [5, 4, 3, 2, 1], None),  # steady improvement never stops
])
def test_early_stopping_patience(patience, values, stopped_epoch):
    callback = EarlyStopping(patience=patience)
    model, epochs = _drive(callback, values)
    assert callback.stopped_epoch == stopped_epoch
    assert model.stop_training == (stopped_epoch is not None)
    assert epochs == (len(values) if stopped_epoch is None else stopped_epoch + 1)


def test_early_stopping_min_delta_counts_small_gains_as_stalls():
    assert _drive(EarlyStopping(patience=2, min_delta=0.1), [1.0, 0.95, 0.91, 0.5])[1] == 3
    assert _drive(EarlyStopping(patience=2, min_delta=0.01), [1.0, 0.95, 0.91, 0.5])[1] == 4


def test_early_stopping_mode_follows_the_monitor():
    # "accuracy" is maximised (mode auto), "val_loss" minimised; mode can be forced
    assert _drive(EarlyStopping("accuracy", patience=1), [0.5, 0.6, 0.55], monitor="accuracy")[1] == 3
    assert _drive(EarlyStopping("accuracy", patience=1), [0.5, 0.6, 0.7], monitor="accuracy")[1] == 3
    model, _ = _drive(EarlyStopping("accuracy", patience=1), [0.5, 0.6, 0.7, 0.8], monitor="accuracy")
    assert model.stop_training is False
    assert _drive(EarlyStopping("score", patience=1, mode="max"), [1, 2, 1], monitor="score")[0].stop_training


def test_early_stopping_restores_the_best_params_even_without_stopping():
    callback = EarlyStopping(patience=10, restore_best_weights=True)
    model, epochs = _drive(callback, [3, 1, 2, 4])
    assert epochs == 4 and not model.stop_training
    np.testing.assert_array_equal(model.params["w"], [1.0, 1.0])
    model, _ = _drive(EarlyStopping(patience=10), [3, 1, 2, 4])
    np.testing.assert_array_equal(model.params["w"], [3.0, 3.0])  # without restoring: the last epoch's


def test_monitoring_a_quantity_that_is_not_logged_explains():
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss', which is not logged; logged "
                                         r"quantities are \['accuracy', 'loss'\]"):
        _run_once(EarlyStopping(), {"loss": 1.0, "accuracy": 0.5})


def _run_once(callback, logs):
    callback.set_model(FakeModel())
    callback.on_train_begin({})
    callback.on_epoch_end(0, logs)


@pytest.mark.parametrize("make, message", [
    (lambda: EarlyStopping(patience=-1), "patience must be >= 0, got -1"),
    (lambda: EarlyStopping(min_delta=-0.1), "min_delta must be >= 0, got -0.1"),
    (lambda: EarlyStopping(mode="up"), "mode must be 'auto', 'min' or 'max', got 'up'"),
    (lambda: ReduceLROnPlateau(factor=1.5), r"factor must be in \(0, 1\), got 1.5"),
    (lambda: ReduceLROnPlateau(patience=0), "patience must be >= 1, got 0"),
    (lambda: ModelCheckpoint("x.npz", mode="best"), "mode must be"),
])
def test_bad_callback_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_reduce_lr_on_plateau_scales_after_patience_and_respects_min_scale():
    callback = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0, min_scale=0.2)
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin({})
    scales = []
    for epoch, value in enumerate([1.0, 0.9, 0.9, 0.9, 0.95, 0.99, 0.8, 0.9, 0.9, 0.9, 0.9]):
        logs = {"val_loss": value}
        callback.on_epoch_end(epoch, logs)
        scales.append(logs["lr_scale"])
        assert model.opt_state["scale"].dtype == jnp.float32
    # stalls at epochs 2, 3 -> x0.5; 4, 5 -> x0.5; improvement at 6; stalls 7, 8 -> 0.125 clipped to 0.2
    np.testing.assert_allclose(scales, [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2], rtol=1e-7)


def test_model_checkpoint_save_best_only_saves_on_improvement():
    model = FakeModel()
    callback = ModelCheckpoint("ckpt-{epoch:02d}-{val_loss:.1f}.npz", save_best_only=True)
    _drive(callback, [3.0, 2.0, 2.5, 1.0], model=model)
    assert model.saved == ["ckpt-01-3.0.npz", "ckpt-02-2.0.npz", "ckpt-04-1.0.npz"]
    model = FakeModel()
    _drive(ModelCheckpoint("every-{epoch}.npz"), [3.0, 2.0, 2.5], model=model)
    assert model.saved == ["every-1.npz", "every-2.npz", "every-3.npz"]


# ------------------------------------------------------------------- with real models

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 3))
Y = np.tanh(X @ np.array([[1.0], [-1.0], [0.5]]))


def _model(optimizer=None):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh", name="h"),
                              layers.Dense(1, name="out")], seed=0)
    model.compile(optimizer or keras.schedulers.Adam(0.01), "mse")
    return model


class Recorder(Callback):
    """Copies the parameters after every epoch, and can overwrite the monitored value with a script."""

    def __init__(self, script=None, monitor="val_loss"):
        self.params, self.script, self.monitor, self.compiled = [], script, monitor, []

    def on_epoch_end(self, epoch, logs):
        self.params.append(jax.tree_util.tree_map(np.array, self.model.params))
        self.compiled.append(len(self.model._compiled))
        if self.script is not None:
            logs[self.monitor] = self.script[epoch]


def _assert_params_equal(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_early_stopping_restore_best_weights_on_a_real_model():
    model = _model()
    script = [5.0, 3.0, 4.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0]  # best at epoch 3, then three stalls
    recorder = Recorder(script)
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(X, Y, epochs=10, batch_size=8, validation_split=0.25, callbacks=[recorder, stopper],
                        verbose=0)
    assert stopper.stopped_epoch == 6 and len(history.epoch) == 7 and len(recorder.params) == 7
    _assert_params_equal(model.params, recorder.params[3])
    with pytest.raises(AssertionError):
        _assert_params_equal(model.params, recorder.params[6])
    # the restored weights are the ones that predict
    model.params = jax.tree_util.tree_map(jnp.asarray, recorder.params[3])
    reference = model.predict(X)
    np.testing.assert_array_equal(model.predict(X), reference)


def test_model_checkpoint_writes_files_and_the_best_one_holds_the_best_epoch(tmp_path):
    model = _model()
    recorder = Recorder([3.0, 1.0, 2.0, 4.0])
    every = ModelCheckpoint(tmp_path / "every-{epoch:02d}.npz", save_best_only=False)
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    model.fit(X, Y, epochs=4, batch_size=8, validation_split=0.25, callbacks=[recorder, every, best],
              verbose=0)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["best.npz"] + [f"every-0{i}.npz" for i in range(1, 5)]
    _assert_params_equal(keras.load_model(tmp_path / "best.npz").params, recorder.params[1])
    _assert_params_equal(keras.load_model(tmp_path / "every-04.npz").params, model.params)


def test_reduce_lr_on_plateau_needs_no_recompilation():
    model = _model(Constant(0.05))
    recorder = Recorder([1.0, 0.5] + [0.5] * 6)
    reducer = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.0)
    scales = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(model.opt_state["scale"])))
    seen = []
    model.fit(X, Y, epochs=8, batch_size=8, validation_split=0.25, callbacks=[recorder, reducer, scales],
              verbose=0)
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert len(set(recorder.compiled)) == 1  # the learning-rate scale is data, not a compiled constant
    compiled = dict(model._compiled)
    model.fit(X, Y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert model._compiled.keys() == compiled.keys()


def test_the_scale_reaches_the_compiled_update():
    model = _model(Constant(0.05))
    model.fit(X, Y, epochs=1, batch_size=24, verbose=0)
    frozen = jax.tree_util.tree_map(np.array, model.params)
    model.opt_state = {**model.opt_state, "scale": jnp.zeros((), jnp.float32)}
    model.fit(X, Y, epochs=2, batch_size=24, verbose=0)
    _assert_params_equal(model.params, frozen)  # scale 0: no step
    model.opt_state = {**model.opt_state, "scale": jnp.ones((), jnp.float32)}
    model.fit(X, Y, epochs=1, batch_size=24, verbose=0)
    with pytest.raises(AssertionError):
        _assert_params_equal(model.params, frozen)


def test_lambda_callback_is_called_every_epoch():
    calls = []
    hook = LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                          on_epoch_end=lambda epoch, logs: calls.append((epoch, sorted(logs))),
                          on_train_end=lambda logs: calls.append("end"))
    _model().fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, callbacks=[hook], verbose=0)
    assert calls == ["begin", (0, ["loss", "val_loss"]), (1, ["loss", "val_loss"]), (2, ["loss", "val_loss"]),
                     "end"]


def test_history_keys_and_lengths():
    model = _model()
    model.compile(keras.schedulers.Adam(0.01), "mse", metrics=["mae"])
    history = model.fit(X, Y, epochs=3, batch_size=8, validation_data=(X[:6], Y[:6]), verbose=0)
    assert isinstance(history, History) and model.history is history
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v) for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    val_loss, val_mae = model.evaluate(X[:6], Y[:6])
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history.history["val_mae"][-1] == pytest.approx(val_mae, rel=1e-5)


def test_training_stops_when_a_callback_asks():
    stopper = LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1))
    model = _model()
    history = model.fit(X, Y, epochs=10, batch_size=8, callbacks=[stopper], verbose=0)
    assert history.epoch == [0, 1]
