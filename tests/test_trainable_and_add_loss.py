"""Frozen layers, non-trainable weights and extra loss terms (add_loss), the Keras way, on the one engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn.layers import Dense, Input, Layer


def _data(n=32, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, k))


def _copy(params):
    return jax.tree_util.tree_map(np.array, params)


def _assert_same(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_a_frozen_layer_is_bit_identical_after_fit_and_the_others_train():
    x, y = _data()
    frozen = Dense(4, activation="tanh", trainable=False)
    model = physnn.Sequential([Input((3,)), frozen, Dense(2)], seed=1).compile("adam", "mse")
    before = _copy(model.params)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    _assert_same(model.params[frozen.name], before[frozen.name])
    last = model.layers[-1].name
    assert not np.allclose(model.params[last]["kernel"], before[last]["kernel"])


def test_setting_trainable_after_a_fit_takes_effect_in_the_next_fit():
    x, y = _data()
    model = physnn.Sequential([Input((3,)), Dense(4), Dense(2)], seed=1).compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    first = model.layers[0]
    first.trainable = False
    before = _copy(model.params[first.name])
    model.fit(x, y, epochs=2, verbose=0)
    _assert_same(model.params[first.name], before)
    first.trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(model.params[first.name]["kernel"], before["kernel"])


def test_no_gradient_is_computed_for_frozen_weights():
    from physnn.training import split_params

    x, y = _data()
    model = physnn.Sequential([Input((3,)), Dense(4, trainable=False), Dense(2)], seed=0).compile("sgd", "mse")
    train, fixed = split_params(model.params, model._frozen())
    assert jax.tree_util.tree_leaves(train[model.layers[0].name]) == []
    assert sorted(fixed[model.layers[0].name]) == ["bias", "kernel"]


def test_a_frozen_nested_model_is_frozen_inside_the_outer_one():
    x, y = _data()
    base = physnn.Sequential([Dense(4, activation="relu"), Dense(4)], name="base")
    model = physnn.Sequential([Input((3,)), base, Dense(2)], seed=0).compile("adam", "mse")
    base.trainable = False
    before = _copy(model.params)
    model.fit(x, y, epochs=2, verbose=0)
    for layer in base.layers:
        _assert_same(model.params[layer.name], before[layer.name])


def test_summary_counts_trainable_and_non_trainable_parameters():
    model = physnn.Sequential([Input((3,)), Dense(4, trainable=False), Dense(2)])
    text = model.summary(print_fn=None)
    assert "Total params: 26" in text and "Trainable params: 10" in text and "Non-trainable params: 16" in text


class FixedProjection(Layer):
    """y = x @ P + b with a fixed random P (a non-trainable weight by design) and a trained bias."""

    non_trainable_keys = ("P",)

    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = units

    def output_shape(self, input_shape):
        return (self.units,)

    def init(self, rng, input_shape):
        return {"P": rng.normal(size=(input_shape[-1], self.units)), "b": np.zeros(self.units)}

    def apply(self, params, x, *, key=None, training=False):
        return x @ params["P"] + params["b"][None, :]


def test_non_trainable_keys_are_not_trained_but_are_saved_counted_and_loaded(tmp_path):
    physnn.register_serializable(FixedProjection)
    x, y = _data()
    layer = FixedProjection(5)
    model = physnn.Sequential([Input((3,)), layer, Dense(2)], seed=0).compile("adam", "mse")
    before = _copy(model.params[layer.name])
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.params[layer.name]["P"], before["P"])
    assert not np.allclose(model.params[layer.name]["b"], before["b"])
    assert "Non-trainable params: 15" in model.summary(print_fn=None)
    model.save(tmp_path / "m.npz")
    loaded = physnn.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded._frozen() == ((loaded.layers[0].name, ("P",)),)


def test_trainable_false_round_trips_through_a_file(tmp_path):
    model = physnn.Sequential([Input((3,)), Dense(4, trainable=False), Dense(2)], seed=0)
    model.save(tmp_path / "m.npz")
    loaded = physnn.load_model(tmp_path / "m.npz")
    assert [layer.trainable for layer in loaded.layers] == [False, True]


def test_trainable_must_be_a_bool():
    with pytest.raises(ValueError, match="trainable must be True or False"):
        Dense(3, trainable="no")


class Penalised(physnn.Module):
    """A subclassed model adding an activity penalty with add_loss."""

    def __init__(self, weight=0.5, **kwargs):
        super().__init__(**kwargs)
        self.weight = weight
        self.hidden = Dense(4, activation="tanh")
        self.out = Dense(2)

    def call(self, inputs, training=False):
        h = self.hidden(inputs)
        self.add_loss(self.weight * jnp.mean(h ** 2))
        return self.out(h)


def _penalty(model, x):
    h = jnp.tanh(x @ model.params[model.hidden.name]["kernel"] + model.params[model.hidden.name]["bias"][None, :])
    return model.weight * float(jnp.mean(h ** 2))


def test_add_loss_in_call_enters_the_objective_and_evaluate():
    x, y = _data()
    model = Penalised().compile("sgd", "mse")
    model.build((3,))
    mse = float(np.mean((model.predict(x) - y) ** 2))
    np.testing.assert_allclose(model.evaluate(x, y), mse + _penalty(model, x), rtol=1e-5)
    assert _penalty(model, x) > 1e-3
    plain = Penalised(weight=0.0).compile("sgd", "mse")
    plain.build((3,))
    np.testing.assert_allclose(plain.evaluate(x, y), np.mean((plain.predict(x) - y) ** 2), rtol=1e-5)


def test_add_loss_changes_training_and_is_reported_with_validation_data():
    x, y = _data(64)
    histories = {}
    for weight in (0.0, 5.0):
        model = Penalised(weight=weight, seed=3).compile("adam", "mse")
        histories[weight] = model.fit(x, y, epochs=5, batch_size=16, validation_data=(x, y), verbose=0).history
        activity = float(np.mean(np.tanh(x @ np.asarray(model.params[model.hidden.name]["kernel"])) ** 2))
        histories[weight]["activity"] = activity
        np.testing.assert_allclose(histories[weight]["val_loss"][-1], model.evaluate(x, y), rtol=1e-5)
    assert histories[5.0]["activity"] < histories[0.0]["activity"], "the penalty must shrink the activity"
    assert histories[5.0]["loss"][0] > histories[0.0]["loss"][0]


class ActivityPenalty(Layer):
    """An identity layer adding rate * mean(x^2) to the loss (Keras's ActivityRegularization)."""

    def __init__(self, rate=1.0, name=None):
        super().__init__(name=name)
        self.rate = rate

    def apply(self, params, x, *, key=None, training=False):
        self.add_loss(self.rate * jnp.mean(x ** 2))
        return x


def test_add_loss_inside_a_layer_and_with_dropout_keys():
    x, y = _data()
    model = physnn.Sequential([Input((3,)), ActivityPenalty(2.0), physnn.layers.Dropout(0.2), Dense(2)],
                              seed=0).compile("adam", "mse")
    mse = float(np.mean((model.predict(x) - y) ** 2))
    np.testing.assert_allclose(model.evaluate(x, y), mse + 2.0 * float(np.mean(x ** 2)), rtol=1e-5)
    history = model.fit(x, y, epochs=2, verbose=0, seed=1)
    assert np.all(np.isfinite(history.history["loss"]))


def test_add_loss_outside_a_forward_pass_is_a_clear_error():
    with pytest.raises(ValueError, match="outside a model's forward pass"):
        ActivityPenalty().add_loss(1.0)
    with pytest.raises(ValueError, match="scalar"):
        model = physnn.Sequential([Input((3,)), ActivityPenalty()])
        model.layers[0].apply = lambda params, x, **k: (model.layers[0].add_loss(x), x)[1]
        model.compile("sgd", "mse").evaluate(np.ones((2, 3)), np.ones((2, 3)))


class Reporting(physnn.Module):
    """A subclassed model reporting its hidden activity with add_metric (not minimised)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(4, activation="tanh")
        self.out = Dense(2)

    def call(self, inputs, training=False):
        h = self.hidden(inputs)
        self.add_metric(jnp.mean(h ** 2), "activity")
        return self.out(h)


def test_add_metric_is_averaged_into_the_history_and_evaluate_but_not_minimised():
    x, y = _data(64)
    model = Reporting(seed=2).compile("sgd", "mse")
    history = model.fit(x, y, epochs=3, batch_size=64, validation_data=(x, y), verbose=0).history
    assert set(history) >= {"loss", "activity", "val_loss", "val_activity"}
    logs = model.evaluate(x, y, return_dict=True)
    assert set(logs) == {"loss", "activity"}
    kernel, bias = model.params[model.hidden.name]["kernel"], model.params[model.hidden.name]["bias"]
    np.testing.assert_allclose(logs["activity"], float(jnp.mean(jnp.tanh(x @ kernel + bias[None, :]) ** 2)), rtol=1e-5)
    np.testing.assert_allclose(history["val_activity"][-1], logs["activity"], rtol=1e-5)
    assert model.evaluate(x, y) == pytest.approx(logs["loss"])  # (no compiled metric: a float, as before)
    # the metric's gradient is stopped: the same run without it gives the same weights
    plain = Penalised(weight=0.0, seed=2)
    plain.hidden, plain.out = Dense(4, activation="tanh", name=model.hidden.name), Dense(2, name=model.out.name)
    plain.compile("sgd", "mse").fit(x, y, epochs=3, batch_size=64, verbose=0)
    for a, b in zip(jax.tree_util.tree_leaves(plain.params), jax.tree_util.tree_leaves(model.params)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_add_metric_refuses_bad_use():
    class Twice(Reporting):
        def call(self, inputs, training=False):
            self.add_metric(1.0, "activity")
            return super().call(inputs, training)

    class Clash(Reporting):
        def call(self, inputs, training=False):
            self.add_metric(1.0, "mae")
            return super().call(inputs, training)

    x, y = _data(8)
    with pytest.raises(ValueError, match="added twice"):
        Twice().compile("sgd", "mse").fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="clashes"):
        Clash().compile("sgd", "mse", metrics=["mae"]).fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="outside a model's forward pass"):
        Reporting().add_metric(1.0, "x")
