"""Keras's weight arguments on every weighted layer: ``kernel_initializer`` / ``recurrent_initializer`` /
``bias_initializer`` / ``embeddings_initializer`` (Keras's defaults unchanged), the matching ``*_regularizer``
penalties in the objective, ``activity_regularizer`` (R(y) / batch, Keras 3's normalisation) through add_loss,
and their configurations through serialize/deserialize and model files."""

import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn import initializers, regularizers
from physnn.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Input,
    Layer,
    SimpleRNN,
    deserialize,
    serialize,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(6, 2))


def test_the_constructors_show_keras_s_arguments_and_defaults():
    dense = inspect.signature(Dense).parameters
    assert dense["kernel_initializer"].default == "glorot_uniform" and dense["bias_initializer"].default == "zeros"
    assert all(dense[k].default is None for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"))
    lstm = inspect.signature(LSTM).parameters
    assert lstm["recurrent_initializer"].default == "orthogonal" and "recurrent_regularizer" in lstm
    assert lstm["unit_forget_bias"].default is True
    assert inspect.signature(Embedding).parameters["embeddings_initializer"].default == "uniform"
    assert "activity_regularizer" in inspect.signature(physnn.layers.Flatten).parameters  # every layer
    assert "kernel_initializer" not in inspect.signature(physnn.layers.Flatten).parameters


def test_defaults_draw_what_the_layers_drew_before():
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    p = Dense(4).init(rng(), (3,))
    np.testing.assert_array_equal(p["kernel"], initializers.glorot_uniform(rng(), (3, 4)))
    np.testing.assert_array_equal(p["bias"], np.zeros(4))
    r = rng()
    expected = (initializers.glorot_uniform(r, (3, 8)), initializers.orthogonal(r, (2, 8)))
    p = LSTM(2).init(rng(), (5, 3))
    np.testing.assert_array_equal(p["kernel"], expected[0])
    np.testing.assert_array_equal(p["recurrent_kernel"], expected[1])
    np.testing.assert_array_equal(p["bias"], [0, 0, 1, 1, 0, 0, 0, 0])  # Keras's unit_forget_bias
    np.testing.assert_array_equal(Embedding(5, 2).init(rng(), (3,))["embeddings"],
                                  initializers.uniform(rng(), (5, 2), -0.05, 0.05))


@pytest.mark.parametrize("make, shape, keys", [
    (lambda **kw: Dense(3, **kw), (4,), ("kernel", "bias")),
    (lambda **kw: Conv1D(2, 3, **kw), (6, 2), ("kernel", "bias")),
    (lambda **kw: Conv2D(2, (2, 2), **kw), (4, 4, 1), ("kernel", "bias")),
    (lambda **kw: SimpleRNN(3, **kw), (5, 2), ("kernel", "recurrent_kernel", "bias")),
    (lambda **kw: LSTM(3, unit_forget_bias=False, **kw), (5, 2), ("kernel", "recurrent_kernel", "bias")),
    (lambda **kw: GRU(3, **kw), (5, 2), ("kernel", "recurrent_kernel", "bias")),
])
def test_initializer_arguments_choose_the_initial_values(make, shape, keys):
    args = {"kernel": "kernel_initializer", "recurrent_kernel": "recurrent_initializer", "bias": "bias_initializer"}
    layer = make(**{args["kernel"]: "ones", args["bias"]: initializers.Constant(0.5),
                    **({args["recurrent_kernel"]: initializers.Identity(2.0)} if "recurrent_kernel" in keys
                       else {})})
    params = layer.init(np.random.default_rng(0), shape)
    assert list(params) == list(keys)  # creation order: kernel, recurrent kernel, bias (Keras's weights order)
    assert np.all(params["kernel"] == 1.0) and np.all(params["bias"] == 0.5)
    if "recurrent_kernel" in keys:
        n = layer.units
        np.testing.assert_array_equal(params["recurrent_kernel"], 2.0 * np.eye(n, layer.gates * n))


def test_a_seeded_initializer_gives_its_values_in_any_model_and_an_unseeded_one_follows_the_model_seed():
    def kernel(seed, init):
        model = physnn.Sequential([Input((3,)), Dense(4, kernel_initializer=init)], seed=seed)
        return np.asarray(model.params[model.layers[0].name]["kernel"])

    np.testing.assert_array_equal(kernel(0, initializers.HeNormal(seed=9)), kernel(5, initializers.HeNormal(seed=9)))
    np.testing.assert_array_equal(kernel(0, initializers.HeNormal(seed=9)),
                                  initializers.HeNormal(seed=9).sample(None, (3, 4)))
    np.testing.assert_array_equal(kernel(1, "he_normal"), kernel(1, "he_normal"))
    assert not np.array_equal(kernel(1, "he_normal"), kernel(2, "he_normal"))
    w = kernel(3, "he_normal")
    assert np.abs(w).max() <= 2 * np.sqrt(2 / 3) / 0.87962566103423978 + 1e-6  # truncated He normal


def test_lstm_unit_forget_bias_and_bias_initializer_as_keras():
    ones = LSTM(2, bias_initializer="ones").init(np.random.default_rng(0), (4, 3))["bias"]
    np.testing.assert_array_equal(ones, np.ones(8))
    seeded = LSTM(2, bias_initializer=initializers.RandomNormal(seed=1)).init(np.random.default_rng(0), (4, 3))
    b = np.asarray(seeded["bias"])
    assert np.all(b[2:4] == 1.0) and np.all(b[[0, 1, 4, 5, 6, 7]] != 1.0)
    np.testing.assert_array_equal(LSTM(2, unit_forget_bias=False).init(np.random.default_rng(0), (4, 3))["bias"],
                                  np.zeros(8))
    assert GRU(2, bias_initializer="ones").init(np.random.default_rng(0), (4, 3))["bias"].shape == (2, 6)


def test_embeddings_initializer_and_regularizer():
    layer = Embedding(6, 2, embeddings_initializer=initializers.Constant(0.25),
                      embeddings_regularizer=regularizers.L1(2.0))
    params = layer.init(np.random.default_rng(0), (3,))
    np.testing.assert_array_equal(params["embeddings"], np.full((6, 2), 0.25))
    assert float(layer.regularization(params)) == pytest.approx(2.0 * 12 * 0.25)


# ----------------------------------------------------------------------------------------- penalties


def _params(layer, shape):
    with jax.enable_x64(True):
        p = layer.init(np.random.default_rng(1), shape)
        return jax.tree_util.tree_map(lambda a: jnp.asarray(np.random.default_rng(2).normal(size=a.shape)), p)


@pytest.mark.parametrize("make, shape", [
    (lambda **kw: Dense(3, **kw), (4,)),
    (lambda **kw: Conv2D(2, (2, 2), **kw), (3, 3, 2)),
    (lambda **kw: SimpleRNN(3, **kw), (4, 2)),
    (lambda **kw: LSTM(2, **kw), (4, 2)),
    (lambda **kw: GRU(2, **kw), (4, 2)),
])
def test_each_weight_regularizer_penalises_its_weight(make, shape):
    recurrent = isinstance(make(), (SimpleRNN, LSTM, GRU))
    args = {"kernel_regularizer": regularizers.L2(0.5), "bias_regularizer": regularizers.L1(0.25)}
    if recurrent:
        args["recurrent_regularizer"] = regularizers.L1L2(0.125, 2.0)
    layer = make(**args)
    with jax.enable_x64(True):
        params = _params(layer, shape)
        p = {k: np.asarray(v) for k, v in params.items()}
        expected = 0.5 * np.sum(p["kernel"] ** 2) + 0.25 * np.sum(np.abs(p["bias"]))
        if recurrent:
            expected += 0.125 * np.sum(np.abs(p["recurrent_kernel"])) + 2.0 * np.sum(p["recurrent_kernel"] ** 2)
        assert float(layer.regularization(params)) == pytest.approx(expected, rel=1e-12)
        assert make().regularization(params) == 0.0
        assert make(trainable=False, **args).regularization(params) == 0.0  # Keras: trainable weights only


def test_bidirectional_penalises_both_copies():
    layer = Bidirectional(LSTM(2, kernel_regularizer=regularizers.L2(1.0)))
    with jax.enable_x64(True):
        params = _params(layer, (4, 3))
        expected = sum(np.sum(np.asarray(params[d]["kernel"]) ** 2) for d in ("forward", "backward"))
        assert float(layer.regularization(params)) == pytest.approx(expected, rel=1e-12)


def _model(**dense_args):
    return physnn.Sequential([Input((3,)), Dense(4, activation="tanh", name="hidden", **dense_args),
                              Dense(2, name="out")], seed=1)


def test_weight_penalties_enter_evaluate_and_fit():
    plain, penalised = _model(), _model(kernel_regularizer=regularizers.L2(0.1), bias_regularizer="l1")
    for model in (plain, penalised):
        model.compile(optimizer="sgd", loss="mse")
    p = penalised.params["hidden"]
    extra = 0.1 * np.sum(np.asarray(p["kernel"]) ** 2) + 0.01 * np.sum(np.abs(np.asarray(p["bias"])))
    assert penalised.evaluate(X, Y) == pytest.approx(plain.evaluate(X, Y) + extra, rel=1e-5)
    plain.fit(X, Y, epochs=3, verbose=0)
    penalised.fit(X, Y, epochs=3, verbose=0)
    assert not np.allclose(plain.params["hidden"]["kernel"], penalised.params["hidden"]["kernel"])
    np.testing.assert_array_equal(plain.params["out"]["kernel"] != penalised.params["out"]["kernel"], True)


def test_activity_regularizer_adds_r_of_the_output_over_the_batch_size():
    plain, penalised = _model(), _model(activity_regularizer=regularizers.L2(0.3))
    for model in (plain, penalised):
        model.compile(optimizer="sgd", loss="mse")
    p = {k: np.asarray(v, np.float64) for k, v in penalised.params["hidden"].items()}
    hidden = np.tanh(X @ p["kernel"] + p["bias"])
    expected = 0.3 * np.sum(hidden**2) / len(X)  # Keras 3: divided by the batch size
    assert penalised.evaluate(X, Y) == pytest.approx(plain.evaluate(X, Y) + expected, rel=1e-5)
    np.testing.assert_array_equal(penalised.predict(X), plain.predict(X))  # a penalty, not a change of the output
    history = penalised.fit(X, Y, epochs=1, batch_size=len(X), verbose=0)  # one batch: the loss before the step
    assert history.history["loss"][0] == pytest.approx(plain.evaluate(X, Y) + expected, rel=1e-5)
    plain.fit(X, Y, epochs=1, batch_size=len(X), verbose=0)
    assert not np.allclose(plain.params["hidden"]["kernel"], penalised.params["hidden"]["kernel"])  # its gradient


def test_add_weight_regularizers_of_a_custom_layer_are_summed():
    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", regularizer=regularizers.L2(0.5),
                                     name="w")

        def call(self, x):
            return x * self.w[None, :]

    model = physnn.Sequential([Input((3,)), Scale(name="scale")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((2, 3))
    assert model.evaluate(x, x) == pytest.approx(0.5 * 3)


# ------------------------------------------------------------------------------------- configurations


def test_weight_arguments_round_trip_through_serialize_and_a_model_file(tmp_path):
    layer = Dense(3, kernel_initializer=initializers.HeNormal(seed=2), bias_initializer="ones",
                  kernel_regularizer=regularizers.L1L2(0.1, 0.2), activity_regularizer="l2", name="d")
    data = json.loads(json.dumps(serialize(layer)))
    config = data["config"]
    assert config["kernel_initializer"] == {"module": "initializers", "class_name": "HeNormal",
                                            "config": {"seed": 2}}
    assert config["bias_initializer"] == "ones" and config["activity_regularizer"] == "l2"
    assert config["kernel_regularizer"] == {"module": "regularizers", "class_name": "L1L2",
                                            "config": {"l1": 0.1, "l2": 0.2}}
    assert "bias_regularizer" not in config  # defaults are not written
    rebuilt = deserialize(data)
    assert rebuilt.kernel_initializer == initializers.HeNormal(seed=2) and serialize(rebuilt) == data
    assert isinstance(rebuilt.activity_regularizer, regularizers.L2)

    model = physnn.Sequential([Input((4,)), layer, Dense(2, kernel_regularizer=regularizers.L2(0.5))])
    model.compile(optimizer=physnn.optimizers.Adam(), loss="mse")
    x, y = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 2))
    path = model.save(tmp_path / "m.keras")
    loaded = physnn.load_model(path)
    assert loaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-6)
    assert serialize(loaded.layers[0]) == data


@pytest.mark.parametrize("data, message", [
    ({"module": "initializers", "class_name": "os.system", "config": {}}, "unknown initializer class"),
    ({"module": "regularizers", "class_name": "L2", "config": {"l3": 1}}, r"unknown configuration key\(s\)"),
    ({"module": "regularizers", "class_name": "L2", "config": {"l2": -1}}, "l2 must be"),
])
def test_crafted_weight_argument_configurations_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        deserialize({"class_name": "Dense", "config": {"units": 2, "kernel_regularizer": data}})


@pytest.mark.parametrize("kwargs, message", [
    ({"kernel_initializer": "glorot"}, r"Layer 'bad' \(Dense\): kernel_initializer='glorot' is not known"),
    ({"bias_regularizer": "l3"}, r"Layer 'bad' \(Dense\): bias_regularizer='l3' is not known"),
    ({"activity_regularizer": 5}, "activity_regularizer=5"),
])
def test_bad_weight_arguments_name_the_layer_and_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dense(2, name="bad", **kwargs)


def test_a_custom_initializer_function_works_but_cannot_be_saved():
    layer = Dense(2, kernel_initializer=lambda shape, dtype=None: np.full(shape, 3.0))
    np.testing.assert_array_equal(layer.init(np.random.default_rng(0), (2,))["kernel"], np.full((2, 2), 3.0))
    with pytest.raises(ValueError, match="kernel_initializer=.*custom callable.*physnn.initializers"):
        serialize(layer)


def test_keras_course_code_runs_with_only_the_imports_changed(tmp_path):
    """A Keras script of the course with ``import keras`` replaced by physnn's namespaces."""
    from physnn import initializers, layers, losses, models, optimizers, regularizers, utils
    from physnn.layers import Dense  # noqa: F811

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4))
    y = utils.to_categorical((x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int), num_classes=3)
    model = models.Sequential([
        layers.Input(shape=(4,)),
        Dense(16, activation="relu", kernel_initializer=initializers.HeNormal(), bias_initializer="zeros",
              kernel_regularizer=regularizers.l2(1e-4)),
        layers.Dropout(0.1),
        Dense(3, activation="softmax", kernel_initializer="glorot_uniform"),
    ])
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-2), loss=losses.CategoricalCrossentropy(),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=40, batch_size=16, validation_split=0.2, verbose=0)
    assert history.history["accuracy"][-1] > 0.8
    model.save(tmp_path / "course.keras")
    loaded = physnn.load_model(tmp_path / "course.keras")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert isinstance(loaded.optimizer, optimizers.Adam) and isinstance(loaded.loss, losses.CategoricalCrossentropy)
