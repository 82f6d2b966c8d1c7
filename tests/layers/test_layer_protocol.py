"""Parameter counts (Keras's formulas), shape errors naming the layer, serialisation round trips."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn.activations import RELU
from physnn.costs import L2
from physnn.layers import (
    GRU,
    LAYERS,
    LSTM,
    AveragePooling2D,
    Bidirectional,
    Concatenate,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    Layer,
    MaxPooling1D,
    MaxPooling2D,
    Reshape,
    SimpleRNN,
    UpSampling2D,
    deserialize,
    serialize,
)

# (layer, per-sample input shape, Keras's count, the formula)
PARAM_COUNTS = [
    (Dense(10), (784,), 7850, "m n + n"),
    (Dense(10, use_bias=False), (784,), 7840, "m n"),
    (Conv1D(16, 5), (100, 8), 656, "k c f + f"),
    (Conv2D(32, (3, 3)), (28, 28, 1), 320, "kh kw c f + f"),
    (Conv2D(64, (3, 5)), (28, 28, 32), 30784, "kh kw c f + f"),
    (SimpleRNN(32), (10, 16), 1568, "m n + n^2 + n"),
    (LSTM(64), (10, 32), 24832, "4 (m n + n^2 + n)"),
    (GRU(64), (10, 32), 18816, "3 (m n + n^2 + 2 n), reset_after"),
    (GRU(64, reset_after=False), (10, 32), 18624, "3 (m n + n^2 + n)"),
    (Bidirectional(LSTM(64)), (10, 32), 49664, "2 x LSTM"),
    (Bidirectional(GRU(8, return_sequences=True)), (5, 4), 2 * 3 * (32 + 64 + 16), "2 x GRU"),
    (Embedding(1000, 64), (20,), 64000, "V d"),
    (MaxPooling2D(), (8, 8, 3), 0, "none"),
    (Flatten(), (8, 8, 3), 0, "none"),
    (Dropout(0.5), (8,), 0, "none"),
]


@pytest.mark.parametrize("layer, shape, expected, formula", PARAM_COUNTS,
                         ids=[f"{type(c[0]).__name__}-{c[2]}" for c in PARAM_COUNTS])
def test_parameter_counts_equal_keras(layer, shape, expected, formula):
    assert layer.count_params(shape) == expected, formula


SHAPE_ERRORS = [
    (Dense(3, name="dense_x"), ()),
    (Dense(3, name="dense_x"), (4, None)),
    (Conv2D(3, 3, name="conv_x"), (28, 28)),
    (Conv2D(3, 5, name="conv_x"), (4, 28, 1)),
    (Conv1D(3, 3, name="conv1_x"), (10, 2, 2)),
    (MaxPooling2D(3, name="pool_x"), (2, 8, 1)),
    (MaxPooling1D(name="pool1_x"), (8,)),
    (AveragePooling2D(name="avg_x"), (8, 8)),
    (UpSampling2D(name="up_x"), (8, 8)),
    (Flatten(name="flat_x"), (None, 3)),
    (Reshape((5, 5), name="reshape_x"), (4, 6)),
    (LSTM(4, name="lstm_x"), (10,)),
    (GRU(4, name="gru_x"), (10, None)),
    (Bidirectional(SimpleRNN(4), name="bi_x"), (10, 3, 2)),
]


@pytest.mark.parametrize("layer, shape", SHAPE_ERRORS, ids=[c[0].name + str(c[1]) for c in SHAPE_ERRORS])
def test_shape_errors_name_the_layer_and_the_received_shape(layer, shape):
    with pytest.raises(ValueError) as info:
        layer.output_shape(shape)
    message = str(info.value)
    assert f"'{layer.name}'" in message and type(layer).__name__ in message
    assert str(tuple(shape)) in message and "expects" in message


def test_symbolic_call_raises_the_layer_shape_error():
    with pytest.raises(ValueError, match="'conv_on_vector'"):
        Conv2D(3, 3, name="conv_on_vector")(Input((10,)))


@pytest.mark.parametrize("kwargs, arg", [({"units": 0}, "units"), ({"units": 2.5}, "units"),
                                         ({"units": 3, "activation": "nope"}, "activation"),
                                         ({"units": 3, "kernel_regularizer": "l3"}, "kernel_regularizer")])
def test_dense_bad_arguments_raise(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        Dense(**kwargs)


def _roundtrip(layer):
    data = json.loads(json.dumps(serialize(layer)))  # must be plain JSON
    return data, deserialize(data)


def test_serialize_roundtrip_configuration_variants():
    """Non-default arguments (regularisers, padding, merge modes...); every registered layer's round trip with
    its default configuration is in the harness (test_harness.py)."""
    examples = [Dense(3, activation=RELU, kernel_regularizer=L2(0.1)), Conv1D(2, 3),
                Conv2D(2, (3, 1), 2, "same"), MaxPooling2D(3, 2, "same"), Flatten(), Reshape((2, -1)),
                UpSampling2D((2, 3)), Dropout(0.2, 3),
                Embedding(5, 2), SimpleRNN(3), LSTM(3, return_sequences=True), GRU(3, reset_after=False),
                Bidirectional(LSTM(3, go_backwards=True), merge_mode="ave"), Concatenate(axis=1)]
    for layer in examples:
        data, rebuilt = _roundtrip(layer)
        assert type(rebuilt) is type(layer) and rebuilt.name == layer.name
        assert serialize(rebuilt) == data
        assert data["class_name"] in LAYERS


def test_serialize_activation_by_name_and_regularizer():
    data, rebuilt = _roundtrip(Dense(3, activation=RELU, kernel_regularizer=L2(0.1)))
    assert data["config"]["activation"] == "relu"
    assert data["config"]["kernel_regularizer"] == {"class_name": "L2", "config": {"lam": 0.1}}
    assert rebuilt.activation is RELU and isinstance(rebuilt.kernel_regularizer, L2)
    assert rebuilt.kernel_regularizer.lam == 0.1


def test_serialize_custom_activation_raises():
    with pytest.raises(ValueError, match="custom callable"):
        serialize(Dense(3, activation=lambda z: z ** 3))


def test_bidirectional_config_nests_the_wrapped_layer():
    layer = Bidirectional(GRU(4, return_sequences=True, name="inner"))
    config = layer.get_config()
    assert config["layer"]["class_name"] == "GRU" and config["layer"]["config"]["name"] == "inner"
    rebuilt = Bidirectional.from_config(config)
    assert isinstance(rebuilt.layer, GRU) and rebuilt.layer.return_sequences
    assert rebuilt.backward_layer.go_backwards and not rebuilt.forward_layer.go_backwards
    x = jnp.ones((2, 5, 3))
    params = layer.init(np.random.default_rng(0), (5, 3))
    params = jax.tree_util.tree_map(lambda s: 0.3 * jnp.ones(s.shape), params)
    np.testing.assert_array_equal(jax.jit(layer.apply)(params, x), jax.jit(rebuilt.apply)(params, x))


def test_unknown_class_name_raises():
    with pytest.raises(ValueError, match="Unknown layer class_name='Nope'"):
        deserialize({"class_name": "Nope", "config": {}})


def test_embedding_input_dim_keyword_is_its_vocabulary_size():
    layer = Embedding(input_dim=7, output_dim=2)
    assert layer.input_dim == 7 and layer.count_params((3,)) == 14


def test_base_layer_regularization_defaults_to_zero():
    assert Layer.regularization(Flatten(), {}) == 0.0
