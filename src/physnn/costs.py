"""Cost functions: the course's cost closures, Keras-style losses by name, and weight regularisers.

Course API: ``CostOLS(target)`` returns a closure ``cost(prediction) -> scalar``, with the course's formulas
and normalisations exactly. Keras API: a loss is ``loss(y_true, y_pred) -> scalar`` (mean over the batch).
``as_loss`` turns either into the latter. Shapes: ``target`` and ``prediction`` are [n, outputs] (or [n] for
sparse class labels). Integer targets and predictions (the course's demos) are computed in float.

The Keras-style losses here are the batch means of ``physnn.losses``' per-sample functions (the one place their
formulas are written), and ``L1``/``L2`` are ``physnn.regularizers``' penalties under the course's ``lam``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physnn import losses as _keras_losses
from physnn import regularizers as _regularizers
from physnn.activations import _float

EPS = 10e-10  # the course's guard inside log(), written as it writes it: 10e-10 = 1e-9


def CostOLS(target):
    """The course's OLS cost, C(y) = (1/n) sum_i sum_k (t_ik - y_ik)^2, n = target.shape[0]."""
    target = _float(target)

    def func(X):
        return (1.0 / target.shape[0]) * jnp.sum((target - _float(X)) ** 2)

    return func


def CostLogReg(target):
    """The course's logistic-regression cost, C(y) = -(1/n) sum_i sum_k [t_ik log(y_ik + 1e-9)
    + (1 - t_ik) log((1 - y_ik) + 1e-9)], n = target.shape[0] (the course's ``10e-10`` guard).

    (1 - y) is computed before 1e-9 is added: in float32 XLA would otherwise rewrite (1 - y) + 1e-9 as
    (1 + 1e-9) - y = 0 for y = 1 under jit (measured: log(0) = -inf and a NaN gradient), so the order is
    held by ``lax.optimization_barrier``; the value is the course's formula, evaluated in this order.
    """
    target = _float(target)

    def func(X):
        X = _float(X)
        one_minus = jax.lax.optimization_barrier(1 - X)
        return -(1.0 / target.shape[0]) * jnp.sum(target * jnp.log(X + EPS) + (1 - target) * jnp.log(one_minus + EPS))

    return func


def CostCrossEntropy(target):
    """The course's cross-entropy, C(y) = -(1/N) sum_i sum_k t_ik log(y_ik + 1e-9), one-hot t, softmax y,
    with N = target.size = n * classes (the course divides by the number of entries, not of samples: this is
    Keras's categorical cross-entropy divided by the number of classes)."""
    target = _float(target)

    def func(X):
        return -(1.0 / target.size) * jnp.sum(target * jnp.log(_float(X) + EPS))

    return func


def CostMAE(target):
    """Mean absolute error, C(y) = (1/n) sum_i sum_k |t_ik - y_ik| (physnn's, in the course's form)."""
    target = _float(target)

    def func(X):
        return (1.0 / target.shape[0]) * jnp.sum(jnp.abs(target - _float(X)))

    return func


def CostRMSE(target):
    """Root mean squared error, C(y) = sqrt((1/n) sum_i sum_k (t_ik - y_ik)^2) (physnn's, in the course's form)."""
    target = _float(target)

    def func(X):
        return jnp.sqrt((1.0 / target.shape[0]) * jnp.sum((target - _float(X)) ** 2))

    return func


CLASSIFICATION_COSTS = (CostLogReg, CostCrossEntropy)


# --- Keras-style losses, loss(y_true, y_pred) -> scalar mean over the batch -------------------------


def mse(y_true, y_pred):
    """L = mean over samples and outputs of (y - y_hat)^2 (Keras's "mse"; ``losses.mean_squared_error``)."""
    return jnp.mean(_keras_losses.mean_squared_error(y_true, y_pred))


def mae(y_true, y_pred):
    """L = mean |y - y_hat| (``losses.mean_absolute_error``)."""
    return jnp.mean(_keras_losses.mean_absolute_error(y_true, y_pred))


def binary_crossentropy(y_true, y_pred):
    """L = -mean[y log p + (1 - y) log(1 - p)], probabilities clipped to [1e-7, 1 - 1e-7]
    (``losses.binary_crossentropy``)."""
    return jnp.mean(_keras_losses.binary_crossentropy(y_true, y_pred))


def categorical_crossentropy(y_true, y_pred):
    """L = -(1/n) sum_i sum_k y_ik log p_ik with one-hot y and probabilities p (rows renormalised, clipped to
    [1e-7, 1 - 1e-7]; ``losses.categorical_crossentropy``)."""
    return jnp.mean(_keras_losses.categorical_crossentropy(y_true, y_pred))


def sparse_categorical_crossentropy(y_true, y_pred):
    """As categorical cross-entropy with integer class labels y_true of shape [n] (or [n, 1])
    (``losses.sparse_categorical_crossentropy``)."""
    return jnp.mean(_keras_losses.sparse_categorical_crossentropy(y_true, y_pred))


sparse_categorical_crossentropy.sparse = True  # integer class labels as targets


def poisson_nll(y_true, y_pred):
    """The Poisson negative log-likelihood of counts n (histogram bins) with expected counts lambda > 0,
    L = mean over bins of (lambda - n ln lambda + ln n!), in nats per bin (so 2 n_bins L - its minimum is the
    Poisson deviance). y_pred must be positive (an exp or softplus output); lambda is clipped at 1e-12."""
    lam = jnp.maximum(y_pred, 1e-12)
    return jnp.mean(lam - y_true * jnp.log(lam) + jax.scipy.special.gammaln(y_true + 1.0))


class ChiSquared:
    """chi^2 per point of measurements y with errors: the loss of a fit to data with known uncertainties,

        uncorrelated (``sigma``):       chi^2 = sum_i ((y_i - f_i) / sigma_i)^2,
        correlated (``covariance`` C):  chi^2 = r^T C^-1 r = ||L^-1 r||^2,  r = y - f,  C = L L^T (Cholesky),

    returned divided by the number of points (chi^2 / N: about 1 for a good fit). The errors belong to the
    points in their order, so the fit must see the whole data set in order: ``fit(..., batch_size=len(x),
    shuffle=False)`` (``fit`` refuses anything else for this loss). Points are the rows of y (one output column;
    with k outputs sigma may be [n, k] and C is over the n k values in row-major order).

    Arguments:
        sigma: the standard errors, a number or an array [n] / [n, k] (> 0).
        covariance: the covariance matrix [N, N] (symmetric positive definite), instead of sigma.
    """

    whole_data_in_order = True  # Module.fit checks the batch and the shuffling

    def __init__(self, sigma=None, covariance=None):
        if (sigma is None) == (covariance is None):
            raise ValueError("ChiSquared takes exactly one of sigma (uncorrelated errors) and covariance")
        self.sigma = self.whitener = None
        if sigma is not None:
            sigma = np.asarray(sigma, np.float64)
            if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
                raise ValueError("ChiSquared: sigma must hold finite numbers > 0")
            self.sigma = sigma
        else:
            C = np.asarray(covariance, np.float64)
            if C.ndim != 2 or C.shape[0] != C.shape[1] or not np.allclose(C, C.T, rtol=1e-10, atol=0):
                raise ValueError(f"ChiSquared: covariance must be a symmetric square matrix, got shape {C.shape}")
            try:
                L = np.linalg.cholesky(C)
            except np.linalg.LinAlgError:
                raise ValueError("ChiSquared: covariance is not positive definite") from None
            self.whitener = np.linalg.inv(L)  # L^-1: r -> L^-1 r is white noise for a correct model
        self.__name__ = "chi_squared"

    @property
    def points(self) -> int | None:
        """The number of points the errors are for (None for a single sigma of every point)."""
        if self.whitener is not None:
            return self.whitener.shape[0]
        return None if self.sigma.ndim == 0 else self.sigma.shape[0]

    def __call__(self, y_true, y_pred):
        r = y_true - y_pred
        if self.whitener is not None:
            flat = r.reshape(-1)
            if flat.shape[0] != self.whitener.shape[0]:
                raise ValueError(f"ChiSquared: the covariance is for {self.whitener.shape[0]} values, the batch holds "
                                 f"{flat.shape[0]}: fit with batch_size=len(x), shuffle=False")
            white = jnp.asarray(self.whitener, r.dtype) @ flat
            return jnp.sum(white**2) / flat.shape[0]
        sigma = jnp.asarray(self.sigma, r.dtype)
        if sigma.ndim == 1:
            sigma = sigma.reshape((-1,) + (1,) * (r.ndim - 1))
        if sigma.ndim and sigma.shape[0] != r.shape[0]:
            raise ValueError(f"ChiSquared: sigma is for {sigma.shape[0]} points, the batch holds {r.shape[0]}: "
                             "fit with batch_size=len(x), shuffle=False")
        return jnp.mean((r / sigma) ** 2)

    def __repr__(self):
        return "ChiSquared(covariance=...)" if self.whitener is not None else "ChiSquared(sigma=...)"


LOSSES: dict[str, Callable] = {
    "mse": mse,
    "mean_squared_error": mse,
    "mae": mae,
    "mean_absolute_error": mae,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "poisson_nll": poisson_nll,
}

#: Loss objects whose reduction is the mean over their per-sample values.
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def is_per_sample_mean(loss) -> bool:
    """Whether the batch loss ``call_loss(loss, ...)`` is the mean over samples of per-sample terms, each of
    one sample alone: the built-in losses (``LOSSES``, Keras's functions and loss classes with a mean
    reduction). A function written by a user may normalise by the batch (a variance, a sum over samples), so
    it is not assumed to be one."""
    if isinstance(loss, _keras_losses.Loss):
        return type(loss) in _keras_losses.CLASSES.values() and loss.reduction in _MEAN_REDUCTIONS
    return any(loss is fn for fn in (*LOSSES.values(), *_keras_losses.FUNCTIONS.values()))


# The course's costs as losses: ``as_loss`` calls the cost itself (its value and its gradient), never a Keras
# loss of the same family (CostCrossEntropy = categorical_crossentropy / classes; CostOLS = mse * outputs).
_COURSE_COSTS = (CostOLS, CostMAE, CostLogReg, CostCrossEntropy, CostRMSE)


def as_loss(loss: str | Callable) -> Callable:
    """Resolve ``loss`` to a function loss(y_true, y_pred) -> scalar.

    Accepts a name from ``LOSSES``, a course cost closure factory (``CostOLS`` ...), or any callable
    loss(y_true, y_pred). Raises ValueError listing the valid names for an unknown name.
    """
    if isinstance(loss, str):
        if loss.lower() in LOSSES:
            return LOSSES[loss.lower()]
        if loss.lower() in _keras_losses.FUNCTIONS:  # Keras's other names: "huber", "log_cosh", "kl_divergence", ...
            return _keras_losses.FUNCTIONS[loss.lower()]
        raise ValueError(f"loss={loss!r} is not known; valid names are {sorted({*LOSSES, *_keras_losses.FUNCTIONS})} "
                         "or a callable")
    if loss in _COURSE_COSTS:
        cost = loss
        return lambda y_true, y_pred: cost(y_true)(y_pred)
    if callable(loss):
        return loss
    raise ValueError(f"loss={loss!r} must be a name, a cost such as CostOLS, or a callable loss(y_true, y_pred)")


# --- physics-guided costs: the keyword arguments x= and params= -------------------------------------


def accepted_kwargs(fn, names) -> set[str]:
    """Which of ``names`` the callable ``fn`` accepts as keyword arguments, read from its signature (all of
    them with ``**kwargs``; none when it has no signature to read). Deciding this once, before the call,
    keeps a TypeError raised *inside* ``fn`` a TypeError (no call is retried with fewer arguments)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return set(names)
    return {n for n in names if n in parameters and parameters[n].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                                          inspect.Parameter.KEYWORD_ONLY)}


def _physics_kwargs(extra: set[str], x, params) -> dict:
    return {name: value for name, value in (("x", x), ("params", params)) if name in extra}


def call_loss(loss, y_true, y_pred, x, params, extra: set[str]):
    """mean loss(y_true, y_pred), with the batch inputs ``x`` and the parameter pytree ``params`` passed as
    keywords when ``extra`` (from ``accepted_kwargs(loss, ("x", "params"))``) names them."""
    return jnp.mean(loss(y_true, y_pred, **_physics_kwargs(extra, x, params)))


def call_cost(cost_func, target, prediction, x, params):
    """The course's C = cost_func(target)(prediction); a physics-guided cost factory may also take the inputs
    ``x`` and the ``params`` as keywords (``cost_func(target, x=..., params=...)``): those it accepts by its
    signature are passed (``accepted_kwargs``), and an error raised inside it propagates."""
    extra = accepted_kwargs(cost_func, ("x", "params"))
    return cost_func(target, **_physics_kwargs(extra, x, params))(prediction)


# --- regularisers ------------------------------------------------------------------------------------


def _lam(lam) -> float:
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    return lam


class L1(_regularizers.L1):
    """R(theta) = lam * sum |theta| over every array in a parameter pytree: ``physnn.regularizers.L1`` under
    the course's argument ``lam``."""

    def __init__(self, lam: float):
        super().__init__(_lam(lam))

    @property
    def lam(self) -> float:
        return self.l1

    def get_config(self):
        return {"lam": self.lam}


class L2(_regularizers.L2):
    """R(theta) = lam * sum theta^2 over every array in a parameter pytree (Keras's l2 convention, no 1/2):
    ``physnn.regularizers.L2`` under the course's argument ``lam``."""

    def __init__(self, lam: float):
        super().__init__(_lam(lam))

    @property
    def lam(self) -> float:
        return self.l2

    def get_config(self):
        return {"lam": self.lam}


REGULARIZERS = {"l1": L1, "l2": L2}


def get_regularizer(reg, argument: str = "kernel_regularizer"):
    """None, a regulariser object, any callable params -> scalar, or a name: "l1"/"l2" give the course's
    ``L1``/``L2`` with lam = 0.01 (as Keras), others (``physnn.regularizers.get``) Keras's objects; ValueError
    naming ``argument`` otherwise."""
    if isinstance(reg, str) and reg.lower() in REGULARIZERS:
        return REGULARIZERS[reg.lower()](0.01)
    return _regularizers.get(reg, argument)
