"""physnn.sequences: windows, the course's presets and the autoregressive extrapolation."""

import numpy as np
import pytest

from physnn.datasets import vary_dimension
from physnn.ffnn import FFNN
from physnn.layers import Dense, Input, SimpleRNN
from physnn.models import Sequential
from physnn.sequences import PRESETS, extrapolate, preset, windows

# Keras 3.15's count_params() for the same layers on windows (2, 1) (checked against keras.Sequential).
KERAS_PARAM_COUNTS = {"rnn": 40_601, "rnn_2layers": 752_001, "lstm_2layers": 753_251, "dnn2_gru2": 675_501}


def manual_rollout(predict, history, length, steps):
    """The course's test_rnn loop in plain Python: predict the next value from the last window, append it."""
    series = np.asarray(history, dtype=np.float32)
    series = series[:, None] if series.ndim == 1 else series
    out = []
    for _ in range(steps):
        window = series[-length:][None]  # [1, L, features]
        nxt = np.asarray(predict(window), dtype=np.float32).reshape(-1)
        out.append(nxt)
        series = np.concatenate([series, nxt[None]], axis=0)
    return np.stack(out)


def small_rnn(length, features, seed=0, stateful=False):
    model = Sequential([SimpleRNN(6, stateful=stateful), Dense(features)], seed=seed)
    model.build((length, features))
    model.compile("adam", "mse")
    return model


@pytest.fixture(scope="module")
def series2():
    t = np.linspace(0.0, 4.0, 25)
    return np.stack([np.sin(t), 0.5 * np.cos(2 * t)], axis=1)  # [25, 2]


# --- windows -------------------------------------------------------------------------------------------


def test_windows_multi_feature_and_horizon(series2):
    X, y = windows(series2, 3)
    assert X.shape == (22, 3, 2) and y.shape == (22, 2)
    np.testing.assert_array_equal(X[5], series2[5:8])
    np.testing.assert_array_equal(y[5], series2[8])
    X, y = windows(series2, 3, horizon=2)
    assert X.shape == (21, 3, 2) and y.shape == (21, 2, 2)
    np.testing.assert_array_equal(y[-1], series2[-2:])


# --- presets -------------------------------------------------------------------------------------------


def test_presets_match_the_course_layers_and_keras_parameter_counts():
    assert PRESETS == ("rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2")
    for name in PRESETS:
        model = preset(name, 2)
        assert model.input_shape == (2, 1) and model.output_shape == (1,)
        assert model.count_params() == KERAS_PARAM_COUNTS[name], name
        assert model.loss == "mse" and model.optimizer is not None


def test_preset_shapes_with_several_features():
    model = preset("rnn", 4, features=3, seed=1)
    assert model.input_shape == (4, 3) and model.output_shape == (3,)
    assert model.predict(np.zeros((5, 4, 3))).shape == (5, 3)


def test_preset_seeds_and_the_input_first_construction():
    """Same seed, same weights; another seed, other weights; and preset (built once, at the end) gives the
    weights of Sequential([Input(...), layers...]) with that seed."""
    weights = preset("rnn", 2, seed=3).get_weights()
    reference = Sequential([Input((2, 1)), SimpleRNN(200), Dense(1)], seed=3).get_weights()
    other = preset("rnn", 2, seed=4).get_weights()
    for a, b in zip(weights, reference, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(weights, other, strict=True))


def test_preset_errors():
    with pytest.raises(ValueError, match="rnn, rnn_2layers, lstm_2layers, dnn2_gru2"):
        preset("gru", 2)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="length"):
            preset("rnn", bad)
    with pytest.raises(ValueError, match="features"):
        preset("rnn", 2, features=0)


# --- extrapolate: shapes and equality with a manual roll-out of model.predict ----------------------------


def test_extrapolate_one_dimensional_recurrent_equals_manual_predict_loop():
    series = np.sin(np.linspace(0.0, 3.0, 15))
    model = small_rnn(3, 1, seed=4)
    out = extrapolate(model, series, 7)
    assert out.shape == (7,) and out.dtype == np.float32
    np.testing.assert_allclose(out, manual_rollout(model.predict, series, 3, 7)[:, 0], atol=1e-5)
    again = extrapolate(model, list(series), 7)  # compiled roll-out reused, plain lists accepted
    np.testing.assert_array_equal(out, again)


def test_extrapolate_multi_feature_recurrent(series2):
    model = small_rnn(4, 2, seed=5)
    out = extrapolate(model, series2, 6)
    assert out.shape == (6, 2)
    np.testing.assert_allclose(out, manual_rollout(model.predict, series2, 4, 6), atol=1e-5)


def test_extrapolate_flat_dense_model(series2):
    model = Sequential([Dense(8, activation="tanh"), Dense(2)], seed=6)
    model.build((3 * 2,))  # a window of 3 steps x 2 features, flattened
    out = extrapolate(model, series2, 5)
    assert out.shape == (5, 2)
    expected = manual_rollout(lambda w: model.predict(w.reshape(1, -1)), series2, 3, 5)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_extrapolate_ffnn_on_flattened_windows(series2):
    ffnn = FFNN((3 * 2, 7, 2), seed=7)
    out = extrapolate(ffnn, series2, 4)
    assert out.shape == (4, 2)
    expected = manual_rollout(lambda w: ffnn.predict(w.reshape(1, -1)), series2, 3, 4)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    one_d = extrapolate(FFNN((3, 5, 1), seed=8), series2[:, 0], 4)
    assert one_d.shape == (4,)


def test_extrapolate_plain_callable():
    def double_last(window):  # [1, L, 1] -> next value
        return 2.0 * window[0, -1]

    out = extrapolate(double_last, [0.0, 1.0, 3.0], 3, length=2)
    np.testing.assert_allclose(out, [6.0, 12.0, 24.0])
    out2 = extrapolate(lambda w: w[0, -1] + w[0, -2], np.ones((4, 2)), 2, length=2)
    np.testing.assert_allclose(out2, [[2.0, 2.0], [3.0, 3.0]])


def test_extrapolate_stateful_preset_starts_every_window_from_zero_state():
    """A stateful model carries a [batch, units] state from training; the roll-out must not use it (bug fixed:
    it raised a shape error) and must equal predict on each window."""
    series = np.sin(np.linspace(0.0, 6.0, 22))
    X, y = windows(series, 2)  # 20 samples
    model = preset("rnn", 2, seed=0, stateful=True)
    model.fit(X, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
    out = extrapolate(model, series, 4)

    def predict_from_zero_state(window):  # (predict itself continues the carried state, as Keras's)
        model.reset_states()
        return model.predict(window)

    np.testing.assert_allclose(out, manual_rollout(predict_from_zero_state, series, 2, 4)[:, 0], atol=1e-5)


def test_extrapolate_sees_further_training():
    """The weights are an argument of the compiled roll-out: after more training the result changes."""
    series = np.linspace(0.0, 1.0, 12)
    X, y = windows(series, 3)
    model = small_rnn(3, 1, seed=9)
    before = extrapolate(model, series, 3)
    model.fit(X, y, epochs=5, verbose=0)
    after = extrapolate(model, series, 3)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, manual_rollout(model.predict, series, 3, 3)[:, 0], atol=1e-5)


# --- extrapolate: errors ---------------------------------------------------------------------------------


def test_extrapolate_errors(series2):
    model = small_rnn(3, 1)
    with pytest.raises(ValueError, match="history has 2 time steps.*needs 3"):
        extrapolate(model, [1.0, 2.0], 4)
    for bad in (0, -2, 2.5, True, "3"):
        with pytest.raises(ValueError, match="steps must be an integer >= 1"):
            extrapolate(model, np.arange(5.0), bad)
    with pytest.raises(ValueError, match="NaN or infinite"):
        extrapolate(model, [1.0, np.nan, 2.0, 3.0], 2)
    with pytest.raises(ValueError, match="history must be"):
        extrapolate(model, np.zeros((2, 3, 1)), 2)
    with pytest.raises(ValueError, match="numeric"):
        extrapolate(model, ["a", "b", "c"], 2)
    with pytest.raises(ValueError, match="takes 1 feature"):
        extrapolate(model, series2, 2)
    with pytest.raises(ValueError, match="length=4 but the model takes windows of 3"):
        extrapolate(model, np.arange(5.0), 2, length=4)
    with pytest.raises(ValueError, match="not built"):
        extrapolate(Sequential([SimpleRNN(3), Dense(1)]), np.arange(5.0), 2)
    with pytest.raises(ValueError, match="takes 2 feature"):
        extrapolate(small_rnn(3, 2), np.arange(5.0), 2)
    wide = Sequential([SimpleRNN(3), Dense(2)], seed=0)
    wide.build((3, 1))
    with pytest.raises(ValueError, match="predicts 2 value.*1 feature"):
        extrapolate(wide, np.arange(5.0), 2)
    with pytest.raises(ValueError, match="predicts 3 value"):
        extrapolate(FFNN((2, 3), seed=0), np.arange(5.0), 2)
    with pytest.raises(ValueError, match="give length="):
        extrapolate(lambda w: w[0, -1], np.arange(5.0), 2)
    with pytest.raises(ValueError, match="predicts 2 value"):
        extrapolate(lambda w: np.zeros(2), np.arange(5.0), 2, length=2)
    with pytest.raises(ValueError, match="not a physnn model"):
        extrapolate("model", np.arange(5.0), 2)


# --- learning: the recommended recipe on the course's energies -------------------------------------------


def test_recommended_recipe_extrapolates_the_energies_to_1e_5():
    from physnn.experiments.sequences import constant_curvature, recommended_forecast

    _, energy = vary_dimension()
    forecast = recommended_forecast(energy[:12], 8, seed=0)
    mse = float(np.mean((forecast.prediction - energy[12:]) ** 2))
    assert mse <= 1e-5, mse
    assert forecast.history["loss"][-1] < 1e-4  # standardised second differences fitted
    reference = float(np.mean((constant_curvature(energy[:12], 8) - energy[12:]) ** 2))
    assert 5e-6 < reference < 8e-6  # the model-free parabola the module docstring quotes (6.2e-6)
