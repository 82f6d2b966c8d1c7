"""Costs: values against NumPy formulas, Keras losses by name, regularisers, and the FFNN gradient of every
activation/cost pair against central finite differences of an independent NumPy forward pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_activations import NUMPY_ACTIVATIONS

from physnn import FFNN
from physnn.activations import ELU, LRELU, RELU, identity, sigmoid, softmax, tanh
from physnn.costs import (
    L1,
    L2,
    LOSSES,
    CostCrossEntropy,
    CostLogReg,
    CostMAE,
    CostOLS,
    CostRMSE,
    as_loss,
    binary_crossentropy,
    categorical_crossentropy,
    get_regularizer,
    mae,
    mse,
    sparse_categorical_crossentropy,
)

RNG = np.random.default_rng(0)
T_REG = RNG.normal(size=(5, 3))
Y_REG = RNG.normal(size=(5, 3))
T_BIN = np.array([[0.0], [1.0], [1.0], [0.0]])
P_BIN = np.array([[0.2], [0.9], [0.6], [0.3]])
T_HOT = np.eye(3)[[0, 2, 1, 2]]
P_HOT = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25], [0.3, 0.3, 0.4]])


def _value(cost, t, y):
    with jax.enable_x64(True):
        return float(cost(jnp.asarray(t))(jnp.asarray(y)))


# --------------------------------------------------------------------------------- course cost values


def test_course_cost_values():
    n = 5
    assert _value(CostOLS, T_REG, Y_REG) == pytest.approx(np.sum((T_REG - Y_REG) ** 2) / n, rel=1e-12)
    assert _value(CostMAE, T_REG, Y_REG) == pytest.approx(np.sum(np.abs(T_REG - Y_REG)) / n, rel=1e-12)
    rmse = np.sqrt(np.sum((T_REG - Y_REG) ** 2) / n)
    assert _value(CostRMSE, T_REG, Y_REG) == pytest.approx(rmse, rel=1e-12)
    # the course's formulas exactly, with its guard 10e-10 (= 1e-9) inside the logarithms
    logreg = -np.sum(T_BIN * np.log(P_BIN + 10e-10) + (1 - T_BIN) * np.log(1 - P_BIN + 10e-10)) / 4
    assert _value(CostLogReg, T_BIN, P_BIN) == pytest.approx(logreg, rel=1e-14)
    # the course's cross-entropy divides by target.size = n * classes = 12, not by n = 4
    ce = -np.sum(T_HOT * np.log(P_HOT + 10e-10)) / 12
    assert _value(CostCrossEntropy, T_HOT, P_HOT) == pytest.approx(ce, rel=1e-14)


def test_course_costs_are_zero_or_minimal_at_the_target():
    assert _value(CostOLS, T_REG, T_REG) == 0.0
    assert _value(CostMAE, T_REG, T_REG) == 0.0
    assert _value(CostLogReg, T_BIN, T_BIN) == pytest.approx(0.0, abs=1e-8)
    assert _value(CostCrossEntropy, T_HOT, T_HOT) == pytest.approx(0.0, abs=1e-8)


# ----------------------------------------------------------------------------------------- Keras losses


def test_keras_loss_values():
    with jax.enable_x64(True):
        t, y = jnp.asarray(T_REG), jnp.asarray(Y_REG)
        assert float(mse(t, y)) == pytest.approx(np.mean((T_REG - Y_REG) ** 2), rel=1e-12)
        assert float(mae(t, y)) == pytest.approx(np.mean(np.abs(T_REG - Y_REG)), rel=1e-12)
        bce = -np.mean(T_BIN * np.log(P_BIN) + (1 - T_BIN) * np.log(1 - P_BIN))
        got = float(binary_crossentropy(jnp.asarray(T_BIN), jnp.asarray(P_BIN)))
        assert got == pytest.approx(bce, rel=1e-12)
        cce = -np.mean(np.sum(T_HOT * np.log(P_HOT), axis=1))
        assert float(categorical_crossentropy(jnp.asarray(T_HOT), jnp.asarray(P_HOT))) == pytest.approx(cce,
                                                                                                         rel=1e-12)
        labels = jnp.asarray([0, 2, 1, 2])
        got = float(sparse_categorical_crossentropy(labels, jnp.asarray(P_HOT)))
        assert got == pytest.approx(cce, rel=1e-12)
        assert float(sparse_categorical_crossentropy(labels[:, None], jnp.asarray(P_HOT))) == pytest.approx(
            cce, rel=1e-12)


def test_crossentropies_clip_probabilities_to_stay_finite():
    bce = float(binary_crossentropy(jnp.asarray([[1.0], [0.0]]), jnp.asarray([[0.0], [1.0]])))
    assert bce == pytest.approx(-np.log(1e-7), rel=1e-2)  # float32: 1 - 1e-7 rounds to 1 - 1.19e-7
    cce = float(categorical_crossentropy(jnp.asarray([[1.0, 0.0]]), jnp.asarray([[0.0, 1.0]])))
    assert np.isfinite(cce) and cce == pytest.approx(-np.log(1e-7), rel=1e-3)


def test_categorical_crossentropy_renormalises_rows():
    with jax.enable_x64(True):
        t, p = jnp.asarray(T_HOT), jnp.asarray(P_HOT)
        reference = float(categorical_crossentropy(t, p))
        assert float(categorical_crossentropy(t, 3 * p)) == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_as_loss_by_name_is_case_insensitive(name):
    assert as_loss(name) is LOSSES[name]
    assert as_loss(name.upper()) is LOSSES[name]


@pytest.mark.parametrize("cost, t, y", [(CostOLS, T_REG[:, :1], Y_REG[:, :1]),
                                        (CostMAE, T_REG[:, :1], Y_REG[:, :1]),
                                        (CostRMSE, T_REG, Y_REG), (CostLogReg, T_BIN, P_BIN),
                                        (CostCrossEntropy, T_HOT, P_HOT)])
def test_as_loss_of_a_course_cost_computes_that_cost(cost, t, y):
    # single-output regression / binary / one-hot: the Keras loss equals the course cost
    with jax.enable_x64(True):
        got = float(as_loss(cost)(jnp.asarray(t), jnp.asarray(y)))
    assert got == pytest.approx(_value(cost, t, y), rel=1e-6)


def test_as_loss_passes_callables_and_rejects_unknown_names():
    def my_loss(y_true, y_pred):
        return jnp.sum(y_pred)

    assert as_loss(my_loss) is my_loss
    with pytest.raises(ValueError, match=r"loss='hinje'.*valid names.*'binary_crossentropy'.*'mse'"):
        as_loss("hinje")
    with pytest.raises(ValueError, match="loss=3"):
        as_loss(3)


# ------------------------------------------------------------------------------------------ regularisers


def test_l1_l2_over_a_pytree():
    params = {"a": jnp.asarray([[1.0, -2.0]]), "b": [jnp.asarray([3.0])]}
    assert float(L1(0.5)(params)) == pytest.approx(0.5 * 6.0)
    assert float(L2(0.5)(params)) == pytest.approx(0.5 * 14.0)
    assert L2(0.25).get_config() == {"lam": 0.25}


@pytest.mark.parametrize("cls", [L1, L2])
def test_negative_or_nan_lambda_is_refused(cls):
    with pytest.raises(ValueError, match=r"lam must be >= 0, got -1"):
        cls(-1)
    with pytest.raises(ValueError, match="lam"):
        cls(float("nan"))


def test_get_regularizer():
    assert get_regularizer(None) is None
    reg = get_regularizer("L2")
    assert isinstance(reg, L2) and reg.lam == 0.01
    assert isinstance(get_regularizer("l1"), L1)
    with pytest.raises(ValueError, match=r"kernel_regularizer='l3'"):
        get_regularizer("l3")


# ------------------------------------------- FFNN gradients against finite differences (float64, NumPy)

NP_ACT = NUMPY_ACTIVATIONS
NP_COST = {  # the course's formulas, with its 10e-10 (= 1e-9) guard inside the logarithms
    CostOLS: lambda t, y: np.sum((t - y) ** 2) / len(t),
    CostLogReg: lambda t, y: -np.sum(t * np.log(y + 10e-10) + (1 - t) * np.log(1 - y + 10e-10)) / len(t),
    CostCrossEntropy: lambda t, y: -np.sum(t * np.log(y + 10e-10)) / t.size,
    CostMAE: lambda t, y: np.sum(np.abs(t - y)) / len(t),
    CostRMSE: lambda t, y: np.sqrt(np.sum((t - y) ** 2) / len(t)),
}
HIDDEN = [sigmoid, tanh, RELU, LRELU, ELU, identity]
OUTPUTS = [(identity, CostOLS), (sigmoid, CostLogReg), (softmax, CostCrossEntropy), (identity, CostMAE),
           (identity, CostRMSE)]
DIMS = (3, 5, 4, 2)


def _data(output_func, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, DIMS[0]))
    if output_func is softmax:
        t = np.eye(DIMS[-1])[rng.integers(0, DIMS[-1], 7)]
    elif output_func is sigmoid:
        t = rng.integers(0, 2, (7, DIMS[-1])).astype(float)
    else:
        t = 3 * rng.normal(size=(7, DIMS[-1]))  # far from the outputs: |t - y| stays away from the MAE kink
    return X, t


def _np_forward(weights, X, hidden, output):
    """The course's feed-forward pass, a = f(a W[1:] + W[0]), with the pre-activations of every layer."""
    a, zs = X, []
    for i, W in enumerate(weights):
        z = a @ W[1:] + W[0]
        zs.append(z)
        a = NP_ACT[output](z) if i == len(weights) - 1 else NP_ACT[hidden](z)
    return a, zs


def _np_loss(weights, X, t, hidden, output, cost, lam):
    return NP_COST[cost](t, _np_forward(weights, X, hidden, output)[0]) + 0.5 * lam * sum(
        np.sum(W[1:] ** 2) for W in weights)


def _finite_difference_gradient(weights, X, t, hidden, output, cost, lam, h=1e-6):
    grads = []
    for index, W in enumerate(weights):
        G = np.zeros_like(W)
        for ij in np.ndindex(W.shape):
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[index][ij] += h
            minus[index][ij] -= h
            G[ij] = (_np_loss(plus, X, t, hidden, output, cost, lam) -
                     _np_loss(minus, X, t, hidden, output, cost, lam)) / (2 * h)
        grads.append(G)
    return grads


@pytest.mark.parametrize("output, cost", OUTPUTS, ids=[c.__name__ for _, c in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN, ids=[f.__name__ for f in HIDDEN])
def test_ffnn_gradient_equals_finite_differences(hidden, output, cost):
    with jax.enable_x64(True):
        model = FFNN(DIMS, hidden_func=hidden, output_func=output, cost_func=cost, seed=1)
        weights = [np.asarray(W, np.float64) for W in model.weights]
        shapes = [(n_in + 1, n_out) for n_in, n_out in zip(DIMS[:-1], DIMS[1:], strict=True)]
        assert [W.shape for W in weights] == shapes
        X, t = _data(output, seed=2)
        y, zs = _np_forward(weights, X, hidden, output)
        # finite differences are only meaningful away from the kinks of RELU/LRELU (z = 0) and MAE (t = y)
        assert min(np.abs(z).min() for z in zs[:-1]) > 1e-3
        assert np.abs(t - y).min() > 1e-3
        lam = 0.1
        params = [(jnp.asarray(W[1:]), jnp.asarray(W[0])) for W in weights]  # the trainer's (W, b) form
        value = model._loss(params, jnp.asarray(X), jnp.asarray(t), lam)
        assert float(value) == pytest.approx(_np_loss(weights, X, t, hidden, output, cost, lam), rel=1e-12)
        grads = jax.grad(model._loss)(params, jnp.asarray(X), jnp.asarray(t), lam)
        expected = _finite_difference_gradient(weights, X, t, hidden, output, cost, lam)
        for (g_W, g_b), e in zip(grads, expected, strict=True):
            np.testing.assert_allclose(np.vstack([g_b[None], g_W]), e, rtol=1e-5, atol=1e-8)


# --- physics-guided costs: x= and params= decided by the signature, errors inside the cost propagate -------


def test_a_type_error_inside_a_physics_guided_cost_propagates_and_is_not_retried():
    """A bug inside the cost (indexing the FFNN's list of weights by a string) used to be swallowed: the FFNN
    retried cost_func(target) without x= and params= and trained silently without the physics term."""
    from physnn.schedulers import Adam

    calls = []

    def cost(target, x=None, params=None):
        calls.append((x is not None, params is not None))
        penalty = 0.0 if params is None else jnp.sum(params["W"] ** 2)  # TypeError: params is a list
        return lambda prediction: jnp.mean((prediction - target) ** 2) + penalty

    X, t = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    net = FFNN((2, 3, 1), cost_func=cost, seed=0)
    with pytest.raises(TypeError, match="list indices must be integers"):
        net.fit(X, t, Adam(0.01), epochs=1, batches=1)
    assert calls and all(c == (True, True) for c in calls)  # always with the keywords, never retried without


def test_a_type_error_raised_by_the_cost_factory_itself_propagates():
    def cost(target, x=None):
        raise TypeError("factory bug")

    from physnn.costs import call_cost
    with pytest.raises(TypeError, match="factory bug"):
        call_cost(cost, np.ones(2), np.ones(2), x=np.ones(2), params=None)


def test_call_cost_passes_only_the_keywords_the_cost_accepts():
    from physnn.costs import accepted_kwargs, call_cost

    seen = {}

    def with_x(target, x):
        seen["x"] = x
        return lambda y: jnp.sum(y)

    def with_kwargs(target, **kw):
        seen["kw"] = sorted(kw)
        return lambda y: jnp.sum(y)

    assert float(call_cost(with_x, 0, jnp.ones(3), "X", "P")) == 3 and seen["x"] == "X"
    call_cost(with_kwargs, 0, jnp.ones(3), "X", "P")
    assert seen["kw"] == ["params", "x"]
    assert float(call_cost(CostOLS, jnp.zeros((2, 1)), jnp.ones((2, 1)), "X", "P")) == 1.0
    assert accepted_kwargs(CostOLS, ("x", "params")) == set()
    assert accepted_kwargs(len, ("x",)) == set()  # no signature to read: nothing extra


def test_module_and_ffnn_use_the_one_keyword_rule():
    import physnn.ffnn
    import physnn.models
    from physnn import costs

    assert physnn.models.accepted_kwargs is costs.accepted_kwargs and physnn.models.call_loss is costs.call_loss
    assert physnn.ffnn.call_cost is costs.call_cost and not hasattr(physnn.ffnn, "_call_cost")
