"""Keras's optimisers (``keras.optimizers``) with Keras 3's update equations, on physnn's functional optimisers.

Each class is a ``physnn.schedulers.Scheduler``: ``model.compile(optimizer=optimizers.Adam(learning_rate=1e-3))``
trains with ``functional()``, an ``Optimizer`` (init/update, the change subtracted), and ``model.save`` stores it
by name and configuration. Below g is the gradient (after clipping), w the weight before the step, lr_t the
learning rate of step t = 1, 2, ... (a number, or a physnn schedule ``step -> lr`` such as
``schedulers.exponential_decay``, read at the t - 1 updates already taken, as Keras reads ``iterations``); every
state also carries ``scale``, the factor ``ReduceLROnPlateau`` multiplies lr_t by.

Arguments every class takes, as Keras's base optimiser:

* ``weight_decay`` wd (None: none): before the step, w <- w - lr_t wd w (decoupled decay, every trainable weight);
* ``clipnorm`` c: g <- g c / max(||g||, c) per weight array; ``global_clipnorm`` c: every g <- g c / max(G, c),
  G the norm over all arrays; ``clipvalue`` v: g <- clip(g, -v, v) (at most one of the three);
* ``name``.

``lr=`` is refused (Keras 3 removed it: use ``learning_rate=``), as are Keras's arguments physnn does not
implement (``use_ema``, ``gradient_accumulation_steps``, ...). ``get(name)`` gives an optimiser by Keras's name.
"""

from __future__ import annotations

import functools
import math
import numbers
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _named, schedulers
from physnn.schedulers import Optimizer, Scheduler, _filled, _lr, _optimizer

tree_map = jax.tree_util.tree_map


# --- functional forms Keras's equations need beyond physnn.schedulers' --------------------------------------


def _learning_rate(value):
    """step -> lr for a number (> 0) or a schedule (any callable)."""
    if callable(value):
        return value
    return lambda step: value


@schedulers._dict_access
class NesterovState(NamedTuple):
    """step, scale and the velocity v (the negative of Keras's ``momentums``)."""

    step: Any
    scale: Any
    v: Any


def sgd_nesterov(learning_rate, momentum: float) -> Optimizer:
    """Keras's SGD with ``nesterov=True``: v_t = momentum v_{t-1} + lr_t g, change = momentum v_t + lr_t g."""
    eta = _learning_rate(learning_rate)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        v = tree_map(lambda v, g: momentum * v + lr * g, state.v, grads)
        change = tree_map(lambda v, g: momentum * v + lr * g, v, grads)
        return change, state._replace(step=step, v=v)

    return _optimizer(NesterovState, update)


@schedulers._dict_access
class KerasRMSpropState(NamedTuple):
    """step, scale, the running mean s of g^2, the running mean a of g (centered) and the velocity v (momentum);
    a and v are () when unused."""

    step: Any
    scale: Any
    s: Any
    a: Any
    v: Any


def rmsprop(learning_rate, rho: float, momentum: float, epsilon: float, centered: bool) -> Optimizer:
    """Keras's RMSprop: s_t = rho s_{t-1} + (1 - rho) g^2; centered: a_t = rho a_{t-1} + (1 - rho) g,
    d_t = s_t - a_t^2, else d_t = s_t; increment = lr_t g / sqrt(d_t + epsilon) (epsilon inside the root);
    momentum > 0: v_t = momentum v_{t-1} + increment, change = v_t; else change = increment."""
    eta = _learning_rate(learning_rate)

    def init(params):
        zeros = tree_map(lambda p: _filled(np.shape(p), jnp.result_type(p)), params)
        return KerasRMSpropState(_filled((), np.int32), _filled((), jnp.result_type(float), 1), zeros,
                                 zeros if centered else (), zeros if momentum > 0 else ())

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        s = tree_map(lambda s, g: rho * s + (1 - rho) * g * g, state.s, grads)
        if centered:
            a = tree_map(lambda a, g: rho * a + (1 - rho) * g, state.a, grads)
            d = tree_map(lambda s, a: s - a * a, s, a)
        else:
            a, d = (), s
        increment = tree_map(lambda g, d: lr * g / jnp.sqrt(d + epsilon), grads, d)
        if momentum > 0:
            v = tree_map(lambda v, i: momentum * v + i, state.v, increment)
            return v, state._replace(step=step, s=s, a=a, v=v)
        return increment, state._replace(step=step, s=s, a=a)

    return _dict_optimizer(KerasRMSpropState, init, update)


@schedulers._dict_access
class KerasAdagradState(NamedTuple):
    """step, scale and the accumulator G (starting at ``initial_accumulator_value``)."""

    step: Any
    scale: Any
    G: Any


def adagrad(learning_rate, initial_accumulator_value: float, epsilon: float) -> Optimizer:
    """Keras's Adagrad: G_0 = initial_accumulator_value, G_t = G_{t-1} + g^2,
    change = lr_t g / sqrt(G_t + epsilon) (epsilon inside the root)."""
    eta = _learning_rate(learning_rate)

    def init(params):
        return KerasAdagradState(_filled((), np.int32), _filled((), jnp.result_type(float), 1),
                                 tree_map(lambda p: _filled(np.shape(p), jnp.result_type(p),
                                                            initial_accumulator_value), params))

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        G = tree_map(lambda G, g: G + g * g, state.G, grads)
        return tree_map(lambda g, G: lr * g / jnp.sqrt(G + epsilon), grads, G), state._replace(step=step, G=G)

    return _dict_optimizer(KerasAdagradState, init, update)


@schedulers._dict_access
class AMSGradState(NamedTuple):
    """step, scale, the moments m and s, and the running maximum s_max of s."""

    step: Any
    scale: Any
    m: Any
    s: Any
    s_max: Any


def amsgrad(learning_rate, beta_1: float, beta_2: float, epsilon: float) -> Optimizer:
    """Keras's Adam with ``amsgrad=True``: m_t, s_t as Adam, s^_t = max(s^_{t-1}, s_t),
    change = lr_t sqrt(1 - beta_2^t) / (1 - beta_1^t) m_t / (sqrt(s^_t) + epsilon)."""
    eta = _learning_rate(learning_rate)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        m = tree_map(lambda m, g: beta_1 * m + (1 - beta_1) * g, state.m, grads)
        s = tree_map(lambda s, g: beta_2 * s + (1 - beta_2) * g * g, state.s, grads)
        s_max = tree_map(jnp.maximum, state.s_max, s)
        t = step.astype(jnp.result_type(float))
        c1 = -jnp.expm1(t * math.log(beta_1)) if beta_1 > 0 else 1.0
        c2 = -jnp.expm1(t * math.log(beta_2)) if beta_2 > 0 else 1.0
        change = tree_map(lambda m, s: (lr * jnp.sqrt(c2) / c1) * m / (jnp.sqrt(s) + epsilon), m, s_max)
        return change, state._replace(step=step, m=m, s=s, s_max=s_max)

    return _optimizer(AMSGradState, update)


def _dict_optimizer(cls, init, update) -> Optimizer:
    """``schedulers._optimizer`` with an ``init`` of its own (a state given as a dict is read and returned so)."""
    return Optimizer(init, _optimizer(cls, update).update)


def with_weight_decay(opt: Optimizer, learning_rate, weight_decay: float) -> Optimizer:
    """``opt`` plus Keras's decoupled decay taken before the step: change += lr_t wd w (``params`` needed)."""
    eta = _learning_rate(learning_rate)

    @functools.wraps(opt.update)
    def update(grads, state, params=None):
        if params is None:
            raise ValueError("weight_decay needs the parameters: call update(grads, state, params)")
        lr = state["scale"] * eta(state["step"])  # this step's lr_t (schedules read the updates taken)
        change, state = opt.update(grads, state, params)
        return tree_map(lambda c, p: c + (lr * weight_decay) * p, change, params), state

    return Optimizer(opt.init, update)


def with_clipping(opt: Optimizer, clipnorm=None, clipvalue=None, global_clipnorm=None) -> Optimizer:
    """``opt`` on clipped gradients (Keras's ``_clip_gradients``): per array g c / max(||g||, c), over all arrays
    g c / max(G, c), or clip(g, -v, v)."""

    def clip(grads):
        if clipnorm:
            return tree_map(lambda g: g * clipnorm / jnp.maximum(jnp.sqrt(jnp.sum(g * g)), clipnorm), grads)
        if global_clipnorm:
            norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
            return tree_map(lambda g: g * global_clipnorm / jnp.maximum(norm, global_clipnorm), grads)
        return tree_map(lambda g: jnp.clip(g, -clipvalue, clipvalue), grads)

    @functools.wraps(opt.update)
    def update(grads, state, params=None):
        return opt.update(clip(grads), state, params)

    return Optimizer(opt.init, update)


# --- the classes -------------------------------------------------------------------------------------------

_UNSUPPORTED = ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps", "decay")


def _number(cls: str, name: str, value, low=None, high=None, *, low_open=False, allow_none=False):
    if value is None and allow_none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low)) and (high is None or value <= high)
    if not ok:
        bounds = f"{'>' if low_open else '>='} {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{cls}: {name} must be a finite number {bounds}, got {value!r}")
    return float(value)


def _fraction(cls: str, name: str, value):
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and 0 <= value < 1
    if not ok:
        raise ValueError(f"{cls}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


class KerasOptimizer(Scheduler):
    """Base of the Keras classes: ``learning_rate`` (the course classes' ``eta``), weight decay, clipping, name.

    Subclasses implement ``_update_rule() -> Optimizer`` and list their own hyperparameters in ``_keys``;
    ``get_config()`` gives Keras's configuration (``learning_rate`` a number or a physnn schedule).
    """

    _keys: tuple[str, ...] = ()

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        cls = type(self).__name__
        if "lr" in kwargs:
            raise ValueError(f"{cls}: lr= is not an argument (Keras 3 removed it); use learning_rate=")
        unsupported = sorted(k for k in kwargs if k in _UNSUPPORTED)
        if unsupported:
            raise ValueError(f"{cls}: {unsupported} are Keras arguments physnn does not implement")
        if kwargs:
            raise ValueError(f"{cls}: unknown argument(s) {sorted(kwargs)}")
        if not callable(learning_rate):
            learning_rate = _number(cls, "learning_rate", learning_rate, 0, low_open=True)
        super().__init__(learning_rate)  # eta: what the trainer's messages and ReduceLROnPlateau read
        self.weight_decay = _number(cls, "weight_decay", weight_decay, 0, allow_none=True)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = [k for k, v in clips.items() if v is not None]
        if len(given) > 1:
            raise ValueError(f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can be set, got {given}")
        for key, value in clips.items():
            setattr(self, key, _number(cls, key, value, 0, low_open=True, allow_none=True))
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{cls}: name must be a string or None, got {name!r}")
        self.name = name or cls.lower()

    @property
    def learning_rate(self):
        """The learning rate: a number or a schedule step -> lr."""
        return self.eta

    @learning_rate.setter
    def learning_rate(self, value):
        raise ValueError("physnn fixes an optimiser's learning rate when it is made: create it with learning_rate=... "
                         "(a number or a schedule) and compile again; ReduceLROnPlateau scales it during fit")

    def _update_rule(self) -> Optimizer:
        raise NotImplementedError

    def functional(self) -> Optimizer:
        """The Keras update as an ``Optimizer``: clipping, then the weight decay, then the step."""
        opt = self._update_rule()
        if self.weight_decay and not self._decay_in_rule():
            opt = with_weight_decay(opt, self.eta, self.weight_decay)
        if self.clipnorm or self.clipvalue or self.global_clipnorm:
            opt = with_clipping(opt, self.clipnorm, self.clipvalue, self.global_clipnorm)
        return opt

    def _decay_in_rule(self) -> bool:
        """Whether ``_update_rule`` already applies the weight decay (Adam's, through ``schedulers.adamw``)."""
        return False

    def get_config(self) -> dict:
        config = {"learning_rate": self.eta, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm, "name": self.name}
        return {**config, **{key: getattr(self, key) for key in self._keys}}


class SGD(KerasOptimizer):
    """Keras's SGD: momentum 0: change = lr_t g; else (Keras's m = -v)

        v_t = momentum v_{t-1} + lr_t g,   change = v_t                     (nesterov=False)
                                           change = momentum v_t + lr_t g   (nesterov=True)

    the first is ``schedulers.constant`` / ``schedulers.momentum``, the second ``sgd_nesterov``.

    Arguments:
        learning_rate: > 0 (default 0.01) or a schedule; momentum: in [0, 1) (default 0); nesterov: bool.
    """

    _keys = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.momentum = _fraction("SGD", "momentum", momentum)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)

    def _update_rule(self):
        if self.momentum == 0:
            return schedulers.constant(self.eta)
        if self.nesterov:
            return sgd_nesterov(self.eta, self.momentum)
        return schedulers.momentum(self.eta, self.momentum)


class Adam(KerasOptimizer):
    """Keras's Adam (the paper's "epsilon hat" form): m_t = beta_1 m_{t-1} + (1 - beta_1) g,
    s_t = beta_2 s_{t-1} + (1 - beta_2) g^2,

        change = lr_t sqrt(1 - beta_2^t) / (1 - beta_1^t) m_t / (sqrt(s_t) + epsilon)

    (``schedulers.adam(..., epsilon_hat=True)``); ``amsgrad=True`` uses max_{tau <= t} s_tau for s_t (``amsgrad``).
    torch.optim.Adam adds eps to sqrt(s_t / (1 - beta_2^t)) instead: the same update with eps scaled by
    sqrt(1 - beta_2^t).

    Arguments:
        learning_rate (0.001), beta_1 (0.9), beta_2 (0.999): in [0, 1); epsilon (1e-7): > 0; amsgrad.
    """

    _keys = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        cls = type(self).__name__
        self.beta_1 = _fraction(cls, "beta_1", beta_1)
        self.beta_2 = _fraction(cls, "beta_2", beta_2)
        self.epsilon = _number(cls, "epsilon", epsilon, 0, low_open=True)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise ValueError(f"{cls}: amsgrad must be True or False, got {amsgrad!r}")
        self.amsgrad = bool(amsgrad)

    def _decay_in_rule(self):
        return not self.amsgrad

    def _update_rule(self):
        if self.amsgrad:
            return amsgrad(self.eta, self.beta_1, self.beta_2, self.epsilon)
        if self.weight_decay:
            return schedulers.adamw(self.eta, self.weight_decay, self.beta_1, self.beta_2, self.epsilon,
                                    epsilon_hat=True)
        return schedulers.adam(self.eta, self.beta_1, self.beta_2, self.epsilon, epsilon_hat=True)


class AdamW(Adam):
    """Keras's AdamW: Adam with the decoupled weight decay w <- w - lr_t weight_decay w before each step (default
    0.004), i.e. change = lr_t (sqrt(1 - beta_2^t) / (1 - beta_1^t) m_t / (sqrt(s_t) + epsilon)
    + weight_decay w) (``schedulers.adamw(..., epsilon_hat=True)``)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a finite number >= 0, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name, **kwargs)


class RMSprop(KerasOptimizer):
    """Keras's RMSprop (see ``rmsprop``): s_t = rho s_{t-1} + (1 - rho) g^2,
    change = lr_t g / sqrt(s_t + epsilon), with ``centered`` s_t - a_t^2 (a_t the running mean of g) under the
    root and ``momentum`` a velocity over these increments. torch.optim.RMSprop adds eps outside the root:
    lr g / (sqrt(s_t) + eps).

    Arguments:
        learning_rate (0.001); rho (0.9): in [0, 1); momentum (0.0): in [0, 1); epsilon (1e-7): > 0; centered.
    """

    _keys = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.rho = _fraction("RMSprop", "rho", rho)
        self.momentum = _fraction("RMSprop", "momentum", momentum)
        self.epsilon = _number("RMSprop", "epsilon", epsilon, 0, low_open=True)
        if not isinstance(centered, (bool, np.bool_)):
            raise ValueError(f"RMSprop: centered must be True or False, got {centered!r}")
        self.centered = bool(centered)

    def _update_rule(self):
        return rmsprop(self.eta, self.rho, self.momentum, self.epsilon, self.centered)


class Adagrad(KerasOptimizer):
    """Keras's Adagrad (see ``adagrad``): G_0 = initial_accumulator_value, G_t = G_{t-1} + g^2,
    change = lr_t g / sqrt(G_t + epsilon). torch.optim.Adagrad adds eps outside the root: lr g / (sqrt(G_t) + eps).

    Arguments:
        learning_rate (0.001); initial_accumulator_value (0.1): >= 0; epsilon (1e-7): > 0.
    """

    _keys = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.initial_accumulator_value = _number("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0)
        self.epsilon = _number("Adagrad", "epsilon", epsilon, 0, low_open=True)

    def _update_rule(self):
        return adagrad(self.eta, self.initial_accumulator_value, self.epsilon)


# --- Keras's learning-rate schedules, as physnn's (which a model file can store) ---------------------------


def ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):  # noqa: N802
    """Keras's ``schedules.ExponentialDecay``: lr(t) = initial_learning_rate decay_rate^(t / decay_steps), the
    exponent floored with ``staircase`` (``schedulers.exponential_decay`` / ``schedulers.step_decay``)."""
    if staircase:
        return schedulers.step_decay(initial_learning_rate, decay_rate, decay_steps)
    return schedulers.exponential_decay(initial_learning_rate, decay_rate, decay_steps)


def InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):  # noqa: N802
    """Keras's ``schedules.InverseTimeDecay``: lr(t) = initial_learning_rate / (1 + decay_rate t / decay_steps)
    (``schedulers.inverse_time_decay``; ``staircase=True`` is not implemented)."""
    if staircase:
        raise ValueError("InverseTimeDecay: staircase=True is not implemented in physnn; use staircase=False or "
                         "ExponentialDecay(..., staircase=True)")
    return schedulers.inverse_time_decay(initial_learning_rate, decay_rate, decay_steps)


def PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,  # noqa: N802
                    name=None):
    """Keras's ``schedules.PolynomialDecay``: lr(t) = (initial - end) (1 - min(t, decay_steps) / decay_steps)^power
    + end (``schedulers.polynomial_decay``; ``cycle=True`` is not implemented)."""
    if cycle:
        raise ValueError("PolynomialDecay: cycle=True is not implemented in physnn; use cycle=False")
    return schedulers.polynomial_decay(initial_learning_rate, decay_steps, end_learning_rate, power)


#: ``keras.optimizers.schedules``: ``optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1000, decay_rate=0.9)``
schedules = SimpleNamespace(ExponentialDecay=ExponentialDecay, InverseTimeDecay=InverseTimeDecay,
                            PolynomialDecay=PolynomialDecay)


#: class name -> class (what a model file may name, as "optimizers.<name>").
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}

#: Keras's names -> class (with Keras's defaults).
NAMES: dict[str, type] = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def serialize(optimizer: KerasOptimizer) -> dict:
    """``{"class_name", "config"}`` (a learning-rate schedule is kept as the function: see ``physnn.saving``)."""
    return _named.describe(optimizer, CLASSES, "optimizer")


def deserialize(config: dict) -> KerasOptimizer:
    """The optimiser ``serialize`` described; ValueError for a class outside ``CLASSES``."""
    return _named.rebuild(config, CLASSES, "optimizer", aliases=NAMES)


def get(identifier):
    """An optimiser from Keras's name ("adam", "sgd", "rmsprop", "adagrad", "adamw"; or the class name), a
    ``serialize`` dict, a class (instantiated), or any physnn optimiser (a Scheduler or a functional
    ``Optimizer``, returned as it is)."""
    if isinstance(identifier, str):
        cls = NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"optimizer {identifier!r} is not known; valid names are {sorted(NAMES)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, KerasOptimizer):
        return identifier()
    if isinstance(identifier, (Scheduler, Optimizer)):
        return identifier
    raise ValueError(f"optimizer {identifier!r} must be a name such as 'adam', an optimizer object or a config dict")


__all__ = ["CLASSES", "NAMES", "SGD", "Adagrad", "Adam", "AdamW", "KerasOptimizer", "RMSprop", "deserialize", "get",
           "schedules", "serialize"]
