"""Model building with Keras's habits (issue 12, items 2-4): Input's batch shapes, one-element input/output lists,
fit's default batch size, Keras's rank rule for inputs and targets, weights in Keras's order, add_weight in
models and Keras-style layers, model(x) inside jax.grad/jit, stateful RNNs, TextVectorization, unbuilt
summaries and .keras files."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn.layers import GRU, Bidirectional, Dense, Embedding, Input, Layer, SimpleRNN, TextVectorization
from physnn.models import Model, Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 3)).astype(np.float32)
Y = RNG.normal(size=(12,)).astype(np.float32)


# --------------------------------------------------------------------------------------------- Input


def test_input_batch_shape_and_batch_size():
    a = Input(batch_shape=(None, 5, 1))
    b = Input((5, 1), batch_size=4)
    assert a.shape == (None, 5, 1) and a.sample_shape == (5, 1)
    assert b.shape == (4, 5, 1) and Dense(2)(b).shape == (4, 5, 2)
    with pytest.raises(ValueError, match="either shape"):
        Input((5,), batch_shape=(None, 5))
    with pytest.raises(ValueError, match="batch_shape"):
        Input(batch_shape=(None,))
    with pytest.raises(ValueError, match="batch_size"):
        Input((5,), batch_size=0)


def test_one_element_lists_are_the_one_input_model():
    inp = Input(batch_shape=(None, 3))
    out = Dense(1)(inp)
    listed = Model(inputs=[inp], outputs=[out])
    plain = Model(inp, out)
    assert not listed.multi_input
    for model in (listed, plain):
        model.compile("sgd", "mse")
        model.fit(X, Y, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(listed.predict(X), plain.predict(X), rtol=1e-6)
    assert listed.predict([X]).shape == (12, 1)  # fit([x], ...) / predict([x]) as Keras


def test_fit_batch_size_none_is_keras_32_or_the_inputs():
    model = Sequential([Input((3,)), Dense(1)])
    model.compile(physnn.Constant(0.01), "mse")
    model.fit(np.tile(X, (6, 1)), np.tile(Y, 6), epochs=1, batch_size=None, verbose=0)  # 72 samples
    assert int(model.opt_state["step"]) == 3  # 32 + 32 + 8
    inp = Input((3,), batch_size=6)
    declared = Model(inp, Dense(1)(inp))
    declared.compile(physnn.Constant(0.01), "mse")
    declared.fit(X, Y, epochs=1, verbose=0)
    assert int(declared.opt_state["step"]) == 2  # the Input's batch size: 6 + 6


# ------------------------------------------------------------------------------------- Keras's rank rule


def test_a_trailing_axis_of_one_is_added_or_squeezed_as_keras_does():
    column = Sequential([Input((1,)), Dense(4, activation="tanh"), Dense(1)])
    column.compile("adam", "mse")
    x = np.linspace(0, 1, 10)
    column.fit(x, x, epochs=1, verbose=0)  # x (n,) for a model on (1,); y (n,) for outputs (n, 1)
    np.testing.assert_array_equal(column.predict(x), column.predict(x[:, None]))
    flat = Sequential([Input((6,)), Dense(6)])
    flat.compile("adam", "mse")
    data = RNG.normal(size=(8, 6, 1))  # the CP3 week-4 data: (N, 200, 1) into Input(shape=(200,))
    flat.fit(data, data, epochs=1, verbose=0)
    np.testing.assert_array_equal(flat.predict(data), flat.predict(data[..., 0]))
    with pytest.raises(ValueError, match="expects inputs of shape"):
        flat.predict(RNG.normal(size=(8, 6, 2)))


# ------------------------------------------------------------------------------------ weights, Keras order


def test_get_weights_is_keras_order_kernel_before_bias():
    model = Sequential([Input((3,)), Dense(4, name="a"), Dense(2, name="b")])
    model.compile("sgd", "mse")
    model.fit(X, np.zeros((12, 2)), epochs=1, verbose=0)  # (after training, too: JAX sorts dict keys)
    kernel, bias = model.get_weights()[:2]
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    np.testing.assert_array_equal(kernel, model.params["a"]["kernel"])
    assert [w.shape for w in model.get_layer("b").get_weights()] == [(4, 2), (2,)]
    assert [w.shape for w in model.weights] == [(3, 4), (4,), (4, 2), (2,)]


def test_recurrent_and_bidirectional_weights_in_keras_order():
    model = Sequential([Input((5, 3)), Bidirectional(GRU(2), name="bi")])
    names = [path[1:] for path in model.weight_paths()]
    assert names == [("forward", "kernel"), ("forward", "recurrent_kernel"), ("forward", "bias"),
                     ("backward", "kernel"), ("backward", "recurrent_kernel"), ("backward", "bias")]


def test_set_weights_and_layer_set_weights_round_trip():
    model = Sequential([Input((3,)), Dense(4), Dense(1)])
    weights = [w + 1.0 for w in model.get_weights()]
    model.set_weights(weights)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    first = model.layers[0]
    first.set_weights([np.zeros((3, 4)), np.ones(4)])
    np.testing.assert_array_equal(model.get_weights()[1], np.ones(4))
    with pytest.raises(ValueError, match="has shape \\(3, 4\\), got \\(4, 3\\)"):
        first.set_weights([np.zeros((4, 3)), np.ones(4)])
    with pytest.raises(ValueError, match="takes a list of 2 arrays"):
        first.set_weights([np.zeros((3, 4))])
    assert Dense(3).get_weights() == []  # not built yet, as Keras


def test_trainable_and_non_trainable_weights():
    model = Sequential([Input((3,)), Dense(4, trainable=False), Dense(1)])
    assert [w.shape for w in model.trainable_weights] == [(4, 1), (1,)]
    assert [w.shape for w in model.non_trainable_weights] == [(3, 4), (4,)]
    assert model.get_layer(index=0) is model.layers[0]
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")


# -------------------------------------------------------------------------------------------- add_weight


class Falling(physnn.Model):
    def __init__(self):
        super().__init__()
        self.g = self.add_weight(shape=(), initializer="ones", name="g")
        self.h0 = self.add_weight(shape=(1,), initializer=physnn.initializers.Constant(3.0), trainable=False)

    def call(self, t):
        return self.h0[None, :] - 0.5 * self.g * t**2


def test_add_weight_in_a_subclassed_model_trains_and_stays_non_trainable_when_asked():
    t = np.linspace(0, 2, 64)[:, None]
    model = Falling()
    model.compile(physnn.optimizers.Adam(learning_rate=0.2), "mse")
    model.fit(t, 3.0 - 0.5 * 9.81 * t**2, epochs=200, batch_size=64, verbose=0)
    assert float(model.g) == pytest.approx(9.81, rel=1e-3)
    np.testing.assert_array_equal(model.h0.numpy(), [3.0])  # non-trainable: left as initialised
    assert [w.shape for w in model.trainable_weights] == [()]
    assert model.count_params() == 2 and model.layers == []
    assert "Trainable params: 1" in model.summary(print_fn=None)


def test_add_weight_is_read_by_the_loss_and_under_grad():
    model = Falling()
    model.build((1,))

    def loss(y_true, y_pred):
        return (y_true - y_pred) ** 2 + 0.0 * model.g  # a loss may read the model's weights

    model.compile("sgd", loss)
    model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=1, verbose=0)
    grad = jax.grad(lambda p: jnp.sum(model.apply(p, jnp.ones((2, 1)))))(model.params)
    assert float(grad["falling"]["g"]) == pytest.approx(-1.0)


def test_add_weight_models_save_and_load(tmp_path):
    physnn.register_serializable(Falling)
    model = Falling()
    model.build((1,))
    model.set_weights([np.array(5.0), np.array([2.0])])
    path = model.save(tmp_path / "falling.keras")
    loaded = physnn.load_model(path)
    assert float(loaded.g) == 5.0 and loaded.h0.numpy()[0] == 2.0


def test_add_weight_refuses_bad_arguments():
    model = physnn.Module()
    with pytest.raises(ValueError, match="shape"):
        model.add_weight(shape="x")
    with pytest.raises(ValueError, match="trainable"):
        model.add_weight(shape=(2,), trainable="yes")
    with pytest.raises(ValueError, match="initializer"):
        model.add_weight(shape=(2,), initializer="nope")
    model.add_weight(shape=(2,), name="w")
    with pytest.raises(ValueError, match="already has a weight named 'w'"):
        model.add_weight(shape=(2,), name="w")


class Linear(Layer):
    """Keras's custom-layer habit: weights made in build, used in call."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return jnp.matmul(inputs, self.w) + self.b[None, :]  # (the suite forbids implicit rank promotion)


def test_keras_style_custom_layer_builds_trains_and_matches_its_formula():
    model = Sequential([Input((3,)), Linear(2, name="lin")])
    assert model.output_shape == (2,) and Linear(4)(Input((3,))).shape == (None, 4)
    w, b = model.get_weights()
    np.testing.assert_allclose(model.predict(X), X @ w + b, rtol=1e-5)
    model.compile("adam", "mse")
    model.fit(X, np.zeros((12, 2)), epochs=2, verbose=0)
    assert not np.allclose(model.get_weights()[0], w)


# --------------------------------------------------------------------------------- model(x) in JAX code


def test_model_call_works_inside_grad_and_jit():
    model = Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(1)])
    x = jnp.asarray(X)
    grad = jax.grad(lambda x: jnp.sum(model(x)))(x)
    assert grad.shape == (12, 3) and jnp.all(jnp.isfinite(grad))
    np.testing.assert_allclose(jax.jit(model)(x), model.predict(X), rtol=1e-5)
    eager = model(X)
    assert isinstance(eager.numpy(), np.ndarray) and eager.numpy().shape == (12, 1)  # Keras's .numpy()


# -------------------------------------------------------------------------------------- stateful RNNs


def _stateful(batch=4):
    inp = Input(batch_shape=(batch, 3, 1))
    model = Model(inp, Dense(1)(SimpleRNN(2, stateful=True)(inp)))
    model.compile("sgd", "mse")
    return model


def test_stateful_models_refuse_devices_in_predict_and_evaluate():
    model, x = _stateful(), RNG.normal(size=(4, 3, 1))
    with pytest.raises(ValueError, match="devices: stateful layers"):
        model.predict(x, devices="all")
    with pytest.raises(ValueError, match="devices: stateful layers"):
        model.evaluate(x, np.zeros((4, 1)), devices="all")


def test_stateful_predict_continues_until_reset_states():
    model = _stateful()
    x = RNG.normal(size=(4, 3, 1))
    first, second = model.predict(x), model.predict(x)
    assert not np.allclose(first, second)  # the state carried from the first call
    model.reset_states()
    np.testing.assert_allclose(model.predict(x), first, rtol=1e-6)
    # a stateful layer on batches of 4 is the plain layer run on the concatenated time series
    plain = Model(inp := Input((6, 1)), Dense(1)(SimpleRNN(2)(inp)))
    plain.set_weights(model.get_weights())
    model.reset_states()
    model.predict(x)
    np.testing.assert_allclose(model.predict(x), plain.predict(np.concatenate([x, x], axis=1)), rtol=1e-5,
                               atol=1e-6)


def test_stateful_fit_with_a_ragged_batch_and_validation_split():
    model = _stateful()
    x, y = RNG.normal(size=(10, 3, 1)), RNG.normal(size=(10,))
    history = model.fit(x, y, epochs=2, validation_split=0.3, verbose=0)  # 7 train (4 + 3), 3 validation
    assert np.all(np.isfinite(history.history["val_loss"]))
    (state,) = model.state.values()
    assert state["h"].shape == (4, 2)
    with pytest.raises(ValueError, match="carries its state for batches of 4"):
        model.predict(x, batch_size=5)
    assert model.predict(x[:6]).shape == (6, 1)  # 4 + a ragged 2


# ----------------------------------------------------------------------------------- TextVectorization


def test_text_vectorization_vocabulary_and_ids():
    encoder = TextVectorization(max_tokens=6)
    encoder.adapt(["The film, the PLOT!", "the music"])
    assert encoder.get_vocabulary() == ["", "[UNK]", "the", "film", "music", "plot"]
    np.testing.assert_array_equal(encoder(["plot twist the"]), [[5, 1, 2, 0]])  # padded to adapt's longest
    with pytest.raises(ValueError, match="max_tokens"):
        TextVectorization(max_tokens=1)


def test_text_model_takes_strings_and_saves_its_vocabulary(tmp_path):
    texts = np.array(["good good fun", "bad dull", "fun and good", "dull and bad plot"])
    encoder = TextVectorization()
    encoder.adapt(texts)
    model = Sequential([encoder, Embedding(encoder.vocabulary_size(), 4, mask_zero=True), GRU(3), Dense(1)])
    model.compile("adam", "mse")
    model.fit(texts, np.array([1.0, 0.0, 1.0, 0.0]), epochs=2, verbose=0)
    loaded = physnn.load_model(model.save(tmp_path / "text.keras"))
    np.testing.assert_allclose(loaded.predict(["good fun"]), model.predict(["good fun"]), rtol=1e-6)


# ------------------------------------------------------------------------------- unbuilt models, files


def test_summary_of_an_unbuilt_model_lists_the_layers():
    class Net(physnn.Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(3, name="hidden")

        def call(self, x):
            return self.hidden(x)

    assert "hidden (Dense)" in Net().summary(print_fn=None)


def test_save_writes_exactly_the_keras_path(tmp_path):
    model = Sequential([Input((3,)), Dense(1)])
    path = model.save(tmp_path / "x.keras")
    assert os.listdir(tmp_path) == ["x.keras"] and str(path).endswith("x.keras")
    np.testing.assert_array_equal(physnn.load_model(tmp_path / "x.keras").predict(X), model.predict(X))


def test_an_integral_float_of_units_is_taken_with_a_warning():
    with pytest.warns(UserWarning, match="units=125.0 is a float; using 125"):
        layer = Dense(125.0)  # the Oslo notes' Dense(hidden_neurons/2)
    assert layer.units == 125 and Sequential([Input((2,)), layer]).output_shape == (125,)
    with pytest.raises(ValueError, match="units must be a positive int"):
        Dense(2.5)


def test_masked_padding_gives_the_unpadded_result():
    """Embedding(mask_zero=True): padded steps leave the recurrent state as it was, so a padded batch gives what
    the unpadded sequences give, for every recurrent layer and the Bidirectional wrapper (Keras's masking)."""
    from physnn.layers import LSTM

    ids = RNG.integers(1, 10, (5, 4))
    padded = np.concatenate([ids, np.zeros((5, 2), int)], axis=1)
    for make in (lambda: GRU(3), lambda: Bidirectional(LSTM(3)), lambda: SimpleRNN(3, return_sequences=True)):
        long = Sequential([Input((6,)), Embedding(10, 4, mask_zero=True), make()])
        short = Sequential([Input((4,)), Embedding(10, 4, mask_zero=True), make()])
        short.set_weights(long.get_weights())
        got = long.predict(padded)
        np.testing.assert_allclose(got[:, :4] if got.ndim == 3 else got, short.predict(ids), atol=1e-6)
    plain_long, plain_short = (Sequential([Input((n,)), Embedding(10, 4), GRU(3)]) for n in (6, 4))
    plain_short.set_weights(plain_long.get_weights())  # without the mask the padding changes the result
    assert not np.allclose(plain_long.predict(padded), plain_short.predict(ids), atol=1e-3)


def test_keras_loss_names_compile_train_and_load(tmp_path):
    model = Sequential([Input((3,)), Dense(1)])
    model.compile("adam", "huber")
    model.fit(X, Y, epochs=1, verbose=0)
    assert physnn.load_model(model.save(tmp_path / "h.keras")).loss == "huber"
    with pytest.raises(ValueError, match="loss='hinje' is not known"):
        model.compile("adam", "hinje")


def test_layer_normalization_with_random_scale_and_shift_equals_torch():
    import torch

    from physnn.layers import LayerNormalization

    layer = LayerNormalization(epsilon=1e-3)
    params = {"gamma": RNG.normal(size=6).astype(np.float32), "beta": RNG.normal(size=6).astype(np.float32)}
    x = RNG.normal(size=(3, 4, 6)).astype(np.float32)
    ref = torch.nn.LayerNorm(6, eps=1e-3)
    ref.load_state_dict({"weight": torch.tensor(params["gamma"]), "bias": torch.tensor(params["beta"])})
    np.testing.assert_allclose(layer.apply(params, x), ref(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_masked_global_average_pooling_averages_the_unpadded_steps():
    from physnn.layers import GlobalAveragePooling1D

    ids = RNG.integers(1, 10, (5, 4))
    padded = np.concatenate([ids, np.zeros((5, 3), int)], axis=1)
    long, short = (Sequential([Input((n,)), Embedding(10, 4, mask_zero=True), GlobalAveragePooling1D()])
                   for n in (7, 4))
    short.set_weights(long.get_weights())
    np.testing.assert_allclose(long.predict(padded), short.predict(ids), rtol=1e-6)


@pytest.mark.parametrize("kernel, stride", [(3, 2), (4, 2), (2, 3), (5, 3), (3, 1)])
def test_conv_transpose_lengths_and_same_padding_follow_keras(kernel, stride):
    """Keras's lengths: 'valid' n s + max(k - s, 0), 'same' n s; 'same' is the full scatter cropped by
    max(k - s, 0) with the odd element at the end (values checked against Keras 3.15 when written; the full
    scatter against torch.nn.ConvTranspose1d in the layer harness)."""
    from physnn.layers import Conv1DTranspose

    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    valid, same = Conv1DTranspose(4, kernel, strides=stride), Conv1DTranspose(4, kernel, strides=stride, padding="same")
    params = valid.init(np.random.default_rng(0), (5, 3))
    full, cropped = np.asarray(valid.apply(params, x)), np.asarray(same.apply(params, x))
    assert full.shape[1] == 5 * stride + max(kernel - stride, 0) and cropped.shape[1] == 5 * stride
    low = max(kernel - stride, 0) // 2
    np.testing.assert_allclose(cropped, full[:, low:low + 5 * stride], atol=1e-6)


def test_batch_normalization_equals_torch_in_both_modes_and_updates_its_moving_statistics():
    """Training: batch statistics (torch's train mode); inference: the moving ones (torch's eval mode, its
    buffers set to them); after one fit step moving = m moving + (1 - m) batch (Keras's rule, biased variance)."""
    import torch

    from physnn.layers import BatchNormalization

    x = RNG.normal(1.5, 2.0, size=(16, 5, 3)).astype(np.float32)
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3)
    p = {"gamma": RNG.normal(size=3), "beta": RNG.normal(size=3), "moving_mean": RNG.normal(size=3),
         "moving_variance": RNG.uniform(0.5, 2.0, size=3)}
    p = {k: v.astype(np.float32) for k, v in p.items()}
    ref = torch.nn.BatchNorm1d(3, eps=1e-3)
    ref.load_state_dict({"weight": torch.tensor(p["gamma"]), "bias": torch.tensor(p["beta"]),
                         "running_mean": torch.tensor(p["moving_mean"]),
                         "running_var": torch.tensor(p["moving_variance"]), "num_batches_tracked": torch.tensor(0)})
    xt = torch.tensor(x).transpose(1, 2)
    for training in (False, True):
        ref.train(training)
        want = ref(xt).transpose(1, 2).detach().numpy()
        np.testing.assert_allclose(layer.apply(p, x, training=training), want, atol=1e-5)

    model = Sequential([Input((5, 3)), BatchNormalization(momentum=0.9, name="bn"), Dense(1)])
    model.compile(physnn.optimizers.SGD(learning_rate=1e-9), "mse")
    model.fit(x, np.zeros((16, 5, 1)), epochs=1, batch_size=16, verbose=0)
    bn = model.get_layer("bn")
    mean, var = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).var(0)
    moving_mean, moving_variance = bn.get_weights()[2:]
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * var, rtol=1e-5)
    assert [w.shape for w in model.non_trainable_weights] == [(3,), (3,)]
    np.testing.assert_allclose(model.predict(x), model.predict(x))  # inference: no update, same numbers
    frozen = BatchNormalization(trainable=False)  # Keras: a frozen BatchNormalization runs in inference mode
    np.testing.assert_allclose(frozen.apply(p, x, training=True), layer.apply(p, x, training=False), atol=1e-6)
