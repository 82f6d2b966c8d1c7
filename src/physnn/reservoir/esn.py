r"""Echo state networks (Jaeger 2001; Lukoševičius 2012, "A practical guide to applying echo state networks").

A fixed random recurrent reservoir, driven by the input u(t) [n_in], holds the state x(t) [N] with the
leaky-integrator update

    x(t) = (1 - a) x(t-1) + a tanh(W_in [1; u(t)] + W x(t-1)),        x(0) = 0 unless carried,

(a the leak rate, W [N, N] sparse random scaled to the spectral radius ρ, W_in [N, 1 + n_in]; see
``physnn.reservoir.matrices``). Only the readout is trained, here linear in the state,

    y(t) = W_out [1; u(t); x(t)],                                       W_out [n_out, 1 + n_in + N],

in closed form by ridge regression over the states after a washout of ``warmup`` steps
(Lukoševičius 2012, eq. 9):

    W_out^T = (Z^T Z + β I)^(-1) Z^T Y,      Z = [1; u(t); x(t)]^T stacked over t >= warmup  [T', 1 + n_in + N].

With ``readout="quadratic"`` the features are z(t) = [1; u(t); x(t); x(t)∘x(t)] (D = 1 + n_in + 2N): the
squared states break the odd symmetry x -> -x of the tanh reservoir, which a linear readout inherits (Pathak
et al. 2017, Chaos 27:121102; Lu, Hunt & Ott 2018, Chaos 28:061104). On the J84 Mackey-Glass protocol they cut
NRMSE84 about 3x at N = 500 and 2x at N = 1000 with the same reservoir.

With ``layers=L`` the reservoir is deep (Gallicchio et al. 2017; ``physnn.reservoir.update``): L stacked
reservoirs of N units, layer l > 1 driven by layer l - 1's new state, and the readout over every layer's state
x = [x_1; ...; x_L] (D = 1 + n_in + L·N). With ``trainable`` naming "input", "leak" or "radius", ``fit`` first
trains W_in, a or ρ by gradient on the held-out error of the ridge readout solved inside the loss
(``physnn.reservoir.gradient``, through the engine's ``fit``), then solves the readout as below.

The ridge β penalises every readout weight (bias included). Z^T Z and Z^T Y are accumulated inside the
compiled run; the [D, D] system (D = 1 + n_in + L·N, or 1 + n_in + 2 L·N quadratic) is solved on the host
(LAPACK Cholesky, after scaling its diagonal to 1) in the ESN's dtype, float64 by default. Its reciprocal
condition number is estimated first, and a system that would lose every digit (rcond < eps) is refused with a
ValueError — in float32 that is every ridge below ~1e-4 on a long series, where a float32 solve silently
returns a diverging readout.

Every run is one compiled ``lax.scan``: ``fit`` and ``predict`` one pass over the series, ``forecast`` a
teacher-forced pass over the context followed by the closed loop u(t+1) = y(t), vmapped over a batch of
contexts. With ``dtype="float64"`` (the default) the runs execute in float64 (``jax.enable_x64`` locally).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache, _checks, saving
from physnn.reservoir.layer import Reservoir, check_trainable, matrix_keys
from physnn.reservoir.matrices import check_hyperparameters, deep_reservoir_matrices
from physnn.reservoir.update import drive, reservoir_step

__all__ = ["ESN", "check_series", "load_esn", "ridge_solve"]

MAX_STEPS = _checks.MAX_EXTRAPOLATE_STEPS
READOUTS = ("linear", "quadratic")


# --- the compiled programs --------------------------------------------------------------------------------
# Ws_T, W_ins_T: tuples of the layers' transposed matrices (``physnn.reservoir.update.drive``).


def _readout(W_out_T, u, x):
    """y = W_out z with z = [1; u; x] or, when W_out has 1 + n_in + 2 D_x columns, [1; u; x; x∘x]."""
    n_in, N = u.shape[-1], x.shape[-1]
    bias = W_out_T[0].reshape((1,) * (u.ndim - 1) + W_out_T[0].shape)  # explicit broadcast over [T]
    y = bias + u @ W_out_T[1:1 + n_in] + x @ W_out_T[1 + n_in:1 + n_in + N]
    if W_out_T.shape[0] == 1 + n_in + 2 * N:  # (a static shape: the quadratic readout)
        y = y + (x * x) @ W_out_T[1 + n_in + N:]
    return y


#: ``fit`` runs the series in chunks of this many steps, adding each chunk's Z^T Z and Z^T Y to the sums, so
#: its memory is O(FIT_CHUNK N) whatever the length (a 10^6-step series at N = 500 needed 11.5 GB in one piece).
FIT_CHUNK = 4096


def _fit_impl(Ws_T, W_ins_T, a, x0, u, y, warmup, quadratic, chunk):
    """(x(T), Z^T Z, Z^T Y) over the steps t >= warmup, the series driven in chunks of ``chunk`` steps (an
    outer ``lax.scan`` over the full chunks, then the remainder)."""
    T, chunk = u.shape[0], min(u.shape[0], chunk)
    n_chunks, rest = divmod(T, chunk)

    def add_chunk(carry, piece):
        x, gram, zy = carry
        u_c, y_c, t0 = piece
        x, xs = drive(Ws_T, W_ins_T, a, x, u_c)
        z = jnp.concatenate([jnp.ones((u_c.shape[0], 1), u.dtype), u_c, xs] + ([xs * xs] if quadratic else []),
                            axis=1)  # [chunk, D]
        zm = jnp.where((t0 + jnp.arange(u_c.shape[0]) >= warmup)[:, None], z, 0)
        return (x, gram + zm.T @ z, zy + zm.T @ y_c), None

    D = 1 + u.shape[1] + x0.shape[0] * (2 if quadratic else 1)
    carry = (x0, jnp.zeros((D, D), u.dtype), jnp.zeros((D, y.shape[1]), u.dtype))
    full = n_chunks * chunk
    carry, _ = jax.lax.scan(add_chunk, carry, (u[:full].reshape(n_chunks, chunk, -1),
                                               y[:full].reshape(n_chunks, chunk, -1), jnp.arange(n_chunks) * chunk))
    if rest:
        carry, _ = add_chunk(carry, (u[full:], y[full:], full))
    return carry


def _features(u_t, x_t, quadratic: bool) -> np.ndarray:
    """The host-side readout features of one step: [1; u; x] or [1; u; x; x∘x]."""
    return np.concatenate([[1.0], u_t, x_t] + ([x_t * x_t] if quadratic else []))


def _predict_impl(Ws_T, W_ins_T, W_out_T, a, x0, u):
    x_last, xs = drive(Ws_T, W_ins_T, a, x0, u)
    return x_last, _readout(W_out_T, u, xs)


def _free_run(Ws_T, W_ins_T, W_out_T, a, x, y, steps):
    """Closed loop from state x with the prediction y of the next input: emits y(k) then feeds it back."""
    def step(carry, _):
        x, y = carry
        x_next = reservoir_step(x, W_ins_T[0][0] + y @ W_ins_T[0][1:], Ws_T, W_ins_T, a)
        return (x_next, _readout(W_out_T, y, x_next)), y

    _, ys = jax.lax.scan(step, (x, y), None, length=steps)
    return ys


def _forecast_one(Ws_T, W_ins_T, W_out_T, a, x0, context, steps):
    x, _ = drive(Ws_T, W_ins_T, a, x0, context)
    return _free_run(Ws_T, W_ins_T, W_out_T, a, x, _readout(W_out_T, context[-1], x), steps)


def _forecast_impl(Ws_T, W_ins_T, W_out_T, a, x0, contexts, steps):
    one = partial(_forecast_one, Ws_T, W_ins_T, W_out_T, a, steps=steps)
    return jax.vmap(one)(x0, contexts)


_fit = _cache.jit(_fit_impl, static_argnames=("quadratic", "chunk"))
_states = _cache.jit(drive)
_predict = _cache.jit(_predict_impl)
_forecast = _cache.jit(_forecast_impl, static_argnames=("steps",))
_continue = _cache.jit(_free_run, static_argnames=("steps",))


# --- the readout solve ---------------------------------------------------------------------------------


def ridge_solve(gram, zy, ridge: float, dtype="float64", owner: str = "ridge_solve") -> np.ndarray:
    """Solve (G + β I) X = B by Cholesky in ``dtype`` after scaling G's diagonal to 1.

    Arguments:
        gram: G = Z^T Z [D, D] (symmetric positive semi-definite).
        zy: B = Z^T Y [D, n_out].
        ridge: β >= 0.
        dtype: "float64" or "float32", the precision of the factorisation.

    Returns:
        X [D, n_out] as float64.

    Raises:
        ValueError: when G + β I is not positive definite in ``dtype`` or its estimated reciprocal condition
            number (LAPACK ``pocon``, on the diagonally scaled matrix) is below the machine epsilon of ``dtype``
            (condition number above 1/eps): the solution would carry no correct digit.
    """
    from scipy.linalg import lapack

    dtype = np.dtype(dtype)
    A = np.asarray(gram, np.float64) + ridge * np.eye(np.shape(gram)[0])
    d = np.sqrt(np.diag(A))
    threshold = np.finfo(dtype).eps
    advice = (("use dtype='float64' (the default), " if dtype != np.float64 else "use ") +
              f"a larger ridge (now {ridge:g}) or a longer, richer training series")
    if not np.all(d > 0):
        raise ValueError(f"{owner}: the readout's normal equations are singular (a feature of [1; u; x] is "
                         f"identically zero over the training steps and ridge = {ridge:g}); {advice}")
    A = (A / d[:, None] / d[None, :]).astype(dtype)
    B = (np.asarray(zy, np.float64) / d[:, None]).astype(dtype)
    potrf, pocon, potrs = lapack.get_lapack_funcs(("potrf", "pocon", "potrs"), (A,))
    anorm = float(np.abs(A).sum(axis=0).max())
    c, info = potrf(A, lower=False)
    rcond = 0.0
    if info == 0:
        rcond, info = pocon(c, anorm)
    if info != 0 or not rcond >= threshold:
        raise ValueError(
            f"{owner}: the readout's normal equations are too ill-conditioned to solve in {dtype} (estimated "
            f"reciprocal condition number {float(rcond):.1e} < {threshold:.1e}: not positive definite or no "
            f"correct digit left); {advice}")
    X, info = potrs(c, B, lower=False)
    return np.asarray(X, np.float64) / d[:, None]


# --- argument checks -----------------------------------------------------------------------------------


def check_series(value, name: str, shape: str, ndim: int = 2, features: int | None = None, what="ESN") -> np.ndarray:
    """``value`` as a finite float64 array of ``ndim`` axes (and ``features`` columns), else a ValueError naming
    ``what``, ``name`` and the expected ``shape``."""
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {name} must be a numeric array of shape {shape}, got {type(value).__name__}")\
            from None
    if array.ndim != ndim or array.shape[-2] < 1:
        hint = f" (a 1-D series s is {name}=s[:, None])" if array.ndim == 1 and ndim == 2 else ""
        raise ValueError(f"{what}: {name} must have shape {shape}{hint}, got {array.shape}")
    if features is not None and array.shape[-1] != features:
        raise ValueError(f"{what}: {name} must have shape {shape} with {features} features (as in fit), got "
                         f"{array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what}: {name} contains NaN or inf")
    return array


class ESN:
    r"""An echo state network with a ridge-regression readout (see the module docstring for the equations).

    Arguments:
        units: N, reservoir size (of each layer; int >= 1).
        spectral_radius: ρ > 0, the spectral radius W is scaled to.
        leak_rate: a in (0, 1].
        input_scaling: >= 0, half-width of the uniform input weights.
        density: in (0, 1], fraction of non-zero entries of W.
        bias_scaling: >= 0, half-width of the uniform bias weights (W_in's first column).
        ridge: β >= 0, the Tikhonov regularisation of the readout.
        readout: "linear" (z = [1; u; x], the default) or "quadratic" (z = [1; u; x; x∘x]).
        layers: L >= 1, stacked reservoirs (a deep ESN, ``physnn.reservoir.update``: layer l > 1 driven by the
            layer below; the readout sees every layer's state, x = [x_1; ...; x_L], of length L·N).
        trainable: what ``fit`` trains by gradient before the closed-form readout, a tuple of "input" (W_in),
            "leak" (a) and "radius" (ρ) (``physnn.reservoir.gradient``; default none).
        seed: layer l's W from ``default_rng((seed, 2 l))``, its W_in from ``default_rng((seed, 2 l + 1))``
            (drawn at the first fit).
        dtype: "float64" (default) or "float32": precision of the runs and the readout solve.

    Attributes (after ``fit``):
        Ws, W_ins: every layer's W [N, N] and W_in ([N, 1 + n_in] for layer 1, [N, 1 + N] above); W, W_in the
        first layer's; W_out [n_out, D] (D = 1 + n_in + L·N, or 1 + n_in + 2 L·N for the quadratic readout;
        NumPy float64), state x [L·N].

    Example:
        >>> from physnn.datasets import mackey_glass_t17
        >>> s = mackey_glass_t17()[:, None]
        >>> esn = ESN(units=200, seed=0).fit(s[:2000], s[1:2001], warmup=100)
        >>> esn.forecast(84, warmup=s[3000:3300]).shape
        (84, 1)
    """

    def __init__(self, units=500, spectral_radius=1.25, leak_rate=0.3, input_scaling=1.0, density=0.1,
                 bias_scaling=1.0, ridge=1e-8, seed=0, dtype="float64", readout="linear", layers=1, trainable=()):
        hp = check_hyperparameters(units, spectral_radius, leak_rate, input_scaling, density, bias_scaling, seed,
                                   "ESN")
        try:
            hp["ridge"] = _checks.real("ridge", ridge, low=0.0)
            hp["layers"] = _checks.count("layers", layers, 1, 64)
        except ValueError as err:
            raise ValueError(f"ESN: {err}") from None
        if dtype not in ("float32", "float64"):
            raise ValueError(f"ESN: dtype must be 'float32' or 'float64', got {dtype!r}")
        hp["dtype"] = dtype
        if readout not in READOUTS:
            raise ValueError(f"ESN: readout must be one of {READOUTS}, got {readout!r}")
        hp["readout"] = readout
        hp["trainable"] = check_trainable(trainable, "ESN")
        self._keys = tuple(hp)
        for key, value in hp.items():
            setattr(self, key, value)
        self.Ws = self.W_ins = self.W_out = None
        self.state = None
        self._last_output = None
        self._device = {}
        self.training_loss = None

    def __repr__(self):
        return "ESN(" + ", ".join(f"{k}={v!r}" for k, v in self.config.items()) + ")"

    # --- properties ------------------------------------------------------------------------------------

    @property
    def config(self) -> dict:
        """The hyperparameters, as ``ESN(**config)`` takes them (read from the attributes, so a changed
        ``ridge`` is what the next ``fit`` uses and what ``save`` stores)."""
        return {key: getattr(self, key) for key in self._keys}

    @property
    def W(self) -> np.ndarray | None:
        """The first layer's recurrent matrix [N, N] (``Ws`` holds every layer's)."""
        return None if self.Ws is None else self.Ws[0]

    @property
    def W_in(self) -> np.ndarray | None:
        """The first layer's input matrix [N, 1 + n_in] (``W_ins`` holds every layer's)."""
        return None if self.W_ins is None else self.W_ins[0]

    @property
    def quadratic(self) -> bool:
        """Whether the readout features hold the squared states, z = [1; u; x; x∘x]."""
        return self.readout == "quadratic"

    @property
    def state_size(self) -> int:
        """L·N, the length of the state x = [x_1; ...; x_L]."""
        return self.layers * self.units

    @property
    def n_inputs(self) -> int | None:
        return None if self.W_in is None else self.W_in.shape[1] - 1

    @property
    def n_outputs(self) -> int | None:
        return None if self.W_out is None else self.W_out.shape[0]

    def _x64(self):
        return jax.enable_x64(self.dtype == "float64")

    def _arrays(self) -> dict:
        """The matrices on the device in the ESN's dtype (call inside ``self._x64()``)."""
        if not self._device:
            self._device = {"Ws_T": tuple(jnp.asarray(W.T, self.dtype) for W in self.Ws),
                            "W_ins_T": tuple(jnp.asarray(W_in.T, self.dtype) for W_in in self.W_ins)}
            if self.W_out is not None:
                self._device["W_out_T"] = jnp.asarray(self.W_out.T, self.dtype)
        return self._device

    def _state0(self):
        return np.zeros(self.state_size) if self.state is None else self.state

    def build(self, n_inputs: int) -> ESN:
        """Draw every layer's W and W_in (``Ws``, ``W_ins``) for ``n_inputs`` inputs (``fit`` does this); a
        different ``n_inputs`` redraws them all."""
        n_inputs = _checks.count("n_inputs", n_inputs)
        if self.W_in is None or self.n_inputs != n_inputs:
            self.Ws, self.W_ins = deep_reservoir_matrices(
                self.units, n_inputs, self.layers, spectral_radius=self.spectral_radius, density=self.density,
                input_scaling=self.input_scaling, bias_scaling=self.bias_scaling, seed=self.seed)
            self.W_out, self.state, self._last_output, self._device = None, None, None, {}
        return self

    def _require_fit(self, what: str):
        if self.W_out is None:
            raise ValueError(f"ESN.{what}: the readout is not trained yet; call fit(u, y) first")

    # --- training and running ------------------------------------------------------------------------

    def fit(self, u, y, warmup: int = 100, epochs: int = 100, learning_rate: float = 0.01,
            holdout: float = 0.2) -> ESN:
        """Run the reservoir from x = 0 over u and train the readout on the steps t >= warmup.

        With ``trainable`` set, the named reservoir parameters are first trained by gradient (``epochs``
        full-batch Adam steps of rate ``learning_rate`` on the held-out error of the last ``holdout`` of the
        series, the readout solved inside the loss: ``physnn.reservoir.gradient``); ``leak_rate``,
        ``spectral_radius`` and ``W_ins`` then hold the trained values and ``training_loss`` the loss per
        epoch, and a second ``fit`` continues from them. The solve inside the loss uses max(ridge, 1e-10): the
        gradient through a nearly singular solve is useless.

        Arguments:
            u: inputs [T, n_in].
            y: targets [T, n_out] (y[t] the output wanted after seeing u[0..t]; a one-step-ahead forecaster
                has y[t] = u[t + 1]).
            warmup: washout, the first steps whose states are discarded (int, 0 <= warmup < T).
            epochs, learning_rate, holdout: with ``trainable`` only: Adam steps (>= 1), Adam's rate (> 0), and the
                scored fraction at the end of the series, in (0, 1); ignored otherwise.

        Returns:
            self, with ``W_out`` set and the state carried from the end of u (``predict`` continues from it).
        """
        u = check_series(u, "u", "[T, n_in]", what="ESN.fit")
        y = check_series(y, "y", "[T, n_out]", what="ESN.fit")
        if y.shape[0] != u.shape[0]:
            raise ValueError(f"ESN.fit: y must have shape [T, n_out] with T = {u.shape[0]} rows like u, got "
                             f"{y.shape}")
        warmup = _checks.count("warmup", warmup, 0)
        if warmup >= u.shape[0]:
            raise ValueError(f"ESN.fit: warmup must be smaller than the series length {u.shape[0]}, got {warmup}")
        self.build(u.shape[1])  # (draws W, W_in and empties the device copies only when the inputs change)
        if self.trainable:
            self._train_reservoir(u, y, warmup, epochs, learning_rate, holdout)
        with self._x64():
            arrays = self._arrays()
            x_last, gram, zy = _fit(arrays["Ws_T"], arrays["W_ins_T"], self.leak_rate,
                                    jnp.zeros(self.state_size, self.dtype), jnp.asarray(u, self.dtype),
                                    jnp.asarray(y, self.dtype), warmup, quadratic=self.quadratic, chunk=FIT_CHUNK)
            gram, zy, x_last = np.asarray(gram), np.asarray(zy), np.asarray(x_last, np.float64)
        self.W_out = ridge_solve(gram, zy, self.ridge, self.dtype, "ESN.fit").T
        with self._x64():  # the new readout replaces the old one on the device; W and W_in stay there
            self._device["W_out_T"] = jnp.asarray(self.W_out.T, self.dtype)
        self.state = x_last
        self._last_output = self.W_out @ _features(u[-1], x_last, self.quadratic)
        return self

    def _train_reservoir(self, u, y, warmup, epochs, learning_rate, holdout):
        """The gradient step of ``fit``: a ``Reservoir`` layer holding this ESN's matrices, trained by the
        engine's ``fit`` on ``RidgeReadoutLoss``; its trained values are copied back."""
        from physnn.reservoir.gradient import train_reservoir

        epochs = _checks.count("epochs", epochs, 1, _checks.MAX_EPOCHS)
        learning_rate = _checks.real("learning_rate", learning_rate, low=0.0, low_open=True)
        if not isinstance(holdout, (int, float)) or not 0 < holdout < 1:
            raise ValueError(f"ESN.fit: holdout must be in (0, 1), got {holdout!r}")
        layer = Reservoir(self.units, self.spectral_radius, self.leak_rate, self.input_scaling, self.density,
                          self.bias_scaling, layers=self.layers, train=self.trainable, seed=self.seed)
        keys = matrix_keys(self.layers)
        start = {}  # the matrices held (the trained ones, when fitted before: a refit continues from them)
        for (W_key, W_in_key), W, W_in in zip(keys, self.Ws, self.W_ins):
            start.update({W_key: W, W_in_key: W_in})
        with self._x64():
            params, self.training_loss = train_reservoir(layer, u, y, warmup, max(self.ridge, 1e-10), self.quadratic,
                                                         epochs, learning_rate, holdout, self.seed, start)
        scale = float(np.exp(params.get("log_radius", 0.0)))
        self.Ws = tuple(W * scale for W in self.Ws)  # the fixed matrices, as drawn, times ρ_s
        self.W_ins = tuple(params[W_in] for _, W_in in keys)
        self.spectral_radius *= scale
        if "leak_logit" in params:
            self.leak_rate = float(1.0 / (1.0 + np.exp(-params["leak_logit"])))
        self.W_out, self.state, self._last_output, self._device = None, None, None, {}

    def reset(self) -> ESN:
        """Set the carried state back to x = 0 (the next ``predict`` starts afresh)."""
        self.state, self._last_output = None, None
        return self

    def states(self, u) -> np.ndarray:
        """Teacher-forced reservoir states x(1..T) [T, L·N] for inputs u [T, n_in], from the carried state (which
        then moves to x(T)). Needs the matrices (``build`` or ``fit``) but no readout."""
        if self.W is None:
            raise ValueError("ESN.states: no reservoir yet; call fit(u, y) or build(n_inputs) first")
        u = check_series(u, "u", "[T, n_in]", features=self.n_inputs, what="ESN.states")
        with self._x64():
            arrays = self._arrays()
            x_last, xs = _states(arrays["Ws_T"], arrays["W_ins_T"], self.leak_rate,
                                 jnp.asarray(self._state0(), self.dtype), jnp.asarray(u, self.dtype))
            xs = np.asarray(xs, np.float64)
        self.state = np.asarray(x_last, np.float64)
        self._last_output = (None if self.W_out is None
                             else self.W_out @ _features(u[-1], self.state, self.quadratic))
        return xs

    def predict(self, u) -> np.ndarray:
        """Teacher-forced outputs y(t) = W_out z(t) (z = [1; u(t); x(t)], quadratic: and x∘x), shape [T, n_out],
        for inputs u [T, n_in], starting from the carried state (the end of ``fit`` or of the last ``predict``,
        zero after ``reset``)."""
        self._require_fit("predict")
        u = check_series(u, "u", "[T, n_in]", features=self.n_inputs, what="ESN.predict")
        with self._x64():
            arrays = self._arrays()
            x_last, y = _predict(arrays["Ws_T"], arrays["W_ins_T"], arrays["W_out_T"], self.leak_rate,
                                 jnp.asarray(self._state0(), self.dtype), jnp.asarray(u, self.dtype))
            y = np.asarray(y, np.float64)
        self.state = np.asarray(x_last, np.float64)
        self._last_output = y[-1]
        return y

    def forecast(self, steps: int, warmup=None, reset: bool = True) -> np.ndarray:
        """Closed-loop forecast: each output is fed back as the next input, u(t + 1) = y(t).

        Arguments:
            steps: number of steps to forecast (int >= 1).
            warmup: the context, [T0, n_in] or a batch [B, T0, n_in], driven teacher-forced before the loop
                closes (the batch is vmapped). None continues from the end of the last ``fit``/``predict``
                (its state and its last output).
            reset: start each context from x = 0 (default; the context is its own washout), or from the
                carried state when False.

        Returns:
            f [steps, n_out] (or [B, steps, n_out]); f[..., k, :] predicts k + 1 steps past the context.
            The carried state is left as it was.
        """
        self._require_fit("forecast")
        steps = _checks.count("steps", steps, 1, MAX_STEPS)
        if self.n_outputs != self.n_inputs:
            raise ValueError(f"ESN.forecast: a closed loop feeds the output back as the input, so it needs "
                             f"n_out = n_in; this ESN maps {self.n_inputs} inputs to {self.n_outputs} outputs")
        with self._x64():
            arrays = self._arrays()
            args = (arrays["Ws_T"], arrays["W_ins_T"], arrays["W_out_T"], self.leak_rate)
            if warmup is None:
                if self._last_output is None:
                    raise ValueError("ESN.forecast: warmup=None continues from the last fit/predict, but the "
                                     "state was reset; pass a context warmup=[T0, n_in]")
                f = _continue(*args, jnp.asarray(self.state, self.dtype),
                              jnp.asarray(self._last_output, self.dtype), steps=steps)
                return np.asarray(f, np.float64)
            batched = np.ndim(warmup) == 3
            context = check_series(warmup, "warmup", "[T0, n_in] or [B, T0, n_in]", ndim=3 if batched else 2,
                                   features=self.n_inputs, what="ESN.forecast")
            contexts = context if batched else context[None]
            x0 = np.zeros(self.state_size) if reset or self.state is None else self.state
            x0 = np.broadcast_to(x0, (contexts.shape[0], self.state_size))
            f = _forecast(*args, jnp.asarray(x0, self.dtype), jnp.asarray(contexts, self.dtype), steps=steps)
            f = np.asarray(f, np.float64)
        return f if batched else f[0]

    # --- saving ------------------------------------------------------------------------------------------

    def save(self, path) -> Path:
        """Write the ESN (hyperparameters as JSON; every layer's W and W_in — "W", "W_in", then "W_1", "W_in_1",
        ... —, W_out and the carried state as float64 arrays) to
        ``path`` (".npz" appended when it has no suffix) as a physnn model file (``physnn.saving.write_file``:
        checksummed, written atomically through a temporary file renamed over ``path``); ``load_esn`` and
        ``physnn.load_model`` read it. Returns the path written."""
        if self.W is None:
            raise ValueError("ESN.save: nothing to save yet; call fit(u, y) or build(n_inputs) first")
        arrays = {}
        for (W_key, W_in_key), W, W_in in zip(matrix_keys(self.layers), self.Ws, self.W_ins):
            arrays[W_key], arrays[W_in_key] = W, W_in
        if self.W_out is not None:
            arrays["W_out"] = self.W_out
        if self.state is not None:
            arrays["state"] = self.state
        if self._last_output is not None:
            arrays["last_output"] = np.asarray(self._last_output)
        arrays = {k: np.ascontiguousarray(v, np.float64) for k, v in arrays.items()}
        config = {"dtype": "float64", "model": {"kind": "ESN", "config": self.config, "n_inputs": self.n_inputs}}
        return saving.write_file(path, config, arrays)


def load_esn(path) -> ESN:
    """Read an ESN written by ``ESN.save`` (``physnn.load_model`` reads it too): the file is read and checked
    by ``physnn.saving.read_file`` (sizes bounded before reading, numeric arrays only, checksum), then the
    configuration and every array's shape and dtype are checked; any mismatch is a ValueError."""
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.is_file():
        raise ValueError(f"load_esn: {path}: no such file")
    try:
        config, arrays = saving.read_file(path)
    except ValueError as err:
        raise ValueError(f"load_esn: {err}") from None
    return _from_file(config, arrays, path)


def _from_file(config: dict, arrays: dict, path) -> ESN:
    """The ESN of a checked file's (config, arrays)."""
    try:
        meta = config["model"]
        if not (isinstance(meta, dict) and meta.get("kind") == "ESN" and isinstance(meta.get("config"), dict)):
            raise ValueError("not an ESN file")
        esn = ESN(**meta["config"])
        n_in = _checks.count("n_inputs", meta["n_inputs"])
        N, keys = esn.units, matrix_keys(esn.layers)
        expected = {"state": (esn.state_size,)}
        for layer, (W_key, W_in_key) in enumerate(keys):
            expected.update({W_key: (N, N), W_in_key: (N, 1 + (n_in if layer == 0 else N))})
        matrices = {key for pair in keys for key in pair}
        if not matrices <= set(arrays) <= matrices | {"W_out", "state", "last_output"}:
            raise ValueError(f"unexpected arrays {sorted(arrays)}")
        if "W_out" in arrays:
            n_out = _checks.count("n_out", arrays["W_out"].shape[0] if arrays["W_out"].ndim == 2 else None)
            D = 1 + n_in + esn.state_size * (2 if esn.quadratic else 1)
            expected.update(W_out=(n_out, D), last_output=(n_out,))
        for name, array in arrays.items():
            if array.dtype != np.float64 or array.shape != expected[name]:
                raise ValueError(f"array {name!r} has dtype {array.dtype} and shape {array.shape}, expected "
                                 f"float64 {expected[name]}")
    except ValueError as err:
        raise ValueError(f"load_esn: {path}: {err}") from None
    except (KeyError, TypeError) as err:  # crafted contents of a valid file
        raise ValueError(f"load_esn: {path}: malformed ESN configuration ({type(err).__name__}: {err})") from None
    esn.Ws = tuple(arrays[W_key] for W_key, _ in keys)
    esn.W_ins = tuple(arrays[W_in_key] for _, W_in_key in keys)
    esn.W_out = arrays.get("W_out")
    esn.state = arrays.get("state")
    esn._last_output = arrays.get("last_output")
    return esn


saving.register_file_kind("ESN", _from_file)
