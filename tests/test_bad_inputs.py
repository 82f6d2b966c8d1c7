"""Wrong inputs are refused with a ValueError naming the argument (issue 10, items 6-7), never trained on,
never a TypeError/ZeroDivisionError from deep inside, never silently accepted."""

import os
import subprocess
import sys

import numpy as np
import pytest

import physnn as keras
from physnn import datasets, layers, sequences

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3)).astype(np.float32)
Y = X[:, :1]


def regression():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def classifier():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def two_inputs():
    a, b = keras.Input((3,)), keras.Input((2,))
    model = keras.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    model.compile("adam", "mse")
    return model


def embedding():
    model = keras.Sequential([keras.Input((2,)), layers.Embedding(5, 2), layers.Flatten(), layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def ffnn():
    return keras.FFNN((3, 4, 1), seed=0)


def fit(model, **kw):
    return lambda: model().fit(X, Y, verbose=0, **kw)


def ffnn_fit(**kw):
    return lambda: ffnn().fit(X, Y, kw.pop("scheduler", keras.Adam(0.01)), verbose=False, **kw)


T3 = np.linspace(0.0, 1.0, 5)


def _physics():
    import physnn.physics

    return physnn.physics


CASES = [
    # physics: seeds of the trial-solution solver and the parameter and hybrid models
    ("solve_ode seed='a'", lambda: _physics().solve_ode(lambda x, u: x, 0.0, (0.0, 1.0), seed="a"), "seed"),
    ("solve_ode seed=-1", lambda: _physics().solve_ode(lambda x, u: x, 0.0, (0.0, 1.0), seed=-1), "seed"),
    ("fit_spring seed=True", lambda: _physics().fit_spring(T3, T3, T3, mass=1.0, seed=True), "seed"),
    ("fit_projectile seed=1.5", lambda: _physics().fit_projectile(T3, T3, seed=1.5), "seed"),
    ("HybridModel.fit seed=-2", lambda: _physics().HybridModel(np.cos).fit(T3, T3, seed=-2), "seed"),
    ("HybridModel.fit epochs=True", lambda: _physics().HybridModel(np.cos).fit(T3, T3, epochs=True), "epochs"),
    # Module.fit / evaluate / predict
    ("empty x", lambda: regression().fit(np.zeros((0, 3)), np.zeros((0, 1)), verbose=0), "x has no samples"),
    ("empty x predict", lambda: regression().predict(np.zeros((0, 3))), "x has no samples"),
    ("predict batch_size=0", lambda: regression().predict(X, batch_size=0), "batch_size"),
    ("predict batch_size='a'", lambda: regression().predict(X, batch_size="a"), "batch_size"),
    ("predict batch_size=True", lambda: regression().predict(X, batch_size=True), "batch_size"),
    ("evaluate batch_size=-1", lambda: regression().evaluate(X, Y, batch_size=-1), "batch_size"),
    ("fit batch_size=True", fit(regression, batch_size=True), "batch_size"),
    ("fit batch_size=2.0", fit(regression, batch_size=2.0), "batch_size"),
    ("fit seed='a'", fit(regression, seed="a"), "seed"),
    ("fit seed=-1", fit(regression, seed=-1), "seed"),
    ("fit seed=True", fit(regression, seed=True), "seed"),
    ("fit initial_epoch=-3", fit(regression, initial_epoch=-3), "initial_epoch"),
    ("fit initial_epoch='a'", fit(regression, initial_epoch="a"), "initial_epoch"),
    ("fit initial_epoch >= epochs", fit(regression, epochs=2, initial_epoch=5), "initial_epoch"),
    ("fit epochs=True", fit(regression, epochs=True), "epochs"),
    ("fit epochs=10**30", fit(regression, epochs=10**30), r"epochs must be an integer <= 10,000,000"),
    ("fit validation_split='a'", fit(regression, validation_split="a"), "validation_split"),
    ("fit validation_split=nan", fit(regression, validation_split=float("nan")), "validation_split"),
    ("fit validation_data=5", fit(regression, validation_data=5), "validation_data"),
    ("fit validation_data x shape", fit(regression, validation_data=(np.ones((4, 5)), np.ones((4, 1)))), "x_val"),
    ("fit validation_data y shape", fit(regression, validation_data=(np.ones((4, 3)), np.ones((4, 2)))), "y_val"),
    ("fit callbacks=[5]", fit(regression, callbacks=[5]), "callbacks"),
    ("fit callbacks=History()", fit(regression, callbacks=keras.History()), "callbacks"),
    ("fit shuffle='no'", fit(regression, shuffle="no"), "shuffle"),
    ("multi-input rows", lambda: two_inputs().fit([X, np.ones((5, 2))], Y, verbose=0), "same number of samples"),
    ("multi-input rows predict", lambda: two_inputs().predict([X, np.ones((5, 2))]), "same number of samples"),
    ("sparse label 5", lambda: classifier().fit(X, np.full(20, 5), verbose=0), r"y holds class labels.*\[0, 3\)"),
    ("sparse label -1", lambda: classifier().fit(X, np.full(20, -1), verbose=0), r"y holds class labels.*\[0, 3\)"),
    ("sparse label 0.5", lambda: classifier().fit(X, np.full(20, 0.5), verbose=0), "y holds class labels.*integers"),
    ("sparse label evaluate", lambda: classifier().evaluate(X, np.full(20, 3)), r"y holds class labels.*\[0, 3\)"),
    ("sparse labels one-hot", lambda: classifier().fit(X, np.eye(3)[np.zeros(20, int)], verbose=0),
     "one integer label"),
    ("Embedding index out of range", lambda: embedding().fit(np.full((20, 2), 7), Y, verbose=0), "input_dim=5"),
    ("Embedding index predict", lambda: embedding().predict(np.full((3, 2), -1)), "input_dim=5"),
    ("Embedding non-integer index", lambda: embedding().predict(np.full((3, 2), 1.5)), "integer indices"),
    ("compile metrics=5", lambda: regression().compile("adam", "mse", metrics=5), "metrics"),
    # models and inputs
    ("Input((-4,))", lambda: keras.Input((-4,)), "Input: shape"),
    ("Input((2.5,))", lambda: keras.Input((2.5,)), "Input: shape"),
    ("Input((True,))", lambda: keras.Input((True,)), "Input: shape"),
    ("Input(None)", lambda: keras.Input(None), "Input: shape"),
    ("Input('abc')", lambda: keras.Input("abc"), "Input: shape"),
    ("build((-4,))", lambda: keras.Sequential([layers.Dense(2)]).build((-4,)), "input_shape"),
    ("Sequential seed=True", lambda: keras.Sequential([layers.Dense(2)], seed=True), "seed"),
    ("Sequential name=5", lambda: keras.Sequential([layers.Dense(2)], name=5), "name"),
    ("huge Dense", lambda: keras.Sequential([keras.Input((2**16,)), layers.Dense(2**16)]), "2\\*\\*31"),
    # FFNN
    ("FFNN((4, True, 2))", lambda: keras.FFNN((4, True, 2)), "dimensions"),
    ("FFNN((4, 2.0, 2))", lambda: keras.FFNN((4, 2.0, 2)), "dimensions"),
    ("FFNN(5)", lambda: keras.FFNN(5), "dimensions"),
    ("FFNN(None)", lambda: keras.FFNN(None), "dimensions"),
    ("FFNN seed=True", lambda: keras.FFNN((3, 1), seed=True), "seed"),
    ("FFNN 10**9 hidden", lambda: keras.FFNN((3, 10**9, 1)), "2\\*\\*31"),
    ("FFNN empty X", lambda: ffnn().fit(np.zeros((0, 3)), np.zeros((0, 1)), keras.Adam(0.01), verbose=False),
     "X has no samples"),
    ("FFNN lam=inf", ffnn_fit(lam=float("inf")), "lam must be finite"),
    ("FFNN lam=nan", ffnn_fit(lam=float("nan")), "lam"),
    ("FFNN lam=True", ffnn_fit(lam=True), "lam"),
    ("FFNN batches=True", ffnn_fit(batches=True), "batches"),
    ("FFNN epochs=True", ffnn_fit(epochs=True), "epochs"),
    ("FFNN epochs=10**30", ffnn_fit(epochs=10**30), "epochs must be an integer <= 10,000,000"),
    ("FFNN scheduler='adam'", ffnn_fit(scheduler="adam"), "scheduler"),
    ("FFNN X_val shape", ffnn_fit(X_val=np.ones((3, 4)), t_val=np.ones((3, 1))), "X_val"),
    ("FFNN threshold='a'", lambda: ffnn().predict(X, threshold="a"), "threshold"),
    # layers
    ("Conv2D(2, True)", lambda: layers.Conv2D(2, True), "kernel_size"),
    ("Conv2D(2, (3, True))", lambda: layers.Conv2D(2, (3, True)), "kernel_size"),
    ("Conv1D strides=0", lambda: layers.Conv1D(2, 3, strides=0), "strides"),
    ("MaxPooling2D(True)", lambda: layers.MaxPooling2D(True), "pool_size"),
    ("MaxPooling1D(strides=0)", lambda: layers.MaxPooling1D(2, strides=0), "strides"),
    ("UpSampling2D(True)", lambda: layers.UpSampling2D(True), "size"),
    ("Dense(True)", lambda: layers.Dense(True), "units"),
    ("Dense(2.5)", lambda: layers.Dense(2.5), "units"),
    ("Dropout(1.0)", lambda: layers.Dropout(1.0), "rate"),
    ("Dropout(nan)", lambda: layers.Dropout(float("nan")), "rate"),
    ("LSTM(True)", lambda: layers.LSTM(True), "units"),
    ("Embedding(True, 3)", lambda: layers.Embedding(True, 3), "input_dim"),
    ("Reshape((True, 2))", lambda: layers.Reshape((True, 2)), "target_shape"),
    ("Reshape((2.5,))", lambda: layers.Reshape((2.5,)), "target_shape"),
    ("Concatenate(axis=True)", lambda: layers.Concatenate(axis=True), "axis"),
    # callbacks
    ("EarlyStopping(patience='3')", lambda: keras.EarlyStopping(patience="3"), "patience"),
    ("EarlyStopping(patience=1.5)", lambda: keras.EarlyStopping(patience=1.5), "patience"),
    ("EarlyStopping(patience=True)", lambda: keras.EarlyStopping(patience=True), "patience"),
    ("EarlyStopping(min_delta='a')", lambda: keras.EarlyStopping(min_delta="a"), "min_delta"),
    ("EarlyStopping(min_delta=nan)", lambda: keras.EarlyStopping(min_delta=float("nan")), "min_delta"),
    ("EarlyStopping(monitor=5)", lambda: keras.EarlyStopping(monitor=5), "monitor"),
    ("EarlyStopping(restore_best_weights='yes')", lambda: keras.EarlyStopping(restore_best_weights="yes"),
     "restore_best_weights"),
    ("ReduceLROnPlateau(factor='a')", lambda: keras.ReduceLROnPlateau(factor="a"), "factor"),
    ("ReduceLROnPlateau(patience='a')", lambda: keras.ReduceLROnPlateau(patience="a"), "patience"),
    ("ReduceLROnPlateau(cooldown=-1)", lambda: keras.ReduceLROnPlateau(cooldown=-1), "cooldown"),
    ("ReduceLROnPlateau(min_scale=-1)", lambda: keras.ReduceLROnPlateau(min_scale=-1), "min_scale"),
    ("ModelCheckpoint(None)", lambda: keras.ModelCheckpoint(None), "filepath"),
    ("LambdaCallback(on_epoch_end=5)", lambda: keras.LambdaCallback(on_epoch_end=5), "on_epoch_end"),
    # sequences and data sets
    ("extrapolate steps=10**8", lambda: sequences.extrapolate(lambda w: w[0, -1], np.arange(10.0), 10**8, length=2),
     "steps must be an integer <= 1,000,000"),
    ("extrapolate steps=True", lambda: sequences.extrapolate(lambda w: w[0, -1], np.arange(10.0), True, length=2),
     "steps"),
    ("preset seed=True", lambda: sequences.preset("rnn", 3, seed=True), "seed"),
    ("rbm_energy(clean='no')", lambda: datasets.rbm_energy(clean="no"), "clean"),
    ("series_defects max_jump='a'", lambda: datasets.series_defects([1, 2], [1.0, 2.0], max_jump="a"), "max_jump"),
    ("series_defects max_missing='a'", lambda: datasets.series_defects([1, 2], [1.0, 2.0], max_missing="a"),
     "max_missing"),
    ("series_defects labels str", lambda: datasets.series_defects(["a", "b"], [1.0, 2.0]), "labels"),
]


@pytest.mark.parametrize("description, call, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_value_error_naming_the_argument(description, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_single_metric_name_is_one_metric():
    model = regression()
    model.compile("adam", "mse", metrics="mae")
    assert [name for name, _ in model.metrics] == ["mae"]
    assert len(model.evaluate(X, Y)) == 2


def test_module_keeps_the_last_finite_weights_after_divergence():
    target = Y * 1e3
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(keras.Constant(10.0), "mse")
    seen = []
    record = keras.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.get_weights()))
    with pytest.raises(keras.TrainingDivergedError):
        model.fit(X, target, epochs=100, verbose=0, callbacks=[record])
    assert seen, "diverged in the first epoch: the test needs a finished epoch"
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    for last, now in zip(seen[-1], model.get_weights(), strict=True):
        np.testing.assert_array_equal(last, now)


def test_ffnn_keeps_the_last_finite_weights_after_divergence():
    net = ffnn()
    with pytest.raises(keras.TrainingDivergedError):
        net.fit(X, Y * 1e3, keras.Constant(10.0), epochs=100, verbose=False)
    assert all(np.all(np.isfinite(w)) for w in net.weights_numpy)
    # the weights are those after the last finished epoch: one more epoch from them diverges at once
    with pytest.raises(keras.TrainingDivergedError, match="epoch 1"):
        net.fit(X, Y * 1e3, keras.Constant(10.0), epochs=1, verbose=False)


@pytest.mark.parametrize("args", [
    ["fit", "{csv}", "--target", "y", "--hidden", "100000,100000"],
    ["fit", "{csv}", "--target", "y", "--hidden", "100000000"],
    ["fit", "{csv}", "--target", "y", "--epochs", str(10**30)],
    ["extrapolate", "{csv}", "--column", "y", "--train", "20", "--steps", str(10**8)],
    ["extrapolate", "{csv}", "--column", "y", "--train", "20", "--steps", "3", "--units", "1000000"],
])
def test_cli_oversized_request_is_one_line_and_exit_2(args, tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i},{2 * i},{3 * i}\n" for i in range(40)))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PHYSNN_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "physnn", *(a.format(csv=csv) for a in args),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("physnn: error:") and "Traceback" not in done.stderr
    assert "limit" in lines[0] or "memory" in lines[0]
