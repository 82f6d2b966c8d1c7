"""Sequences: sliding windows over a time series, autoregressive extrapolation, the course's recurrent presets.

    X, y = windows(E[:12], 2)                 # (y_i, y_{i+1}) -> y_{i+2}
    model = preset("rnn", length=2); model.fit(X, y, epochs=150)
    continuation = extrapolate(model, E[:12], 8)
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physnn import _cache
from physnn._checks import MAX_EXTRAPOLATE_STEPS, count
from physnn.training import flat_jit

# ------------------------------------------------------------------------------------------- windows


class Windows(NamedTuple):
    X: np.ndarray  # [n, length, features] inputs
    y: np.ndarray  # [n, features] (horizon == 1) or [n, horizon, features] targets


def windows(series, length: int, horizon: int = 1) -> Windows:
    """Cut a time series into (input window, next values) pairs — the course's ``format_data`` /
    ``convertToMatrix``.

    Sample i is the window of ``length`` consecutive steps and the ``horizon`` steps that follow it::

        X[i] = (s_i, s_{i+1}, ..., s_{i+length-1})
        y[i] = s_{i+length}                                    (horizon == 1)
        y[i] = (s_{i+length}, ..., s_{i+length+horizon-1})    (horizon > 1)

    for i = 0, ..., n - 1 with n = T - length - horizon + 1 (T = number of time steps), so every time step
    of the series is used and no target lies past its end.

    Arguments:
        series: [T] or [T, features] array-like of finite numbers; a 1-D series has one feature.
        length: window length (number of input time steps), >= 1.
        horizon: number of future steps to predict, >= 1.

    Returns:
        ``Windows(X, y)`` (unpacks as ``X, y``): ``X`` of shape [n, length, features] and ``y`` of shape
        [n, features] when ``horizon == 1`` — what a recurrent layer followed by ``Dense(features)``
        predicts — or [n, horizon, features] when ``horizon > 1``. New arrays (not views of ``series``),
        float64 unless ``series`` is already floating point.

    Raises:
        ValueError: ``length`` or ``horizon`` not an integer >= 1; ``series`` not 1-D or 2-D, empty in its
            feature axis, non-numeric, holding NaN/inf, or shorter than ``length + horizon`` steps.
    """
    for name, value in (("length", length), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"windows: {name} must be an integer >= 1, received {value!r}")
    length, horizon = int(length), int(horizon)
    data = np.asarray(series)
    if data.dtype == bool or not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise ValueError(f"windows: series must hold real numbers, received dtype {data.dtype}")
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    if data.ndim not in (1, 2):
        raise ValueError(
            "windows: series must have shape [T] or [T, features], "
            f"received shape {data.shape} (ndim {data.ndim})"
        )
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] == 0:
        raise ValueError(f"windows: series has no features, received shape {data.shape}")
    if not np.isfinite(data).all():
        bad = np.flatnonzero(~np.isfinite(data).all(axis=1))
        raise ValueError(f"windows: series holds NaN or inf at time steps {bad[:10].tolist()}")
    steps = data.shape[0]
    if steps < length + horizon:
        raise ValueError(
            f"windows: series has {steps} time steps; windows of length={length} with horizon={horizon} "
            f"need at least length + horizon = {length + horizon}"
        )
    n = steps - length - horizon + 1
    starts = np.arange(n)[:, None]
    X = data[starts + np.arange(length)]  # fancy indexing copies: [n, length, features]
    y = data[starts + length + np.arange(horizon)]  # [n, horizon, features]
    return Windows(X, y[:, 0] if horizon == 1 else y)


# --- autoregressive extrapolation and the course's recurrent presets ---------------------------------


def _check_outputs(outputs: int, features: int, what: str) -> None:
    if outputs != features:
        raise ValueError(f"extrapolate: {what} predicts {outputs} value(s) per window, but the history has "
                         f"{features} feature(s); the model must predict the next step of every feature")


def _window_function(model, length: int | None, features: int):
    """(params, fn(params, window [1, L, features]) -> next value [features], L) for ``model``.

    ``params`` is everything ``fn`` reads that may change between calls (weights, a fresh layer state),
    passed as an argument so the compiled roll-out is reused after further training.
    """
    from physnn.ffnn import FFNN
    from physnn.models import Module

    if isinstance(model, Module):
        if not model.built:
            raise ValueError("extrapolate: the model is not built; fit it first")
        if model.multi_input:
            raise ValueError("extrapolate: the model takes several inputs; it needs one window of the series")
        shape = tuple(model.input_shape)
        if len(shape) == 2:  # recurrent: [L, features]
            if shape[1] != features:
                raise ValueError(f"extrapolate: the model takes {shape[1]} feature(s) per step, the history "
                                 f"has {features}")
            window_shape = (1, *shape)
        elif len(shape) == 1 and shape[0] % features == 0:  # dense on a flattened window
            window_shape = (1, shape[0])
        else:
            raise ValueError(f"extrapolate: the model's input shape {shape} is not a window of {features} "
                             "feature(s)")
        output_shape = getattr(model, "output_shape", None)
        if output_shape is not None:
            _check_outputs(int(np.prod(output_shape)), features, f"the model (output shape {output_shape})")
        # Every window starts from a zero layer state, as ``model.predict`` does: a stateful model's carried
        # state belongs to the training batches (and has their batch size).
        state = model._fresh_state(jnp.zeros(window_shape, jnp.float32))

        def fn(p, w):
            weights, fresh = p
            return model.forward(weights, fresh, w.reshape(window_shape))[0].reshape(-1)

        steps_in_window = shape[0] if len(shape) == 2 else shape[0] // features
        return (model.params, state), fn, steps_in_window
    if isinstance(model, FFNN):
        if model.dimensions[0] % features:
            raise ValueError(f"extrapolate: FFNN input width {model.dimensions[0]} is not a window of "
                             f"{features} feature(s)")
        _check_outputs(model.dimensions[-1], features, f"the FFNN (output width {model.dimensions[-1]})")
        return (model.split_weights(), lambda p, w: model._forward(p, w.reshape(1, -1)).reshape(-1),
                model.dimensions[0] // features)
    if callable(model):
        if length is None:
            raise ValueError("extrapolate: give length= (the window length) for a plain callable model")
        return None, None, count("extrapolate: length", length)
    raise ValueError(f"extrapolate: {model!r} is not a physnn model, an FFNN or a callable")


def extrapolate(model, history, steps: int, length: int | None = None) -> np.ndarray:
    """Autoregressive roll-out beyond the data (the course's ``test_rnn``), compiled as one ``lax.scan``.

    Starting from the window w_0 = (y_{T-L+1}, ..., y_T) of the last L values of ``history``, repeat
    y_{T+k} = f(w_{k-1}),  w_k = (w_{k-1} without its first value, y_{T+k})  for k = 1..steps.
    Each step equals ``model.predict(w_{k-1}[None])`` (float32; every window starts from a zero layer
    state, also for stateful models).

    Arguments:
        model: a built physnn model mapping windows [batch, L, features] (or flattened [batch, L*features])
            to the next value [batch, features], an ``FFNN`` on flattened windows, or any callable
            f(window [1, L, features]) -> next value [features] (then ``length`` is required and the loop
            runs in Python).
        history: the known series, [T] or [T, features], T >= L, finite.
        steps: how many values to predict, >= 1.
        length: the window length L for a plain callable; for a model it is read from its input shape
            (a different ``length`` raises).
    Returns:
        The predicted continuation, [steps] for a 1-D history, else [steps, features].
    Raises:
        ValueError: bad ``steps``/``length``, history of the wrong shape, non-numeric, non-finite or shorter
            than L, a model that is not built or does not map windows of the history's features to the next
            value of each of them.
    """
    try:
        series = np.asarray(history, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"extrapolate: history must be numeric, received {type(history).__name__}") from None
    one_dimensional = series.ndim == 1
    if one_dimensional:
        series = series[:, None]
    if series.ndim != 2 or series.shape[1] == 0:
        raise ValueError(f"extrapolate: history must be [T] or [T, features], got shape {np.shape(history)}")
    steps = count("extrapolate: steps", steps, maximum=MAX_EXTRAPOLATE_STEPS)
    if not np.all(np.isfinite(series)):
        raise ValueError("extrapolate: history contains NaN or infinite values")
    features = series.shape[1]
    params, fn, window_length = _window_function(model, length, features)
    if length is not None and fn is not None and count("extrapolate: length", length) != window_length:
        raise ValueError(f"extrapolate: length={length} but the model takes windows of {window_length}")
    if series.shape[0] < window_length:
        raise ValueError(f"extrapolate: history has {series.shape[0]} time steps, the model's window needs "
                         f"{window_length}")
    window = jnp.asarray(series[-window_length:][None])

    if fn is None:  # a plain callable: Python loop
        out = []
        for _ in range(steps):
            nxt = np.asarray(model(np.asarray(window)), dtype=np.float32).reshape(-1)
            _check_outputs(nxt.size, features, "the callable")
            out.append(nxt)
            window = jnp.concatenate([window[:, 1:], jnp.asarray(nxt)[None, None]], axis=1)
        result = np.stack(out)
    else:
        cache = model.__dict__.setdefault("_rollouts", _cache.Programs())
        key = (steps, window_length, features)
        if key not in cache:
            def rollout(params, window):
                def step(w, _):
                    nxt = fn(params, w).astype(w.dtype)
                    return jnp.concatenate([w[:, 1:], nxt[None, None]], axis=1), nxt
                return jax.lax.scan(step, window, None, length=steps)[1]
            cache[key] = flat_jit(rollout)
        result = np.asarray(cache[key](params, window))
    return result[:, 0] if one_dimensional else result


PRESETS = ("rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2")


def preset(name: str, length: int, features: int = 1, seed: int = 0, stateful: bool = False):
    """The course's recurrent networks as compiled ``Sequential`` models (loss mse, optimizer adam).

    rnn:          SimpleRNN(200) -> Dense(features)
    rnn_2layers:  SimpleRNN(500, sigmoid, return_sequences) -> SimpleRNN(500, sigmoid) -> Dense(features)
    lstm_2layers: LSTM(250, return_sequences) -> LSTM(250) -> Dense(features)
    dnn2_gru2:    Dense(125, relu) -> Dense(125, relu) -> GRU(250, return_sequences) -> GRU(250) -> Dense(features)

    Arguments: name (one of PRESETS), length (window length L), features per step, seed (weights,
    shuffling), stateful (carry the recurrent state between batches).
    Returns: a compiled Sequential taking windows [batch, length, features].
    """
    from physnn.layers import GRU, LSTM, Dense, SimpleRNN
    from physnn.models import Sequential

    if name not in PRESETS:
        raise ValueError(f"preset name {name!r} is not known; choose one of {', '.join(PRESETS)}")
    for argument, value in (("length", length), ("features", features)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"preset {argument} must be an integer >= 1, got {value!r}")
    recurrent = {
        "rnn": [SimpleRNN(200, stateful=stateful)],
        "rnn_2layers": [SimpleRNN(500, activation="sigmoid", return_sequences=True, stateful=stateful),
                        SimpleRNN(500, activation="sigmoid", stateful=stateful)],
        "lstm_2layers": [LSTM(250, return_sequences=True, stateful=stateful), LSTM(250, stateful=stateful)],
        "dnn2_gru2": [Dense(125, activation="relu"), Dense(125, activation="relu"),
                      GRU(250, return_sequences=True, stateful=stateful), GRU(250, stateful=stateful)],
    }[name]
    # Built once at the end: ``Sequential([Input(...), ...])`` would compile the initialiser after every
    # layer it adds (N times for N layers), which dominated the construction time of the large presets.
    model = Sequential([*recurrent, Dense(features)], name=name, seed=seed)
    model.build((int(length), int(features)))
    model.compile(optimizer="adam", loss="mse")
    return model
