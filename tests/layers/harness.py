"""One layer-test harness (Keras's ``run_layer_test`` habit): the checks every layer must pass.

``run_layer_test(layer_factory, input_shape, ...)`` builds the layer with ``layer_factory(**kwargs)`` and checks

1. the output shape equals ``layer.output_shape(input_shape)`` (batch axis in front);
2. the parameter count equals ``expected_params`` (Keras's count where there is one) and ``count_params``;
3. serialisation: ``serialize`` -> JSON -> ``deserialize`` and ``get_config``/``from_config`` give the same class
   and configuration and the same outputs, and a saved and loaded Sequential (a functional Model for layers of
   several inputs) containing the layer predicts identically;
4. ``jax.jit`` of ``apply`` equals the eager ``apply``;
5. in float64, ``jax.grad`` of L = sum(y * r) w.r.t. the parameters and the input is finite and matches central
   finite differences along random directions;
6. ``trainable=False`` survives the round trips and the summary counts the weights as non-trainable;
7. the PyTorch comparison (``torch_reference.compare_with_torch``) when ``torch_reference`` is given.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
from torch_reference import compare_with_torch, random_params

import physnn
from physnn.layers import Input, deserialize, serialize

BATCH = 3


def _inputs(input_shape, batch, seed, integer_high):
    """A random batch for each input shape; integers in [0, integer_high) when given (Embedding)."""
    rng = np.random.default_rng(seed)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if integer_high is not None:
        xs = [rng.integers(0, integer_high, size=(batch, *s)) for s in shapes]
    else:
        xs = [rng.normal(size=(batch, *s)) for s in shapes]
    return xs if isinstance(input_shape, list) else xs[0]


def _count(params) -> int:
    return int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))


def _model(layer, input_shape):
    """A Sequential around ``layer`` (a functional Model when it takes several inputs), built with seed 0."""
    if isinstance(input_shape, list):
        inputs = [Input(s) for s in input_shape]
        return physnn.Model(inputs, layer(inputs))
    return physnn.Sequential([Input(input_shape), layer])


def _check_serialisation(layer, params, x, y, input_shape, tmp_path):
    data = json.loads(json.dumps(serialize(layer)))  # plain JSON
    rebuilt = deserialize(data)
    assert type(rebuilt) is type(layer) and rebuilt.name == layer.name and serialize(rebuilt) == data
    same = type(layer).from_config(layer.get_config())
    assert serialize(same) == data
    for other in (rebuilt, same):
        np.testing.assert_array_equal(np.asarray(other.apply(params, x)), np.asarray(y))

    model = _model(layer, input_shape)
    path = model.save(tmp_path / f"{layer.name}.npz")
    loaded = physnn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.summary(print_fn=None) == model.summary(print_fn=None)
    return model, loaded


def _check_jit(layer, params, x, y):
    y_jit = jax.jit(lambda p, xx: layer.apply(p, xx))(params, x)
    np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y), rtol=1e-5, atol=1e-6)


def _check_gradients(layer, input_shape, x, input_grad, directions=2, seed=0, positive=()):
    """jax.grad of L = sum(y * r) against central differences (float64) along random directions (the parameter
    keys in ``positive``, variances, drawn positive)."""
    with jax.enable_x64(True):
        params = random_params(layer, input_shape, seed)
        params = {k: (jnp.abs(v) + 0.5 if k in positive else v) for k, v in params.items()}
        x = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64 if input_grad else a.dtype), x)
        y_shape = jax.eval_shape(layer.apply, params, x).shape
        r = jnp.asarray(np.random.default_rng(seed + 1).normal(size=y_shape))
        loss = jax.jit(lambda p, xx: jnp.sum(layer.apply(p, xx) * r))
        argnums = (0, 1) if input_grad else (0,)
        grads = jax.jit(jax.grad(loss, argnums=argnums))(params, x)
        point = (params, x) if input_grad else (params,)
        for leaf in jax.tree_util.tree_leaves(grads):
            assert np.all(np.isfinite(np.asarray(leaf))), f"{layer.name}: a non-finite gradient"
        if not jax.tree_util.tree_leaves(point):
            return
        rng = np.random.default_rng(seed + 2)
        h = 1e-6
        for _ in range(directions):
            d = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=np.shape(a))), point)

            def shifted(t, d=d):
                moved = jax.tree_util.tree_map(lambda a, b: a + t * b, point, d)
                return float(loss(*moved) if input_grad else loss(moved[0], x))

            numeric = (shifted(h) - shifted(-h)) / (2 * h)
            analytic = float(sum(jnp.vdot(g, v) for g, v in zip(jax.tree_util.tree_leaves(grads),
                                                                 jax.tree_util.tree_leaves(d), strict=True)))
            assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(analytic)), (
                f"{layer.name}: directional derivative {analytic} vs central difference {numeric}")


def _check_not_trainable(layer_factory, input_shape, x, tmp_path):
    layer = layer_factory(trainable=False)
    assert layer.trainable is False and layer.get_config()["trainable"] is False
    rebuilt = deserialize(json.loads(json.dumps(serialize(layer))))
    assert rebuilt.trainable is False
    model = _model(layer, input_shape)
    summary = model.summary(print_fn=None)
    assert "Trainable params: 0\n" in summary and summary.endswith(f"Non-trainable params: {model.count_params():,}")
    path = model.save(tmp_path / "frozen.npz")
    loaded = physnn.load_model(path)
    assert [lay.trainable for lay in loaded.layers] == [lay.trainable for lay in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def run_layer_test(layer_factory, input_shape, *, expected_params=None, torch_reference=None, tmp_path,
                   integer_high=None, batch=BATCH, seed=0, positive=()):
    """Run the checks listed in the module docstring on ``layer_factory()``.

    Arguments:
        layer_factory: ``**kwargs -> Layer`` (called with ``trainable=False`` for check 6).
        input_shape: per-sample input shape, or a list of them for a layer of several inputs.
        expected_params: the parameter count the layer must create (Keras's where known).
        torch_reference: ``(module, to_torch, options)`` for ``compare_with_torch`` or None.
        tmp_path: a directory for the saved models.
        integer_high: integer inputs in [0, integer_high) (index inputs, no input gradient).
        positive: parameter keys that must be positive (a variance) in the random parameters of check 5.
    """
    layer = layer_factory()
    shape = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else tuple(input_shape)
    x = _inputs(shape, batch, seed, integer_high)
    params = layer.init(np.random.default_rng(seed), shape)
    y = layer.apply(params, x)
    assert y.shape == (batch, *layer.output_shape(shape))

    count = _count(params)
    if not isinstance(shape, list):  # count_params takes one input shape
        assert count == layer.count_params(shape)
    if expected_params is not None:
        assert count == expected_params, f"{type(layer).__name__}: {count} parameters, expected {expected_params}"

    _check_jit(layer, params, x, y)
    _check_serialisation(layer, params, x, y, shape, tmp_path)
    _check_gradients(layer, shape, x, input_grad=integer_high is None, seed=seed, positive=positive)
    _check_not_trainable(layer_factory, shape, x, tmp_path)

    if torch_reference is not None:
        module, to_torch, options = torch_reference
        options = {"input_grad": integer_high is None, **options}
        compare_with_torch(layer_factory(), x, module, to_torch, **options)
    return layer
