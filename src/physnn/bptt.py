r"""Back-propagation through time (BPTT) for the lecture's simple recurrent network, written out by hand.

The network (column vectors, time steps t = 1, ..., T, hidden state h_0 given)::

    a_t = U x_t + W h_{t-1} + b          U: [n_hidden, n_in], W: [n_hidden, n_hidden], b: [n_hidden]
    h_t = tanh(a_t)
    o_t = V h_t + c                      V: [n_out, n_hidden], c: [n_out]

and the cost summed over time as in the course (C = sum_t C^{(t)}), with the squared error per step::

    L = sum_t 1/2 ||o_t - y_t||^2        (summed over the batch too, when there is one)

Back-propagation peels the stack of activities h_T, ..., h_1 off from the end. With
delta_t = dL/dh_t (the total derivative: through o_t and through h_{t+1})::

    delta_T = V^T (o_T - y_T)
    delta_t = V^T (o_t - y_t) + W^T [(1 - h_{t+1}^2) * delta_{t+1}]
    g_t     = (1 - h_t^2) * delta_t                                   (= dL/da_t)

and, since the same weights act at every step, their gradients are sums over time::

    dL/dc = sum_t (o_t - y_t)          dL/dV = sum_t (o_t - y_t) h_t^T
    dL/db = sum_t g_t                  dL/dW = sum_t g_t h_{t-1}^T          dL/dU = sum_t g_t x_t^T

The factor W^T diag(1 - h^2) applied once per step back is why gradients vanish (or explode) over long
lags; :func:`hidden_gradient_norms` measures it for a simple RNN and an LSTM, :func:`plot_gradient_norms`
draws it. Everything here is a plain JAX function (no layers package).
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from physnn import _cache, initializers
from physnn._checks import count

__all__ = [
    "RNNStates",
    "bptt_gradients",
    "hidden_gradient_norms",
    "init_params",
    "plot_gradient_norms",
    "rnn_forward",
    "rnn_loss",
]

PARAM_NAMES = ("U", "W", "V", "b", "c")


class RNNStates(NamedTuple):
    h: jax.Array  # [..., T, n_hidden] hidden activities h_1..h_T
    o: jax.Array  # [..., T, n_out] outputs o_1..o_T


def init_params(key, n_in: int, n_hidden: int, n_out: int, scale: float = 1.0) -> dict:
    """Random parameters ``{"U", "W", "V", "b", "c"}``: Gaussian weights with variance scale^2 / fan-in,
    zero biases, drawn on the host (``physnn.initializers.normal``; no JAX program is compiled for it).

    Arguments:
        key: an int seed >= 0 or a ``jax.random.PRNGKey``; U, W, V come in that order from the NumPy
            generator ``physnn.initializers.generator(key)``, so the same key gives the same weights.
        n_in, n_hidden, n_out: sizes of x_t, h_t and o_t.
        scale: multiplies every weight matrix.

    Returns:
        dict with U [n_hidden, n_in], W [n_hidden, n_hidden], V [n_out, n_hidden], b [n_hidden], c [n_out].
    """
    rng = initializers.generator(key)
    return jax.device_put({
        "U": initializers.normal(rng, (n_hidden, n_in), scale / np.sqrt(n_in)),
        "W": initializers.normal(rng, (n_hidden, n_hidden), scale / np.sqrt(n_hidden)),
        "V": initializers.normal(rng, (n_out, n_hidden), scale / np.sqrt(n_hidden)),
        "b": initializers.zeros((n_hidden,)),
        "c": initializers.zeros((n_out,)),
    })


def _prepare(params, xs, h0):
    """Check shapes; return (U, W, V, b, c), xs time-major [T, ..., n_in] and h0 [..., n_hidden]."""
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params must hold {', '.join(PARAM_NAMES)}; missing {', '.join(missing)}")
    U, W, V, b, c = (jnp.asarray(params[name]) for name in PARAM_NAMES)
    if U.ndim != 2:
        raise ValueError(f"params['U'] must have shape [n_hidden, n_in], received {U.shape}")
    n_hidden, n_in = U.shape
    expected = {
        "W": (n_hidden, n_hidden),
        "b": (n_hidden,),
        "V": (V.shape[0] if V.ndim == 2 else -1, n_hidden),
    }
    expected["c"] = (expected["V"][0],)
    for name, shape in expected.items():
        if jnp.shape(params[name]) != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}, received {jnp.shape(params[name])}")
    xs = jnp.asarray(xs)
    if xs.ndim not in (2, 3) or xs.shape[-1] != n_in:
        raise ValueError(f"xs must have shape [T, {n_in}] or [batch, T, {n_in}], received {xs.shape}")
    batch = xs.shape[:-2]
    h0 = jnp.zeros(batch + (n_hidden,), xs.dtype) if h0 is None else jnp.asarray(h0)
    if h0.shape not in ((n_hidden,), batch + (n_hidden,)):
        raise ValueError(f"h0 must have shape {batch + (n_hidden,)} or ({n_hidden},), received {h0.shape}")
    h0 = jnp.broadcast_to(h0, batch + (n_hidden,))
    return (U, W, V, b, c), jnp.moveaxis(xs, -2, 0), h0


def _forward(weights, xs_t, h0):
    """The recurrence a_t = U x_t + W h_{t-1} + b, h_t = tanh(a_t), o_t = V h_t + c, time-major."""
    U, W, V, b, c = weights

    def step(h, x):
        z = x @ U.T + h @ W.T
        h = jnp.tanh(z + b.reshape((1,) * (z.ndim - 1) + b.shape))  # row vectors: (U x)^T = x^T U^T
        return h, h

    _, hs = jax.lax.scan(step, h0, xs_t)
    o = hs @ V.T
    return hs, o + c.reshape((1,) * (o.ndim - 1) + c.shape)


@_cache.jit
def rnn_forward(params, xs, h0=None) -> RNNStates:
    """Run the simple RNN forward and keep the whole stack of activities (needed by the backward pass).

    Equations: a_t = U x_t + W h_{t-1} + b, h_t = tanh(a_t), o_t = V h_t + c for t = 1..T.

    Arguments:
        params: dict U [n_hidden, n_in], W [n_hidden, n_hidden], V [n_out, n_hidden], b [n_hidden], c [n_out].
        xs: inputs [T, n_in], or [batch, T, n_in].
        h0: initial state [n_hidden] or [batch, n_hidden]; default zeros.

    Returns:
        ``RNNStates(h, o)``: h of shape [..., T, n_hidden] (h_1..h_T), o of shape [..., T, n_out].
    """
    weights, xs_t, h0 = _prepare(params, xs, h0)
    hs, os = _forward(weights, xs_t, h0)
    return RNNStates(jnp.moveaxis(hs, 0, -2), jnp.moveaxis(os, 0, -2))


def _targets(ys, os_t):
    ys = jnp.asarray(ys)
    expected = jnp.moveaxis(os_t, 0, -2).shape
    if ys.shape != expected:
        raise ValueError(f"ys must have the shape of the outputs {expected}, received {ys.shape}")
    return jnp.moveaxis(ys, -2, 0)


@_cache.jit
def rnn_loss(params, xs, ys, h0=None):
    """L = sum_t 1/2 ||o_t - y_t||^2 (summed over the batch too): the course's C = sum_t C^{(t)}.

    Arguments:
        params, xs, h0: as in :func:`rnn_forward`.
        ys: targets, the shape of the outputs: [T, n_out] or [batch, T, n_out].

    Returns:
        scalar loss.
    """
    weights, xs_t, h0 = _prepare(params, xs, h0)
    _, os_t = _forward(weights, xs_t, h0)
    return 0.5 * jnp.sum((os_t - _targets(ys, os_t)) ** 2)


@_cache.jit
def bptt_gradients(params, xs, ys, h0=None) -> dict:
    """Gradients of :func:`rnn_loss` by back-propagation through time, written out (no autodiff).

    Backward recursion, run as ``lax.scan(..., reverse=True)`` from t = T down to 1, carrying the
    time path W^T g_{t+1} (zero at t = T)::

        delta_t = V^T (o_t - y_t) + W^T g_{t+1}        g_t = (1 - h_t^2) * delta_t

    then the sums over time (and batch)::

        dL/dU = sum_t g_t x_t^T     dL/dW = sum_t g_t h_{t-1}^T     dL/db = sum_t g_t
        dL/dV = sum_t (o_t - y_t) h_t^T                              dL/dc = sum_t (o_t - y_t)

    Arguments:
        params, xs, ys, h0: as in :func:`rnn_loss`.

    Returns:
        dict of gradients with the keys and shapes of ``params`` (U, W, V, b, c).
    """
    weights, xs_t, h0 = _prepare(params, xs, h0)
    U, W, V, b, c = weights
    hs, os_t = _forward(weights, xs_t, h0)
    errors = os_t - _targets(ys, os_t)  # dL/do_t = o_t - y_t, [T, ..., n_out]
    h_prev = jnp.concatenate([h0[None], hs[:-1]])  # h_{t-1}, [T, ..., n_hidden]

    def back(from_later, step):
        error, h = step
        delta = error @ V + from_later  # V^T (o_t - y_t) + W^T g_{t+1}, as row vectors
        g = (1.0 - h**2) * delta  # tanh'(a_t) = 1 - h_t^2
        return g @ W, g  # carry W^T g_t to step t - 1

    _, gs = jax.lax.scan(back, jnp.zeros_like(h0), (errors, hs), reverse=True)

    def outer_sum(left, right):  # sum over time (and batch) of left_t right_t^T
        return jnp.einsum("...i,...j->ij", left, right)

    def total(values):
        return values.reshape(-1, values.shape[-1]).sum(axis=0)

    return {
        "U": outer_sum(gs, xs_t),
        "W": outer_sum(gs, h_prev),
        "V": outer_sum(errors, hs),
        "b": total(gs),
        "c": total(errors),
    }


# ------------------------------------------------------------------------------- vanishing gradients


def _rnn_weights(rng, hidden, inputs, recurrent_scale, input_scale, forget_bias):
    return {
        "U": initializers.normal(rng, (hidden, inputs), input_scale / np.sqrt(inputs)),
        "W": recurrent_scale * initializers.orthogonal(rng, (hidden, hidden)),  # every singular value = recurrent_scale
    }


def _rnn_step(weights, state, x):
    (h,) = state
    return (jnp.tanh(weights["U"] @ x + weights["W"] @ h),)


def _lstm_weights(rng, hidden, inputs, recurrent_scale, input_scale, forget_bias):
    bias = np.zeros(4 * hidden)
    bias[hidden : 2 * hidden] = forget_bias  # gate order i, f, g, o
    return {
        "Wx": initializers.normal(rng, (4 * hidden, inputs), input_scale / np.sqrt(inputs)),
        "Wh": recurrent_scale * np.concatenate([initializers.orthogonal(rng, (hidden, hidden)) for _ in range(4)]),
        "bias": bias,
    }


def _lstm_step(weights, state, x):
    h, c = state
    i, f, g, o = jnp.split(weights["Wx"] @ x + weights["Wh"] @ h + weights["bias"], 4)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return (jax.nn.sigmoid(o) * jnp.tanh(c), c)


_CELLS = {"rnn": (_rnn_weights, _rnn_step, 1), "lstm": (_lstm_weights, _lstm_step, 2)}


@partial(_cache.jit, static_argnames="cell")
def _hidden_gradients(cell, weights, xs, u):
    """dL/dh_t [T, hidden] for t = 1..T and L = u . h_T, as the gradient with respect to a zero
    perturbation added to each h_t."""
    _, step, n_states = _CELLS[cell]
    state0 = (jnp.zeros_like(u),) * n_states

    def loss(perturbation):
        def advance(state, x_and_p):
            x, p = x_and_p
            h, *rest = step(weights, state, x)
            return (h + p, *rest), None

        final, _ = jax.lax.scan(advance, state0, (xs, perturbation))
        return u @ final[0]

    return jax.grad(loss)(jnp.zeros(xs.shape[:1] + u.shape))


def hidden_gradient_norms(
    cell: str = "rnn",
    length: int = 50,
    hidden: int = 32,
    inputs: int = 4,
    seed: int = 0,
    recurrent_scale: float = 0.8,
    input_scale: float = 1.0,
    forget_bias: float = 2.0,
) -> np.ndarray:
    r"""How much the loss at the last step feels the hidden state k steps earlier: ||dL/dh_{T-k}||.

    A cell with random weights reads a random input sequence x_1..x_T (standard normal, from ``seed``);
    the loss is a fixed random unit projection of the last state, L = u . h_T, so ||dL/dh_T|| = 1. The
    derivative dL/dh_t is the total one (through every later step), obtained by differentiating with
    respect to a zero perturbation added to each h_t. For the simple RNN, h_t = tanh(U x_t + W h_{t-1}),
    dL/dh_{t-1} = W^T [(1 - h_t^2) * dL/dh_t], so with W = ``recurrent_scale`` x orthogonal the norms fall
    at least as fast as recurrent_scale^k: they vanish. In the LSTM (gates i, f, g, o;
    c_t = f_t * c_{t-1} + i_t * g_t, h_t = o_t * tanh(c_t)) the gradient also flows along the cell state,
    multiplied by the forget gate f_t ~ sigmoid(``forget_bias``) per step, and decays much more slowly.

    Arguments:
        cell: ``"rnn"`` (SimpleRNN, tanh) or ``"lstm"``.
        length: number of time steps T.
        hidden: hidden size.
        inputs: input size.
        seed: seed of the weights, the inputs and u (``np.random.default_rng(seed)``).
        recurrent_scale: every singular value of each recurrent matrix (< 1: contractive).
        input_scale: input weights are Gaussian with variance input_scale^2 / inputs.
        forget_bias: bias of the LSTM forget gate (ignored for the RNN).

    Returns:
        float64 array [length]: entry k is ||dL/dh_{T-k}|| for the time lag k = 0..T-1 (entry 0 is 1).
    """
    if cell not in _CELLS:
        raise ValueError(f"cell must be 'rnn' or 'lstm', received {cell!r}")
    length, hidden, inputs = count("length", length), count("hidden", hidden), count("inputs", inputs)
    count("seed", seed, minimum=0)
    for name, value in (
        ("recurrent_scale", recurrent_scale),
        ("input_scale", input_scale),
        ("forget_bias", forget_bias),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite real number, received {value!r}")
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):  # (the initialisers draw float64 here)
        weights = _CELLS[cell][0](rng, hidden, inputs, recurrent_scale, input_scale, forget_bias)
        xs = rng.standard_normal((length, inputs))
        u = rng.standard_normal(hidden)
        dL_dh = _hidden_gradients(cell, weights, xs, u / np.linalg.norm(u))
    norms = np.linalg.norm(np.asarray(dL_dh), axis=1)
    return norms[::-1].copy()  # lag k = T - t


def plot_gradient_norms(norms: dict | None = None, **kwargs) -> Figure:
    """Plot ||dL/dh_{T-k}|| against the lag k on a log scale: the vanishing gradient of a simple RNN next
    to the slow decay of an LSTM.

    Arguments:
        norms: ``{label: array}`` to plot; default computes ``hidden_gradient_norms`` for ``"rnn"`` and
            ``"lstm"`` with ``**kwargs`` (length, hidden, seed, recurrent_scale, forget_bias, ...).

    Returns:
        a matplotlib ``Figure`` (not attached to pyplot; save it with ``fig.savefig``).
    """
    if norms is None:
        norms = {cell: hidden_gradient_norms(cell, **kwargs) for cell in ("rnn", "lstm")}
    elif kwargs:
        raise ValueError(
            f"give either norms or keyword arguments for hidden_gradient_norms, not both: {kwargs}"
        )
    names = {"rnn": "SimpleRNN (tanh)", "lstm": "LSTM"}
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for label, values in norms.items():
        values = np.asarray(values)
        ax.semilogy(np.arange(values.size), values, marker=".", label=names.get(label, str(label)))
    ax.set_xlabel("time lag $k$")
    ax.set_ylabel(r"$\|\partial L / \partial h_{T-k}\|$")
    ax.set_title("Gradient reaching back in time (BPTT)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig
