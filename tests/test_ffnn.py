"""The course's FFNN: one training step against finite differences, logic gates, digits, the nuclear equation
of state, reproducibility, and the errors raised for bad input."""

import re

import jax
import numpy as np
import pytest

from physnn import (
    ELU,
    FFNN,
    LRELU,
    RELU,
    Adam,
    Constant,
    CostCrossEntropy,
    CostLogReg,
    CostOLS,
    TrainingDivergedError,
    identity,
    sigmoid,
    softmax,
    tanh,
)
from physnn.datasets import eos, logic_gates
from physnn.training import course_layout, keras_layout

# ------------------------------------------------- one full-batch step = -eta x finite-difference gradient

NP_ACT = {sigmoid: lambda z: 1 / (1 + np.exp(-z)), tanh: np.tanh, RELU: lambda z: np.maximum(z, 0),
          ELU: lambda z: np.where(z > 0, z, np.expm1(z)), identity: lambda z: z,
          softmax: lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)}
NP_COST = {CostOLS: lambda t, y: np.sum((t - y) ** 2) / len(t),
           CostLogReg: lambda t, y: -np.sum(t * np.log(y + 10e-10) + (1 - t) * np.log(1 - y + 10e-10)) / len(t),
           CostCrossEntropy: lambda t, y: -np.sum(t * np.log(y + 10e-10)) / t.size}  # the course's: n * classes


def _np_objective(weights, X, t, hidden, output, cost, lam):
    a = X
    for i, W in enumerate(weights):
        a = NP_ACT[output if i == len(weights) - 1 else hidden](a @ W[1:] + W[0])
    return NP_COST[cost](t, a) + 0.5 * lam * sum(np.sum(W[1:] ** 2) for W in weights)


def _np_gradient(weights, X, t, hidden, output, cost, lam, h=1e-6):
    grads = []
    for k, W in enumerate(weights):
        G = np.zeros_like(W)
        for ij in np.ndindex(W.shape):
            plus, minus = [w.copy() for w in weights], [w.copy() for w in weights]
            plus[k][ij] += h
            minus[k][ij] -= h
            G[ij] = (_np_objective(plus, X, t, hidden, output, cost, lam)
                     - _np_objective(minus, X, t, hidden, output, cost, lam)) / (2 * h)
        grads.append(G)
    return grads


@pytest.mark.parametrize("hidden, output, cost, lam", [
    (sigmoid, identity, CostOLS, 0.0),
    (RELU, sigmoid, CostLogReg, 0.0),
    (tanh, softmax, CostCrossEntropy, 0.05),  # lam: L2 decay on the weights W[1:], not on the bias row W[0]
], ids=["OLS", "LogReg", "CrossEntropy+lam"])
def test_one_full_batch_step_is_minus_eta_times_the_finite_difference_gradient(hidden, output, cost, lam):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(9, 3)).astype(np.float32).astype(np.float64)  # fit stores X as float32: be exact
    if output is softmax:
        t = np.eye(2)[rng.integers(0, 2, 9)]
    elif output is sigmoid:
        t = rng.integers(0, 2, (9, 2)).astype(float)
    else:
        t = rng.normal(size=(9, 2)).astype(np.float32).astype(np.float64)
    eta = 0.5
    with jax.enable_x64(True):
        model = FFNN((3, 4, 2), hidden_func=hidden, output_func=output, cost_func=cost, seed=3)
        before = model.weights_numpy
        assert before[0].dtype == np.float64
        model.fit(X, t, Constant(eta), batches=1, epochs=1, lam=lam, verbose=False)
        after = model.weights_numpy
    expected = _np_gradient(before, X, t, hidden, output, cost, lam)
    for w0, w1, g in zip(before, after, expected, strict=True):
        # eta is rounded to float32 in the optimiser state (relative 1.5e-8), far below rtol
        np.testing.assert_allclose((w0 - w1) / eta, g, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------------------ logic gates

GATES = logic_gates()


@pytest.fixture(scope="module")
def logistic():
    """Logistic regression: FFNN (2, 1), sigmoid output, CostLogReg (one model, compiled once)."""
    return FFNN((2, 1), hidden_func=sigmoid, output_func=sigmoid, cost_func=CostLogReg, seed=0)


def _gate_accuracy(model, gate):
    model.reset_weights()
    target = GATES.targets[gate]
    model.fit(GATES.X, target, Adam(0.1), batches=1, epochs=300, verbose=False)
    prediction = model.predict(GATES.X)
    assert prediction.shape == (4, 1) and set(np.unique(prediction)) <= {0, 1}
    return float(np.mean(prediction == target))


def test_logistic_regression_cannot_learn_xor(logistic):
    assert _gate_accuracy(logistic, "XOR") <= 0.75


@pytest.mark.parametrize("gate", ["AND", "OR"])
def test_logistic_regression_learns_and_or(logistic, gate):
    assert _gate_accuracy(logistic, gate) == 1.0


def test_one_hidden_layer_learns_xor():
    # 8 sigmoid units learn XOR in 300 epochs for each of the seeds 0..9 (4 units get stuck for 2 of them)
    model = FFNN((2, 8, 1), hidden_func=sigmoid, output_func=sigmoid, cost_func=CostLogReg, seed=0)
    assert _gate_accuracy(model, "XOR") == 1.0


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.slow
def test_digits_reach_96_percent_on_a_stratified_shuffled_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.2, random_state=0,
                                                        stratify=y)
    model = FFNN((64, 100, 30, 10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy,
                 seed=0)
    scores = model.fit(X_train, np.eye(10)[y_train], Adam(1e-3), batches=len(X_train) // 32, epochs=60,
                       X_val=X_test, t_val=np.eye(10)[y_test], verbose=False)
    accuracy = np.mean(np.argmax(model.predict(X_test), axis=1) == y_test)
    assert accuracy >= 0.96
    assert scores["val_accs"][-1] == pytest.approx(accuracy, abs=1e-6)
    assert scores["train_errors"][-1] < scores["train_errors"][0] / 10


def test_nuclear_equation_of_state_fit_has_r2_above_0999():
    from sklearn.model_selection import train_test_split

    density, energy = eos()
    d_train, d_test, e_train, e_test = train_test_split(density, energy, test_size=0.2, random_state=0)
    mx, sx, my, sy = d_train.mean(), d_train.std(), e_train.mean(), e_train.std()
    model = FFNN((1, 20, 20, 1), hidden_func=tanh, output_func=identity, cost_func=CostOLS, seed=0)
    model.fit((d_train - mx) / sx, (e_train - my) / sy, Adam(1e-2), batches=1, epochs=2000, verbose=False)
    prediction = model.predict((d_test - mx) / sx).ravel() * sy + my
    r2 = 1 - np.sum((e_test - prediction) ** 2) / np.sum((e_test - e_test.mean()) ** 2)
    assert r2 >= 0.999


# ------------------------------------------------------------------------------------------ reproducibility

RNG = np.random.default_rng(1)
X_REG = RNG.normal(size=(40, 3))
T_REG = np.sin(X_REG).sum(axis=1, keepdims=True)


def _regression_fit(seed, epochs=5):
    model = FFNN((3, 8, 1), hidden_func=tanh, seed=seed)
    scores = model.fit(X_REG[:30], T_REG[:30], Adam(1e-2), batches=4, epochs=epochs, X_val=X_REG[30:],
                       t_val=T_REG[30:], verbose=False)
    return model, scores


def test_same_seed_gives_identical_scores_and_weights():
    model_a, scores_a = _regression_fit(seed=7)
    model_b, scores_b = _regression_fit(seed=7)
    assert set(scores_a) == {"train_errors", "val_errors"} and len(scores_a["train_errors"]) == 5
    for key in scores_a:
        np.testing.assert_array_equal(scores_a[key], scores_b[key])
    for wa, wb in zip(model_a.weights_numpy, model_b.weights_numpy, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_different_seeds_give_different_scores():
    _, scores_a = _regression_fit(seed=7)
    _, scores_b = _regression_fit(seed=8)
    assert not np.array_equal(scores_a["train_errors"], scores_b["train_errors"])


def test_reset_weights_replays_the_same_fit():
    model, scores = _regression_fit(seed=7)
    model.reset_weights()
    replay = model.fit(X_REG[:30], T_REG[:30], Adam(1e-2), batches=4, epochs=5, X_val=X_REG[30:],
                       t_val=T_REG[30:], verbose=False)
    np.testing.assert_array_equal(scores["val_errors"], replay["val_errors"])


def test_seed_none_draws_and_keeps_a_seed():
    model = FFNN((3, 1), seed=None)
    assert isinstance(model.seed, int) and model.seed >= 0
    assert "seed=" in repr(model)


# ------------------------------------------------------------------------------------------ predictions


def test_classifier_predictions():
    binary = FFNN((2, 1), output_func=sigmoid, cost_func=CostLogReg, seed=0)
    proba = binary.predict_proba(GATES.X)
    assert proba.shape == (4, 1) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(binary.predict(GATES.X), (proba > 0.5).astype(int))
    np.testing.assert_array_equal(binary.predict(GATES.X, threshold=0.0), np.ones((4, 1)))
    multi = FFNN((2, 3), output_func=softmax, cost_func=CostCrossEntropy, seed=0)
    proba = multi.predict_proba(GATES.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(multi.predict(GATES.X), np.eye(3, dtype=int)[proba.argmax(axis=1)])


def test_regressor_predict_is_the_network_output_and_1d_inputs_are_columns():
    model = FFNN((1, 4, 1), hidden_func=tanh, seed=0)
    x = np.linspace(-1, 1, 5)
    np.testing.assert_array_equal(model.predict(x), model.predict_proba(x[:, None]))
    assert model.predict(x).shape == (5, 1)
    scores = model.fit(x, np.cos(x), Constant(0.1), batches=1, epochs=2, verbose=False)  # 1-D t is a column
    assert scores["train_errors"].shape == (2,)


def test_batch_layouts():
    # the course: `batches` batches of n // batches, the last one taking the remainder (10 = 3 + 3 + 4)
    assert course_layout(10, 3) == (3, 2, 4)
    assert course_layout(12, 3) == (4, 3, 0)
    assert course_layout(10, 10) == (1, 10, 0)
    # Keras: ceil(n / batch_size) batches, the last one smaller (10 = 4 + 4 + 2)
    assert keras_layout(10, 4) == (4, 2, 2)
    assert keras_layout(10, 32) == (10, 1, 0)


# ------------------------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def small():
    return FFNN((2, 3, 1), hidden_func=sigmoid, seed=0)


GOOD_X, GOOD_T = np.ones((4, 2)), np.ones((4, 1))


@pytest.mark.parametrize("X, t, kwargs, message", [
    (np.ones((4, 2)), np.ones((5, 1)), {}, "X and t must have the same number of rows, got 4 and 5"),
    (np.ones((4, 3)), GOOD_T, {}, r"X must have shape [n_samples, 2] (dimensions[0] = 2), got (4, 3)"),
    (GOOD_X, np.ones((4, 2)), {}, r"t must have shape [n_samples, 1] (dimensions[-1] = 1), got (4, 2)"),
    (np.array([[0, np.nan]] * 4), GOOD_T, {}, "X contains 4 NaN or infinite value(s)"),
    (GOOD_X, np.array([[np.inf]] * 4), {}, "t contains 4 NaN or infinite value(s)"),
    (GOOD_X, GOOD_T, {"batches": 0},
     "batches must be an integer between 1 and the number of samples (4), got 0"),
    (GOOD_X, GOOD_T, {"batches": 5},
     "batches must be an integer between 1 and the number of samples (4), got 5"),
    (GOOD_X, GOOD_T, {"batches": 1.5}, "batches must be an integer"),
    (GOOD_X, GOOD_T, {"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    (GOOD_X, GOOD_T, {"lam": -1.0}, "lam must be a number >= 0, got -1.0"),
    (GOOD_X, GOOD_T, {"X_val": GOOD_X}, "X_val and t_val must be given together"),
    (GOOD_X, GOOD_T, {"X_val": np.ones((3, 2)), "t_val": np.ones((2, 1))},
     "X_val and t_val must have the same number of rows, got 3 and 2"),
    ([["a", "b"]] * 4, GOOD_T, {}, "X must be numeric"),
], ids=["rows", "features", "targets", "nan", "inf", "batches0", "batches>n", "batches-float", "epochs",
        "lam", "val-alone", "val-rows", "strings"])
def test_bad_fit_arguments_raise_value_error_naming_them(small, X, t, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        small.fit(X, t, Constant(0.1), verbose=False, **kwargs)


def test_bad_predict_input(small):
    message = "X must have shape [n_samples, 2] (dimensions[0] = 2), got (3,)"
    with pytest.raises(ValueError, match=re.escape(message)):
        small.predict(np.ones(3))
    with pytest.raises(ValueError, match=re.escape("X contains 1 NaN")):
        small.predict([[1.0, np.nan]])


@pytest.mark.parametrize("eta", [0.0, -0.1, float("nan")])
def test_non_positive_eta_raises(eta):
    with pytest.raises(ValueError, match=rf"eta must be a finite number > 0, got {eta}"):
        Constant(eta)


@pytest.mark.parametrize("kwargs, message", [
    ({"dimensions": (2,)},
     "dimensions must be at least two positive integers (inputs, ..., outputs), got (2,)"),
    ({"dimensions": (2, 0, 1)}, "got (2, 0, 1)"),
    ({"dimensions": (2, 1), "hidden_func": "swish"}, "hidden_func must be a function, got 'swish'"),
    ({"dimensions": (2, 1), "output_func": "softmaxx"}, "output_func must be a function, got 'softmaxx'"),
    ({"dimensions": (2, 1), "cost_func": None}, "cost_func must be a function, got None"),
    ({"dimensions": (2, 1), "seed": -1}, "seed must be a non-negative integer or None, got -1"),
])
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        FFNN(**kwargs)


def test_softmax_with_one_output_is_refused():
    model = FFNN((2, 1), output_func=softmax, cost_func=CostCrossEntropy, seed=0)
    with pytest.raises(ValueError, match="softmax with a single output"):
        model.fit(GOOD_X, GOOD_T, Constant(0.1), verbose=False)


def test_diverging_fit_names_the_epoch():
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(50, 2)), 100 * rng.normal(size=(50, 1))
    model = FFNN((2, 10, 1), hidden_func=sigmoid, seed=0)
    message = r"diverged: train_error = (nan|inf) at epoch (\d+)\..*eta=10.0"
    with pytest.raises(TrainingDivergedError, match=message) as error:
        model.fit(X, t, Constant(10.0), epochs=60, verbose=False)
    assert isinstance(error.value, FloatingPointError)
    epoch = int(re.search(r"at epoch (\d+)", str(error.value)).group(1))
    assert epoch > 1
    # the named epoch is the first bad one: the same fit stopped one epoch earlier is finite
    model.reset_weights()
    scores = model.fit(X, t, Constant(10.0), epochs=epoch - 1, verbose=False)
    assert np.all(np.isfinite(scores["train_errors"]))
