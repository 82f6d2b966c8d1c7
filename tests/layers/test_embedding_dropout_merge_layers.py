"""Embedding (vs torch.nn.Embedding), Dropout and the merge layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch_reference import compare_with_torch

from physnn.layers import Add, Concatenate, Dense, Dropout, Embedding, Input


def test_embedding_matches_torch():
    layer = Embedding(10, 4)
    x = np.random.default_rng(0).integers(0, 10, size=(3, 5))
    x[0, :3] = 7  # a repeated index: its gradient row accumulates
    y = compare_with_torch(layer, x, torch.nn.Embedding(10, 4), lambda p: {"weight": p["embeddings"]},
                           input_grad=False)
    assert y.shape == (3, 5, 4) and layer.output_shape((5,)) == (5, 4)


def test_embedding_init_is_uniform_005():
    params = Embedding(1000, 50).init(np.random.default_rng(0), (3,))
    table = np.asarray(params["embeddings"])
    assert table.shape == (1000, 50)
    assert np.abs(table).max() <= 0.05 and abs(table.std() - 0.05 / np.sqrt(3)) < 1e-3


def test_dropout_is_identity_at_inference():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 7)), jnp.float32)
    layer = Dropout(0.5)
    assert layer.apply({}, x) is x
    assert layer.apply({}, x, key=jax.random.PRNGKey(1), training=False) is x


def test_dropout_training_preserves_the_mean_and_drops_rate():
    rate = 0.3
    x = jnp.ones((200, 1000))
    y = np.asarray(Dropout(rate).apply({}, x, key=jax.random.PRNGKey(0), training=True))
    assert abs(y.mean() - 1.0) < 0.01  # E[y] = x; std of the mean ~ 0.0015
    assert abs((y == 0).mean() - rate) < 0.005
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - rate)], rtol=1e-6)


def test_dropout_same_key_same_mask_different_key_different_mask():
    layer = Dropout(0.5)
    x = jnp.ones((8, 16))
    a = layer.apply({}, x, key=jax.random.PRNGKey(3), training=True)
    b = layer.apply({}, x, key=jax.random.PRNGKey(3), training=True)
    c = layer.apply({}, x, key=jax.random.PRNGKey(4), training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    seeded = Dropout(0.5, seed=11)
    np.testing.assert_array_equal(seeded.apply({}, x, training=True), seeded.apply({}, x, training=True))
    with pytest.raises(ValueError, match="PRNG key"):
        layer.apply({}, x, training=True)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5"])
def test_dropout_rate_outside_0_1_raises(rate):
    with pytest.raises(ValueError, match="rate must be a number in \\[0, 1\\)"):
        Dropout(rate)


def test_concatenate_and_add():
    a = jnp.arange(12.0).reshape(2, 3, 2)
    b = jnp.ones((2, 3, 4))
    cat = Concatenate()
    assert cat.output_shape([(3, 2), (3, 4)]) == (3, 6)
    np.testing.assert_array_equal(cat.apply({}, [a, b]), np.concatenate([a, b], axis=-1))
    cat1 = Concatenate(axis=1)
    assert cat1.output_shape([(3, 2), (5, 2)]) == (8, 2)
    assert Concatenate(axis=-2).output_shape([(3, 2), (5, 2)]) == (8, 2)
    add = Add()
    assert add.output_shape([(3, 2), (3, 2), (3, 2)]) == (3, 2)
    np.testing.assert_array_equal(add.apply({}, [a, a, a]), 3 * a)


def test_merge_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"'my_cat'.*except axis=-1.*\(3, 2\)"):
        Concatenate(name="my_cat").output_shape([(3, 2), (4, 2)])
    with pytest.raises(ValueError, match=r"'my_add'.*one shape"):
        Add(name="my_add").output_shape([(3, 2), (3, 4)])
    with pytest.raises(ValueError, match=r"'my_add'.*list of at least 2"):
        Add(name="my_add").output_shape((3, 2))
    with pytest.raises(ValueError, match="axis"):
        Concatenate(axis=0)


def test_merge_layers_on_symbolic_inputs():
    a, b = Input((4,)), Input((4,))
    joined = Concatenate()([Dense(3)(a), Dense(5)(b)])
    assert joined.shape == (None, 8)
    assert Add()([a, b]).shape == (None, 4)
