"""The course's from-scratch code on physnn, with only the imports changed.

Each test runs a fragment of CompPhysics/AdvancedMachineLearning (doc/src/week4/week4.do.txt, the FFNN of
doc/src/week3/programs/examplecodes.py) as the course writes it, but with ``from physnn import ...`` instead
of the course's own definitions, and checks the numbers against the course's definitions, copied below in
NumPy (``course_*``; autograd.numpy -> numpy, autograd's derivatives written out). The differences physnn keeps
on purpose (README, "The course's code on physnn: what differs") are tested as differences.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn import (
    FFNN,
    LRELU,
    RELU,
    Adagrad,
    AdagradMomentum,
    Adam,
    Constant,
    CostCrossEntropy,
    CostLogReg,
    CostOLS,
    Momentum,
    RMS_prop,
    derivate,
    identity,
    sigmoid,
    softmax,
)

# ----------------------------------------------------------------- the course's definitions, in NumPy


def course_sigmoid(X):
    return 1.0 / (1 + np.exp(-X))


def course_softmax(X):
    X = X - np.max(X, axis=-1, keepdims=True)
    delta = 10e-10
    return np.exp(X) / (np.sum(np.exp(X), axis=-1, keepdims=True) + delta)


def course_RELU(X):
    return np.where(X > np.zeros(X.shape), X, np.zeros(X.shape))


def course_LRELU(X):
    delta = 10e-4
    return np.where(X > np.zeros(X.shape), X, delta * X)


def course_derivate_RELU(X):
    return np.where(X > 0, 1, 0)


def course_derivate_LRELU(X):
    delta = 10e-4
    return np.where(X > 0, 1, delta)


def course_CostOLS(target):
    def func(X):
        return (1.0 / target.shape[0]) * np.sum((target - X) ** 2)

    return func


def course_CostLogReg(target):
    def func(X):
        return -(1.0 / target.shape[0]) * np.sum(
            (target * np.log(X + 10e-10)) + ((1 - target) * np.log(1 - X + 10e-10))
        )

    return func


def course_CostCrossEntropy(target):
    def func(X):
        return -(1.0 / target.size) * np.sum(target * np.log(X + 10e-10))

    return func


class CourseMomentum:
    def __init__(self, eta: float, momentum: float):
        self.eta = eta
        self.momentum = momentum
        self.change = 0

    def update_change(self, gradient):
        self.change = self.momentum * self.change + self.eta * gradient
        return self.change

    def reset(self):
        pass


class CourseConstant:
    def __init__(self, eta):
        self.eta = eta

    def update_change(self, gradient):
        return self.eta * gradient

    def reset(self):
        pass


class CourseAdagrad:
    def __init__(self, eta):
        self.eta = eta
        self.G_t = None

    def update_change(self, gradient):
        delta = 1e-8  # avoid division ny zero

        if self.G_t is None:
            self.G_t = np.zeros((gradient.shape[0], gradient.shape[0]))

        self.G_t += gradient @ gradient.T

        G_t_inverse = 1 / (
            delta + np.sqrt(np.reshape(np.diagonal(self.G_t), (self.G_t.shape[0], 1)))
        )
        return self.eta * gradient * G_t_inverse

    def reset(self):
        self.G_t = None


class CourseAdagradMomentum:
    def __init__(self, eta, momentum):
        self.eta = eta
        self.G_t = None
        self.momentum = momentum
        self.change = 0

    def update_change(self, gradient):
        delta = 1e-8  # avoid division ny zero

        if self.G_t is None:
            self.G_t = np.zeros((gradient.shape[0], gradient.shape[0]))

        self.G_t += gradient @ gradient.T

        G_t_inverse = 1 / (
            delta + np.sqrt(np.reshape(np.diagonal(self.G_t), (self.G_t.shape[0], 1)))
        )
        self.change = self.change * self.momentum + self.eta * gradient * G_t_inverse
        return self.change

    def reset(self):
        self.G_t = None


class CourseRMS_prop:
    def __init__(self, eta, rho):
        self.eta = eta
        self.rho = rho
        self.second = 0.0

    def update_change(self, gradient):
        delta = 1e-8  # avoid division ny zero
        self.second = self.rho * self.second + (1 - self.rho) * gradient * gradient
        return self.eta * gradient / (np.sqrt(self.second + delta))

    def reset(self):
        self.second = 0.0


class CourseAdam:
    def __init__(self, eta, rho, rho2):
        self.eta = eta
        self.rho = rho
        self.rho2 = rho2
        self.moment = 0
        self.second = 0
        self.n_epochs = 1

    def update_change(self, gradient):
        delta = 1e-8  # avoid division ny zero

        self.moment = self.rho * self.moment + (1 - self.rho) * gradient
        self.second = self.rho2 * self.second + (1 - self.rho2) * gradient * gradient

        moment_corrected = self.moment / (1 - self.rho**self.n_epochs)
        second_corrected = self.second / (1 - self.rho2**self.n_epochs)

        return self.eta * moment_corrected / (np.sqrt(second_corrected + delta))

    def reset(self):
        self.n_epochs += 1
        self.moment = 0
        self.second = 0


def course_accuracy(prediction, target):
    assert prediction.size == target.size
    return np.average((target == prediction))  # noqa: UP034 (the course's parentheses)


# ------------------------------------------------------------------------------------- activations


def test_lrelu_has_the_course_slope_in_the_function_and_in_derivate():
    with jax.enable_x64(True):
        assert LRELU(-1) == -0.001
        assert float(LRELU(np.array([-1.0]))[0]) == -0.001
        np.testing.assert_array_equal(derivate(LRELU)(np.arange(-2, 3)), [0.001, 0.001, 0.001, 1.0, 1.0])
    assert float(LRELU(-1)) == pytest.approx(-0.001, rel=1e-7)  # float32 as well
    assert float(derivate(LRELU)(-1)) == pytest.approx(0.001, rel=1e-7)


@pytest.mark.parametrize("act_func, course_act, course_derivative", [
    (sigmoid, course_sigmoid, lambda X: course_sigmoid(X) * (1 - course_sigmoid(X))),  # elementwise_grad
    (RELU, course_RELU, course_derivate_RELU),
    (LRELU, course_LRELU, course_derivate_LRELU),
    (identity, lambda X: X, np.ones_like),
], ids=["sigmoid", "RELU", "LRELU", "identity"])
def test_the_activation_demo_on_an_integer_column(act_func, course_act, course_derivative):
    with jax.enable_x64(True):
        # the course's cell, as written there
        z = np.array([[4, 5, 6]]).T
        a = act_func(z)
        act_func_derivative = derivate(act_func)
        valued_at_z = act_func_derivative(a)
        # ... and the same on negative integers, where RELU and LRELU differ from the identity
        n = np.arange(-3, 3).reshape(2, 3)
        values, derivatives = act_func(n), derivate(act_func)(n)
    for got in (a, valued_at_z, values, derivatives):
        assert jnp.issubdtype(got.dtype, jnp.floating)
    np.testing.assert_allclose(a, course_act(z.astype(float)), rtol=1e-15)
    np.testing.assert_allclose(valued_at_z, course_derivative(course_act(z.astype(float))), rtol=1e-15)
    np.testing.assert_allclose(values, course_act(n.astype(float)), rtol=1e-15)
    np.testing.assert_allclose(derivatives, course_derivative(n.astype(float)), rtol=1e-15)


def test_softmax_on_integers_and_derivate_softmax_the_kept_fix():
    z = np.array([[0, 1], [1, 0]])
    with jax.enable_x64(True):
        s = softmax(z)
        d = derivate(softmax)(np.array([[1, 2, 3]]))
        # the course's derivate(softmax) is autograd's elementwise_grad: the gradient of sum_i s_i = 1
        course_d = jax.grad(lambda x: jnp.sum(jnp.exp(x - jnp.max(x, -1, keepdims=True)) / (
            jnp.sum(jnp.exp(x - jnp.max(x, -1, keepdims=True)), -1, keepdims=True) + 10e-10)))(
            jnp.asarray([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(s, course_softmax(z.astype(float)), rtol=1e-8)  # the course adds 1e-9 below
    p = course_softmax(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(d, p * (1 - p), rtol=1e-8)  # physnn: the Jacobian's diagonal
    assert np.abs(np.asarray(course_d)).max() < 1e-9  # the course's: ~1e-10


# ------------------------------------------------------------------------------------------ costs


def test_cross_entropy_equals_the_course_formula_on_a_random_example():
    rng = np.random.default_rng(12)
    target = np.eye(10)[rng.integers(0, 10, 50)]
    X = course_softmax(rng.normal(size=(50, 10)))
    with jax.enable_x64(True):
        got = float(CostCrossEntropy(target)(X))
        from_ints = float(CostCrossEntropy(target.astype(int))(X))
    expected = course_CostCrossEntropy(target)(X)
    assert got == pytest.approx(expected, rel=1e-14) and from_ints == pytest.approx(expected, rel=1e-14)
    # the course divides by target.size = 500, not by the 50 rows
    assert got == pytest.approx(-np.sum(target * np.log(X + 1e-9)) / 500, rel=1e-14)


@pytest.mark.parametrize("cost, course_cost", [(CostOLS, course_CostOLS), (CostLogReg, course_CostLogReg)],
                         ids=["CostOLS", "CostLogReg"])
def test_ols_and_logreg_equal_the_course_formulas(cost, course_cost):
    rng = np.random.default_rng(3)
    target = rng.integers(0, 2, (20, 3))
    X = rng.uniform(0.01, 0.99, (20, 3))
    with jax.enable_x64(True):
        got = float(cost(target)(X))
        saturated = float(cost(target)(np.round(X)))  # predictions of exactly 0 and 1: the 1e-9 guards
    assert got == pytest.approx(course_cost(target)(X), rel=1e-14)
    assert saturated == pytest.approx(course_cost(target)(np.round(X)), rel=1e-14)


def test_logreg_of_saturated_float32_outputs_is_the_course_value_under_jit():
    target = np.array([[0.0], [1.0], [1.0], [0.0]])
    y = np.array([[0.0], [1.0], [1.0], [1.0]], np.float32)  # the last one is certain and wrong
    got = float(jax.jit(lambda p: CostLogReg(target)(p))(y))
    assert got == pytest.approx(course_CostLogReg(target)(y.astype(float)), rel=1e-6)  # -log(1e-9) / 4
    grad = jax.jit(jax.grad(lambda z: CostLogReg(target)(sigmoid(z))))(jnp.asarray([[-30.0], [30.0], [30.0], [30.0]]))
    assert np.all(np.isfinite(np.asarray(grad)))


def test_the_cost_demo_with_derivate_on_integers():
    # the course's demo calls autograd's grad(cost_func(target))(a) on integer columns and notes that
    # "derivate() can also be used for cost functions"; jax.grad refuses integers, physnn's derivate takes them
    target = np.array([[1, 2, 3]]).T
    a = np.array([[4, 5, 6]]).T
    with jax.enable_x64(True):
        cost_func = CostCrossEntropy
        cost_func_derivative = derivate(cost_func(target))
        valued_at_a = cost_func_derivative(a)
        ols = derivate(CostOLS(target))(a)
    np.testing.assert_allclose(valued_at_a, -target / (a + 1e-9) / target.size, rtol=1e-14)
    np.testing.assert_allclose(ols, -2 * (target - a) / target.shape[0], rtol=1e-14)


# ------------------------------------------------------------------------------------------ schedulers


def _run(scheduler, gradients, reset_after):
    changes = []
    for i, gradient in enumerate(gradients):
        changes.append(np.asarray(scheduler.update_change(gradient)))
        if i in reset_after:
            scheduler.reset()
    return changes


# [n, 1] gradients: the course's row-wise Adagrad sums are then per weight, as physnn's
COLUMN_GRADIENTS = [10 * np.random.default_rng(4).normal(size=(3, 1)) for _ in range(6)]


@pytest.mark.parametrize("ours, course", [
    (lambda: Constant(0.1), lambda: CourseConstant(0.1)),
    (lambda: Momentum(0.1, 0.9), lambda: CourseMomentum(0.1, 0.9)),
    (lambda: Adagrad(0.1), lambda: CourseAdagrad(0.1)),
    (lambda: AdagradMomentum(0.1, 0.9), lambda: CourseAdagradMomentum(0.1, 0.9)),
    (lambda: RMS_prop(0.1, 0.9), lambda: CourseRMS_prop(0.1, 0.9)),
], ids=["Constant", "Momentum", "Adagrad", "AdagradMomentum", "RMS_prop"])
def test_reset_forgets_what_the_course_reset_forgets(ours, course):
    with jax.enable_x64(True):
        got = _run(ours(), COLUMN_GRADIENTS, reset_after={2})
    expected = _run(course(), COLUMN_GRADIENTS, reset_after={2})
    # rtol: RMS_prop's delta = 1e-8 sits inside the root in the course, outside in physnn (s ~ 1-100 here)
    np.testing.assert_allclose(np.hstack(got), np.hstack(expected), rtol=1e-7)


def test_momentum_reset_leaves_the_velocity_in_the_scheduler_demo():
    # the course's scheduler demo, with momentum_scheduler in place of adam_scheduler
    rng = np.random.default_rng(0)
    gradients = [rng.random((3, 3)) for _ in range(10)]
    results = []
    for momentum_scheduler in (Momentum(eta=1e-3, momentum=0.9), CourseMomentum(eta=1e-3, momentum=0.9)):
        with jax.enable_x64(True):
            weights = np.ones((3, 3))
            epochs = 10
            for e in range(epochs):
                gradient = gradients[e]
                change = momentum_scheduler.update_change(gradient)
                weights = weights - change
                momentum_scheduler.reset()
        results.append(np.asarray(weights))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-15)
    # a reset that cleared the velocity would give 1 - 1e-3 * sum of the gradients
    assert not np.allclose(results[0], 1 - 1e-3 * np.sum(gradients, axis=0), rtol=1e-3)


def test_adam_reset_is_the_kept_fix_a_first_step_again():
    rng = np.random.default_rng(0)
    gradients = [rng.random((3, 3)) for _ in range(10)]
    with jax.enable_x64(True):
        ours = _run(Adam(eta=1e-3, rho=0.9, rho2=0.999), gradients, reset_after=set(range(10)))
    course = _run(CourseAdam(eta=1e-3, rho=0.9, rho2=0.999), gradients, reset_after=set(range(10)))
    for g, change in zip(gradients, ours, strict=True):  # t = 1 after every reset: eta g / (|g| + delta)
        np.testing.assert_allclose(change, 1e-3 * g / (g + 1e-8), rtol=1e-12)
    # the first steps agree but for delta (inside the root in the course: 2e-5 relative for g ~ 0.03) ...
    np.testing.assert_allclose(course[0], ours[0], rtol=1e-4)
    assert np.max(course[-1] / ours[-1]) < 0.5  # ... the course's 10th is corrected as if it were t = 10


# --------------------------------------------------------------------------------------- the network


def test_ffnn_accuracy_in_the_xor_heat_map_cell():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    t = np.array([[0], [1], [1], [0]])  # integers, as the course's yXOR
    eta_vals, lmbd_vals = [0.1, 0.001], [1e-3]
    train_accuracy = np.zeros((len(eta_vals), len(lmbd_vals)))
    for i, eta in enumerate(eta_vals):
        for j, lmbd in enumerate(lmbd_vals):
            dnn = FFNN((2, 8, 1), hidden_func=sigmoid, output_func=sigmoid, cost_func=CostLogReg, seed=0)
            dnn.fit(X, t, Adam(eta=eta, rho=0.9, rho2=0.999), epochs=300, lam=lmbd, verbose=False)
            train_accuracy[i][j] = dnn._accuracy(dnn.predict(X), t)
            assert train_accuracy[i][j] == course_accuracy(dnn.predict(X), t)
    assert train_accuracy[0, 0] == 1.0  # eta = 0.1 learns XOR
    assert train_accuracy[1, 0] < 1.0  # 300 steps of 0.001 do not


def test_ffnn_accuracy_counts_entries_as_the_course_and_checks_sizes():
    dnn = FFNN((2, 3), output_func=softmax, cost_func=CostCrossEntropy, seed=0)
    target = np.array([[1, 0, 0], [0, 1, 0]])
    prediction = np.array([[1, 0, 0], [0, 0, 1]])  # one of two rows wrong: 4 of 6 entries agree
    assert dnn._accuracy(prediction, target) == course_accuracy(prediction, target) == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match=r"prediction and target must have the same size.*\(2, 3\).*\(3, 3\)"):
        dnn._accuracy(prediction, np.eye(3))


def test_ffnn_takes_integer_inputs_and_targets():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    t = np.array([[0], [1], [1], [0]])
    dnn = FFNN((2, 4, 1), hidden_func=LRELU, output_func=sigmoid, cost_func=CostLogReg, seed=0)
    scores = dnn.fit(X, t, Constant(0.1), epochs=3, verbose=False)
    assert np.all(np.isfinite(scores["train_errors"])) and dnn.predict(X).shape == (4, 1)
    np.testing.assert_array_equal(dnn.predict_proba(X), dnn.predict_proba(X.astype(np.float32)))
