"""The course's feed-forward network, ``FFNN``, with its API kept and its training compiled.

Forward pass (the course's layout: each weight matrix W^l has shape [n_{l-1} + 1, n_l], row 0 the bias):

    a^0 = X,   z^l = a^{l-1} W^l[1:] + W^l[0],   a^l = f(z^l)  (f = hidden_func, output_func on the last layer)

Training minimises C(a^L) + (lam / 2) sum_l ||W^l[1:]||^2 (``lam`` is L2 weight decay on the weights, not the
biases, exactly the course's gradient term lam * W) with the gradients from ``jax.grad``; one epoch (shuffle
without replacement, all minibatches, evaluation of the training and validation scores) is one compiled
call. Differences from the course code (measured in README.md, "The course's code on physnn"): the course's
``resample`` draws one bootstrap sample (with replacement) before training and never shuffles again, here
every epoch visits every sample once in a new order; its weights start as N(0, 1) with no scaling, here as
N(0, 1 / n_in) (LeCun); its bias input is 0.01 (a^{l-1} gets a column of 0.01, the bias gradient is summed
as if it were 1), here the bias is added with input 1 and its exact gradient; its schedulers are reset at
every epoch (Adam's moments and Adagrad's/RMS_prop's sums zeroed), here the optimiser state runs through
the whole fit; its softmax output delta is the batch sum of (a - t), here the gradient of the cost.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _checks, initializers, saving
from physnn.activations import identity, sigmoid, softmax
from physnn.callbacks import History, ProgressBar
from physnn.costs import CLASSIFICATION_COSTS, CostOLS, call_cost
from physnn.metrics import accuracy
from physnn.schedulers import Scheduler, as_functional
from physnn.training import (
    TrainState,
    check_callbacks,
    course_layout,
    fit_loop,
    fit_seed,
    flat_jit,
    make_epoch,
    prepare_array,
)
from physnn.training.devices import data_parallel


def _seed_or_fresh(seed):
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def _initial_weights(dimensions, seed):
    """Course-layout weights [n_in + 1, n_out]: W[1:] ~ N(0, 1 / n_in), bias row W[0] ~ N(0, 0.01^2).

    Drawn on the host with NumPy's generator seeded by ``seed``: compiling a JAX random program for this
    one-off costs seconds (measured: 5.6 CPU-s, more than the training epoch itself).
    """
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(dimensions[:-1], dimensions[1:]):
        W = initializers.lecun_normal(rng, (n_in, n_out))
        b = initializers.normal(rng, (1, n_out), 0.01)
        weights.append(jax.device_put(np.concatenate([b, W], axis=0)))
    return weights


def _split(weights) -> list[tuple]:
    """Course layout -> [(W [n_in, n_out], b [n_out]), ...] on the device, done on the host.

    Training runs on the split form: slicing W[0] / W[1:] inside every step costs a slice in the forward
    pass and a pad in the backward pass per layer (measured ~8% of the digits epoch)."""
    return [tuple(jax.device_put((np.asarray(W)[1:], np.asarray(W)[0]))) for W in weights]


def _join(params) -> list:
    """[(W, b), ...] -> course layout [[b; W], ...] (bias in row 0), done on the host."""
    return [jax.device_put(np.concatenate([np.asarray(b)[None], np.asarray(W)], axis=0)) for W, b in params]


def parameter_count(dimensions) -> int:
    """Number of weights of an FFNN with these layer widths: sum of (n_in + 1) n_out."""
    return sum((int(a) + 1) * int(b) for a, b in zip(dimensions[:-1], dimensions[1:]))


def check_training_memory(dimensions, rows: int) -> None:
    """Refuse (ValueError) a fit whose arrays cannot fit in memory, estimated before anything is allocated:
    4 copies of the weights (weights, gradients, two optimiser moments) plus 3 activation arrays (values,
    pre-activations, backward) of ``rows`` samples for every layer, in float32. (The epoch's scores run the
    whole training and validation sets through the network, so ``rows`` is the larger of the two.)"""
    weights, units = parameter_count(dimensions), sum(int(d) for d in dimensions)
    _checks.memory(f"training FFNN{tuple(dimensions)}", 4 * (4 * weights + 3 * int(rows) * units),
                   f"{weights:,} weights x 4 copies + {rows:,} rows x {units:,} units x 3 activations, float32")


class FFNN:
    """Feed-forward neural network with the course's API.

    Arguments:
        dimensions: layer widths (n_inputs, n_hidden..., n_outputs).
        hidden_func, output_func: activations (functions from ``physnn.activations`` or any elementwise callable).
        cost_func: a cost closure factory, ``CostOLS`` (regression), ``CostLogReg`` (binary, sigmoid output)
            or ``CostCrossEntropy`` (multiclass, softmax output); the latter two make it a classifier.
        seed: integer seed for the weights and the shuffling; None draws one (kept in ``self.seed``).
    """

    def __init__(self, dimensions, hidden_func=sigmoid, output_func=identity, cost_func=CostOLS, seed=None):
        try:
            dimensions = tuple(dimensions)
        except TypeError:
            dimensions = (dimensions,)
        if len(dimensions) < 2 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                                          for d in dimensions):
            raise ValueError(f"dimensions must be at least two positive integers (inputs, ..., outputs), "
                             f"got {dimensions!r}")
        _checks.elements(f"FFNN{tuple(int(d) for d in dimensions)}", parameter_count(dimensions),
                         " (sum of (n_in + 1) n_out over the layers)")
        for name, func in (("hidden_func", hidden_func), ("output_func", output_func), ("cost_func", cost_func)):
            if not callable(func):
                raise ValueError(f"{name} must be a function, got {func!r}")
        self.dimensions = tuple(int(d) for d in dimensions)
        self.hidden_func, self.output_func, self.cost_func = hidden_func, output_func, cost_func
        self.classification = cost_func in CLASSIFICATION_COSTS
        self.seed = _seed_or_fresh(seed)
        self._compiled = {}
        self._forward_programs = {}  # (hidden_func, output_func) -> the compiled forward pass
        self._weights = self._params = None
        self.stop_training = False
        self.reset_weights()

    # --- parameters ----------------------------------------------------------------------------------

    def reset_weights(self):
        """Draw fresh weights from ``seed``: W[1:] ~ N(0, 1 / n_in), bias row W[0] ~ N(0, 0.01^2)."""
        self.weights = _initial_weights(self.dimensions, self.seed)
        self.opt_state = None
        self._fits = 0

    @property
    def weights(self) -> list:
        """The weight matrices in the course's layout, [n_in + 1, n_out] with the bias in row 0."""
        if self._weights is None:  # trained in the split form: joined on first use
            self._weights = _join(self._params)
        return self._weights

    @weights.setter
    def weights(self, weights):
        self._weights, self._params = list(weights), None

    @property
    def params(self) -> list[tuple]:
        """The weights as the compiled code holds them, [(W [n_in, n_out], b [n_out]), ...] (what callbacks
        such as EarlyStopping read and restore)."""
        if self._weights is not None:  # the course layout is the truth whenever it exists
            return _split(self._weights)
        return self._params

    @params.setter
    def params(self, params):
        self._params, self._weights = [tuple(p) for p in params], None

    @property
    def weights_numpy(self) -> list[np.ndarray]:
        """The weight matrices as NumPy arrays, course layout [n_in + 1, n_out] with the bias in row 0."""
        return [np.asarray(W) for W in self.weights]

    def split_weights(self) -> list[tuple]:
        """The weights as [(W [n_in, n_out], b [n_out]), ...], the form the compiled code works on."""
        return self.params

    # --- the forward pass ----------------------------------------------------------------------------

    def _forward(self, params, X):
        """a^L from the split parameters [(W, b), ...]: z^l = a^{l-1} W^l + b^l, a^l = f(z^l)."""
        a = X
        for i, (W, b) in enumerate(params):
            z = a @ W
            z = z + b.reshape((1,) * (z.ndim - b.ndim) + b.shape)  # explicit broadcast over rows
            a = self.output_func(z) if i == len(params) - 1 else self.hidden_func(z)
        return a

    def feed_forward(self, X):
        """a^L for inputs X [n, n_inputs] -> [n, n_outputs] (the course's ``_feedforward``): one compiled program
        per input shape and pair of activations (cached; no eager op per layer)."""
        functions = (self.hidden_func, self.output_func)
        if functions not in self._forward_programs:
            self._forward_programs[functions] = flat_jit(lambda params, X, f=functions: self._forward(params, X))
        return self._forward_programs[functions](self.split_weights(), jax.device_put(self._check_X(X, "X")))

    def predict_proba(self, X) -> np.ndarray:
        """The network output a^L, [n, n_outputs] (probabilities for a classifier)."""
        return np.asarray(self.feed_forward(X))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """Class labels for a classifier (0/1 per row for one output, one-hot rows for several), values otherwise."""
        _checks.real("threshold", threshold, 0.0, 1.0)
        output = self.predict_proba(X)
        if not self.classification:
            return output
        if output.shape[1] == 1:
            return (output > threshold).astype(int)
        return np.eye(output.shape[1], dtype=int)[np.argmax(output, axis=1)]

    def _accuracy(self, prediction, target) -> float:
        """The course's accuracy, the fraction of entries where prediction == target:
        (1/N) sum_j [prediction_j == target_j] over all N = prediction.size entries (``np.average``).

        For one-hot rows of K classes this counts entries, not samples (a wrong row is 2 wrong entries of K);
        ``fit``'s "train_accs"/"val_accs" are per sample (argmax of the output against argmax of t).
        Raises ValueError when the sizes differ (the course asserts it).
        """
        prediction, target = np.asarray(prediction), np.asarray(target)
        if prediction.size != target.size:
            raise ValueError(f"prediction and target must have the same size, got prediction of shape "
                             f"{prediction.shape} and target of shape {target.shape}")
        return np.average(target == prediction)

    # --- training ------------------------------------------------------------------------------------

    @staticmethod
    def _course_layout(params):
        # for costs that take the parameters (physics-guided ones): the course's [b; W] matrices (traced;
        # XLA drops the concatenation when the cost does not use them)
        return [jnp.concatenate([b[None], W], axis=0) for W, b in params]

    def _loss(self, params, X, t, lam):
        """C(a^L) + (lam / 2) sum_l ||W^l||^2; ``lam`` None (lam = 0) leaves the term out of the program."""
        cost = call_cost(self.cost_func, t, self._forward(params, X), X, self._course_layout(params))
        if lam is None:
            return cost
        return cost + 0.5 * lam * sum(jnp.sum(W ** 2) for W, _ in params)

    def _scores(self, params, X, t):
        prediction = self._forward(params, X)
        scores = {"error": call_cost(self.cost_func, t, prediction, X, self._course_layout(params))}
        if self.classification:
            scores["acc"] = accuracy(t, prediction)
        return scores

    def _epoch_function(self, optimizer, n, layout, has_val, parallel=None):
        def loss_fn(weights, state, xb, yb, key, lam):
            return self._loss(weights, xb, yb, lam), (state, {})

        def run(carry, X, t, X_val, t_val, seed, epoch_index, lam):
            epoch = make_epoch(lambda w, s, x, y, k: loss_fn(w, s, x, y, k, lam), optimizer, n, layout,
                               parallel=parallel)
            carry, _ = epoch(carry, X, t, seed, epoch_index)
            scores = {f"train_{k}": v for k, v in self._scores(carry.params, X, t).items()}
            if has_val:
                scores.update({f"val_{k}": v for k, v in self._scores(carry.params, X_val, t_val).items()})
            return carry, scores

        return flat_jit(run)

    def fit(self, X, t, scheduler: Scheduler, batches: int = 1, epochs: int = 100, lam: float = 0,
            X_val=None, t_val=None, verbose: bool = True, callbacks=None, devices=None) -> dict[str, np.ndarray]:
        """Train with minibatch gradient descent driven by ``scheduler`` (Constant, Momentum, Adam, ...).

        Arguments:
            X: inputs [n, dimensions[0]]; t: targets [n, dimensions[-1]] (a 1-D t is a column).
            scheduler: a course scheduler; a fresh optimiser state is used for every ``fit``.
            batches: number of minibatches per epoch (the last one takes the remainder of n / batches).
            epochs: passes over the data; lam: L2 weight decay; X_val, t_val: optional validation data.
            verbose: show a live progress bar.
            callbacks: physnn callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LambdaCallback);
                the logs they see are "train_error", "val_error", "train_acc", "val_acc".
            devices: None, "all", a count, a list of devices or a one-axis Mesh: every minibatch split across
                them, the weights replicated (``physnn.training.devices``; equal to one device up to rounding).
        Returns:
            dict of NumPy arrays, one value per epoch run (``epochs`` unless a callback stopped training):
            "train_errors", and "val_errors", "train_accs", "val_accs" where they apply (the errors are the
            cost on the whole set after each epoch).
        Raises:
            ValueError for inconsistent inputs; TrainingDivergedError if the cost becomes NaN/inf.
        """
        X, t = self._check_data(X, t, "X", "t")
        has_val = X_val is not None or t_val is not None
        if has_val:
            if X_val is None or t_val is None:
                raise ValueError("X_val and t_val must be given together")
            X_val, t_val = self._check_data(X_val, t_val, "X_val", "t_val")
        if isinstance(epochs, bool) or not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        _checks.count("epochs", epochs, maximum=_checks.MAX_EPOCHS)
        if isinstance(lam, bool) or not (isinstance(lam, (int, float, np.integer, np.floating)) and lam >= 0):
            raise ValueError(f"lam must be a number >= 0, got {lam!r}")
        if not np.isfinite(lam):  # (an infinite decay makes every weight update NaN: not a learning-rate problem)
            raise ValueError(f"lam must be finite, got {lam!r}")
        if not (isinstance(scheduler, Scheduler) or (hasattr(scheduler, "init") and hasattr(scheduler, "update"))):
            raise ValueError(f"scheduler must be a physnn Scheduler such as Adam(0.01) or Constant(0.1), "
                             f"got {scheduler!r}")
        n = X.shape[0]
        check_training_memory(self.dimensions, max(n, 0 if X_val is None else X_val.shape[0]))
        layout = course_layout(n, batches)
        optimizer = as_functional(scheduler)

        parallel = data_parallel(devices)
        signature = (repr(scheduler), n, layout, has_val, parallel and parallel.key)
        if signature not in self._compiled:
            self._compiled = {signature: self._epoch_function(optimizer, n, layout, has_val, parallel)}
        run = self._compiled[signature]

        params = self.params
        self.opt_state = optimizer.init(params)  # the course's schedulers start afresh in every fit
        # the course network's fits draw streams 1, 2, ... of its seed (Module's: 0, 1, ...)
        seed = fit_seed(self.seed, self._fits + 1)
        self._fits += 1
        lam = np.asarray(lam, X.dtype) if lam > 0 else None
        X, t, X_val, t_val, lam = jax.device_put((X, t, X_val, t_val, lam))
        if parallel is not None:
            X, t, X_val, t_val, lam = parallel.place((X, t, X_val, t_val, lam))
            self.params, self.opt_state = parallel.place((self.params, self.opt_state))

        history = History()
        callbacks = [*check_callbacks(callbacks), history]
        if verbose:
            callbacks.append(ProgressBar(epochs, "FFNN"))

        def set_carry(carry):
            self.params, self.opt_state = carry.params, carry.opt_state

        fit_loop(lambda carry, epoch: run(carry, X, t, X_val, t_val, seed, epoch, lam),
                 get_carry=lambda: TrainState(self.params, self.opt_state, {}), set_carry=set_carry, model=self,
                 epochs=epochs, callbacks=callbacks, hint=f" (eta={getattr(scheduler, 'eta', '?')})",
                 diagnose=lambda: self._divergence_cause(self.params, X))
        names = {"train_error": "train_errors", "val_error": "val_errors", "train_acc": "train_accs",
                 "val_acc": "val_accs"}
        return {names[k]: np.asarray(v) for k, v in history.history.items() if k in names}

    def save(self, path, include_optimizer: bool = True):
        """Write the network (dimensions, functions, seed, weights, fit counter) to a physnn model file,
        atomically; ``physnn.load_model(path)`` returns it. Only physnn's own activations and costs can be
        stored. (``include_optimizer`` is accepted for ModelCheckpoint: the course's schedulers start afresh
        in every fit, so there is no optimiser state to keep.) Returns the path written."""
        return saving.save_model(self, path)

    def _divergence_cause(self, params, X) -> str:
        """With a log cost, name predicted probabilities of 0 (or below) as the cause: the course's
        CostCrossEntropy takes log(y + 1e-9), which is NaN for a negative output."""
        if self.cost_func not in CLASSIFICATION_COSTS:
            return ""
        p = np.asarray(self._forward(params, X))
        bad = int(np.sum(np.any(p < 0, axis=1) | (np.sum(p, axis=1) <= 0)))
        if not bad:
            return ""
        return (f" Cause: the network predicts {bad} probability row(s) that are zero or negative, and "
                f"{self.cost_func.__name__} takes their log; use output_func=softmax (or sigmoid for one output).")

    # --- input checks --------------------------------------------------------------------------------

    def _check_X(self, X, name):
        X = prepare_array(X, name, dtype=np.float32)
        if X.ndim == 1 and self.dimensions[0] == 1:
            X = X[:, None]
        if X.ndim >= 1 and X.shape[0] == 0:
            raise ValueError(f"{name} has no samples (shape {X.shape})")
        if X.ndim != 2 or X.shape[1] != self.dimensions[0]:
            raise ValueError(f"{name} must have shape [n_samples, {self.dimensions[0]}] "
                             f"(dimensions[0] = {self.dimensions[0]}), got {X.shape}")
        return X

    def _check_data(self, X, t, x_name, t_name):
        X = self._check_X(X, x_name)
        t = prepare_array(t, t_name, dtype=np.float32)
        if t.ndim == 1:
            t = t[:, None]
        if t.shape[0] != X.shape[0]:
            raise ValueError(f"{x_name} and {t_name} must have the same number of rows, got {X.shape[0]} and "
                             f"{t.shape[0]}")
        if t.ndim != 2 or t.shape[1] != self.dimensions[-1]:
            raise ValueError(f"{t_name} must have shape [n_samples, {self.dimensions[-1]}] "
                             f"(dimensions[-1] = {self.dimensions[-1]}), got {t.shape}")
        if self.output_func is softmax and self.dimensions[-1] == 1:
            raise ValueError("output_func=softmax with a single output is constant 1; use sigmoid")
        return X, t

    def __repr__(self):
        return (f"FFNN(dimensions={self.dimensions}, hidden_func={self.hidden_func.__name__}, "
                f"output_func={self.output_func.__name__}, cost_func={self.cost_func.__name__}, seed={self.seed})")


saving.register_engine(FFNN=FFNN)
