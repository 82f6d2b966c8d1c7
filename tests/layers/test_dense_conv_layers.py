"""Dense, Conv1D and Conv2D against torch.nn.Linear / Conv1d / Conv2d on the same weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_reference import compare_with_torch, random_input, tf_same_padding

from physnn.costs import L2
from physnn.layers import Conv1D, Conv2D, Dense


def _linear_to_torch(p):
    out = {"weight": p["kernel"].T}
    if "bias" in p:
        out["bias"] = p["bias"]
    return out


@pytest.mark.parametrize("activation, torch_act", [(None, lambda t: t), ("tanh", torch.tanh),
                                                     ("relu", torch.relu)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_matches_torch_linear(activation, torch_act, use_bias):
    layer = Dense(4, activation=activation, use_bias=use_bias)
    x = random_input((5, 3))
    params = {"kernel": random_input((3, 4), 1)}
    if use_bias:
        params["bias"] = random_input((4,), 2)
    compare_with_torch(layer, x, torch.nn.Linear(3, 4, bias=use_bias), _linear_to_torch, params=params,
                       torch_output=torch_act)


def test_dense_on_the_last_axis_of_rank3_input():
    layer = Dense(2)
    compare_with_torch(layer, random_input((2, 5, 3)), torch.nn.Linear(3, 2), _linear_to_torch)
    assert layer.output_shape((5, 3)) == (5, 2)


def test_dense_init_is_glorot_uniform_with_zero_bias():
    params = Dense(200).init(np.random.default_rng(0), (300,))
    limit = np.sqrt(6 / 500)
    w = np.asarray(params["kernel"])
    assert w.shape == (300, 200) and np.abs(w).max() <= limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.01 * limit  # uniform(-a, a) has std a / sqrt(3)
    assert np.all(np.asarray(params["bias"]) == 0)


def test_dense_regularization_is_the_kernel_penalty():
    layer = Dense(3, kernel_regularizer=L2(0.1))
    params = {"kernel": jnp.arange(6.0).reshape(2, 3), "bias": jnp.ones(3)}
    assert float(layer.regularization(params)) == pytest.approx(0.1 * 55.0)
    assert Dense(3).regularization(params) == 0.0
    assert Dense(3, kernel_regularizer="l1").regularization(params) == pytest.approx(0.01 * 15.0)


def _conv_to_torch(p, rank):
    perm = (2, 1, 0) if rank == 1 else (3, 2, 0, 1)  # WIO -> OIW, HWIO -> OIHW
    out = {"weight": jnp.transpose(p["kernel"], perm)}
    if "bias" in p:
        out["bias"] = p["bias"]
    return out


def _to_channels_first(t):
    return t.permute(0, t.ndim - 1, *range(1, t.ndim - 1))


def _to_channels_last(t):
    return t.permute(0, *range(2, t.ndim), 1)


def _conv_reference(rank, spatial, kernel, stride, padding, channels, filters):
    """torch conv with TF 'same' padding done by hand (torch's padding='same' is stride-1 only)."""
    conv_cls = torch.nn.Conv1d if rank == 1 else torch.nn.Conv2d
    module = conv_cls(channels, filters, kernel, stride=stride)
    pads = []
    for n, k, s in reversed(list(zip(spatial, kernel, stride, strict=True))):
        pads += list(tf_same_padding(n, k, s)) if padding == "same" else [0, 0]

    def torch_input(t):
        return F.pad(_to_channels_first(t), pads)

    return module, torch_input


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv1d_matches_torch(padding, stride):
    layer = Conv1D(4, 3, strides=stride, padding=padding)
    x = random_input((2, 8, 3))
    module, torch_input = _conv_reference(1, (8,), (3,), (stride,), padding, 3, 4)
    y = compare_with_torch(layer, x, module, lambda p: _conv_to_torch(p, 1), torch_input=torch_input,
                           torch_output=_to_channels_last)
    assert y.shape[1:] == layer.output_shape((8, 3))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, (2, 1)])
def test_conv2d_matches_torch(padding, stride):
    kernel = (2, 3)  # non-square; on 7 x 6 inputs 'same' with stride 2 pads asymmetrically on both axes
    layer = Conv2D(4, kernel, strides=stride, padding=padding, activation="relu")
    x = random_input((2, 7, 6, 3))
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    st = (stride, stride) if isinstance(stride, int) else stride
    module, torch_input = _conv_reference(2, (7, 6), ks, st, padding, 3, 4)
    y = compare_with_torch(layer, x, module, lambda p: _conv_to_torch(p, 2), torch_input=torch_input,
                           torch_output=lambda t: torch.relu(_to_channels_last(t)))
    assert y.shape[1:] == layer.output_shape((7, 6, 3))


def test_conv2d_same_stride1_equals_torch_builtin_same():
    layer = Conv2D(2, 3, padding="same", use_bias=False)
    x = random_input((1, 5, 5, 2))
    compare_with_torch(layer, x, torch.nn.Conv2d(2, 2, 3, padding="same", bias=False),
                       lambda p: _conv_to_torch(p, 2), torch_input=_to_channels_first,
                       torch_output=_to_channels_last)


def test_conv_output_shapes_follow_keras():
    assert Conv2D(8, 3).output_shape((28, 28, 1)) == (26, 26, 8)
    assert Conv2D(8, 3, strides=2, padding="same").output_shape((7, 7, 1)) == (4, 4, 8)
    assert Conv2D(8, (3, 1), strides=(2, 1)).output_shape((9, 5, 2)) == (4, 5, 8)
    assert Conv1D(5, 4, strides=3).output_shape((10, 2)) == (3, 5)
    assert Conv1D(5, 4).output_shape((None, 2)) == (None, 5)


@pytest.mark.parametrize("kwargs, arg", [({"filters": 0, "kernel_size": 3}, "filters"),
                                         ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size"),
                                         ({"filters": 2, "kernel_size": 3, "strides": 0}, "strides"),
                                         ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding")])
def test_conv_bad_arguments_raise(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        Conv2D(**kwargs)


@pytest.mark.parametrize("layer, shape", [(Conv1D(4, 3, strides=2, padding="same"), (2, 9, 3)),
                                          (Conv2D(5, (3, 2), padding="same"), (2, 7, 6, 3)),
                                          (Conv2D(5, 3, strides=(2, 1)), (2, 7, 6, 3))])
def test_conv_im2col_equals_direct_convolution(layer, shape, monkeypatch):
    """Both code paths of ``_Conv.apply`` (patch matrix product with its hand-set JVP, lax.conv) give the same
    values, gradients, forward-mode derivatives (in x and in the kernel, alone and together) and
    Hessian-vector products."""
    import physnn.layers.conv as conv

    def value_and_grads():
        x = jnp.asarray(random_input(shape, 0))
        params = jax.tree_util.tree_map(jnp.asarray, layer.init(np.random.default_rng(0), shape[1:]))
        dx = jnp.asarray(random_input(shape, 1))
        dp = jax.tree_util.tree_map(lambda a: jnp.asarray(np.random.default_rng(2).normal(size=a.shape)), params)

        def loss(p, x):
            return jnp.sum(jnp.sin(layer.apply(p, x)))
        jvps = [jax.jvp(lambda p: layer.apply(p, x), (params,), (dp,))[1],
                jax.jvp(lambda x: layer.apply(params, x), (x,), (dx,))[1],
                jax.jvp(layer.apply, (params, x), (dp, dx))[1],
                jax.jvp(jax.grad(loss), (params, x), (dp, dx))[1]]
        return layer.apply(params, x), (jax.grad(loss, argnums=(0, 1))(params, x), jvps)

    with jax.enable_x64(True):
        y_patches, g_patches = value_and_grads()
        monkeypatch.setattr(conv, "IM2COL_MAX_ELEMENTS", 0)
        y_direct, g_direct = value_and_grads()
    np.testing.assert_allclose(y_patches, y_direct, rtol=1e-12, atol=1e-12)
    for a, b in zip(jax.tree_util.tree_leaves(g_patches), jax.tree_util.tree_leaves(g_direct), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spatial, kernel_size, strides", [((7, 9), (3, 2), (2, 1)), ((10,), (4,), (3,)),
                                                           ((5, 6, 7), (2, 3, 2), (1, 2, 3))])
def test_patch_indices_gather_the_strided_windows(spatial, kernel_size, strides):
    """The gathered patch matrix equals the shifted strided views concatenated along the channels."""
    import itertools

    from physnn.layers.conv import patch_indices

    out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, kernel_size, strides))
    x = np.random.default_rng(0).normal(size=(2, *spatial, 3))
    views = [x[(slice(None), *(slice(d, d + (o - 1) * s + 1, s) for d, o, s in zip(offset, out, strides)),
                slice(None))] for offset in itertools.product(*(range(k) for k in kernel_size))]
    expected = np.concatenate(views, axis=-1).reshape(-1, np.prod(kernel_size) * 3)
    gathered = np.take(x.reshape(2, -1, 3), patch_indices(spatial, out, kernel_size, strides), axis=1)
    np.testing.assert_array_equal(gathered.reshape(expected.shape), expected)
