"""Run a physnn layer and its PyTorch twin on the same weights and compare outputs and gradients.

The loss is L = sum(y * r) with a fixed random r, so dL/dy = r exercises every output. Parameter
layouts differ (Keras [in, out] vs PyTorch [out, in], HWIO vs OIHW, gate order), so each test gives
``to_torch(params) -> {torch name: array}``; the map is a pure re-arrangement (transposes, slices,
reorders), hence the JAX gradients go through the same map before they are compared by name.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch

ATOL = 1e-5


def compare_with_torch(layer, x, module, to_torch, *, torch_input=None, torch_output=None, key=0,
                       params=None, input_grad=True, atol=ATOL):
    """Assert that ``layer`` and the torch ``module`` agree on y, dL/dparams and dL/dx (float64).

    Arguments:
        layer: the physnn layer.
        x: numpy input [batch, ...] in physnn's (channels-last) layout.
        module: a torch.nn.Module (its parameters are overwritten) or a plain function of the input.
        to_torch: params -> {torch parameter name: numpy array}; torch parameters not named are zeroed.
        torch_input / torch_output: layout changes around the torch call (e.g. NHWC <-> NCHW).
        params: physnn parameters to use (default ``random_params(layer, x.shape[1:], key)``).
        input_grad: also compare dL/dx (off for integer inputs).
    """
    torch_input = torch_input or (lambda t: t)
    torch_output = torch_output or (lambda t: t)
    with jax.enable_x64(True):
        x64 = jnp.asarray(x)
        if params is None:
            params = random_params(layer, tuple(x.shape[1:]), key)
        params = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params)
        y_shape = jax.eval_shape(layer.apply, params, x64).shape
        r = np.random.default_rng(123).normal(size=y_shape)

        def loss(p, xx):
            y = layer.apply(p, xx)
            return jnp.sum(y * r), y

        # one compiled program for y and the gradients (op-by-op dispatch would compile every primitive)
        argnums = (0, 1) if input_grad else 0
        (_, y), grads = jax.jit(jax.value_and_grad(loss, argnums=argnums, has_aux=True))(params, x64)
        grads, grad_x = grads if input_grad else (grads, None)
        weights = {k: np.array(v) for k, v in to_torch(params).items()}
        jax_grads = {k: np.asarray(v) for k, v in to_torch(grads).items()}

    torch_params = {}
    if isinstance(module, torch.nn.Module):
        module = module.double()
        torch_params = dict(module.named_parameters())
        unknown = set(weights) - set(torch_params)
        assert not unknown, f"to_torch names {unknown} not in the torch module {sorted(torch_params)}"
        with torch.no_grad():
            for name, p in torch_params.items():
                p.copy_(torch.as_tensor(weights[name]) if name in weights else torch.zeros_like(p))
    xt = torch.tensor(np.asarray(x), requires_grad=input_grad)
    yt = torch_output(module(torch_input(xt)))
    (yt * torch.as_tensor(r)).sum().backward()

    np.testing.assert_allclose(np.asarray(y), yt.detach().numpy(), atol=atol, rtol=0, err_msg="outputs")
    for name, g in jax_grads.items():
        np.testing.assert_allclose(g, torch_params[name].grad.numpy(), atol=atol, rtol=0,
                                   err_msg=f"gradient of {name}")
    if input_grad:
        np.testing.assert_allclose(np.asarray(grad_x), xt.grad.numpy(), atol=atol, rtol=0,
                                   err_msg="input gradient")
    return np.asarray(y)


def random_params(layer, input_shape, seed=0, scale=0.5):
    """Parameters of ``layer``'s shapes drawn from N(0, scale^2) with numpy (float64).

    Random biases (not the zeros of ``init``) test where every parameter goes.
    """
    shapes = layer.init(np.random.default_rng(seed), tuple(input_shape))
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(lambda s: scale * rng.normal(size=np.shape(s)), shapes)


def tf_same_padding(length: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (before, after): out = ceil(n / s), the odd element at the end."""
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def random_input(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)
