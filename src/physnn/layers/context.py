"""Running layers inside ``Module.call``: parameters are looked up (or created) by layer name.

Subclassed models write ``x = self.dense1(inputs)`` with real arrays. While a model initialises or
applies itself it pushes a ``LayerContext``; a layer called on an array asks the innermost context for
its parameters. In ``init`` mode the context creates them from the input shape it sees (the same
mechanism as Haiku's ``transform``); in ``apply`` mode it reads them from the parameter pytree, so the
whole call stays a pure function of (params, state, x, key) that ``jit`` and ``grad`` can trace.
"""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np

_local = threading.local()


def _stack() -> list:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


class LayerContext:
    """Parameters and state of one model call.

    Arguments:
        params: dict layer-name -> parameter dict (filled in ``init`` mode).
        state: dict layer-name -> state of stateful layers (filled when missing).
        key: PRNG key for random layers, or None; each layer call gets ``fold_in(key, call_index)``.
        training: whether Dropout and friends are active.
        init: create missing parameters instead of failing; the i-th layer call draws them from
            ``numpy.random.default_rng((seed, i))``.
        batch_size: the batch size used to create missing state.
        seed: the model's seed (``init`` mode).
    """

    def __init__(self, params, state, key=None, training=False, init=False, batch_size=1, seed=0):
        self.params = params
        self.state = state
        self.key = key
        self.training = training
        self.init = init
        self.batch_size = batch_size
        self.seed = seed
        self.layers = {}  # name -> (layer, per-sample output shape), in call order
        self.owners = {}  # layer name -> the models it sits in inside the outer model (their `trainable`)
        self.enclosing = []  # the nested models being called now
        self.losses = []  # scalars added by add_loss during this call
        self.metrics = {}  # name -> scalar added by add_metric during this call (reported, not minimised)
        self.masks = {}  # id(array) -> (array, its Keras mask [batch, time]): Embedding(mask_zero=True) onwards
        self.updates = {}  # layer name -> {key: new value} of non-trainable weights (Layer.assign_weight)
        self._calls = 0

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()

    def next_key(self):
        self._calls += 1
        return None if self.key is None else jax.random.fold_in(self.key, self._calls)

    def call(self, layer, x):
        several = isinstance(x, (list, tuple))  # merge layers take a list of arrays
        sample_shape = [tuple(t.shape[1:]) for t in x] if several else tuple(x.shape[1:])
        batch_size = (x[0] if several else x).shape[0]
        known = self.layers.get(layer.name)
        if known is not None and known[0] is not layer:  # (calling one layer twice shares its weights)
            raise ValueError(f"two different layers are named '{layer.name}' in one model "
                             f"({type(known[0]).__name__} and {type(layer).__name__}); they would share "
                             "their weights: give each layer a unique name")
        layer.output_shape(sample_shape)  # shape check with the layer's own message
        key = self.next_key()
        if layer.name not in self.params:
            if not self.init:
                raise ValueError(f"Layer '{layer.name}' has no parameters in this model; was it created "
                                 "after the model was built?")
            # outside any trace, so a custom layer's init may also use jnp (its values must be concrete)
            with jax.ensure_compile_time_eval():
                self.params[layer.name] = layer.init(np.random.default_rng((self.seed, self._calls)), sample_shape)
        if layer.stateful and layer.name not in self.state:
            self.state[layer.name] = layer.init_state(batch_size, sample_shape)
        mask = None if several else self.masks.get(id(x), (None, None))[1]
        extra = {"mask": mask} if mask is not None and layer.accepts_mask else {}
        y, new_state = layer.forward(self.params[layer.name], self.state.get(layer.name, {}), x,
                                     key=key, training=self.training, **extra)
        out_mask = layer.compute_mask(x, mask)
        if out_mask is not None:  # (the array is kept with its mask, so its id stays its own)
            self.masks[id(y)] = (y, out_mask)
        if layer.stateful:
            self.state[layer.name] = new_state
        penalty = layer.activity_penalty(y)  # activity_regularizer: R(y) / batch, Keras 3's normalisation
        if penalty is not None:
            self.losses.append(penalty)
        if layer.name not in self.layers:
            self.layers[layer.name] = (layer, tuple(y.shape[1:]))
            self.owners[layer.name] = tuple(self.enclosing)
        return y

    def variable(self, variable):
        """The array of a model's ``add_weight`` variable in this call (created in ``init`` mode); the model's
        own weights are the parameter entry under its name, known to ``layers`` as one more entry."""
        owner = variable.owner
        entry = self.params.get(owner.name)
        if entry is None or variable.name not in entry:
            if not self.init:
                raise ValueError(f"weight '{variable.name}' of '{owner.name}' has no value in this model; was it "
                                 "added after the model was built?")
            with jax.ensure_compile_time_eval():
                self.params[owner.name] = {**(entry or {}), variable.name: variable.initial_value(self.seed)}
        known = self.layers.get(owner.name)
        if known is None:
            from physnn.layers.variables import own_weights

            self.layers[owner.name] = (own_weights(owner), ())
            self.owners[owner.name] = tuple(m for m in self.enclosing if m is not owner)
        elif getattr(known[0], "owner", None) is not owner:
            raise ValueError(f"model '{owner.name}' has the name of one of its layers ({type(known[0]).__name__}); "
                             "its add_weight weights are stored under its name: rename one of them")
        return self.params[owner.name][variable.name]

    def call_nested(self, model, call):
        """Run ``call()`` of a model nested inside this one (its layers' owners include it)."""
        self.enclosing.append(model)
        try:
            return call()
        finally:
            self.enclosing.pop()


def add_loss(value, who: str) -> None:
    """Add a scalar to the objective of the model call in progress (``Module.add_loss``, ``Layer.add_loss``)."""
    stack = _stack()
    if not stack:
        raise ValueError(f"add_loss was called by '{who}' outside a model's forward pass; call it inside "
                         "Module.call or a layer's apply/forward, where the loss of a batch is computed")
    value = jnp.asarray(value)
    if value.ndim != 0:
        raise ValueError(f"add_loss takes a scalar, got an array of shape {value.shape} from '{who}'")
    stack[-1].losses.append(value)


def add_metric(value, name: str, who: str) -> None:
    """Report the scalar ``value`` as the metric ``name`` of the model call in progress (``Module.add_metric``,
    ``Layer.add_metric``): ``fit`` averages it over each epoch into the history, ``evaluate`` returns it. It is
    not minimised (its gradient is stopped)."""
    stack = _stack()
    if not stack:
        raise ValueError(f"add_metric was called by '{who}' outside a model's forward pass; call it inside "
                         "Module.call or a layer's apply/forward")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"add_metric: name must be an identifier string, got {name!r} from '{who}'")
    value = jnp.asarray(value)
    if value.ndim != 0:
        raise ValueError(f"add_metric takes a scalar, got an array of shape {value.shape} from '{who}' for {name!r}")
    if name in stack[-1].metrics:
        raise ValueError(f"add_metric: the metric {name!r} was added twice in one call (the second by '{who}')")
    stack[-1].metrics[name] = jax.lax.stop_gradient(value)


def assign_weight(who: str, key: str, value) -> None:
    """Record ``value`` as the new value of the non-trainable weight ``key`` of layer ``who``, taken by ``fit``
    after this training step (outside training, and while a model builds, nothing is recorded)."""
    stack = _stack()
    if stack and stack[-1].training and not stack[-1].init:
        stack[-1].updates.setdefault(who, {})[key] = jax.lax.stop_gradient(value)


def call_layer(layer, x, *args, **kwargs):
    """``layer(x)`` on arrays: run inside the innermost model context."""
    stack = _stack()
    if not stack:
        raise RuntimeError(
            f"Layer '{layer.name}' was called on an array outside a model. Use it inside Module.call, "
            "in Sequential([...]), on an Input(...), or call layer.apply(params, x) directly."
        )
    return stack[-1].call(layer, x)
