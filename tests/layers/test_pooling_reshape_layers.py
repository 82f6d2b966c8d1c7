"""Pooling, UpSampling2D, Flatten and Reshape against PyTorch and hand-computed values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_reference import compare_with_torch, random_input, tf_same_padding

from physnn.layers import (
    AveragePooling1D,
    AveragePooling2D,
    Flatten,
    MaxPooling1D,
    MaxPooling2D,
    MinPooling1D,
    MinPooling2D,
    Reshape,
    UpSampling2D,
)


def _nchw(t):
    return t.permute(0, t.ndim - 1, *range(1, t.ndim - 1))


def _nhwc(t):
    return t.permute(0, *range(2, t.ndim), 1)


def _torch_pool(kind, spatial, pool, strides, padding):
    """Reference pooling in torch on channels-last input, TF 'same' padding done by hand.

    Max pads with -inf; average pads with zeros and divides by the number of real elements in each window
    (pooling a padded mask of ones), which is what TF/Keras do.
    """
    rank = len(spatial)
    pads = []
    for n, k, s in reversed(list(zip(spatial, pool, strides, strict=True))):
        pads += list(tf_same_padding(n, k, s)) if padding == "same" else [0, 0]
    pool_fn = {1: (F.max_pool1d, F.avg_pool1d), 2: (F.max_pool2d, F.avg_pool2d)}[rank]

    def run(x):
        x = _nchw(x)
        if kind == "max":
            y = pool_fn[0](F.pad(x, pads, value=-np.inf), pool, strides)
        else:
            total = pool_fn[1](F.pad(x, pads), pool, strides)
            ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype)
            count = pool_fn[1](F.pad(ones, pads), pool, strides)
            y = total / count
        return _nhwc(y)

    return run


CASES_2D = [(2, None), (3, 2), ((3, 2), (2, 1))]


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool, strides", CASES_2D)
@pytest.mark.parametrize("cls, kind", [(MaxPooling2D, "max"), (AveragePooling2D, "avg")])
def test_pooling2d_matches_torch(cls, kind, pool, strides, padding):
    layer = cls(pool, strides=strides, padding=padding)
    x = random_input((2, 7, 6, 3))
    ps = (pool, pool) if isinstance(pool, int) else pool
    st = ps if strides is None else ((strides, strides) if isinstance(strides, int) else strides)
    y = compare_with_torch(layer, x, _torch_pool(kind, (7, 6), ps, st, padding), lambda p: {})
    assert y.shape[1:] == layer.output_shape((7, 6, 3))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool, strides", [(2, None), (3, 2)])
@pytest.mark.parametrize("cls, kind", [(MaxPooling1D, "max"), (AveragePooling1D, "avg")])
def test_pooling1d_matches_torch(cls, kind, pool, strides, padding):
    layer = cls(pool, strides=strides, padding=padding)
    x = random_input((2, 9, 3))
    st = pool if strides is None else strides
    compare_with_torch(layer, x, _torch_pool(kind, (9,), (pool,), (st,), padding), lambda p: {})


def test_average_pooling_same_divides_by_the_real_elements():
    # 3x3 input 1..9, 2x2 windows, stride 2, 'same': TF pads one row/column at the end only.
    x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    y = AveragePooling2D(2, padding="same").apply({}, x)[0, :, :, 0]
    expected = [[(1 + 2 + 4 + 5) / 4, (3 + 6) / 2], [(7 + 8) / 2, 9.0]]
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-6)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("cls, max_cls, shape", [(MinPooling2D, MaxPooling2D, (2, 7, 5, 2)),
                                                  (MinPooling1D, MaxPooling1D, (2, 7, 2))])
def test_min_pooling_is_minus_max_pooling_of_minus_x(cls, max_cls, shape, padding):
    x = jnp.asarray(random_input(shape))
    r = random_input((1, *cls(3, strides=2, padding=padding).output_shape(shape[1:])), 1)  # [1, ...] broadcasts

    def min_pool(xx):
        return cls(3, strides=2, padding=padding).apply({}, xx)

    def minus_max_of_minus(xx):
        return -max_cls(3, strides=2, padding=padding).apply({}, -xx)

    def value_and_grad(f):
        return jax.jit(jax.value_and_grad(lambda xx: jnp.sum(f(xx) * r)))(x), jax.jit(f)(x)

    (loss, grad), y = value_and_grad(min_pool)
    (loss_ref, grad_ref), y_ref = value_and_grad(minus_max_of_minus)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y_ref))
    np.testing.assert_allclose(np.asarray(grad), np.asarray(grad_ref), atol=1e-6)


def test_min_pooling2d_matches_torch():
    layer = MinPooling2D(2, padding="valid")
    x = random_input((2, 6, 4, 3))
    compare_with_torch(layer, x, lambda t: -_nhwc(F.max_pool2d(-_nchw(t), 2)), lambda p: {})


@pytest.mark.parametrize("size", [2, (2, 3)])
def test_upsampling2d_matches_torch_nearest(size):
    layer = UpSampling2D(size)
    x = random_input((2, 3, 4, 2))
    scale = (size, size) if isinstance(size, int) else size
    y = compare_with_torch(layer, x, lambda t: _nhwc(F.interpolate(_nchw(t), scale_factor=scale,
                                                                    mode="nearest")), lambda p: {})
    assert y.shape[1:] == layer.output_shape((3, 4, 2)) == (3 * scale[0], 4 * scale[1], 2)


def test_flatten_is_row_major_like_keras():
    x = np.arange(24.0).reshape(2, 2, 3, 2)
    layer = Flatten()
    np.testing.assert_array_equal(np.asarray(layer.apply({}, jnp.asarray(x))), x.reshape(2, 12))
    assert layer.output_shape((2, 3, 2)) == (12,)


def test_reshape_with_minus_one():
    layer = Reshape((-1, 4))
    x = np.arange(24.0).reshape(2, 12)
    assert layer.output_shape((12,)) == (3, 4)
    np.testing.assert_array_equal(np.asarray(layer.apply({}, jnp.asarray(x))), x.reshape(2, 3, 4))
    with pytest.raises(ValueError, match="target_shape"):
        Reshape((-1, -1))
