"""Failing-but-correct tests for bugs found while writing the suite (not in tests/, so CI stays green)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn as keras
from physnn import ReduceLROnPlateau, layers, schedulers
from physnn.costs import CostLogReg, CostMAE, CostOLS, as_loss

X10 = np.random.default_rng(0).normal(size=(10, 3))
Y10 = X10 @ np.array([1.0, -2.0, 0.5])  # 1-D targets


# 1 -- layers/context.py: functional models with merge layers cannot be built
def test_functional_model_with_a_merge_layer_builds_and_round_trips(tmp_path):
    inputs = keras.Input((4,))
    a, b = layers.Dense(3)(inputs), layers.Dense(3)(inputs)
    model = keras.Model(inputs, layers.Concatenate()([a, b]))
    assert model.predict(np.ones((2, 4))).shape == (2, 6)
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(keras.load_model(tmp_path / "m.npz").predict(np.ones((2, 4))),
                                  model.predict(np.ones((2, 4))))


# 2 -- models.py: targets are not checked against the model's output shape
def test_1d_targets_of_a_single_output_model_are_a_column():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("adam", "mse")
    assert model.evaluate(X10, Y10) == pytest.approx(model.evaluate(X10, Y10[:, None]), rel=1e-6)


@pytest.mark.parametrize("loss, y", [("mse", np.ones((10, 2))), ("categorical_crossentropy", np.ones((10, 1)))])
def test_target_width_mismatch_is_a_value_error_naming_y(loss, y):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", loss)
    with pytest.raises(ValueError, match=r"y.*\(10, \d\).*3"):
        model.fit(X10, y, verbose=0)


# 3 -- saving.py: some damaged/foreign files escape as other exception types
def test_a_npy_file_is_a_value_error(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(ValueError, match="not a"):
        keras.load_model(tmp_path / "a.npy")


def test_every_flipped_byte_is_a_value_error_or_harmless(tmp_path):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    model.save(tmp_path / "good.npz")
    good, x = (tmp_path / "good.npz").read_bytes(), np.ones((2, 4))
    for at in range(0, len(good), 3):
        data = bytearray(good)
        data[at] ^= 0xFF
        (tmp_path / "bad.npz").write_bytes(bytes(data))
        try:
            loaded = keras.load_model(tmp_path / "bad.npz")
        except ValueError:
            continue
        # a flip in an unused zip field (e.g. a timestamp) may load: then it must be the same model
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# 4 -- models.py: History is called before ReduceLROnPlateau adds "lr_scale" to the logs
def test_history_records_lr_scale():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(X10, Y10[:, None], epochs=3, callbacks=[ReduceLROnPlateau("loss", patience=1)], verbose=0)
    assert len(history.history["lr_scale"]) == 3


# 6 -- schedulers.py: float64 users get float32 bias corrections and learning rates
def test_adam_first_step_is_eta_in_float64():
    with jax.enable_x64(True):
        opt = schedulers.adam(0.1)
        change, _ = opt.update(jnp.asarray([1.0, -2.0]), opt.init(jnp.zeros(2)))
        np.testing.assert_allclose(np.asarray(change), [0.1 / (1 + 1e-8), -0.2 / (2 + 1e-8)], rtol=1e-12)


# 7 -- costs.py: as_loss(course cost) differs from the course cost for several outputs
@pytest.mark.parametrize("cost", [CostOLS, CostMAE, CostLogReg])
def test_as_loss_of_a_course_cost_equals_it_for_several_outputs(cost):
    rng = np.random.default_rng(0)
    t, y = rng.uniform(0.1, 0.9, (5, 3)), rng.uniform(0.1, 0.9, (5, 3))
    assert float(as_loss(cost)(jnp.asarray(t), jnp.asarray(y))) == pytest.approx(float(cost(t)(y)), rel=1e-6)


# 9 -- schedulers.py: a bool passes as eta
def test_bool_eta_is_refused():
    with pytest.raises(ValueError, match="eta"):
        schedulers.Adam(True)


# 5 -- models.py: a functional model with a list of outputs cannot be built
def test_functional_model_with_two_outputs_builds_and_predicts():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, [layers.Dense(2)(inputs), layers.Dense(1)(inputs)])
    out = model.predict(np.ones((3, 4)))
    assert [o.shape for o in out] == [(3, 2), (3, 1)]
