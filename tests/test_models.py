"""Keras-style models: the iris example in the three styles, compile/fit/evaluate/predict, the training
objective (custom losses, regularisers), ragged batches, reproducibility and the errors for bad input."""

import re

import jax.numpy as jnp
import numpy as np
import pytest

import physnn as keras
from physnn import L2, TrainingDivergedError, layers
from physnn.schedulers import Constant

# ---------------------------------------------------------------------- the iris example, three styles


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, np.eye(3)[y], test_size=0.2, random_state=42)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# Layer names are given so the three styles trace to the same program (one compilation for all three).
def sequential_iris():
    return keras.Sequential([
        keras.Input((4,)),
        layers.Dense(8, activation="relu", name="hidden1"),
        layers.Dense(8, activation="relu", name="hidden2"),
        layers.Dense(3, activation="softmax", name="output"),
    ])


def functional_iris():
    inputs = keras.Input((4,))
    h = layers.Dense(8, activation="relu", name="hidden1")(inputs)
    h = layers.Dense(8, activation="relu", name="hidden2")(h)
    return keras.Model(inputs, layers.Dense(3, activation="softmax", name="output")(h))


class IrisNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden1 = layers.Dense(8, activation="relu", name="hidden1")
        self.hidden2 = layers.Dense(8, activation="relu", name="hidden2")
        self.out = layers.Dense(3, activation="softmax", name="output")

    def call(self, inputs, training=False):
        return self.out(self.hidden2(self.hidden1(inputs)))


def _train_iris(model, iris):
    X_train, X_test, y_train, y_test = iris
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=200, batch_size=8, validation_split=0.2, verbose=0)
    return history, model.evaluate(X_test, y_test), model.predict(X_test)


@pytest.fixture(scope="module")
def iris_results(iris):
    return {name: _train_iris(make(), iris) for name, make in
            (("sequential", sequential_iris), ("functional", functional_iris), ("subclassed", IrisNet))}


@pytest.mark.parametrize("style", ["sequential", "functional", "subclassed"])
def test_iris_reaches_93_percent_in_every_style(iris_results, iris, style):
    history, (loss, accuracy), prediction = iris_results[style]
    assert accuracy >= 0.93
    assert accuracy == pytest.approx(np.mean(prediction.argmax(1) == iris[3].argmax(1)), abs=1e-6)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.history["loss"]) == 200 and history.epoch == list(range(200))
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_the_three_styles_give_identical_predictions(iris_results):
    reference = iris_results["sequential"][2]
    for style in ("functional", "subclassed"):
        np.testing.assert_array_equal(iris_results[style][2], reference)


def test_summary_counts_parameters():
    model = sequential_iris()
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    for name, count in (("hidden1", 40), ("hidden2", 72), ("output", 27)):  # 4*8+8, 8*8+8, 8*3+3
        assert re.search(rf"{name} \(Dense\)\s+\(None, \d\)\s+{count}\b", text)
    assert "Total params: 139" in text and "Trainable params: 139" in text
    assert model.count_params() == 139 == functional_iris().count_params()
    assert [layer.name for layer in model.layers] == ["hidden1", "hidden2", "output"]


def test_summary_before_build_prints_what_is_known():
    text = keras.Sequential([layers.Dense(2, name="d")]).summary(print_fn=None)  # Keras 3 prints, not raises
    assert "d (Dense)" in text and "0 (unbuilt)" in text and "Total params: 0" in text


# ------------------------------------------------------------------------------ compile and names


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "nadam"},
     r"optimizer='nadam' is not known; valid names are "
     r"\['adagrad', 'adam', 'adamw', 'hessian_free', 'lbfgs', 'momentum', 'rmsprop', 'sgd'\]"),
    ({"loss": "hinje"},
     r"loss='hinje' is not known; valid names are \[.*'categorical_crossentropy'.*'mse'.*\]"),
    ({"metrics": ["f1"]}, r"metric='f1' is not known; valid names are \[.*'accuracy'.*'mae'.*\]"),
])
def test_unknown_names_list_the_valid_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras.Sequential([layers.Dense(1)]).compile(**kwargs)


def test_fit_and_evaluate_before_compile_explain():
    model = keras.Sequential([layers.Dense(1)])
    with pytest.raises(ValueError, match=r"call compile\(optimizer, loss, metrics\) before fit"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"call compile\(optimizer, loss, metrics\) before evaluate"):
        model.evaluate(np.ones((4, 2)), np.ones((4, 1)))


def test_predict_before_fit_builds_the_model():
    model = keras.Sequential([layers.Dense(5, activation="tanh"), layers.Dense(2)])
    assert not model.built
    y = model.predict(np.ones((3, 4)))
    assert model.built and y.shape == (3, 2) and model.count_params() == 4 * 5 + 5 + 5 * 2 + 2
    np.testing.assert_allclose(model.predict(np.ones((3, 4)), batch_size=2), y, rtol=1e-6)


# ------------------------------------------------------------------------------ shapes


def test_shape_mismatch_at_build_names_the_layer():
    with pytest.raises(ValueError, match=r"Layer 'bad_reshape' \(Reshape\) expects .*9 elements.*got \(8,\)"):
        keras.Sequential([keras.Input((4,)), layers.Dense(8), layers.Reshape((3, 3), name="bad_reshape")])
    message = r"Layer 'bad_conv' \(Conv1D\) expects input of shape \(length, channels\)"
    with pytest.raises(ValueError, match=message):
        layers.Conv1D(2, 3, name="bad_conv")(layers.Dense(4)(keras.Input((5,))))


def test_inputs_of_the_wrong_shape_name_the_model_and_the_shapes():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)], name="net")
    model.compile("sgd", "mse")
    message = "model 'net' expects inputs of shape (batch, *(3,)) per batch, got (10, 4)"
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fit(np.ones((10, 4)), np.ones((10, 1)), verbose=0)
    with pytest.raises(ValueError, match=re.escape("got (2, 5)")):
        model.predict(np.ones((2, 5)))


# ------------------------------------------------------------------------------ the training objective

X10 = np.random.default_rng(0).normal(size=(10, 3))
Y10 = X10 @ np.array([[1.0], [-2.0], [0.5]])


def _linear(seed=0, regularizer=None):
    return keras.Sequential([keras.Input((3,)), layers.Dense(1, name="out", kernel_regularizer=regularizer)],
                            seed=seed)


def test_evaluate_returns_loss_and_metrics_that_match_numpy(iris):
    X_train, X_test, y_train, y_test = iris
    model = sequential_iris()
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    result = model.evaluate(X_test, y_test)
    assert isinstance(result, list) and len(result) == 2
    p = model.predict(X_test)
    assert result[0] == pytest.approx(-np.mean(np.sum(y_test * np.log(p), axis=1)), rel=1e-5)
    assert result[1] == pytest.approx(np.mean(p.argmax(1) == y_test.argmax(1)))
    model.compile("adam", "categorical_crossentropy")
    assert isinstance(model.evaluate(X_test, y_test), float)


def test_ragged_last_batch_is_a_step_and_every_sample_counts():
    model = _linear()
    model.compile(Constant(0.05), "mse")
    initial = model.get_weights()
    model.fit(X10, Y10, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert int(model.opt_state["step"]) == 3  # 10 samples, batch 4: 4 + 4 + 2
    trained = model.get_weights()
    model.fit(X10, Y10, epochs=2, batch_size=4, verbose=0)
    assert int(model.opt_state["step"]) == 9
    for i in (0, 8, 9):  # the first sample, and both samples of the ragged tail batch
        model.set_weights(initial)
        model.opt_state = None
        y = Y10.copy()
        y[i] += 1.0
        model.fit(X10, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
        assert not np.array_equal(model.get_weights()[0], trained[0]), f"sample {i} had no influence"


def test_ragged_epoch_loss_is_the_sample_mean_of_the_batch_losses():
    model = _linear()
    model.compile(Constant(1e-9), "mse")  # the parameters barely move: every batch loss uses the initial ones
    p = model.predict(X10)
    history = model.fit(X10, Y10, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(np.mean((p - Y10) ** 2), rel=1e-5)


def test_custom_loss_callables_get_x_and_params_when_they_ask():
    model = _linear()
    seen = {}

    def plain(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred))

    def physics(y_true, y_pred, x=None, params=None):  # a residual against the first input + a weight term
        seen["x_shape"], seen["layers"] = x.shape, sorted(params)
        return jnp.mean((y_pred - x[:, :1]) ** 2) + jnp.sum(params["out"]["kernel"] ** 2)

    def only_params(y_true, y_pred, *, params):
        return jnp.sum(params["out"]["kernel"] ** 2)

    model.compile("adam", plain)
    p = model.predict(X10)
    assert model.evaluate(X10, Y10) == pytest.approx(np.mean(np.abs(Y10 - p)), rel=1e-5)
    kernel = model.get_weights()[0]
    model.compile("adam", physics)
    expected = np.mean((p - X10[:, :1]) ** 2) + np.sum(kernel**2)
    assert model.evaluate(X10, Y10) == pytest.approx(expected, rel=1e-5)
    assert seen == {"x_shape": (10, 3), "layers": ["out"]}
    model.compile("adam", only_params)
    assert model.evaluate(X10, Y10) == pytest.approx(np.sum(kernel**2), rel=1e-5)
    model.compile(keras.schedulers.Adam(0.1), physics)
    history = model.fit(X10, Y10, epochs=20, batch_size=5, verbose=0)
    assert seen["x_shape"] == (5, 3)  # the trainer passes each batch's inputs
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_kernel_regularizer_raises_the_loss_by_its_penalty():
    plain, regularised = _linear(seed=3), _linear(seed=3, regularizer=L2(0.5))
    for model in (plain, regularised):
        model.compile("sgd", "mse")
    np.testing.assert_array_equal(plain.predict(X10), regularised.predict(X10))
    kernel = regularised.get_weights()[0]
    assert kernel.shape == (3, 1)
    assert regularised.evaluate(X10, Y10) == pytest.approx(plain.evaluate(X10, Y10) + 0.5 * np.sum(kernel**2),
                                                           rel=1e-5)


def test_one_step_follows_the_gradient_of_loss_plus_penalty():
    """Constant(eta), one full batch: W <- W - eta (2/n X^T (XW + b - y) + 2 lam W), b <- b - eta 2/n sum(r)."""
    lam, eta = 0.5, 0.1
    model = _linear(seed=3, regularizer=L2(lam))
    model.compile(Constant(eta), "mse")
    kernel, bias = [w.astype(np.float64) for w in model.get_weights()]
    residual = X10 @ kernel + bias - Y10
    model.fit(X10, Y10, epochs=1, batch_size=10, verbose=0)
    new_kernel, new_bias = model.get_weights()
    np.testing.assert_allclose(new_kernel, kernel - eta * (2 / 10 * X10.T @ residual + 2 * lam * kernel), rtol=1e-5)
    np.testing.assert_allclose(new_bias, bias - eta * 2 / 10 * residual.sum(axis=0), rtol=1e-5)


# ------------------------------------------------------------------------------ reproducibility


def _dropout_model(seed):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh", name="h"),
                              layers.Dropout(0.2, name="drop"), layers.Dense(1, name="out")], seed=seed)
    model.compile("adam", "mse")
    return model


def _history(seed):
    model = _dropout_model(seed)
    return model, model.fit(X10, Y10, epochs=4, batch_size=3, validation_split=0.2, verbose=0)


@pytest.fixture(scope="module")
def seed1():
    return _history(seed=1)


def test_same_seed_gives_the_same_history_and_weights(seed1):
    model_a, history_a = seed1
    model_b, history_b = _history(seed=1)
    assert history_a.history == history_b.history
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_different_seeds_give_different_histories(seed1):
    assert seed1[1].history["loss"] != _history(seed=2)[1].history["loss"]


def test_fit_seed_fixes_shuffling_and_dropout():
    model = _dropout_model(seed=1)
    initial = model.get_weights()
    losses = {}
    for fit_seed in (5, 6, 5):
        model.set_weights(initial)
        model.opt_state = None
        history = model.fit(X10, Y10, epochs=3, batch_size=3, verbose=0, seed=fit_seed)
        assert losses.setdefault(fit_seed, history.history["loss"]) == history.history["loss"]
    assert losses[5] != losses[6]


def test_get_and_set_weights():
    model = _linear()
    weights = [w + 1.0 for w in model.get_weights()]
    model.set_weights(weights)
    for got, expected in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="set_weights"):
        model.set_weights(weights[:1])


# ------------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def compiled():
    model = _linear()
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("x, y, kwargs, message", [
    (X10, Y10[:5], {}, "x and y must have the same number of samples, got 10 and 5"),
    (np.where(np.eye(10, 3) > 0, np.nan, X10), Y10, {}, "x contains 3 NaN or infinite value(s)"),
    (X10, np.full_like(Y10, np.inf), {}, "y contains 10 NaN or infinite value(s)"),
    (X10, Y10, {"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    (X10, Y10, {"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    (X10, Y10, {"validation_split": 1.0}, "validation_split must be in [0, 1), got 1.0"),
    (X10, Y10, {"validation_data": (X10, Y10[:3])},
     "x_val and y_val must have the same number of samples, got 10"),
    (X10, Y10, {"validation_data": (X10,)}, "validation_data must be a pair (x_val, y_val)"),
], ids=["rows", "nan-x", "inf-y", "batch_size", "epochs", "validation_split", "val-rows", "val-pair"])
def test_bad_fit_arguments_raise_value_error_naming_them(compiled, x, y, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        compiled.fit(x, y, verbose=0, **kwargs)


def test_bad_layer_and_model_arguments():
    with pytest.raises(ValueError, match=re.escape("Dense: units must be a positive int, got 0")):
        layers.Dense(0)
    with pytest.raises(ValueError, match=r"activation='swoosh' is not known; valid names are \[.*'relu'.*\]"):
        layers.Dense(3, activation="swoosh")
    with pytest.raises(ValueError, match=r"Input\(\.\.\.\) must come first"):
        keras.Sequential([layers.Dense(3), keras.Input((3,))])
    with pytest.raises(ValueError, match="needs both inputs and outputs"):
        keras.Model(keras.Input((3,)), None)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        keras.Sequential([layers.Dense(1)], seed=-1)


def test_diverging_fit_names_the_epoch():
    model = _linear()
    model.compile(Constant(50.0), "mse")
    with pytest.raises(TrainingDivergedError, match=r"loss = (nan|inf) at epoch \d+.*eta=50.0"):
        model.fit(X10, 1e3 * Y10, epochs=200, batch_size=10, verbose=0)


def test_a_custom_layer_may_initialise_with_jnp_or_jax_random():
    """``Layer.init`` gets a NumPy generator; custom layers that build their arrays with jnp (or seed
    jax.random from it) work too, and the same model seed gives the same values."""
    import jax

    from physnn.layers import Layer

    class Scale(Layer):
        def init(self, rng, input_shape):
            key = jax.random.PRNGKey(int(rng.integers(2**31)))
            return {"w": jax.random.normal(key, input_shape), "b": jnp.zeros(input_shape)}

        def apply(self, params, x, *, key=None, training=False):
            return x * params["w"][None] + params["b"][None]

    def build():
        return keras.Sequential([layers.Input((3,)), Scale(), layers.Dense(2)], seed=7)

    first, second = build(), build()
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])
    assert first.predict(np.ones((4, 3))).shape == (4, 2)
