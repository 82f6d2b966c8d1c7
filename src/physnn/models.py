"""Keras-familiar models: ``Module`` (subclass it), ``Sequential`` and the functional ``Model``.

Every model is a pure function of a parameter pytree underneath,

    y, state = model.forward(params, state, x, key=None, training=False)

with ``params`` a dict layer-name -> that layer's parameter dict. ``compile`` / ``fit`` / ``evaluate`` /
``predict`` wrap it the Keras way; ``fit`` runs each epoch as one compiled call (``physnn.training``), and the
training objective is

    J(theta) = mean_batch loss(y, y_hat) + sum_layers R_layer(theta_layer)

(R the layers' ``kernel_regularizer`` penalties). The model object holds what a user expects it to hold:
``params``, layer ``state`` (stateful RNNs), the optimiser and its state, and the compiled functions.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks, initializers, saving, utils
from physnn._notebook import html_table, in_notebook
from physnn.activations import sigmoid, softmax
from physnn.callbacks import History, ProgressBar
from physnn.costs import accepted_kwargs, as_loss, call_loss, is_per_sample_mean
from physnn.hyperparameters import binding_key, bound, check_binding
from physnn.layers.base import Layer
from physnn.layers.context import LayerContext, _stack, add_loss, add_metric
from physnn.layers.embedding import Embedding
from physnn.layers.serialize import check_config, deserialize, serialize
from physnn.layers.symbolic import SymbolicTensor
from physnn.layers.text import TextVectorization, is_preprocessing
from physnn.layers.variables import WeightOwner
from physnn.metrics import PER_SAMPLE_MEANS, get_metric
from physnn.saving import load_model  # noqa: F401  (Keras's keras.models.load_model)
from physnn.schedulers import as_functional, get_optimizer
from physnn.training import (
    TrainState,
    batched_pass,
    check_callbacks,
    fit_loop,
    fit_seed,
    flat_jit,
    keras_layout,
    make_epoch,
    prepare_array,
    split_params,
)
from physnn.training.devices import data_parallel
from physnn.training.hessian_free import CurvatureSplit
from physnn.training.lbfgs import FullBatchOptimizer


def _size(tree) -> int:
    """Number of scalars in a pytree of arrays."""
    return int(sum(np.prod(np.shape(leaf)) for leaf in jax.tree_util.tree_leaves(tree)))


class TrainingPlan(NamedTuple):
    """What one ``fit`` runs (``Module.training_plan``): device arrays, the compiled epoch, its seed, the cut."""

    x: Any
    y: Any
    x_val: Any
    y_val: Any
    run: Callable
    seed: Any
    layout: Any
    start: Callable  # params -> the TrainState a fit from those parameters begins with


class Module(WeightOwner):
    """Base class of every model. Subclass it Keras-style::

        class Net(physnn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = Dense(8, activation="relu")
                self.out = Dense(3, activation="softmax")

            def call(self, inputs, training=False):
                return self.out(self.hidden(inputs))

    Layers created in ``__init__`` and called in ``call`` get their parameters from the model (created on
    the first call, by ``build`` or ``fit``). ``seed`` fixes the initial weights, shuffling and dropout (None:
    the default seed, 0 unless ``physnn.utils.set_random_seed`` set another).
    """

    _hyper_binding = None  # {name: (owner, attribute)} inside ``traced_hyperparameters``

    def __init__(self, name: str | None = None, seed: int | None = None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None, got {name!r}")
        self.name = name or type(self).__name__.lower()
        # seed=None: the process's default model seed, 0 unless physnn.utils.set_random_seed changed it
        self.seed = _checks.seed("seed", utils.default_seed() if seed is None else seed)
        self.params = None
        self.state = {}
        self.opt_state = None
        self.optimizer = None
        self.loss = None
        self.metrics = []
        self.input_shape = None
        self.stop_training = False
        self._layers = {}
        self._owners = {}  # layer name -> the nested models it sits in (see trainable)
        self.trainable = True
        self._fits = 0
        self._compiled = _cache.Programs()
        self.batch_size = None  # a fixed batch size declared by Input(batch_size=...) / batch_shape
        self._weight_keys = {}  # layer name -> its parameter keys in creation order (Keras's weight order)

    # --- the computation -----------------------------------------------------------------------------

    def call(self, inputs, training=False):
        """The forward computation on a batch; override in subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must define call(self, inputs, training=False)")

    def _call(self, x, training):
        if "training" in accepted_kwargs(self.call, ("training",)):
            return self.call(x, training=training)
        return self.call(x)

    def forward_with_losses(self, params, state, x, key=None, training=False):
        """Pure forward pass: (params, state, x [batch, *input_shape]) -> (y, new state, added loss), the
        last being the sum of the scalars that ``add_loss`` added during the call (0.0 without any)."""
        return self.forward_with_updates(params, state, x, key=key, training=training)[:3]

    def forward_with_updates(self, params, state, x, key=None, training=False):
        """``forward_with_losses`` and the new values layers assigned to their non-trainable weights while
        training (``Layer.assign_weight``: BatchNormalization's moving statistics), {layer: {key: value}}."""
        y, ctx = self._traced_call(params, state, x, key, training)
        return y, ctx.state, sum(ctx.losses, 0.0), ctx.updates

    def _traced_call(self, params, state, x, key, training):
        """(y, the call's LayerContext: its new state, added losses and metrics, weight updates)."""
        with LayerContext(dict(params), dict(state), key=key, training=training) as ctx:
            y = self._call(x, training)
        return y, ctx

    def forward(self, params, state, x, key=None, training=False):
        """Pure forward pass: (params, state, x [batch, *input_shape]) -> (y, new state)."""
        y, state, _ = self.forward_with_losses(params, state, x, key=key, training=training)
        return y, state

    def add_loss(self, value) -> None:
        """Inside ``call``: add the scalar ``value`` to this batch's training objective (a KL term, a
        physics residual). ``fit`` minimises it with the loss; ``evaluate`` reports it in the loss."""
        add_loss(value, self.name)

    def add_metric(self, value, name: str) -> None:
        """Inside ``call``: report the scalar ``value`` as the metric ``name`` of this batch (a KL term, one
        player's loss). ``fit`` averages it over each epoch into the history (``val_<name>`` on validation
        data); ``evaluate`` returns it. It is not minimised."""
        add_metric(value, name, self.name)

    def apply(self, params, x, key=None, training=False):
        """Pure forward pass without layer state: y = f(x; params). Use it inside jit/grad (physics losses)."""
        return self.forward(params, self.state, x, key=key, training=training)[0]

    def __call__(self, x, training=False):
        """``model(x)``: the output on a batch, Keras's eager call. On arrays (NumPy, lists) it checks and
        converts them as ``predict`` does and returns an ``EagerArray`` (a NumPy array with Keras's
        ``.numpy()``, as the course's ``model(x).numpy()`` reads it); on JAX arrays, and on tracers inside
        ``jax.jit`` / ``jax.grad``, it is the pure forward pass with the model's current parameters
        (differentiable in x)."""
        if isinstance(x, SymbolicTensor):
            raise ValueError(f"model '{self.name}' cannot be called on an Input; use its layers")
        if _stack():  # nested inside another model's call: share its parameter context
            return _stack()[-1].call_nested(self, lambda: self._call(x, training))
        if _is_jax(x):
            x = self._adjust_rank([jnp.asarray(a) for a in x] if isinstance(x, (list, tuple)) else jnp.asarray(x))
            if not self.built:
                with jax.ensure_compile_time_eval():
                    self.build([tuple(a.shape[1:]) for a in x] if isinstance(x, list) else tuple(x.shape[1:]))
            self._check_shape(x)
            return self.forward(self.params, self.state, x, key=None, training=training)[0]
        x = self._as_input(x)
        self._ensure_built(x)
        y = self.forward(self.params, self.state, x, key=None, training=training)[0]
        return jax.tree_util.tree_map(lambda a: np.asarray(a).view(EagerArray), y)

    # --- building ------------------------------------------------------------------------------------

    def build(self, input_shape):
        """Create the parameters for per-sample ``input_shape`` (without the batch axis; a list of shapes
        for a model with several inputs)."""
        multi = self.multi_input
        if multi:
            if not isinstance(input_shape, (list, tuple)):
                raise ValueError(f"input_shape of model '{self.name}' must be a list of shapes, got {input_shape!r}")
            input_shape = [_checks.shape(f"input_shape[{i}]", s) for i, s in enumerate(input_shape)]
        else:
            input_shape = _checks.shape("input_shape", input_shape)
        params, traced, y = self._initialise(input_shape, self.seed)
        self._weight_keys = {name: _paths(entry) for name, entry in params.items()}  # (creation order)
        for layer, _ in traced["layers"].values():
            layer._owner = weakref.ref(self)  # layer.get_weights() reads the model that built it last
        self.params = jax.device_put(params)
        self.output_shape = [tuple(o.shape[1:]) for o in y] if isinstance(y, (list, tuple)) else tuple(y.shape[1:])
        _checks.elements(f"model '{self.name}'", sum(int(np.size(p)) for p in jax.tree_util.tree_leaves(params)))
        self.input_shape = input_shape
        self.state = {}
        self._layers = traced["layers"]
        self._owners = traced["owners"]
        self._compiled = _cache.Programs()
        return self

    def _initialise(self, input_shape, seed):
        """(params, {"layers", "owners"}, abstract output) of a fresh initialisation from ``seed``. Traced
        abstractly (jax.eval_shape, nothing is compiled or run): each layer's first call draws its parameters
        on the host (physnn.initializers) and the trace records the shapes."""
        params, traced = {}, {}

        def initialise(x):
            with LayerContext(params, {}, init=True, seed=seed) as ctx:
                for variable in self.__dict__.get("_variables", {}).values():  # all of them, used or not
                    ctx.variable(variable)
                y = self._call(x, False)
            traced["layers"], traced["owners"] = ctx.layers, ctx.owners
            return y

        dtype = initializers.default_dtype()
        spec = [jax.ShapeDtypeStruct((1, *s), dtype) for s in input_shape] if self.multi_input else \
            jax.ShapeDtypeStruct((1, *input_shape), dtype)
        return params, traced, jax.eval_shape(initialise, spec)

    def initial_params(self, seed: int) -> dict:
        """The parameters this (built) model would start from with ``seed`` as its seed: the same pytree as
        ``params``, drawn afresh (the model is not changed). Replica ensembles start each member from one."""
        if not self.built:
            raise ValueError(f"model '{self.name}' is not built yet: fit it, or call build(input_shape)")
        return jax.device_put(self._initialise(self.input_shape, _checks.seed("seed", seed))[0])

    @property
    def built(self) -> bool:
        return self.params is not None

    def _ensure_built(self, x, name="x"):
        shape = [tuple(a.shape[1:]) for a in x] if isinstance(x, list) else tuple(x.shape[1:])
        if not self.built:
            self.build(shape)
        self._check_shape(x, name)
        self._check_embedding_inputs(x, name)

    def _check_shape(self, x, name="x"):
        shape = [tuple(a.shape[1:]) for a in x] if isinstance(x, list) else tuple(x.shape[1:])
        if shape != self.input_shape:
            received = [tuple(a.shape) for a in x] if isinstance(x, list) else tuple(x.shape)
            raise ValueError(f"model '{self.name}' expects inputs of shape (batch, *{self.input_shape}) "
                             f"per batch, got {received}" + ("" if name == "x" else f" for {name}"))

    def _adjust_rank(self, x):
        """Keras's rank rule for inputs of a built model: an axis of length 1 is added at the end when the model
        takes (..., 1) and the data lacks it (x of shape (n,) for inputs (1,)), or squeezed when the data has a
        trailing 1 the model does not take (x of shape (n, 200, 1) for inputs (200,))."""
        if not self.built:
            return x
        if isinstance(x, list):
            if not isinstance(self.input_shape, list) or len(x) != len(self.input_shape):
                return x
            return [_fit_rank(a, s) for a, s in zip(x, self.input_shape)]
        return x if isinstance(self.input_shape, list) else _fit_rank(x, self.input_shape)

    def _check_embedding_inputs(self, x, name):
        """Indices fed straight from the data into an Embedding must be integers in [0, input_dim) (out of range
        they would give NaN rows and a 'diverged' training): one min/max per such input, on the host."""
        arrays = x if isinstance(x, list) else [x]
        if hasattr(self, "_nodes"):
            inputs = {id(t): i for i, t in enumerate(self._inputs)}
            fed = [(node.layer, inputs[id(node.inputs[0])]) for node in self._nodes
                   if isinstance(node.layer, Embedding) and len(node.inputs) == 1 and id(node.inputs[0]) in inputs]
        elif isinstance(self, Sequential) and self._stack and isinstance(self._stack[0], Embedding):
            fed = [(self._stack[0], 0)]
        else:
            return
        for layer, i in fed:
            a, label = np.asarray(arrays[i]), (name if len(arrays) == 1 else f"{name}[{i}]")
            if a.size == 0:
                continue
            if a.dtype.kind == "f" and not np.all(a == np.round(a)):
                raise ValueError(f"{label} feeds Layer '{layer.name}' (Embedding), which needs integer indices; "
                                 "got non-integer values")
            low, high = a.min(), a.max()
            if low < 0 or high >= layer.input_dim:
                raise ValueError(f"{label} feeds Layer '{layer.name}' (Embedding) indices in [{low:g}, {high:g}], "
                                 f"outside [0, input_dim={layer.input_dim})")

    def _known_layers(self) -> list:
        """Before building: the layers this model is known to hold (a Sequential's stack, a subclassed model's
        layer attributes in assignment order)."""
        if hasattr(self, "_stack"):
            return list(self._stack)
        return [v for v in vars(self).values() if isinstance(v, Layer)]

    @property
    def param_names(self) -> list[str]:
        """The keys of ``params`` in call order: the layers' names, and the model's own name where ``add_weight``
        gave it weights (what a model file stores positionally)."""
        return list(self._layers)

    @property
    def layers(self) -> list[Layer]:
        """The layers in call order (known once the model is built)."""
        return [layer for layer, _ in self._layers.values() if getattr(layer, "owner", None) is None]

    def regularization(self, params):
        """The sum over layers of their weight penalties (kernel_regularizer ...), trained weights only as Keras:
        none from a layer inside a nested model whose ``trainable`` is False, nor from a frozen model."""
        if not self.trainable:
            return 0.0
        return sum(layer.regularization(params[name]) for name, (layer, _) in self._layers.items()
                   if all(m.trainable for m in self._owners.get(name, ())))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"model '{self.name}' is not built yet: call build(input_shape), fit or predict")
        return _size(self.params)

    def summary(self, print_fn=print) -> str:
        """Print (and return) a table of layers, output shapes and parameter counts, as Keras does. Before the
        model is built it prints what is known (the layers, with "?" shapes and "0 (unbuilt)" counts), as
        Keras 3 does. In a Jupyter notebook (``print_fn`` left as ``print``) it shows an HTML table instead and
        returns None."""
        rows = [self._summary_header, *self._summary_rows()]
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(widths)
        text = [f'Model: "{self.name}"', line]
        for i, row in enumerate(rows):
            text.append("".join(cell.ljust(w) for cell, w in zip(row, widths)))
            text.append("=" * sum(widths) if i == 0 else "")
        text = [t for t in text if t]
        total = self.count_params() if self.built else 0
        frozen = sum(_size(self.params[name][key]) for name, keys in self._frozen() for key in keys) if self.built \
            else 0
        text += [line, f"Total params: {total:,}", f"Trainable params: {total - frozen:,}",
                 f"Non-trainable params: {frozen:,}"]
        out = "\n".join(text)
        if print_fn is print and in_notebook():  # in Jupyter: an HTML table
            from IPython.display import HTML, display

            display(HTML(html_table(rows[0], rows[1:], caption=f'Model: "{self.name}"', footer=text[-3:])))
            return None  # (as Keras: nothing more shows under the table when summary() ends a cell)
        if print_fn:
            print_fn(out)
        return out

    _summary_header = ("Layer (type)", "Output Shape", "Param #")

    def _summary_rows(self) -> list[tuple[str, str, str]]:
        """The summary's rows: layer (type), output shape, parameter count."""
        rows = []
        if not self.built:
            for layer in self._known_layers():
                rows.append((f"{layer.name} ({type(layer).__name__})", "?", "0 (unbuilt)"))
        for name, (layer, shape) in (self._layers.items() if self.built else ()):
            if layer not in self.layers:  # (a model's own add_weight weights: counted in the totals below)
                continue
            count = sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(self.params.get(name, {})))
            rows.append((f"{name} ({type(layer).__name__})", str((self.batch_size, *shape)), f"{count:,}"))
        return rows

    def _repr_html_(self):
        """A model as the last expression of a notebook cell: its summary as an HTML table."""
        text = self.summary(print_fn=None).splitlines()
        return html_table(self._summary_header, self._summary_rows(), caption=f'Model: "{self.name}"',
                          footer=text[-3:])

    # --- compile / fit / evaluate / predict ----------------------------------------------------------

    def compile(self, optimizer="adam", loss="mse", metrics=None):
        """Choose the optimiser (name, course Scheduler or functional Optimizer), the loss (name, course cost
        or callable loss(y_true, y_pred[, x=, params=])) and metrics (names or callables)."""
        self.optimizer = get_optimizer(optimizer)
        self._optimizer_fn = as_functional(self.optimizer)
        self.loss = loss
        self._loss_fn = as_loss(loss)
        self._loss_extra = accepted_kwargs(self._loss_fn, ("x", "params"))
        if isinstance(metrics, str) or callable(metrics):  # Keras accepts a single metric on its own
            metrics = [metrics]
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list of metric names or callables, got {metrics!r}")
        self.metrics = [get_metric(m) for m in (metrics or [])]
        self.opt_state = None
        self._compiled = _cache.Programs()
        return self

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"call compile(optimizer, loss, metrics) before {what}")

    def _data_loss(self, params, yb, y_pred, xb):
        """The batch-mean compiled loss of the outputs ``y_pred`` (the objective without penalties and
        ``add_loss`` terms)."""
        with LayerContext(dict(params), {}):  # a loss reading self.g (add_weight) sees the traced value
            return call_loss(self._loss_fn, yb, y_pred, xb, params, self._loss_extra)

    def _objective(self, params, state, xb, yb, key, training):
        """(loss, (state, metrics, updates)) of a batch; ``updates`` the non-trainable weights' new values."""
        y_pred, ctx = self._traced_call(params, state, xb, key, training)
        data_loss = self._data_loss(params, yb, y_pred, xb)
        metrics = {name: fn(yb, y_pred) for name, fn in self.metrics}
        for name, value in ctx.metrics.items():
            if name in metrics or name == "loss":
                raise ValueError(f"model '{self.name}': add_metric({name!r}) clashes with a compiled metric's name")
            metrics[name] = value
        return data_loss + self.regularization(params) + sum(ctx.losses, 0.0), (ctx.state, metrics, ctx.updates)

    def _masked_objective(self, params, state, xb, yb, key, training, weights):
        """``_objective`` with the loss and metrics the means over the samples of weight 1 (``weights`` [batch]
        of 0 and 1): sum_i w_i l_i / sum_i w_i, l_i the loss of sample i alone. For a model that
        ``_pads_ragged_batch``, so the padded samples change neither the loss nor its gradient."""
        y_pred, ctx = self._traced_call(params, state, xb, key, training)
        if ctx.losses or ctx.metrics or ctx.updates:  # (_pads_ragged_batch rules these out)
            raise RuntimeError(f"model '{self.name}': a padded batch met add_loss/add_metric terms or weight updates")

        def mean(fn):  # the weighted mean of fn over the samples, each scored alone
            def alone(yt, yp):
                return fn(*jax.tree_util.tree_map(lambda a: a[None], (yt, yp)))

            return jnp.sum(weights * jax.vmap(alone)(yb, y_pred)) / jnp.sum(weights)

        data_loss = mean(lambda yt, yp: self._data_loss(params, yt, yp, None))
        metrics = {name: mean(fn) for name, fn in self.metrics}
        return data_loss + self.regularization(params), (ctx.state, metrics, ctx.updates)

    def _is_graph(self) -> bool:
        """Whether the forward pass is the model's own graph of layers (Sequential, functional), not a
        subclass's ``call``."""
        return False

    def _pads_ragged_batch(self) -> bool:
        """Whether ``fit`` may pad a ragged last batch to the batch size with zero-weight copies of other
        samples (``make_epoch``'s ``masked_loss_fn``), so that the epoch is one ``lax.scan`` of one step shape
        and one step is compiled, not two. It may when no sample's output depends on another's — every layer
        ``per_sample``, none stateful or with an activity penalty, the graph the model's own — and the loss and
        metrics are built-in means over samples (``costs.is_per_sample_mean``, ``metrics.PER_SAMPLE_MEANS``);
        the padded step's loss and gradient then equal the unpadded ones."""
        if self.state or self._loss_extra or not self._is_graph() or not is_per_sample_mean(self._loss_fn):
            return False
        if not all(any(fn is m for m in PER_SAMPLE_MEANS) for _, fn in self.metrics):
            return False
        layers = [layer for layer, _ in self._layers.values()]
        owners = [model for models in self._owners.values() for model in models]
        return (all(getattr(layer, "per_sample", False) and not layer.stateful
                    and getattr(layer, "activity_regularizer", None) is None for layer in layers)
                and all(model._is_graph() for model in owners))

    def _curvature_split(self, params, state, xb, yb, key, training):
        """The batch objective split for a Gauss-Newton product (``physnn.training.hessian_free``): outputs
        theta -> y_pred, the data loss y_pred -> loss (a loss reading the model's weights sees them at
        ``params``, held fixed) and the remainder theta -> penalties + ``add_loss`` terms (None without any).
        None, no split, when the loss takes the parameters (``loss(..., params=)``)."""
        if "params" in self._loss_extra:
            return None

        def outputs(p):
            return self._traced_call(p, state, xb, key, training)[0]

        def remainder(p):
            added = self._traced_call(p, state, xb, key, training)[1].losses if has_added else ()
            return self.regularization(p) + sum(added, 0.0)

        has_added = bool(self._traced_call(params, state, xb, key, training)[1].losses)  # (traced, not run)
        constant = not has_added and isinstance(self.regularization(params), (int, float))
        return CurvatureSplit(outputs, lambda y: self._data_loss(params, yb, y, xb), None if constant else remainder)

    def trainable_params(self) -> dict:
        """The part of ``params`` that ``fit`` trains (what the optimiser state covers)."""
        return split_params(self.params, self._frozen())[0]

    def _frozen(self) -> tuple:
        """The parameter entries ``fit`` leaves alone, ``((layer name, (key, ...)), ...)``: every entry of a
        layer whose ``trainable`` is False (or that sits in a model whose ``trainable`` is False), and the
        ``non_trainable_keys`` of the others."""
        frozen = []
        for name, (layer, _) in self._layers.items():
            keys = tuple(sorted(self.params.get(name, {})))
            if self.trainable and layer.trainable and all(m.trainable for m in self._owners.get(name, ())):
                keys = tuple(k for k in keys if k in layer.non_trainable_keys)
            if keys:
                frozen.append((name, keys))
        return tuple(frozen)

    def _evaluate_fn(self, binding=None):
        """``(params, state, x, y[, hyper]) -> (logs, state)``: the loss and metrics on (x, y). Without layer state
        in one batch; a stateful model runs batches of its state's batch size in order, carrying the state
        (Keras). ``hyper``: the values of the traced hyperparameters ``binding`` names (``physnn.hyperparameters``)."""
        signature = ("evaluate", binding_key(binding)) if binding else "evaluate"
        if signature not in self._compiled:
            def evaluate(params, state, x, y, hyper=None):
                with bound(binding or {}, hyper or {}):
                    return evaluate_bound(params, state, x, y)

            def evaluate_bound(params, state, x, y):
                if not state:
                    loss, (_, metrics, _) = self._objective(params, state, x, y, None, False)
                    return {"loss": loss, **metrics}, state

                def batch(state, xy):
                    loss, (state, metrics, _) = self._objective(params, state, *xy, None, False)
                    size = _n_samples(xy[0])
                    return state, {k: v * size for k, v in {"loss": loss, **metrics}.items()}

                state, full, tail = batched_pass(batch, state, (x, y), _state_batch_size(state))
                totals = [jax.tree_util.tree_map(lambda v: jnp.sum(v, axis=0), full), tail]
                totals = [t for t in totals if t is not None]
                logs = jax.tree_util.tree_map(lambda *v: sum(v) / _n_samples(x), *totals)
                return logs, state
            self._compiled[signature] = flat_jit(evaluate)
        return self._compiled[signature]

    @contextlib.contextmanager
    def traced_hyperparameters(self, binding: dict):
        """Within the block, the epoch programs that ``training_plan`` builds read the attributes ``binding``
        names (``{name: (owner, attribute)}``: a dropout rate, an L2 factor, a leak rate ...) from the values
        their carry holds (``TrainState.hyper``, ``{name: value}``) instead of baking them in
        (``physnn.hyperparameters``); ``physnn.ensemble.fit_replicas(hyperparameters=...)`` trains k values in one
        vmapped program this way. An empty binding changes nothing."""
        previous = self._hyper_binding
        self._hyper_binding = check_binding(binding) if binding else None
        try:
            yield self
        finally:
            self._hyper_binding = previous

    def _epoch_fn(self, n, layout, shuffle, has_val, frozen, parallel=None):
        binding = self._hyper_binding
        signature = ("epoch", n, layout, shuffle, has_val, frozen, parallel and parallel.key,
                     binding_key(binding or {}))
        if signature not in self._compiled:
            masked = None
            if self._pads_ragged_batch():
                def masked(p, s, x, y, k, w):
                    return self._masked_objective(p, s, x, y, k, True, w)
            epoch = make_epoch(lambda p, s, x, y, k: self._objective(p, s, x, y, k, True),
                               self._optimizer_fn, n, layout, shuffle, frozen, parallel,
                               curvature=lambda p, s, x, y, k: self._curvature_split(p, s, x, y, k, True),
                               hyper_binding=binding, masked_loss_fn=masked)
            evaluate = self._evaluate_fn(binding)

            def run(carry, x, y, x_val, y_val, seed, epoch_index):
                carry, logs = epoch(carry, x, y, seed, epoch_index)
                if has_val:
                    if parallel is not None:
                        x_val, y_val = jax.tree_util.tree_map(parallel.split, (x_val, y_val))
                    # (a stateful model validates from its training state, which validation does not change)
                    logs.update({f"val_{k}": v for k, v in evaluate(carry.params, carry.state,
                                                                    x_val, y_val, carry.hyper)[0].items()})
                return carry, logs

            self._compiled[signature] = flat_jit(run)
        return self._compiled[signature]

    def training_plan(self, x, y, epochs=1, batch_size=None, validation_split=0.0, validation_data=None,
                      shuffle=True, seed=None, initial_epoch=0, devices=None, local_data=False) -> TrainingPlan:
        """What ``fit`` runs, prepared and checked as ``fit`` does (arguments as ``fit``): the data on the
        device, the compiled epoch ``run(carry, x, y, x_val, y_val, seed, epoch_index) -> (carry, logs)`` and its
        seed; the model's optimiser state is initialised. ``physnn.ensemble`` vmaps ``run`` over replicas."""
        self._require_compiled("fit")
        if batch_size is None:
            batch_size = self.batch_size or 32
        x, y = self._as_input(x), self._as_target(y, "y")
        if isinstance(epochs, bool) or not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        _checks.count("epochs", epochs, maximum=_checks.MAX_EPOCHS)
        initial_epoch = _checks.count("initial_epoch", initial_epoch, minimum=0)
        if initial_epoch >= epochs:
            raise ValueError(f"initial_epoch={initial_epoch} must be < epochs={epochs} (epochs counts from 0, "
                             "including the epochs already trained)")
        if seed is not None:
            seed = _checks.seed("seed", seed)
        _checks.flag("shuffle", shuffle)
        self._check_pair(x, y, "x", "y")
        if isinstance(validation_split, bool) or not (isinstance(validation_split, (int, float, np.floating))
                                                       and 0.0 <= validation_split < 1.0):
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val, y_val = self._as_input(validation_data[0], "x_val"), self._as_target(validation_data[1], "y_val")
            self._check_pair(x_val, y_val, "x_val", "y_val")
        elif validation_split > 0:
            split = int(_n_samples(x) * (1.0 - validation_split))  # Keras's rule: the last n - split samples
            if split < 1 or split >= _n_samples(x):
                raise ValueError(f"validation_split={validation_split} leaves no samples for training or "
                                 f"validation out of {_n_samples(x)}")
            x, x_val = _take(x, slice(0, split)), _take(x, slice(split, None))
            y, y_val = _take(y, slice(0, split)), _take(y, slice(split, None))
        self._ensure_built(x)
        self._warn_logits_of_probabilities()
        if x_val is not None:
            self._ensure_built(x_val, "x_val")
        y = self._match_target(y, "y")
        y_val = None if y_val is None else self._match_target(y_val, "y_val")
        parallel = data_parallel(devices)
        if _checks.flag("local_data", local_data):
            if parallel is None:
                raise ValueError("local_data=True needs devices ('global' across processes, or 'all', a count, ...)")
            x, y, x_val, y_val = parallel.from_processes((x, y, x_val, y_val))  # (global arrays, split)
        n = _n_samples(x)
        layout = keras_layout(n, batch_size)
        if isinstance(self._optimizer_fn, FullBatchOptimizer) and self._optimizer_fn.full_batch:
            # L-BFGS: one iteration on the whole set per epoch (a strategy, full_batch=False, keeps batch_size)
            layout, shuffle = keras_layout(n, n), False
        if getattr(self.loss, "whole_data_in_order", False) and (shuffle or layout.batch_size != n):
            raise ValueError(f"the loss {self.loss!r} pairs its errors with the points in their order: fit with "
                             f"batch_size={n} (the whole data set) and shuffle=False")
        if self._has_stateful_layers():
            self._carried_state(layout.batch_size, "fit")
        frozen = self._frozen()
        trainable = self.trainable_params()
        if self.opt_state is not None:
            expected = jax.eval_shape(self._optimizer_fn.init, trainable)  # (abstract: nothing is computed)
            if isinstance(self.opt_state, dict):  # a state edited as a dict ({**opt_state, "scale": s})
                self.opt_state = type(expected)(**self.opt_state)
            if jax.tree_util.tree_structure(self.opt_state) != jax.tree_util.tree_structure(expected):
                self.opt_state = None  # a layer's `trainable` changed since the state was made
        if self.opt_state is None:
            self.opt_state = self._optimizer_fn.init(trainable)
        if parallel is not None:
            self._refuse_stateful_on_devices()
        run = self._epoch_fn(n, layout, shuffle, x_val is not None, frozen, parallel)

        seed = fit_seed(self.seed, self._fits, seed)
        if not local_data:
            x, y, x_val, y_val = jax.device_put((x, y, x_val, y_val))  # (no eager programs: see DESIGN.md)
        if parallel is not None:  # the data (unless split already) and the training state on every device
            if not local_data:
                x, y, x_val, y_val = parallel.place((x, y, x_val, y_val))
            self.params, self.opt_state, self.state = parallel.place((self.params, self.opt_state, self.state))
        optimizer = self._optimizer_fn

        def start(params):
            return TrainState(params, optimizer.init(split_params(params, frozen)[0]), {})

        return TrainingPlan(x, y, x_val, y_val, run, seed, layout, start)

    def fit(self, x, y, epochs=1, batch_size=None, validation_split=0.0, validation_data=None, shuffle=True,
            callbacks=None, verbose=1, seed=None, initial_epoch=0, devices=None, local_data=False) -> History:
        """Train for ``epochs`` passes over (x, y) in minibatches of ``batch_size`` (the last one ragged).

        ``batch_size=None`` is Keras's default: the batch size an ``Input`` declared, else 32.
        ``validation_split`` holds out the last fraction of the samples (before shuffling, as Keras);
        ``validation_data=(x_val, y_val)`` gives them explicitly. ``seed`` (default: the model's) fixes the
        shuffling and dropout, so the same seed gives the same History. ``devices`` ("all", a count, a list of
        devices or a one-axis ``jax.sharding.Mesh``) splits every batch across those devices, the parameters
        replicated (``physnn.training.devices``); the result equals the one-device fit up to rounding. With
        ``local_data=True`` x and y are this process's share of the data set (``devices="global"`` after
        ``physnn.distributed.initialize``: the data set is the shares of the processes in process order, each
        of the same size, a multiple of the process's devices) and stay split across the devices instead of
        copied to each; validation_split then holds out the last fraction of each share.
        Returns the ``History``.
        Raises ``TrainingDivergedError`` naming the epoch when the loss becomes NaN or infinite.
        """
        plan = self.training_plan(x, y, epochs, batch_size, validation_split, validation_data, shuffle, seed,
                                  initial_epoch, devices, local_data)
        x, y, x_val, y_val, run, seed = plan[:6]
        history = History()
        callbacks = [*check_callbacks(callbacks), history]
        if verbose:
            callbacks.append(ProgressBar(epochs, self.name))
        self._fits += 1

        def set_carry(carry):
            self.params, self.opt_state, self.state = carry.params, carry.opt_state, carry.state

        fit_loop(lambda carry, epoch: run(carry, x, y, x_val, y_val, seed, epoch),
                 get_carry=lambda: TrainState(self.params, self.opt_state, self.state), set_carry=set_carry,
                 model=self, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                 hint=self._lr_hint(), diagnose=lambda: self._divergence_cause(x))
        self.history = history
        return history

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False, devices=None):
        """The loss (and metrics) on (x, y): a float, or [loss, metric...] when metrics were compiled; with
        ``return_dict`` (Keras's) a dict name -> float of the loss, the compiled metrics and those the model
        reports with ``add_metric``. ``devices`` as in ``fit``: the samples split across them."""
        self._require_compiled("evaluate")
        _check_batch_size(batch_size)
        x, y = self._as_input(x), self._as_target(y, "y")
        self._check_pair(x, y, "x", "y")
        self._ensure_built(x)
        y = self._match_target(y, "y")
        state = self._carried_state(batch_size, "evaluate") if self._has_stateful_layers() else {}
        params, put = self._placement(devices)
        logs, state = self._evaluate_fn()(params, state, *put((x, y)))
        if self._has_stateful_layers():
            self.state = state  # Keras: evaluating a stateful model advances its state
        if _checks.flag("return_dict", return_dict):
            return {name: float(value) for name, value in logs.items()}
        values = [float(logs["loss"])] + [float(logs[name]) for name, _ in self.metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, devices=None) -> np.ndarray:
        """The model's output for inputs x [n, *input_shape], as a NumPy array (dropout off). ``devices`` as in
        ``fit``: each batch split across them (the parameters replicated), as one compiled program."""
        batch_size = _check_batch_size(batch_size)
        x = self._as_input(x)
        self._ensure_built(x)
        if self._has_stateful_layers():
            self._placement(devices)  # (refuses devices)
            return self._predict_stateful(x, batch_size)
        if "predict" not in self._compiled:
            self._compiled["predict"] = flat_jit(lambda params, state, x:
                                                 self.forward(params, state, x, None, False)[0])
        params, put = self._placement(devices)
        if batch_size is None:  # (no layer state here: stateful models went above)
            return jax.tree_util.tree_map(np.asarray, self._compiled["predict"](params, {}, put(x)))
        parts = [self._compiled["predict"](params, {}, put(_take(x, slice(i, i + batch_size))))
                 for i in range(0, _n_samples(x), batch_size)]
        return jax.tree_util.tree_map(lambda *p: np.concatenate([np.asarray(a) for a in p]), *parts)

    def _placement(self, devices):
        """(parameters, put) for a pass on ``devices``: the parameters replicated, ``put`` placing data split
        along the sample axis (``DataParallel.scatter``); the parameters and the identity for devices=None."""
        parallel = data_parallel(devices)
        if parallel is None:
            return self.params, lambda data: data
        self._refuse_stateful_on_devices()
        return parallel.place(self.params), parallel.scatter

    def _refuse_stateful_on_devices(self):
        if self._has_stateful_layers():
            raise ValueError("devices: stateful layers run on one device (their state is per batch row)")

    # --- state of stateful layers --------------------------------------------------------------------

    def _has_stateful_layers(self) -> bool:
        return any(layer.stateful for layer in self.layers)

    def _fresh_state(self, x):
        """Zero state for a batch like x (stateful layers), {} otherwise."""
        if not self._has_stateful_layers():
            return {}
        return {name: layer.init_state(_n_samples(x), self._layer_input_shape(name))
                for name, (layer, _) in self._layers.items() if layer.stateful}

    def _carried_state(self, batch_size, what: str) -> dict:
        """The state a stateful model carries, for batches of ``batch_size`` (None: the state's own): the state
        of the last call when it has that batch size, zeros (``reset_states``) when there is none yet. A
        different batch size than the state's or the Input's raises ValueError (the rows are sample streams)."""
        carried = _state_batch_size(self.state) if self.state else None
        declared = self.batch_size or carried
        if batch_size is None:
            batch_size = declared
            if batch_size is None:
                raise ValueError(f"{what}: a stateful model needs batch_size (or Input(batch_size=...))")
        elif declared is not None and batch_size != declared:
            raise ValueError(f"{what}: batch_size={batch_size}, but the stateful model carries its state for "
                             f"batches of {declared} (call reset_states() to start again with another batch size)")
        if carried != batch_size:
            self.reset_states(batch_size)
        return self.state

    def _predict_stateful(self, x, batch_size):
        """``predict`` of a stateful model: batches in order, each continuing from the state the previous one
        left (the last call's, until ``reset_states()``), as Keras does; the state is kept."""
        state = self._carried_state(batch_size, "predict")
        if "predict_stateful" not in self._compiled:
            def run(params, state, x):
                def batch(state, xb):
                    y, state = self.forward(params, state, xb, None, False)
                    return state, y
                state, full, tail = batched_pass(batch, state, x, _state_batch_size(state))
                parts = [] if full is None else [jax.tree_util.tree_map(
                    lambda a: a.reshape(-1, *a.shape[2:]), full)]
                parts += [] if tail is None else [tail]
                return jax.tree_util.tree_map(lambda *p: jnp.concatenate(p), *parts), state
            self._compiled["predict_stateful"] = flat_jit(run)
        y, self.state = self._compiled["predict_stateful"](self.params, state, x)
        return jax.tree_util.tree_map(np.asarray, y)

    def _layer_input_shape(self, name):
        names = list(self._layers)
        index = names.index(name)
        return self.input_shape if index == 0 else self._layers[names[index - 1]][1]

    def reset_states(self, batch_size: int | None = None):
        """Zero the carried state of every stateful layer (Keras's ``reset_states``), for batches of
        ``batch_size`` (default: the batch size the state is carried for, or the Input's)."""
        if not self.built:
            return
        if not self._has_stateful_layers():
            self.state = {}
            return
        if batch_size is None:
            batch_size = _state_batch_size(self.state) if self.state else self.batch_size
            if batch_size is None:  # (the first fit or predict makes the zeros for its batch size)
                self.state = {}
                return
        # Trace the model once on zeros (abstractly, nothing runs): each stateful layer creates its zero state
        # for the shape it really sees (a layer's input shape inside a nested model need not be the recorded one).
        dtype = jnp.int32 if any(isinstance(layer, Embedding) for layer in self.layers) else jnp.float32
        spec = [jax.ShapeDtypeStruct((batch_size, *s), dtype) for s in self.input_shape] if self.multi_input \
            else jax.ShapeDtypeStruct((batch_size, *self.input_shape), dtype)

        def zero_state(x):
            state = {}
            with LayerContext(dict(self.params), state, training=False):
                self._call(x, False)
            return state

        shapes = jax.eval_shape(zero_state, spec)
        self.state = jax.tree_util.tree_map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)

    # --- input conversion ----------------------------------------------------------------------------

    def _as_input(self, x, name="x"):
        if self.multi_input:
            if not isinstance(x, (list, tuple)) or len(x) != len(self._inputs):
                raise ValueError(f"model '{self.name}' takes a list of {len(self._inputs)} input arrays")
            arrays = [self._as_input_array(a, f"{name}[{i}]") for i, a in enumerate(x)]
            rows = [a.shape[0] for a in arrays]
            if len(set(rows)) > 1:  # (a shorter input would be read with clamped indices)
                raise ValueError(f"the inputs {name}[0], ..., {name}[{len(rows) - 1}] must have the same number of "
                                 f"samples, got {rows}")
            return self._adjust_rank(arrays)
        return self._adjust_rank(self._as_input_array(self._preprocess_input(_single(x)), name))

    def _preprocess_input(self, x):
        """Host-side preprocessing before the compiled model (a Sequential's ``TextVectorization``)."""
        return x

    @staticmethod
    def _as_input_array(x, name):
        x = prepare_array(x, name)
        if x.ndim == 0:
            raise ValueError(f"{name} must have a batch axis, got a scalar")
        if x.shape[0] == 0:
            raise ValueError(f"{name} has no samples (shape {x.shape})")
        return x if x.dtype.kind in "iu" else x.astype(np.float32)

    def _sparse(self) -> bool:
        """Integer class labels as targets: a "sparse_..." loss name, or a loss object or function marked
        ``sparse`` (``physnn.losses.SparseCategoricalCrossentropy``)."""
        return getattr(self.loss, "sparse", False) or (isinstance(self.loss, str)
                                                       and self.loss.lower().startswith("sparse"))

    def _as_target(self, y, name):
        y = prepare_array(y, name)
        if not self._sparse():
            return y.astype(np.float32)
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            bad = float(y[y != np.round(y)].ravel()[0])
            raise ValueError(f"{name} holds class labels for loss={self.loss!r}, which must be integers; got {bad!r}")
        return y.astype(np.int32)

    def _check_labels(self, y, name):
        """Sparse labels must be integers in [0, classes): out of range they would give a zero loss."""
        out = self.output_shape
        if isinstance(out, list) or not out or y.size == 0:
            return
        classes = out[-1]
        if y.shape[0] and y.size != y.shape[0] * int(np.prod(out[:-1])):
            raise ValueError(f"{name} has shape {tuple(y.shape)}; loss={self.loss!r} needs one integer label per "
                             f"sample (shape ({y.shape[0]},) for outputs (batch, *{out}))")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            raise ValueError(f"{name} holds class labels in [{low}, {high}], but loss={self.loss!r} with {classes} "
                             f"outputs needs labels in [0, {classes})")

    def _match_target(self, y, name):
        """``y`` shaped like the model's output: a trailing axis of length 1 added or squeezed as Keras does (a
        1-D ``y`` of a one-output model becomes a column), and a built-in loss refuses other shapes (broadcasting
        [n] against [n, 1] would train on an [n, n] matrix)."""
        out = self.output_shape
        if self._sparse():
            self._check_labels(y, name)
            return y
        if isinstance(out, list):
            return y
        y = _fit_rank(y, out)  # Keras: targets (n,) for outputs (n, 1), and (n, 200, 1) for outputs (n, 200)
        builtin = isinstance(self.loss, str) or getattr(type(self.loss), "__module__", None) == "physnn.losses" or \
            getattr(self.loss, "__module__", None) in ("physnn.costs", "physnn.losses")
        if builtin and tuple(y.shape[1:]) != tuple(out):
            raise ValueError(f"{name} has shape {tuple(y.shape)}, but model '{self.name}' outputs "
                             f"(batch, *{out}): loss={self.loss!r} needs {name} of shape ({y.shape[0]}, *{out})")
        return y

    def _check_pair(self, x, y, x_name, y_name):
        if _n_samples(x) != y.shape[0]:
            raise ValueError(f"{x_name} and {y_name} must have the same number of samples, got "
                             f"{_n_samples(x)} and {y.shape[0]}")

    def _divergence_cause(self, x) -> str:
        """A cause other than the learning rate, when one is visible: with a cross-entropy loss, predicted
        probability rows that are zero (or negative) somewhere, from the last finite weights."""
        name = self.loss if isinstance(self.loss, str) else \
            getattr(self.loss, "__name__", None) or getattr(self.loss, "name", None) or type(self.loss).__name__
        if "crossentropy" not in name.lower().replace("_", "") or isinstance(self.output_shape, list):
            return ""
        try:
            p = np.asarray(self.predict(x, batch_size=1024))
        except Exception:  # noqa: BLE001 - only a hint
            return ""
        p = p.reshape(p.shape[0], -1)
        bad = int(np.sum((p.min(axis=1) < 0) | ((p.sum(axis=1) <= 0) if p.shape[1] > 1 else (p[:, 0] <= 0))))
        if not bad:
            return ""
        return (f" Cause: the model predicts {bad} probability row(s) that are zero or negative (loss={name!r} takes "
                "their log); give the output layer activation='softmax' (or 'sigmoid' for one output).")

    def _warn_logits_of_probabilities(self):
        """Keras computes a ``from_logits=True`` loss on whatever the model outputs; on a softmax or sigmoid output
        (the CP3 scripts' slip) that is a softmax of probabilities, which trains, slowly: say so."""
        if not getattr(self.loss, "from_logits", False) or not self.layers:
            return
        activation = getattr(self.layers[-1], "activation", None)
        if activation in (softmax, sigmoid):
            warnings.warn(f"loss {type(self.loss).__name__}(from_logits=True) on the {activation.__name__} output "
                          f"of Layer '{self.layers[-1].name}': the loss treats the probabilities as logits (as "
                          "Keras does); use from_logits=False, or a linear output layer", stacklevel=3)

    def _lr_hint(self):
        eta = getattr(self.optimizer, "eta", None)
        return f" (eta={eta})" if isinstance(eta, (int, float)) else ""

    # --- saving --------------------------------------------------------------------------------------

    def save(self, path, include_optimizer: bool = True):
        """Write architecture, weights, layer state and (``include_optimizer``) the optimiser and its state to
        exactly ``path`` (".npz" appended only to a path without a suffix), atomically; see
        ``physnn.saving.save_model``. Returns the path written."""
        return saving.save_model(self, path, include_optimizer=include_optimizer)

    def get_config(self) -> dict:
        """Constructor arguments of a subclassed model (override when ``__init__`` takes arguments), JSON
        friendly; ``from_config`` calls ``cls(**config)`` with them. ``Sequential`` and the functional ``Model``
        return their architecture instead. The whole description a model file stores is ``model_to_config``."""
        return {}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, model_class=None, where: str = "config"):
        """A model of this class from ``get_config()``'s dict: ``cls(**config)``, the keys checked against the
        constructor first (ValueError naming the class for an unknown or missing argument).

        ``custom_objects`` (class name -> Layer or Module subclass), ``model_class`` (the resolver of nested
        subclassed models, see ``model_from_config``) and ``where`` (the prefix of error messages, a file's
        path) matter to ``Sequential`` and ``Model``, whose configurations hold layers."""
        check_config(cls, config, f"{where}: model class {cls.__qualname__}")
        return cls(**config)

    @property
    def multi_input(self) -> bool:
        """Whether the model takes a list of input arrays (a functional model built on a list of Inputs)."""
        return getattr(self, "_multi_input", False)

    # --- weights in Keras's order ---------------------------------------------------------------------

    def weight_paths(self, layer_name=None) -> list[tuple]:
        """``[(layer name, key, ...), ...]``: every parameter in Keras's order, layer by layer in call order and,
        within a layer, in the order the layer creates them (kernel before bias; a Bidirectional's forward copy
        before its backward one). ``layer_name`` keeps one layer's."""
        if not self.built:
            return []
        names = [layer_name] if layer_name is not None else list(self._layers)
        return [(name, *path) for name in names if name in self.params
                for path in self._weight_keys.get(name) or _paths(self.params[name])]

    def weight_at(self, path):
        """The parameter array at ``path``, one entry of ``weight_paths()``."""
        value = self.params
        for key in path:
            value = value[key]
        return value

    def assign_weights(self, paths, weights, who: str) -> None:
        """Replace the parameters at ``paths`` by ``weights`` (same count, same shapes; ValueError naming
        ``who`` and the mismatched weight otherwise)."""
        if not isinstance(weights, (list, tuple)) or len(weights) != len(paths):
            raise ValueError(f"{who}.set_weights takes a list of {len(paths)} arrays (as get_weights returns), "
                             f"got {len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__}")
        params = jax.tree_util.tree_map(lambda a: a, self.params)  # a copy of the containers
        for path, w in zip(paths, weights):
            old = self.weight_at(path)
            w = prepare_array(w, f"{who}.set_weights: weight {'/'.join(map(str, path))}")
            if w.shape != old.shape:
                raise ValueError(f"{who}.set_weights: weight {'/'.join(map(str, path))} has shape {old.shape}, "
                                 f"got {w.shape}")
            entry = params
            for key in path[:-1]:
                entry = entry[key]
            entry[path[-1]] = jax.device_put(w.astype(old.dtype))
        self.params = params

    def get_weights(self) -> list[np.ndarray]:
        """Every parameter as a NumPy array, in Keras's order (``kernel, bias = model.get_weights()[:2]`` is the
        first layer's kernel and bias)."""
        return [np.asarray(self.weight_at(p)) for p in self.weight_paths()]

    def set_weights(self, weights):
        """Replace every parameter, given in ``get_weights``'s order; ValueError naming a mismatched one."""
        self.assign_weights(self.weight_paths(), weights, f"model '{self.name}'")

    @property
    def weights(self) -> list[np.ndarray]:
        """``get_weights()``: the trainable and non-trainable parameters, in Keras's order."""
        return self.get_weights()

    def _is_frozen(self, path) -> bool:
        frozen = dict(self._frozen())
        return path[1] in frozen.get(path[0], ())

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The parameters ``fit`` trains, in Keras's order (NumPy copies)."""
        return [np.asarray(self.weight_at(p)) for p in self.weight_paths() if not self._is_frozen(p)]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The parameters ``fit`` leaves alone (frozen layers, non-trainable entries), in Keras's order."""
        return [np.asarray(self.weight_at(p)) for p in self.weight_paths() if self._is_frozen(p)]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (or at position ``index`` of ``layers``), as Keras's ``get_layer``."""
        if (name is None) == (index is None):
            raise ValueError("get_layer takes either name or index")
        layers = self.layers if self.built else list(getattr(self, "_stack", []))
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index!r} is out of range for {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"model '{self.name}' has no layer named {name!r}; its layers are "
                         f"{[layer.name for layer in layers]}")

    def __repr__(self):
        return f"<{type(self).__name__} '{self.name}' built={self.built}>"


class EagerArray(np.ndarray):
    """What ``model(x)`` returns for NumPy inputs: a NumPy array that also answers Keras's ``.numpy()``."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


def _paths(entry, prefix=()) -> list[tuple]:
    """The key paths of a (nested) parameter dict, in its insertion order."""
    if not isinstance(entry, dict):
        return [prefix]
    return [p for key, value in entry.items() for p in _paths(value, (*prefix, key))]


def _is_jax(x) -> bool:
    """A JAX array or tracer (or a list of them): ``model(x)`` then stays inside JAX (jit, grad)."""
    items = x if isinstance(x, (list, tuple)) and x else [x]
    return all(isinstance(a, jax.Array) for a in items)


def _single(x):
    """Keras's habit of a one-element list for a one-input model: ``fit([x], ...)`` is ``fit(x, ...)``."""
    if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
        return x[0]
    return x


def _fit_rank(a, sample_shape):
    """``a`` [n, ...] with a trailing axis of length 1 added or squeezed to match ``sample_shape`` (Keras)."""
    got = tuple(a.shape[1:])
    if len(got) + 1 == len(sample_shape) and sample_shape[-1] == 1 and _compatible(got, sample_shape[:-1]):
        return a[..., None]
    if len(got) == len(sample_shape) + 1 and got[-1] == 1 and _compatible(got[:-1], sample_shape):
        return a[..., 0]
    return a


def _compatible(got, expected) -> bool:
    return len(got) == len(expected) and all(e is None or g == e for g, e in zip(got, expected))


def _state_batch_size(state: dict) -> int:
    """The batch size a stateful model's layer state is carried for (its arrays' leading axis)."""
    return jax.tree_util.tree_leaves(state)[0].shape[0]


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    return _checks.count("batch_size", batch_size)


def _n_samples(x) -> int:
    return (x[0] if isinstance(x, list) else x).shape[0]


def _take(x, index):
    return [a[index] for a in x] if isinstance(x, list) else x[index]


class Sequential(Module):
    """A stack of layers, each feeding the next: ``Sequential([Input((4,)), Dense(8, "relu"), Dense(3)])``.

    The input shape comes from an ``Input`` first element, a first layer's ``input_shape=``, ``build`` or
    the first data seen; with it known, shapes are checked as layers are added, naming the layer that
    does not fit.
    """

    def __init__(self, layers=None, name: str | None = None, seed: int | None = None):
        super().__init__(name=name or "sequential", seed=seed)
        self._stack: list[Layer] = []
        self._declared_shape = None
        self._preprocessing = None  # a TextVectorization first element: applied to the strings on the host
        for layer in layers or []:
            self.add(layer, build=False)
        if self._declared_shape is not None and self._stack:
            self.build(self._declared_shape)  # once, not after every layer

    def add(self, layer, build: bool = True):
        """Append a layer (or an ``Input`` giving the input shape, or a ``TextVectorization`` first, applied to the
        strings on the host); checks its shape when known."""
        if is_preprocessing(layer):
            if self._stack or self._preprocessing is not None or self._declared_shape is not None:
                raise ValueError("TextVectorization must be the first element of a Sequential model")
            self._preprocessing = layer
            return
        if isinstance(layer, SymbolicTensor):
            if self._stack:
                raise ValueError("Input(...) must come first in a Sequential model")
            self._declared_shape = layer.sample_shape
            return
        if not isinstance(layer, (Layer, Module)):
            raise ValueError(f"Sequential takes layers, got {layer!r}")
        if not self._stack and getattr(layer, "input_shape_hint", None) is not None:
            self._declared_shape = layer.input_shape_hint
        self._stack.append(layer)
        self.params = None
        if self._declared_shape is not None:
            shape = self._declared_shape
            for item in self._stack:
                if isinstance(item, Layer):
                    shape = item.output_shape(shape)
            if build:
                self.build(self._declared_shape)

    def _preprocess_input(self, x):
        if self._preprocessing is None:
            return x
        if isinstance(x, str) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], (str, bytes))) or (
                isinstance(x, np.ndarray) and x.dtype.kind in "USO"):
            return self._preprocessing(x)
        return x  # token ids already

    def call(self, inputs, training=False):
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    def _is_graph(self) -> bool:
        return type(self).call is Sequential.call

    def pop(self):
        layer = self._stack.pop()
        self.params = None
        if self._declared_shape is not None and self._stack:
            self.build(self._declared_shape)
        return layer

    def get_config(self) -> dict:
        """The architecture: ``{"name", "seed", "input_shape", "layers": [...]}``, each layer as
        ``physnn.layers.serialize`` writes it and a nested model as ``{"class_name": "Module", "config":
        model_to_config(model)}``."""
        config = {"name": self.name, "seed": self.seed, "input_shape": _json_shape(self.input_shape),
                  "layers": [_item_config(item) for item in self._stack]}
        if self._preprocessing is not None:  # (a TextVectorization first element, with its vocabulary)
            config["preprocessing"] = {"class_name": "TextVectorization", "config": self._preprocessing.get_config()}
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, model_class=None, where: str = "config"):
        """The Sequential model ``get_config`` describes, built for its input shape (when it has one). Layers
        are rebuilt by ``physnn.layers.deserialize`` (physnn's, registered ones and ``custom_objects``),
        nested models by ``model_from_config``; ValueError (prefixed by ``where``) for a malformed one."""
        if not isinstance(config["layers"], list):
            raise ValueError(f"{where}: a Sequential model's layers must be a list")
        items = [model_from_config(c["config"], custom_objects, model_class, where)
                 if isinstance(c, dict) and c.get("class_name") == "Module" else deserialize(c, custom_objects)
                 for c in config["layers"]]
        preprocessing = config.get("preprocessing")
        if preprocessing is not None:
            if not isinstance(preprocessing, dict) or preprocessing.get("class_name") != "TextVectorization":
                raise ValueError(f"{where}: unknown preprocessing {preprocessing!r}")
            items = [TextVectorization.from_config(preprocessing["config"]), *items]
        model = cls(items, name=config["name"], seed=config["seed"])
        if config["input_shape"] is not None and not model.built:
            model.build(_config_shape(config["input_shape"], "input_shape", where))
        return model


class Model(Module):
    """The functional style, ``Model(inputs, outputs)``, built from ``Input`` and layer calls::

        x = Input((4,)); h = Dense(8, activation="relu")(x); y = Dense(3, activation="softmax")(h)
        model = Model(x, y)

    Subclassing ``Model`` (without inputs/outputs) works as subclassing ``Module``. Several inputs or
    outputs are given as lists.
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None, seed: int | None = None):
        super().__init__(name=name, seed=seed)
        if inputs is None and outputs is None:
            return
        if inputs is None or outputs is None:
            raise ValueError("a functional Model needs both inputs and outputs")
        # Keras: Model(inputs=[inp], outputs=[out]) is the one-input, one-output model (plain arrays in and out)
        inputs = inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs
        outputs = outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs
        self._inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        self._multi_input = isinstance(inputs, (list, tuple))
        self._multi_output = isinstance(outputs, (list, tuple))
        self._nodes = self._topological_order()
        self.batch_size = next((t.batch_size for t in self._inputs if t.batch_size is not None), None)
        self.build([t.sample_shape for t in self._inputs] if self._multi_input else self._inputs[0].sample_shape)

    def _topological_order(self):
        order, seen = [], set()
        input_ids = {id(t) for t in self._inputs}

        def visit(tensor):
            if id(tensor) in seen or id(tensor) in input_ids:
                return
            if tensor.layer is None:
                raise ValueError(f"output depends on {tensor}, which is not among the model's inputs")
            for parent in tensor.inputs:
                visit(parent)
            seen.add(id(tensor))
            order.append(tensor)

        for output in self._outputs:
            visit(output)
        return order

    @property
    def is_functional(self) -> bool:
        """Built from ``Input`` and layer calls (``Model(inputs, outputs)``), not subclassed."""
        return hasattr(self, "_nodes")

    def get_config(self) -> dict:
        """A functional model's graph: ``{"name", "seed", "inputs": [shape, ...], "layers": {name: layer},
        "nodes": [{"layer": name, "inputs": [ref, ...]}, ...], "outputs": [ref, ...], "multi_input",
        "multi_output"}``, refs "i<k>" naming input k and "n<k>" the output of node k (in call order). A
        subclassed ``Model`` returns its constructor arguments, as ``Module.get_config``."""
        if not self.is_functional:
            return super().get_config()
        refs = {id(t): f"i{i}" for i, t in enumerate(self._inputs)}
        refs.update({id(t): f"n{i}" for i, t in enumerate(self._nodes)})
        layers = {}
        for node in self._nodes:
            layers.setdefault(node.layer.name, serialize(node.layer))
        return {
            "name": self.name, "seed": self.seed,
            "inputs": [list(t.sample_shape) for t in self._inputs],
            "layers": layers,
            "nodes": [{"layer": n.layer.name, "inputs": [refs[id(t)] for t in n.inputs]} for n in self._nodes],
            "outputs": [refs[id(t)] for t in self._outputs],
            "multi_input": self._multi_input, "multi_output": self._multi_output,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, model_class=None, where: str = "config"):
        """The functional model ``get_config`` describes: its layers rebuilt by ``physnn.layers.deserialize``,
        then called on new ``Input``s node by node. A subclass of Model gets ``cls(**config)``."""
        if cls is not Model:
            return super().from_config(config, custom_objects, model_class, where)
        if not isinstance(config["layers"], dict):
            raise ValueError(f"{where}: a functional model's layers must be a dict")
        layers = {name: deserialize(c, custom_objects) for name, c in config["layers"].items()}
        values = {f"i{i}": SymbolicTensor(_config_shape(shape, f"input {i}", where))
                  for i, shape in enumerate(config["inputs"])}
        for i, node in enumerate(config["nodes"]):
            args = [values[r] for r in node["inputs"]]
            values[f"n{i}"] = layers[node["layer"]](args if len(args) > 1 else args[0])
        inputs = [values[f"i{i}"] for i in range(len(config["inputs"]))]
        outputs = [values[r] for r in config["outputs"]]
        return Model(inputs if config["multi_input"] else inputs[0],
                     outputs if config["multi_output"] else outputs[0], name=config["name"], seed=config["seed"])

    def _is_graph(self) -> bool:
        return self.is_functional and type(self).call is Model.call

    def call(self, inputs, training=False):
        if not self.is_functional:
            return super().call(inputs, training)
        inputs = inputs if self._multi_input else [inputs]
        values = {id(t): v for t, v in zip(self._inputs, inputs)}
        for node in self._nodes:
            args = [values[id(t)] for t in node.inputs]
            values[id(node)] = node.layer(args if len(args) > 1 else args[0])
        outputs = [values[id(t)] for t in self._outputs]
        return outputs if self._multi_output else outputs[0]


# --- the architecture a model file stores (physnn.saving writes and reads the files) -------------------------


def _config_shape(value, what: str, where) -> tuple:
    """A per-sample shape from a configuration: a list of ints >= 1 (None for a free length)."""
    if not isinstance(value, list) or not all(v is None or (type(v) is int and v >= 1) for v in value):
        raise ValueError(f"{where}: {what} must be a list of positive integers, got {value!r}")
    return tuple(value)


def _json_shape(shape):
    """A shape (or a list of shapes, several inputs) as JSON lists; None stays None."""
    if isinstance(shape, (list, tuple)):
        return [_json_shape(s) for s in shape]
    return shape


def _item_config(item) -> dict:
    if isinstance(item, Module):  # a model used as a layer (a nested Sequential, a user Module)
        return {"class_name": "Module", "config": model_to_config(item)}
    return serialize(item)


def model_to_config(model: Module) -> dict:
    """The architecture of ``model`` as a JSON-friendly dict, the ``"model"`` entry of a model file:
    ``{"kind": "Sequential", **model.get_config()}``, ``{"kind": "Functional", **model.get_config()}``, or for
    a subclassed model ``{"kind": "Subclassed", "name", "seed", "module", "qualname", "config":
    model.get_config(), "input_shape"}`` (its class by name and its constructor arguments)."""
    if isinstance(model, Sequential):
        return {"kind": "Sequential", **model.get_config()}
    if isinstance(model, Model) and model.is_functional:
        return {"kind": "Functional", **model.get_config()}
    cls = type(model)
    return {"kind": "Subclassed", "name": model.name, "seed": model.seed, "module": cls.__module__,
            "qualname": cls.__qualname__, "config": model.get_config(), "input_shape": _json_shape(model.input_shape)}


def model_from_config(config: dict, custom_objects: dict | None = None, model_class=None, where: str = "config"):
    """Rebuild the model ``model_to_config`` described (built when it records an input shape).

    Arguments:
        config: the dict; malformed contents raise ValueError prefixed by ``where`` (or KeyError/TypeError,
            which ``physnn.load_model`` reports as a malformed configuration).
        custom_objects: class name -> Layer subclass for ``physnn.layers.deserialize`` (custom layers).
        model_class: ``model_class(config) -> cls``, the class of a subclassed model's configuration; it
            decides which classes may be built (``physnn.load_model`` passes its trust rules). Without it a
            subclassed configuration is refused.
    """
    if not isinstance(config, dict):
        raise ValueError(f"{where}: a model configuration must be a dict, got {type(config).__name__}")
    kind = config["kind"]
    body = {k: v for k, v in config.items() if k != "kind"}
    if kind == "Sequential":
        return Sequential.from_config(body, custom_objects, model_class, where)
    if kind == "Functional":
        return Model.from_config(body, custom_objects, model_class, where)
    if kind == "Subclassed":
        if model_class is None:
            raise ValueError(f"{where}: a subclassed model's configuration needs model_class to name its class")
        cls = model_class(config)
        model = cls.from_config(config["config"], custom_objects, model_class, where)
        model.name, model.seed = config["name"], config["seed"]
        if config["input_shape"] is not None:
            shape = config["input_shape"]
            model.build([_config_shape(s, "input_shape", where) for s in shape] if model.multi_input
                        else _config_shape(shape, "input_shape", where))
        return model
    raise ValueError(f"{where}: unknown model kind {kind!r}")


saving.register_engine(Module=Module, to_config=model_to_config, from_config=model_from_config)
