"""Schedulers: the first three updates of every method equal hand-computed values, in the course's class API
and in the functional init/update API, with a constant learning rate and with a decay schedule."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn import schedulers
from physnn.schedulers import (
    Adagrad,
    AdagradMomentum,
    Adam,
    Constant,
    Momentum,
    RMS_prop,
    Scheduler,
    exponential_decay,
    inverse_time_decay,
    step_decay,
)

# Gradients g_1, g_2, g_3 of a two-component parameter; eta = 0.1, momentum = rho = 0.9, rho2 = 0.999.
GRADS = [(1.0, -2.0), (-2.0, 0.5), (0.5, 3.0)]
DECAY = step_decay(0.1, 0.5, 1)  # eta_t = 0.1, 0.05, 0.025 for updates t = 1, 2, 3

# The changes, worked out by hand from the equations in physnn/schedulers.py (delta = 1e-8), e.g.
#   Momentum:  v1 = 0.1 g1 = (0.1, -0.2);  v2 = 0.9 v1 + 0.1 g2 = (-0.11, -0.13);  v3 = (-0.049, 0.183)
#   Adagrad:   G2 = (5, 4.25);  change2 = 0.1 g2 / sqrt(G2) = (-0.0894427, 0.0242536)
#   RMSprop:   s1 = 0.1 g1^2 = (0.1, 0.4);  change1 = 0.1 g1 / sqrt(s1) = (0.3162278, -0.3162278)
#   Adam:      change1 = eta g1 / |g1| = (0.1, -0.1);  m2 = (-0.11, -0.13),  m^2 = m2 / 0.19,
#              s2 = (0.004999, 0.0041490),  s^2 = s2 / 0.001999,  change2 = 0.1 m^2 / sqrt(s^2)
TABLE = [
    # name, class API, functional API, changes with eta = 0.1, changes with eta = DECAY
    ("Constant", lambda eta: Constant(eta), lambda eta: schedulers.constant(eta),
     [(0.1, -0.2), (-0.2, 0.05), (0.05, 0.3)],
     [(0.1, -0.2), (-0.1, 0.025), (0.0125, 0.075)]),
    ("Momentum", lambda eta: Momentum(eta, 0.9), lambda eta: schedulers.momentum(eta, 0.9),
     [(0.1, -0.2), (-0.11, -0.13), (-0.049, 0.183)],
     [(0.1, -0.2), (-0.01, -0.155), (0.0035, -0.0645)]),
    ("Adagrad", lambda eta: Adagrad(eta), lambda eta: schedulers.adagrad(eta),
     [(0.099999999, -0.0999999995), (-0.0894427187, 0.02425356239), (0.02182178893, 0.08241633814)],
     [(0.099999999, -0.0999999995), (-0.04472135935, 0.01212678119), (0.005455447232, 0.02060408454)]),
    ("AdagradMomentum", lambda eta: AdagradMomentum(eta, 0.9),
     lambda eta: schedulers.adagrad_momentum(eta, 0.9),
     [(0.099999999, -0.0999999995), (0.0005572804, -0.06574643716), (0.02232334129, 0.0232445447)],
     [(0.099999999, -0.0999999995), (0.04527863975, -0.07787321836), (0.04620622301, -0.04948181199)]),
    ("RMS_prop", lambda eta: RMS_prop(eta, 0.9), lambda eta: schedulers.rms_prop(eta, 0.9),
     [(0.316227756, -0.316227761), (-0.2857142816, 0.0805822951), (0.07324484084, 0.268704605)],
     [(0.316227756, -0.316227761), (-0.1428571408, 0.04029114755), (0.01831121021, 0.06717615126)]),
    ("Adam", lambda eta: Adam(eta, 0.9, 0.999), lambda eta: schedulers.adam(eta, 0.9, 0.999),
     [(0.099999999, -0.0999999995), (-0.03661035247, -0.0469468168), (-0.0136690662, 0.03212569138)],
     [(0.099999999, -0.0999999995), (-0.01830517624, -0.0234734084), (-0.00341726655, 0.008031422846)]),
]
CASES = [pytest.param(make_class, make_fn, eta, expected, id=f"{name}-{label}")
         for name, make_class, make_fn, constant, decayed in TABLE
         for label, eta, expected in (("eta=0.1", 0.1, constant), ("step_decay", DECAY, decayed))]


# float32 arithmetic: 1 - 0.999 loses 4 digits in Adam's bias correction (relative error 6.5e-6 at step 1)
# and 0.09 - 0.0894 in AdagradMomentum's second step, hence rtol 2e-5 / atol 1e-8; every formula error
# (a missing bias correction, delta inside the root, a wrong momentum term) is orders of magnitude larger.
RTOL, ATOL = 2e-5, 1e-8


def _class_changes(scheduler, grads=GRADS):
    return [np.asarray(scheduler.update_change(jnp.asarray(g, jnp.float32))) for g in grads]


def _functional_changes(opt, grads=GRADS, jit=False):
    update = jax.jit(opt.update) if jit else opt.update
    state = opt.init(jnp.zeros(2, jnp.float32))
    changes = []
    for g in grads:
        change, state = update(jnp.asarray(g, jnp.float32), state)
        changes.append(np.asarray(change))
    return changes, state


@pytest.mark.parametrize("make_class, make_fn, eta, expected", CASES)
def test_first_updates_equal_hand_computed_values(make_class, make_fn, eta, expected):
    class_changes = _class_changes(make_class(eta))
    np.testing.assert_allclose(class_changes, expected, rtol=RTOL, atol=ATOL)
    functional, state = _functional_changes(make_fn(eta))
    # one set of equations behind both APIs: run the same way, they agree to the bit
    np.testing.assert_array_equal(np.asarray(class_changes), np.asarray(functional))
    assert int(state["step"]) == 3
    compiled, _ = _functional_changes(make_fn(eta), jit=True)  # as the trainer runs it (XLA may fuse: ulps)
    np.testing.assert_allclose(compiled, expected, rtol=RTOL, atol=ATOL)


NAMED_CASES = [pytest.param(name, make_class, eta, expected, id=f"{name}-{label}")
               for name, make_class, make_fn, constant, decayed in TABLE
               for label, eta, expected in (("eta=0.1", 0.1, constant), ("step_decay", DECAY, decayed))]


@pytest.mark.parametrize("name, make_class, eta, expected", NAMED_CASES)
def test_reset_forgets_what_the_course_reset_forgets(name, make_class, eta, expected):
    """The course's reset(): a no-op for Constant and Momentum, G = 0 for Adagrad and AdagradMomentum (whose
    velocity is kept), s = 0 for RMS_prop; Adam restarts from its first step (physnn's bias correction)."""
    scheduler = make_class(eta)
    _class_changes(scheduler)
    scheduler.reset()
    after = _class_changes(scheduler, GRADS[:2])
    if name in ("Adagrad", "RMS_prop", "Adam"):
        np.testing.assert_array_equal(after, _class_changes(make_class(eta), GRADS[:2]))
    elif name in ("Constant", "Momentum"):
        np.testing.assert_array_equal(after, _class_changes(make_class(eta), GRADS + GRADS[:2])[3:])
    else:  # AdagradMomentum: G from zero, v = the last change, the step count (and a schedule) goes on
        v, G, lrs = np.asarray(expected[-1], np.float64), 0.0, [0.1, 0.1] if eta == 0.1 else [0.0125, 0.00625]
        for g, lr, got in zip(GRADS[:2], lrs, after, strict=True):
            G = G + np.square(g)
            v = 0.9 * v + lr * np.asarray(g) / (np.sqrt(G) + 1e-8)
            np.testing.assert_allclose(got, v, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, make_class, make_fn, constant, decayed", TABLE, ids=[t[0] for t in TABLE])
def test_state_scale_multiplies_the_learning_rate(name, make_class, make_fn, constant, decayed):
    """ReduceLROnPlateau sets ``state["scale"]``: every method must multiply eta_t by it."""
    opt = make_fn(0.1)
    state = {**opt.init(jnp.zeros(2)), "scale": jnp.asarray(0.5, jnp.float32)}
    change, _ = opt.update(jnp.asarray(GRADS[0], jnp.float32), state)
    np.testing.assert_allclose(np.asarray(change), 0.5 * np.asarray(constant[0]), rtol=RTOL)


def test_update_works_on_a_pytree_of_parameters():
    opt = schedulers.adam(0.1)
    params = {"W": jnp.zeros((2, 3)), "b": [jnp.zeros(3)]}
    grads = {"W": jnp.ones((2, 3)), "b": [-jnp.ones(3)]}
    change, state = opt.update(grads, opt.init(params))
    assert jax.tree_util.tree_structure(change) == jax.tree_util.tree_structure(params)
    np.testing.assert_allclose(np.asarray(change["W"]), 0.1, rtol=RTOL)
    np.testing.assert_allclose(np.asarray(change["b"][0]), -0.1, rtol=RTOL)


def test_decay_schedules():
    assert exponential_decay(0.1, 0.5, 2)(4) == pytest.approx(0.025)
    assert exponential_decay(0.1, 0.5, 2)(1) == pytest.approx(0.1 * math.sqrt(0.5))
    assert float(step_decay(0.1, 0.5, 3)(5)) == pytest.approx(0.05)
    assert float(step_decay(0.1, 0.5, 3)(6)) == pytest.approx(0.025)
    assert inverse_time_decay(0.1, 1.0, 10)(10) == pytest.approx(0.05)
    assert float(DECAY(0)) == pytest.approx(0.1)  # the first update uses eta0


@pytest.mark.parametrize("factory, args, name", [
    (exponential_decay, (0.0, 0.5, 1), "eta0"), (exponential_decay, (0.1, -0.5, 1), "decay_rate"),
    (exponential_decay, (0.1, 0.5, 0), "decay_steps"), (step_decay, (0.1, 0.0, 1), "drop"),
    (step_decay, (0.1, 0.5, -2), "every"), (inverse_time_decay, (float("inf"), 1.0, 1), "eta0"),
])
def test_decay_schedules_reject_bad_arguments(factory, args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number > 0"):
        factory(*args)


def test_scheduler_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        Scheduler(0.1)
    with pytest.raises(TypeError):
        Scheduler()


@pytest.mark.parametrize("make", [lambda eta: Constant(eta), lambda eta: Momentum(eta, 0.9),
                                  lambda eta: Adagrad(eta), lambda eta: AdagradMomentum(eta, 0.9),
                                  lambda eta: RMS_prop(eta, 0.9), lambda eta: Adam(eta),
                                  schedulers.constant, schedulers.adam],
                         ids=["Constant", "Momentum", "Adagrad", "AdagradMomentum", "RMS_prop", "Adam",
                              "constant", "adam"])
@pytest.mark.parametrize("eta", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_invalid_eta_names_the_parameter(make, eta):
    with pytest.raises(ValueError, match=rf"^eta must be a finite number > 0, got {re_escape(repr(eta))}"):
        make(eta)


def re_escape(text):
    import re

    return re.escape(text)


@pytest.mark.parametrize("make, name", [
    (lambda v: Momentum(0.1, v), "momentum"), (lambda v: AdagradMomentum(0.1, v), "momentum"),
    (lambda v: RMS_prop(0.1, v), "rho"), (lambda v: Adam(0.1, rho=v), "rho"),
    (lambda v: Adam(0.1, rho2=v), "rho2"),
    (lambda v: schedulers.momentum(0.1, v), "momentum"), (lambda v: schedulers.rms_prop(0.1, v), "rho"),
])
@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_invalid_momentum_or_rho_names_the_parameter(make, name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be in \[0, 1\), got {value}"):
        make(value)


def test_get_optimizer_names_and_errors():
    assert isinstance(schedulers.get_optimizer("Adam"), Adam)
    assert schedulers.get_optimizer("sgd").eta == 0.01
    adam = Adam(0.01)
    assert schedulers.get_optimizer(adam) is adam
    with pytest.raises(ValueError, match=r"optimizer='nadam'.*valid names.*'adam'.*'adamw'.*'rmsprop'.*'sgd'"):
        schedulers.get_optimizer("nadam")


def test_repr_and_config():
    assert repr(Momentum(0.1, 0.5)) == "Momentum(eta=0.1, momentum=0.5)"
    assert Adam(0.01).get_config() == {"eta": 0.01, "rho": 0.9, "rho2": 0.999, "delta": 1e-8,
                                       "epsilon_hat": False}


def _gradients(steps=6):
    """Small gradients of mixed sign and scale: there it matters where delta enters."""
    rng = np.random.default_rng(0)
    return [rng.normal(size=5) * 10.0 ** rng.uniform(-7, -1, size=5) for _ in range(steps)]


def _run_functional(opt, grads):
    with jax.enable_x64(True):
        w, state, out = jnp.zeros(5), None, []
        for g in grads:
            state = opt.init(w) if state is None else state
            change, state = opt.update(jnp.asarray(g), state)
            w = w - change
            out.append(np.asarray(w))
    return out


def test_adam_equals_torch_optim_adam():
    import torch

    grads = _gradients()
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    expected = []
    for g in grads:
        w.grad = torch.as_tensor(g)
        opt.step()
        expected.append(w.detach().numpy().copy())
    for ours, ref in zip(_run_functional(schedulers.adam(0.01), grads), expected, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)


def test_adam_epsilon_hat_is_the_keras_update():
    """Keras 3's Adam: alpha = lr sqrt(1 - b2^t) / (1 - b1^t), w -= alpha m / (sqrt(v) + eps), eps = 1e-7."""
    grads = _gradients()
    w, m, v, expected = np.zeros(5), np.zeros(5), np.zeros(5), []
    for t, g in enumerate(grads, start=1):
        alpha = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m += (g - m) * (1 - 0.9)
        v += (g * g - v) * (1 - 0.999)
        w = w - alpha * m / (np.sqrt(v) + 1e-7)
        expected.append(w)
    keras_form = schedulers.adam(0.01, delta=1e-7, epsilon_hat=True)
    for ours, ref in zip(_run_functional(keras_form, grads), expected, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    paper_form = _run_functional(schedulers.adam(0.01, delta=1e-7), grads)
    assert np.max(np.abs(paper_form[-1] - expected[-1])) > 1e-4  # the two forms really differ here
    assert schedulers.get_optimizer("adam").get_config() == {"eta": 0.001, "rho": 0.9, "rho2": 0.999,
                                                             "delta": 1e-7, "epsilon_hat": True}
