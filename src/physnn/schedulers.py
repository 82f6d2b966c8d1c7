"""Learning-rate schedulers (the course's optimisers), as pure init/update pairs and as course classes.

Functional form (what the compiled trainer uses), in the style of Optax but with the course's sign::

    opt = adam(eta=1e-3)
    state = opt.init(params)                              # params: any pytree of arrays
    change, state = opt.update(grads, state, params)      # change has the structure of params
    params = params - change                              # the course's  W -= scheduler.update_change(g)

``params`` is optional (``None``) for every method except ``adamw``, whose weight decay needs it. Each state is
a NamedTuple (``AdamState(step, scale, m, s)``, ...) holding ``step`` (updates taken so far) and ``scale`` (a
multiplier on the learning rate, set by ``ReduceLROnPlateau`` without recompiling, see ``set_lr_scale``)
besides the moments of the method. States also read like the dicts of earlier versions (``state["step"]``,
``{**state, "scale": s}``); an ``update`` given such a dict returns a dict. ``eta`` is a float or a decay
schedule ``step -> eta`` (``exponential_decay``, ``step_decay``, ``inverse_time_decay``). Below, g is the
gradient, theta the parameter, eta_t the learning rate at step t (counted from 1) and delta = 1e-8.

``partition({"gen": adam(1e-3), "disc": adam(2e-4)}, labels)`` trains parameter groups with different
optimisers (a GAN), as one ``Optimizer``.

Course form: ``Adam(eta).update_change(gradient) -> change`` with ``reset()``, one object per parameter
array, exactly the course's API; each class runs the same functional update, so both agree to the bit.
``reset()`` forgets what the course's ``reset`` forgets: nothing for Constant and Momentum (the velocity is
kept), G for Adagrad and AdagradMomentum (AdagradMomentum keeps its velocity), s for RMS_prop; Adam's
``reset()`` zeroes its moments and also its update count, so that its bias correction starts again from
t = 1 (the course's counts epochs instead, see ``adam``).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

DELTA = 1e-8

tree_map = jax.tree_util.tree_map


class Optimizer(NamedTuple):
    """A pure optimiser: ``init(params) -> state`` and ``update(grads, state, params=None) -> (change, state)``;
    the caller applies ``params - change``."""

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


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


def polynomial_decay(eta0: float, decay_steps: int, end: float = 0.0, power: float = 1.0) -> Callable:
    """eta(t) = (eta0 - end) (1 - min(t, decay_steps) / decay_steps)^power + end: from eta0 to ``end`` over
    ``decay_steps`` steps, then constant (power 1: the linear decay; Keras's ``PolynomialDecay``)."""
    _check_positive("eta0", eta0)
    _check_positive("decay_steps", decay_steps)
    _check_positive("power", power)
    if not isinstance(end, (int, float)) or not 0 <= end <= eta0:
        raise ValueError(f"end must be a number in [0, eta0], got {end!r}")
    return _described(lambda step: (eta0 - end) * (1 - jnp.minimum(step, decay_steps) / decay_steps) ** power + end,
                      "polynomial_decay", eta0=eta0, decay_steps=decay_steps, end=end, power=power)


def _eta_fn(eta) -> Callable:
    if callable(eta):
        return eta
    _check_positive("eta", eta)
    return lambda step: eta


def _check_nonnegative(name, value):
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


# --- optimiser states --------------------------------------------------------------------------------


def _dict_access(cls):
    """Let code written for the former dict states read a state by name: ``state["m"]``, ``{**state}``."""

    def __getitem__(self, key):
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)

    cls.__getitem__ = __getitem__
    cls.keys = lambda self: self._fields
    return cls


@_dict_access
class ConstantState(NamedTuple):
    """step: updates taken so far (int32); scale: multiplies the learning rate (ReduceLROnPlateau)."""

    step: Any
    scale: Any


@_dict_access
class MomentumState(NamedTuple):
    """step, scale (see ConstantState) and the velocity v (a pytree like params)."""

    step: Any
    scale: Any
    v: Any


@_dict_access
class AdagradState(NamedTuple):
    """step, scale and the accumulated squared gradients G."""

    step: Any
    scale: Any
    G: Any


@_dict_access
class AdagradMomentumState(NamedTuple):
    """step, scale, the accumulated squared gradients G and the velocity v."""

    step: Any
    scale: Any
    G: Any
    v: Any


@_dict_access
class RMSPropState(NamedTuple):
    """step, scale and the running mean s of the squared gradients."""

    step: Any
    scale: Any
    s: Any


@_dict_access
class AdamState(NamedTuple):
    """step, scale, the first moment m and the second moment s (Adam and AdamW)."""

    step: Any
    scale: Any
    m: Any
    s: Any


def _filled(shape, dtype, value=0):
    # made on the host: an eager jnp.zeros would compile (and, in a new process, trace and lower) a program
    # per shape; under jit the NumPy array is a constant, so this works on tracers as well
    return jax.device_put(np.full(shape, value, dtype))


def _init(cls, params):
    """``cls(step=0, scale=1, <each moment>=zeros like params)``."""
    moments = (tree_map(lambda p: _filled(np.shape(p), jnp.result_type(p)), params) for _ in cls._fields[2:])
    return cls(_filled((), np.int32), _filled((), jnp.result_type(float), 1), *moments)


def _optimizer(cls, update) -> Optimizer:
    """The ``Optimizer`` whose state is ``cls``; a state given as a dict (the form before NamedTuple states,
    e.g. ``{**state, "scale": s}``) is read as ``cls`` and returned as a dict."""

    @functools.wraps(update)
    def update_any(grads, state, params=None):
        if isinstance(state, dict):
            change, state = update(grads, cls(**state), params)
            return change, state._asdict()
        return update(grads, state, params)

    return Optimizer(functools.partial(_init, cls), update_any)


def _lr(eta, state, step):
    """The learning rate at this update: scale * eta(step - 1) (schedules start at step 0)."""
    return state.scale * eta(step - 1)


# --- the methods -------------------------------------------------------------------------------------


def constant(eta) -> Optimizer:
    """Plain gradient descent: change = eta_t g.

    Arguments:
        eta: learning rate (> 0) or schedule step -> eta.
    Returns:
        ``Optimizer`` with state ``ConstantState(step, scale)``; ``update`` ignores ``params``.
    """
    eta = _eta_fn(eta)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        return tree_map(lambda g: lr * g, grads), state._replace(step=step)

    return _optimizer(ConstantState, update)


def momentum(eta, momentum: float = 0.9) -> Optimizer:
    """Gradient descent with momentum: v_t = momentum v_{t-1} + eta_t g, change = v_t.

    Arguments:
        eta: learning rate or schedule; momentum: in [0, 1).
    Returns:
        ``Optimizer`` with state ``MomentumState(step, scale, v)``.
    """
    eta = _eta_fn(eta)
    _check_fraction("momentum", momentum)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        v = tree_map(lambda v, g: momentum * v + lr * g, state.v, grads)
        return v, state._replace(step=step, v=v)

    return _optimizer(MomentumState, update)


def adagrad(eta) -> Optimizer:
    """Adagrad: G_t = G_{t-1} + g^2 (elementwise), change = eta_t g / (sqrt(G_t) + delta).

    The course accumulates diag(g g^T), one number per weight-matrix row; we keep one per weight, as in
    Duchi et al. (2011) and every library.

    Returns:
        ``Optimizer`` with state ``AdagradState(step, scale, G)``.
    """
    eta = _eta_fn(eta)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        G = tree_map(lambda G, g: G + g * g, state.G, grads)
        change = tree_map(lambda g, G: lr * g / (jnp.sqrt(G) + DELTA), grads, G)
        return change, state._replace(step=step, G=G)

    return _optimizer(AdagradState, update)


def adagrad_momentum(eta, momentum: float = 0.9) -> Optimizer:
    """Adagrad with momentum: G_t = G_{t-1} + g^2, v_t = momentum v_{t-1} + eta_t g / (sqrt(G_t) + delta),
    change = v_t.

    Returns:
        ``Optimizer`` with state ``AdagradMomentumState(step, scale, G, v)``.
    """
    eta = _eta_fn(eta)
    _check_fraction("momentum", momentum)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        G = tree_map(lambda G, g: G + g * g, state.G, grads)
        v = tree_map(lambda v, g, G: momentum * v + lr * g / (jnp.sqrt(G) + DELTA), state.v, grads, G)
        return v, state._replace(step=step, G=G, v=v)

    return _optimizer(AdagradMomentumState, update)


def rms_prop(eta, rho: float = 0.9) -> Optimizer:
    """RMSprop: s_t = rho s_{t-1} + (1 - rho) g^2, change = eta_t g / (sqrt(s_t) + delta).

    Returns:
        ``Optimizer`` with state ``RMSPropState(step, scale, s)``.
    """
    eta = _eta_fn(eta)
    _check_fraction("rho", rho)

    def update(grads, state, params=None):
        step = state.step + 1
        lr = _lr(eta, state, step)
        s = tree_map(lambda s, g: rho * s + (1 - rho) * g * g, state.s, grads)
        change = tree_map(lambda g, s: lr * g / (jnp.sqrt(s) + DELTA), grads, s)
        return change, state._replace(step=step, s=s)

    return _optimizer(RMSPropState, update)


def _adam(eta, rho, rho2, delta, epsilon_hat, weight_decay) -> Optimizer:
    """Adam, plus the decoupled weight decay eta_t weight_decay theta when ``weight_decay`` is not None."""
    eta = _eta_fn(eta)
    _check_fraction("rho", rho)
    _check_fraction("rho2", rho2)
    _check_positive("delta", delta)
    if weight_decay is not None:
        _check_nonnegative("weight_decay", weight_decay)

    def update(grads, state, params=None):
        if weight_decay is not None and params is None:
            raise ValueError("adamw needs the parameters for its weight decay: call update(grads, state, params)")
        step = state.step + 1
        lr = _lr(eta, state, step)
        m = tree_map(lambda m, g: rho * m + (1 - rho) * g, state.m, grads)
        s = tree_map(lambda s, g: rho2 * s + (1 - rho2) * g * g, state.s, grads)
        t = step.astype(jnp.result_type(float))
        # 1 - rho^t as -expm1(t log rho): no cancellation (in float32, 1 - 0.999 keeps only 4 digits)
        c1 = -jnp.expm1(t * math.log(rho)) if rho > 0 else 1.0
        c2 = -jnp.expm1(t * math.log(rho2)) if rho2 > 0 else 1.0
        if epsilon_hat:
            change = tree_map(lambda m, s: (lr * jnp.sqrt(c2) / c1) * m / (jnp.sqrt(s) + delta), m, s)
        else:
            change = tree_map(lambda m, s: lr * (m / c1) / (jnp.sqrt(s / c2) + delta), m, s)
        if weight_decay:
            change = tree_map(lambda c, p: c + (lr * weight_decay) * p, change, params)
        return change, state._replace(step=step, m=m, s=s)

    return _optimizer(AdamState, update)


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

    Arguments:
        eta: learning rate or schedule; rho, rho2: moment decay rates in [0, 1); delta: > 0.
    Returns:
        ``Optimizer`` with state ``AdamState(step, scale, m, s)``; ``update`` ignores ``params``.
    """
    return _adam(eta, rho, rho2, delta, epsilon_hat, None)


def adamw(eta=1e-3, weight_decay: float = 0.01, rho: float = 0.9, rho2: float = 0.999, delta: float = DELTA,
          epsilon_hat: bool = False) -> Optimizer:
    """AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019): with m^_t, s^_t as in ``adam``,

        change = eta_t (m^_t / (sqrt(s^_t) + delta) + weight_decay theta_{t-1})

    so the decay shrinks every weight by the factor (1 - eta_t weight_decay) per step, independent of the
    gradient's scale (L2 regularisation added to the loss would instead be divided by sqrt(s^_t)). This is
    ``torch.optim.AdamW(lr=eta, betas=(rho, rho2), eps=delta, weight_decay=weight_decay)`` (same defaults);
    ``epsilon_hat=True`` gives Keras's form (see ``adam``).

    Arguments:
        eta: learning rate or schedule; weight_decay: lambda >= 0; rho, rho2, delta, epsilon_hat: as ``adam``.
    Returns:
        ``Optimizer`` with state ``AdamState(step, scale, m, s)``; ``update(grads, state, params)`` needs the
        parameters theta_{t-1} (ValueError if ``params`` is None).
    """
    return _adam(eta, rho, rho2, delta, epsilon_hat, weight_decay)


# --- several optimisers: parameter groups ------------------------------------------------------------


class PartitionState(NamedTuple):
    """states: group name -> the state of that group's optimiser (frozen groups have none)."""

    states: dict


def _with_params(opt: Optimizer) -> Optimizer:
    """``opt`` with an ``update`` that accepts ``params`` (wrapping one written as ``update(grads, state)``)."""
    try:
        inspect.signature(opt.update).bind(None, None, None)
    except TypeError:
        return Optimizer(opt.init, lambda grads, state, params=None: opt.update(grads, state))
    except ValueError:  # no signature to inspect
        pass
    return opt


def partition(optimizers: dict, labels) -> Optimizer:
    """Train parameter groups with different optimisers, as one optimiser (Optax's ``multi_transform``): a
    GAN's generator and discriminator, or a frozen part of a model.

    For a leaf theta of group k: (change, state_k) = optimizers[k].update(grads_k, state_k, params_k), where
    grads_k and params_k hold only group k's leaves (the others replaced by None, an empty pytree); a group
    whose optimiser is None is frozen: change = 0, so params - change leaves it bit-identical.

    Arguments:
        optimizers: group name -> ``Optimizer``, course ``Scheduler`` or optimiser name; None freezes the group.
        labels: a pytree of group names with the structure of params, or a prefix of it (one name for a
            whole subtree, e.g. ``{"gen": "gen", "disc": "disc"}``), or a function params -> such a pytree
            (called on the gradients in ``update``, which have the structure of params).
    Returns:
        ``Optimizer`` with state ``PartitionState({group: state})``; ``update`` passes ``params`` on (None
        when not given).
    Example::

        opt = partition({"gen": adam(1e-3), "disc": adam(2e-4)}, {"gen": "gen", "disc": "disc"})
    """
    if not (isinstance(optimizers, dict) and optimizers):
        raise ValueError(f"optimizers must be a non-empty dict group name -> optimizer, got {optimizers!r}")
    opts = {name: None if opt is None else as_functional(opt) for name, opt in optimizers.items()}

    def leaf_labels(tree) -> list:
        given = labels(tree) if callable(labels) else labels
        try:
            full = tree_map(lambda name, sub: tree_map(lambda _: name, sub), given, tree)
        except (ValueError, TypeError) as err:
            raise ValueError(f"labels must be a pytree of group names with the structure of params (or a prefix "
                             f"of it): {err}") from None
        names = jax.tree_util.tree_leaves(full)
        unknown = [name for name in dict.fromkeys(names) if name not in opts]
        if unknown:
            raise ValueError(f"labels name the groups {unknown}, which have no optimiser; groups are {list(opts)}")
        return names

    def group(tree, names, name):
        """``tree`` with the leaves of the other groups replaced by None."""
        if tree is None:
            return None
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        return treedef.unflatten([leaf if n == name else None for leaf, n in zip(leaves, names, strict=True)])

    def init(params):
        names = leaf_labels(params)
        return PartitionState({name: opt.init(group(params, names, name))
                               for name, opt in opts.items() if opt is not None})

    def update(grads, state, params=None):
        names = leaf_labels(grads)
        leaves, treedef = jax.tree_util.tree_flatten(grads)
        changes = [jnp.zeros_like(g) if opts[n] is None else None for g, n in zip(leaves, names)]
        states = {}
        for name, opt in opts.items():
            if opt is not None:
                change, states[name] = opt.update(group(grads, names, name), state.states[name],
                                                  group(params, names, name))
                changes = [c if n == name else old
                           for old, c, n in zip(changes, treedef.flatten_up_to(change), names)]
        return treedef.unflatten(changes), PartitionState(states)

    return Optimizer(init, update)


# --- the learning-rate scale (ReduceLROnPlateau) -----------------------------------------------------


def _scaled_states(state) -> list:
    """The states in ``state`` that hold a learning-rate ``scale`` (several for a partition)."""
    if isinstance(state, PartitionState):
        return [s for inner in state.states.values() for s in _scaled_states(inner)]
    if (isinstance(state, dict) and "scale" in state) or "scale" in getattr(state, "_fields", ()):
        return [state]
    return []


def get_lr_scale(state) -> float:
    """The factor every update multiplies its learning rate with (1 unless ``set_lr_scale`` changed it)."""
    found = _scaled_states(state)
    if not found:
        raise ValueError(f"the optimiser state {type(state).__name__} has no learning-rate scale (physnn's "
                         "optimisers have one; a custom optimiser needs a 'scale' field)")
    return float(found[0]["scale"])


def set_lr_scale(state, value):
    """``state`` with every learning-rate scale set to ``value`` (same dtype: the compiled update is reused);
    ``value`` may be an array, one factor per member of a stacked (vmapped) state."""
    if not _scaled_states(state):
        get_lr_scale(state)  # raises, naming the state
    if isinstance(state, PartitionState):
        return PartitionState({k: set_lr_scale(s, value) if _scaled_states(s) else s
                               for k, s in state.states.items()})
    scale = jnp.asarray(value, state["scale"].dtype)
    return {**state, "scale": scale} if isinstance(state, dict) else state._replace(scale=scale)


# --- the course's classes ----------------------------------------------------------------------------


class Scheduler:
    """Abstract course scheduler: ``update_change(gradient) -> change`` and ``reset()``.

    Subclasses set ``self._make`` (a function returning the functional ``Optimizer``); ``functional()``
    gives that optimiser to the compiled trainer, so both paths run the same equations.
    """

    def __init__(self, eta):
        if type(self) is Scheduler:
            raise TypeError("Scheduler is abstract: use Constant, Momentum, Adagrad, AdagradMomentum, "
                            "RMS_prop, Adam or AdamW")
        _eta_fn(eta)  # validates a number
        self.eta = eta
        self._state = None

    def functional(self) -> Optimizer:
        """The pure init/update pair with this scheduler's hyperparameters."""
        raise NotImplementedError

    def update_change(self, gradient, params=None):
        """Return the change to subtract from the parameter whose gradient is ``gradient`` (``params``, its
        current value, is needed by AdamW only)."""
        opt = self.functional()
        if self._state is None:
            self._state = opt.init(gradient)
        change, self._state = opt.update(gradient, self._state, params)
        return change

    def reset(self):
        """Forget the accumulated moments and the step count (the next update is a first one)."""
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

    def reset(self):
        """Nothing to forget: a no-op, as the course's (a decay schedule's step count goes on)."""


class Momentum(Scheduler):
    """v = momentum v + eta g; change = v."""

    def __init__(self, eta, momentum: float):
        super().__init__(eta)
        _check_fraction("momentum", momentum)
        self.momentum = momentum

    def functional(self):
        return momentum(self.eta, self.momentum)

    def reset(self):
        """A no-op, as the course's: the velocity v (and the step count) is kept, so the next update is
        momentum v + eta g with the v of the last update."""


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

    def reset(self):
        """As the course's: G = 0, the velocity v (and the step count) is kept, so the next update is
        momentum v + eta g / (sqrt(g^2) + delta)."""
        if self._state is not None:
            state = self._state
            G = tree_map(lambda G: _filled(np.shape(G), jnp.result_type(G)), state["G"])
            self._state = {**state, "G": G} if isinstance(state, dict) else state._replace(G=G)


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


class AdamW(Scheduler):
    """Adam with decoupled weight decay (see ``adamw``): change = eta (m^ / (sqrt(s^) + delta) + weight_decay
    theta); ``update_change(gradient, params)`` needs the parameter theta. ``compile(optimizer="adamw")``
    gives Keras's form: ``AdamW(1e-3, weight_decay=0.004, delta=1e-7, epsilon_hat=True)``."""

    def __init__(self, eta=1e-3, weight_decay: float = 0.01, rho: float = 0.9, rho2: float = 0.999,
                 delta: float = DELTA, epsilon_hat: bool = False):
        super().__init__(eta)
        adamw(eta, weight_decay, rho, rho2, delta, epsilon_hat)  # validates the hyperparameters
        self.weight_decay = weight_decay
        self.rho = rho
        self.rho2 = rho2
        self.delta = delta
        self.epsilon_hat = bool(epsilon_hat)

    def functional(self):
        return adamw(self.eta, self.weight_decay, self.rho, self.rho2, self.delta, self.epsilon_hat)


SCHEDULERS = {"constant": Constant, "momentum": Momentum, "adagrad": Adagrad,
              "adagradmomentum": AdagradMomentum, "rms_prop": RMS_prop, "adam": Adam, "adamw": AdamW}

# Keras names for ``compile(optimizer=...)`` with Keras's default learning rates.
OPTIMIZER_NAMES = {
    "sgd": lambda: Constant(0.01),
    "momentum": lambda: Momentum(0.01, 0.9),
    "adagrad": lambda: Adagrad(0.001),
    "rmsprop": lambda: RMS_prop(0.001, 0.9),
    "adam": lambda: Adam(0.001, delta=1e-7, epsilon_hat=True),
    "adamw": lambda: AdamW(0.001, weight_decay=0.004, delta=1e-7, epsilon_hat=True),
    "lbfgs": lambda: _full_batch("LBFGS")(),
    "hessian_free": lambda: _full_batch("HessianFree")(),
}


def _full_batch(name: str) -> type:
    """A full-batch optimiser class of the engine (``physnn.training.lbfgs`` or ``.hessian_free``, which
    build on this module)."""
    from physnn.training import hessian_free, lbfgs

    return getattr(lbfgs, name) if hasattr(lbfgs, name) else getattr(hessian_free, name)


def get_optimizer(optimizer) -> Scheduler | Optimizer:
    """Resolve a Keras-style name, a course ``Scheduler`` object, or a functional ``Optimizer``."""
    if isinstance(optimizer, str):
        if optimizer.lower() in OPTIMIZER_NAMES:
            return OPTIMIZER_NAMES[optimizer.lower()]()
        raise ValueError(f"optimizer={optimizer!r} is not known; valid names are {sorted(OPTIMIZER_NAMES)}")
    if isinstance(optimizer, (Scheduler, Optimizer, _full_batch("FullBatchOptimizer"))):
        return optimizer
    raise ValueError(f"optimizer={optimizer!r} must be a name, a Scheduler such as Adam(1e-3), or an Optimizer")


def as_functional(optimizer) -> Optimizer:
    """The functional ``Optimizer`` of a name, a ``Scheduler`` or an ``Optimizer``, its ``update`` taking
    ``(grads, state, params=None)`` (one written as ``update(grads, state)`` is wrapped). A full-batch
    optimiser (``FullBatchOptimizer``: L-BFGS) is returned as it is."""
    opt = get_optimizer(optimizer)
    if isinstance(opt, _full_batch("FullBatchOptimizer")):
        return opt
    return opt.functional() if isinstance(opt, Scheduler) else _with_params(opt)
