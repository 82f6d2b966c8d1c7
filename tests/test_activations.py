"""Activations: values against NumPy closed forms, ``derivate`` against ``jax.grad``, name lookup."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_activations import ELEMENTWISE_NUMPY

from physnn.activations import (
    ACTIVATIONS,
    ELU,
    LRELU,
    RELU,
    activation_name,
    derivate,
    get_activation,
    identity,
    leaky_relu,
    sigmoid,
    softmax,
    tanh,
)

# z on a grid that avoids the kink of RELU/LRELU at 0 (even count: 0 is not a grid point)
Z = np.linspace(-4.0, 4.0, 50)

NUMPY_FORMS = ELEMENTWISE_NUMPY
ELEMENTWISE = list(NUMPY_FORMS)


@pytest.mark.parametrize("func", ELEMENTWISE, ids=lambda f: f.__name__)
def test_values_match_closed_forms(func):
    with jax.enable_x64(True):
        got = np.asarray(func(jnp.asarray(Z)))
        np.testing.assert_allclose(got, NUMPY_FORMS[func](Z), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("func", ELEMENTWISE, ids=lambda f: f.__name__)
def test_derivate_equals_jax_grad_elementwise(func):
    with jax.enable_x64(True):
        z = jnp.asarray(Z)
        expected = jax.vmap(jax.grad(func))(z)
        got = derivate(func)(z)
        assert got.shape == z.shape
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("func", ELEMENTWISE, ids=lambda f: f.__name__)
def test_derivate_keeps_shape_of_a_matrix(func):
    z = jnp.asarray(Z.reshape(5, 10), jnp.float32)
    d = derivate(func)(z)
    assert d.shape == (5, 10)
    np.testing.assert_allclose(np.asarray(d).ravel(), np.asarray(derivate(func)(z.ravel())), rtol=1e-6)


def test_derivate_of_a_custom_function_uses_autodiff():
    with jax.enable_x64(True):
        z = jnp.asarray(Z)
        np.testing.assert_allclose(np.asarray(derivate(jnp.sin)(z)), np.cos(Z), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(derivate(lambda x: x**3)(z)), 3 * Z**2, rtol=1e-13)


def test_softmax_derivative_is_the_jacobian_diagonal():
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        z = jnp.asarray(rng.normal(size=(6, 4)) * 3)
        s = np.asarray(softmax(z))
        d = np.asarray(derivate(softmax)(z))
        np.testing.assert_allclose(d, s * (1 - s), rtol=1e-13)
        diagonals = np.stack([np.diag(np.asarray(jax.jacfwd(softmax)(row))) for row in z])
        np.testing.assert_allclose(d, diagonals, rtol=1e-12)


def test_softmax_rows_sum_to_one_and_survive_huge_inputs():
    z = jnp.asarray([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4], [1.0, 2.0, 3.0]], jnp.float32)
    s = np.asarray(softmax(z))
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(s[0], [0.5, 0.5, 0.0], atol=1e-7)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s[2], e / e.sum(), rtol=1e-6)


def test_sigmoid_and_elu_do_not_overflow():
    z = jnp.asarray([-1e4, -100.0, 0.0, 100.0, 1e4], jnp.float32)
    s = np.asarray(sigmoid(z))
    np.testing.assert_allclose(s, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)
    np.testing.assert_allclose(np.asarray(ELU(z)), [-1.0, -1.0, 0.0, 100.0, 1e4])
    assert np.all(np.isfinite(np.asarray(derivate(sigmoid)(z))))
    assert np.all(np.isfinite(np.asarray(derivate(ELU)(z))))


def test_lrelu_slope_and_relu_derivative_sides():
    z = jnp.asarray([-2.0, 3.0])
    np.testing.assert_allclose(np.asarray(LRELU(z)), [-0.002, 3.0], rtol=1e-6)  # the course's slope 0.001
    np.testing.assert_allclose(np.asarray(derivate(LRELU)(z)), [0.001, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(derivate(RELU)(z)), [0.0, 1.0])


@pytest.mark.parametrize("name, func", [("relu", RELU), ("ReLU", RELU), ("leaky_relu", leaky_relu), ("lrelu", LRELU),
                                        ("linear", identity), ("ELU", ELU), ("softmax", softmax),
                                        ("Sigmoid", sigmoid), ("tanh", tanh)])
def test_get_activation_by_name(name, func):
    assert get_activation(name) is func


def test_get_activation_passes_callables_and_none():
    assert get_activation(None) is identity
    assert get_activation(jnp.sin) is jnp.sin


def test_unknown_activation_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"activation='swishy'.*valid names.*'relu'.*'sigmoid'"):
        get_activation("swishy")
    with pytest.raises(ValueError, match="activation=42"):
        get_activation(42)


def test_activation_name_round_trips():
    for func in set(ACTIVATIONS.values()):
        assert get_activation(activation_name(func)) is func
    assert activation_name(jnp.sin) is None


def test_keras_named_activations_are_keras_formulas():
    """Keras's activation names give Keras's functions: leaky_relu with Keras's slope 0.2 (the course's LRELU,
    "lrelu", keeps 0.001), and the jax.nn ones, checked against their formulas."""
    z = np.array([-2.0, -0.5, 0.0, 1.5, 7.0], np.float32)
    np.testing.assert_allclose(get_activation("leaky_relu")(z), np.where(z > 0, z, 0.2 * z), rtol=1e-6)
    np.testing.assert_allclose(get_activation("softplus")(z), np.log1p(np.exp(z)), rtol=1e-6)
    np.testing.assert_allclose(get_activation("softsign")(z), z / (1 + np.abs(z)), rtol=1e-6)
    np.testing.assert_allclose(get_activation("swish")(z), z / (1 + np.exp(-z)), rtol=1e-5)
    np.testing.assert_allclose(get_activation("relu6")(z), np.clip(z, 0, 6), rtol=1e-6)
    np.testing.assert_allclose(get_activation("hard_sigmoid")(z), np.clip(z / 6 + 0.5, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(get_activation("exponential")(np.arange(3)), np.exp(np.arange(3)), rtol=1e-6)
    np.testing.assert_allclose(np.exp(get_activation("log_softmax")(z)).sum(), 1.0, rtol=1e-6)
