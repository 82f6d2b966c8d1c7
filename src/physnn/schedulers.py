"""Learning-rate schedulers (the course's optimisers), as pure init/update pairs and as course classes.

Functional form (what the compiled trainer uses), in the style of Optax but with the course's sign::

    opt = adam(eta=1e-3)
    state = opt.init(params)                      # params: any pytree of arrays
    change, state = opt.update(grads, state)      # change has the structure of params
    params = params - change                      # the course's  W -= scheduler.update_change(g)

Every state is a dict holding ``step`` (updates taken so far) and ``scale`` (a multiplier on the learning
rate, used by ``ReduceLROnPlateau`` without recompiling) besides the moments of the method. ``eta`` is a
float or a decay schedule ``step -> eta`` (``exponential_decay``, ``step_decay``, ``inverse_time_decay``).
Below, g is the gradient, eta_t the learning rate at step t (counted from 1) and delta = 1e-8.

Course form: ``Adam(eta).update_change(gradient) -> change`` with ``reset()``, one object per parameter
array, exactly the course's API; each class runs the same functional update, so both agree to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

DELTA = 1e-8

tree_map = jax.tree_util.tree_map


class Optimizer(NamedTuple):
    """A pure optimiser: ``init(params) -> state`` and ``update(grads, state) -> (change, state)``."""

    init: Callable[[Any], dict]
    update: Callable[[Any, dict], tuple[Any, dict]]


# --- learning-rate decay schedules: step -> eta ------------------------------------------------------


def _check_positive(name, value):
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_fraction(name, value, *, inclusive_zero=True):
    ok = isinstance(value, (int, float)) and (0 <= value < 1 if inclusive_zero else 0 < value < 1)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def _described(schedule: Callable, name: str, **config) -> Callable:
    """Tag a schedule with the call that made it, so a model file can store it (``physnn.saving``)."""
    schedule.physnn_schedule = {"name": name, "config": config}
    return schedule


def exponential_decay(eta0: float, decay_rate: float, decay_steps: int) -> Callable:
    """eta(t) = eta0 * decay_rate^(t / decay_steps)."""
    _check_positive("eta0", eta0)
    _check_positive("decay_rate", decay_rate)
    _check_positive("decay_steps", decay_steps)
    return _described(lambda step: eta0 * decay_rate ** (step / decay_steps), "exponential_decay",
                      eta0=eta0, decay_rate=decay_rate, decay_steps=decay_steps)


def step_decay(eta0: float, drop: float, every: int) -> Callable:
    """eta(t) = eta0 * drop^floor(t / every): multiply by ``drop`` every ``every`` steps."""
    _check_positive("eta0", eta0)
    _check_positive("drop", drop)
    _check_positive("every", every)
    return _described(lambda step: eta0 * drop ** jnp.floor(step / every), "step_decay",
                      eta0=eta0, drop=drop, every=every)


def inverse_time_decay(eta0: float, decay_rate: float, decay_steps: int) -> Callable:
    """eta(t) = eta0 / (1 + decay_rate * t / decay_steps)."""
    _check_positive("eta0", eta0)
    _check_positive("decay_rate", decay_rate)
    _check_positive("decay_steps", decay_steps)
    return _described(lambda step: eta0 / (1 + decay_rate * step / decay_steps), "inverse_time_decay",
                      eta0=eta0, decay_rate=decay_rate, decay_steps=decay_steps)


def _eta_fn(eta) -> Callable:
    if callable(eta):
        return eta
    _check_positive("eta", eta)
    return lambda step: eta


def _filled(shape, dtype, value=0):
    # made on the host: an eager jnp.zeros would compile (and, in a new process, trace and lower) a program
    # per shape; under jit the NumPy array is a constant, so this works on tracers as well
    return jax.device_put(np.full(shape, value, dtype))


def _base_state(params, **moments) -> dict:
    state = {"step": _filled((), np.int32), "scale": _filled((), jnp.result_type(float), 1)}
    for name in moments:
        state[name] = tree_map(lambda p: _filled(np.shape(p), jnp.result_type(p)), params)
    return state


def _lr(eta, state, step):
    """The learning rate at this update: scale * eta(step - 1) (schedules start at step 0)."""
    return state["scale"] * eta(step - 1)


# --- the methods -------------------------------------------------------------------------------------


def constant(eta) -> Optimizer:
    """Plain gradient descent: change = eta_t g."""
    eta = _eta_fn(eta)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        return tree_map(lambda g: lr * g, grads), {**state, "step": step}

    return Optimizer(lambda params: _base_state(params), update)


def momentum(eta, momentum: float = 0.9) -> Optimizer:
    """Gradient descent with momentum: v_t = momentum v_{t-1} + eta_t g, change = v_t."""
    eta = _eta_fn(eta)
    _check_fraction("momentum", momentum)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        v = tree_map(lambda v, g: momentum * v + lr * g, state["v"], grads)
        return v, {**state, "step": step, "v": v}

    return Optimizer(lambda params: _base_state(params, v=True), update)


def adagrad(eta) -> Optimizer:
    """Adagrad: G_t = G_{t-1} + g^2 (elementwise), change = eta_t g / (sqrt(G_t) + delta).

    The course accumulates diag(g g^T), one number per weight-matrix row; we keep one per weight, as in
    Duchi et al. (2011) and every library.
    """
    eta = _eta_fn(eta)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        G = tree_map(lambda G, g: G + g * g, state["G"], grads)
        change = tree_map(lambda g, G: lr * g / (jnp.sqrt(G) + DELTA), grads, G)
        return change, {**state, "step": step, "G": G}

    return Optimizer(lambda params: _base_state(params, G=True), update)


def adagrad_momentum(eta, momentum: float = 0.9) -> Optimizer:
    """Adagrad with momentum: G_t = G_{t-1} + g^2, v_t = momentum v_{t-1} + eta_t g / (sqrt(G_t) + delta)."""
    eta = _eta_fn(eta)
    _check_fraction("momentum", momentum)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        G = tree_map(lambda G, g: G + g * g, state["G"], grads)
        v = tree_map(lambda v, g, G: momentum * v + lr * g / (jnp.sqrt(G) + DELTA), state["v"], grads, G)
        return v, {**state, "step": step, "G": G, "v": v}

    return Optimizer(lambda params: _base_state(params, G=True, v=True), update)


def rms_prop(eta, rho: float = 0.9) -> Optimizer:
    """RMSprop: s_t = rho s_{t-1} + (1 - rho) g^2, change = eta_t g / (sqrt(s_t) + delta)."""
    eta = _eta_fn(eta)
    _check_fraction("rho", rho)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        s = tree_map(lambda s, g: rho * s + (1 - rho) * g * g, state["s"], grads)
        change = tree_map(lambda g, s: lr * g / (jnp.sqrt(s) + DELTA), grads, s)
        return change, {**state, "step": step, "s": s}

    return Optimizer(lambda params: _base_state(params, s=True), update)


def adam(eta=1e-3, rho: float = 0.9, rho2: float = 0.999, delta: float = DELTA,
         epsilon_hat: bool = False) -> Optimizer:
    """Adam (Kingma & Ba 2015): m_t = rho m_{t-1} + (1 - rho) g,  s_t = rho2 s_{t-1} + (1 - rho2) g^2,
    m^_t = m_t / (1 - rho^t),  s^_t = s_t / (1 - rho2^t),  change = eta_t m^_t / (sqrt(s^_t) + delta).

    With ``epsilon_hat=True`` delta is added before the bias correction (the paper's "epsilon hat", the form
    Keras and TensorFlow use, there with delta = 1e-7):
    change = eta_t sqrt(1 - rho2^t) / (1 - rho^t) m_t / (sqrt(s_t) + delta). It matters when gradients are
    small: early on, delta then weighs 1 / sqrt(1 - rho2^t) (up to ~32) times more.

    t counts updates. The course's Adam counts epochs in the bias correction and zeroes its moments at
    every epoch (``reset()`` at the end of each epoch), which restarts the moment estimates each epoch;
    physnn keeps them across the whole fit, as in the paper.
    """
    eta = _eta_fn(eta)
    _check_fraction("rho", rho)
    _check_fraction("rho2", rho2)
    _check_positive("delta", delta)

    def update(grads, state):
        step = state["step"] + 1
        lr = _lr(eta, state, step)
        m = tree_map(lambda m, g: rho * m + (1 - rho) * g, state["m"], grads)
        s = tree_map(lambda s, g: rho2 * s + (1 - rho2) * g * g, state["s"], grads)
        t = step.astype(jnp.result_type(float))
        # 1 - rho^t as -expm1(t log rho): no cancellation (in float32, 1 - 0.999 keeps only 4 digits)
        c1 = -jnp.expm1(t * math.log(rho)) if rho > 0 else 1.0
        c2 = -jnp.expm1(t * math.log(rho2)) if rho2 > 0 else 1.0
        if epsilon_hat:
            change = tree_map(lambda m, s: (lr * jnp.sqrt(c2) / c1) * m / (jnp.sqrt(s) + delta), m, s)
        else:
            change = tree_map(lambda m, s: lr * (m / c1) / (jnp.sqrt(s / c2) + delta), m, s)
        return change, {**state, "step": step, "m": m, "s": s}

    return Optimizer(lambda params: _base_state(params, m=True, s=True), update)


# --- the course's classes ----------------------------------------------------------------------------


class Scheduler:
    """Abstract course scheduler: ``update_change(gradient) -> change`` and ``reset()``.

    Subclasses set ``self._make`` (a function returning the functional ``Optimizer``); ``functional()``
    gives that optimiser to the compiled trainer, so both paths run the same equations.
    """

    def __init__(self, eta):
        if type(self) is Scheduler:
            raise TypeError("Scheduler is abstract: use Constant, Momentum, Adagrad, AdagradMomentum, "
                            "RMS_prop or Adam")
        _eta_fn(eta)  # validates a number
        self.eta = eta
        self._state = None

    def functional(self) -> Optimizer:
        """The pure init/update pair with this scheduler's hyperparameters."""
        raise NotImplementedError

    def update_change(self, gradient):
        """Return the change to subtract from the parameter whose gradient is ``gradient``."""
        opt = self.functional()
        if self._state is None:
            self._state = opt.init(gradient)
        change, self._state = opt.update(gradient, self._state)
        return change

    def reset(self):
        """Forget the accumulated moments and the step count."""
        self._state = None

    def get_config(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Scheduler):
    """change = eta g."""

    def functional(self):
        return constant(self.eta)


class Momentum(Scheduler):
    """v = momentum v + eta g; change = v."""

    def __init__(self, eta, momentum: float):
        super().__init__(eta)
        _check_fraction("momentum", momentum)
        self.momentum = momentum

    def functional(self):
        return momentum(self.eta, self.momentum)


class Adagrad(Scheduler):
    """G += g^2; change = eta g / (sqrt(G) + delta)."""

    def functional(self):
        return adagrad(self.eta)


class AdagradMomentum(Scheduler):
    """G += g^2; v = momentum v + eta g / (sqrt(G) + delta); change = v."""

    def __init__(self, eta, momentum: float):
        super().__init__(eta)
        _check_fraction("momentum", momentum)
        self.momentum = momentum

    def functional(self):
        return adagrad_momentum(self.eta, self.momentum)


class RMS_prop(Scheduler):
    """s = rho s + (1 - rho) g^2; change = eta g / (sqrt(s) + delta)."""

    def __init__(self, eta, rho: float):
        super().__init__(eta)
        _check_fraction("rho", rho)
        self.rho = rho

    def functional(self):
        return rms_prop(self.eta, self.rho)


class Adam(Scheduler):
    """Adam with bias correction by update count (see ``adam`` for the equations, ``delta``, ``epsilon_hat``
    and the course difference). ``compile(optimizer="adam")`` gives Keras's form:
    ``Adam(1e-3, delta=1e-7, epsilon_hat=True)``."""

    def __init__(self, eta=1e-3, rho: float = 0.9, rho2: float = 0.999, delta: float = DELTA,
                 epsilon_hat: bool = False):
        super().__init__(eta)
        adam(eta, rho, rho2, delta, epsilon_hat)  # validates the hyperparameters
        self.rho = rho
        self.rho2 = rho2
        self.delta = delta
        self.epsilon_hat = bool(epsilon_hat)

    def functional(self):
        return adam(self.eta, self.rho, self.rho2, self.delta, self.epsilon_hat)


SCHEDULERS = {"constant": Constant, "momentum": Momentum, "adagrad": Adagrad,
              "adagradmomentum": AdagradMomentum, "rms_prop": RMS_prop, "adam": Adam}

# Keras names for ``compile(optimizer=...)`` with Keras's default learning rates.
OPTIMIZER_NAMES = {
    "sgd": lambda: Constant(0.01),
    "momentum": lambda: Momentum(0.01, 0.9),
    "adagrad": lambda: Adagrad(0.001),
    "rmsprop": lambda: RMS_prop(0.001, 0.9),
    "adam": lambda: Adam(0.001, delta=1e-7, epsilon_hat=True),
}


def get_optimizer(optimizer) -> Scheduler | Optimizer:
    """Resolve a Keras-style name, a course ``Scheduler`` object, or a functional ``Optimizer``."""
    if isinstance(optimizer, str):
        if optimizer.lower() in OPTIMIZER_NAMES:
            return OPTIMIZER_NAMES[optimizer.lower()]()
        raise ValueError(f"optimizer={optimizer!r} is not known; valid names are {sorted(OPTIMIZER_NAMES)}")
    if isinstance(optimizer, (Scheduler, Optimizer)):
        return optimizer
    raise ValueError(f"optimizer={optimizer!r} must be a name, a Scheduler such as Adam(1e-3), or an Optimizer")


def as_functional(optimizer) -> Optimizer:
    opt = get_optimizer(optimizer)
    return opt.functional() if isinstance(opt, Scheduler) else opt
