"""SimpleRNN, LSTM, GRU and Bidirectional against torch.nn.RNN / LSTM / GRU on the same weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch_reference import compare_with_torch, random_input, random_params

from physnn.layers import GRU, LSTM, Bidirectional, SimpleRNN

M, N, T, B = 3, 4, 6, 2


def _gru_reorder(a):
    """Keras gate blocks (z, r, h) on the last axis -> PyTorch's (r, z, n)."""
    z, r, h = jnp.split(a, 3, axis=-1)
    return jnp.concatenate([r, z, h], axis=-1)


def _rnn_to_torch(p, kind, suffix="_l0"):
    if kind == "gru":
        out = {f"weight_ih{suffix}": _gru_reorder(p["kernel"]).T,
               f"weight_hh{suffix}": _gru_reorder(p["recurrent_kernel"]).T}
        if "bias" in p:
            out[f"bias_ih{suffix}"] = _gru_reorder(p["bias"][0])
            out[f"bias_hh{suffix}"] = _gru_reorder(p["bias"][1])
        return out
    # SimpleRNN and LSTM: same block order (LSTM i, f, c, o == torch i, f, g, o); torch's second
    # bias bias_hh is left at zero.
    out = {f"weight_ih{suffix}": p["kernel"].T, f"weight_hh{suffix}": p["recurrent_kernel"].T}
    if "bias" in p:
        out[f"bias_ih{suffix}"] = p["bias"]
    return out


TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
LAYER = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def _last_hidden(out):
    _, h = out
    h = h[0] if isinstance(h, tuple) else h  # LSTM returns (h_n, c_n)
    return h[0]


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_matches_torch(kind, return_sequences):
    layer = LAYER[kind](N, return_sequences=return_sequences)
    x = random_input((B, T, M))
    module = TORCH[kind](M, N, batch_first=True)
    output = (lambda out: out[0]) if return_sequences else _last_hidden
    y = compare_with_torch(layer, x, module, lambda p: _rnn_to_torch(p, kind), torch_output=output)
    assert y.shape[1:] == layer.output_shape((T, M))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_without_bias_and_go_backwards_matches_torch_on_reversed_input(kind):
    layer = LAYER[kind](N, return_sequences=True, use_bias=False, go_backwards=True)
    x = random_input((B, T, M), 3)
    module = TORCH[kind](M, N, batch_first=True, bias=False)
    compare_with_torch(layer, x, module, lambda p: _rnn_to_torch(p, kind), torch_input=lambda t: t.flip(1),
                       torch_output=lambda out: out[0])


# the merge and the time reversal do not depend on the cell: four cases cover every cell and both modes
@pytest.mark.parametrize("kind, return_sequences", [("rnn", False), ("lstm", True), ("lstm", False),
                                                    ("gru", True)])
def test_bidirectional_matches_torch(kind, return_sequences):
    layer = Bidirectional(LAYER[kind](N, return_sequences=return_sequences))
    x = random_input((B, T, M), 4)
    module = TORCH[kind](M, N, batch_first=True, bidirectional=True)

    def to_torch(p):
        return {**_rnn_to_torch(p["forward"], kind), **_rnn_to_torch(p["backward"], kind, "_l0_reverse")}

    def output(out):
        if return_sequences:
            return out[0]
        _, h = out
        h = h[0] if isinstance(h, tuple) else h
        return torch.cat([h[0], h[1]], dim=-1)  # final states of both directions

    y = compare_with_torch(layer, x, module, to_torch, torch_output=output)
    assert y.shape[1:] == layer.output_shape((T, M)) == ((T, 2 * N) if return_sequences else (2 * N,))


def test_bidirectional_sum_merge_matches_torch():
    layer = Bidirectional(LSTM(N, return_sequences=True), merge_mode="sum")
    module = torch.nn.LSTM(M, N, batch_first=True, bidirectional=True)

    def to_torch(p):
        return {**_rnn_to_torch(p["forward"], "lstm"), **_rnn_to_torch(p["backward"], "lstm", "_l0_reverse")}

    compare_with_torch(layer, random_input((B, T, M), 5), module, to_torch,
                       torch_output=lambda out: out[0][..., :N] + out[0][..., N:])
    assert layer.output_shape((T, M)) == (T, N)


def test_gru_reset_before_matches_a_numpy_loop():
    """reset_after=False: ĥ = tanh(x W_h + b_h + (r ⊙ h) U_h), one bias (no torch twin; written out)."""
    layer = GRU(N, reset_after=False, return_sequences=True)
    with jax.enable_x64(True):
        params = random_params(layer, (T, M))
        x = random_input((B, T, M), 2)
        y = np.asarray(layer.apply(params, jnp.asarray(x)))
    w, u, b = (np.asarray(params[k]) for k in ("kernel", "recurrent_kernel", "bias"))

    def sig(z):
        return 1 / (1 + np.exp(-z))

    h = np.zeros((B, N))
    for t in range(T):
        xw = x[:, t] @ w + b
        z = sig(xw[:, :N] + h @ u[:, :N])
        r = sig(xw[:, N:2 * N] + h @ u[:, N:2 * N])
        cand = np.tanh(xw[:, 2 * N:] + (r * h) @ u[:, 2 * N:])
        h = z * h + (1 - z) * cand
        np.testing.assert_allclose(y[:, t], h, atol=1e-12)


def test_lstm_init_forget_bias_one_and_orthogonal_recurrent_kernel():
    params = LSTM(N).init(np.random.default_rng(0), (T, M))
    bias = np.asarray(params["bias"])
    np.testing.assert_array_equal(bias, np.r_[np.zeros(N), np.ones(N), np.zeros(2 * N)])
    u = np.asarray(params["recurrent_kernel"])  # [n, 4n] with orthonormal rows
    np.testing.assert_allclose(u @ u.T, np.eye(N), atol=1e-5)
    gru_bias = GRU(N).init(np.random.default_rng(0), (T, M))["bias"]
    assert gru_bias.shape == (2, 3 * N) and not np.any(gru_bias)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_stateful_two_halves_equal_the_whole_sequence(cls, return_sequences):
    layer = cls(N, stateful=True, return_sequences=return_sequences)
    assert layer.stateful is True and cls.stateful is False and cls(N).stateful is False
    with jax.enable_x64(True):
        params = random_params(layer, (T, M))
        x = jnp.asarray(random_input((B, T, M), 6))
        state0 = layer.init_state(B, (T, M))
        assert set(state0) == set(layer.state_names)
        assert all(s.shape == (B, N) and not np.any(np.asarray(s)) for s in state0.values())
        forward = jax.jit(layer.forward)
        y_whole, s_whole = forward(params, state0, x)
        y1, s1 = forward(params, state0, x[:, : T // 2])
        y2, s2 = forward(params, s1, x[:, T // 2:])
        y_restart, _ = forward(params, state0, x[:, T // 2:])  # from zeros instead of the carried state
    if return_sequences:
        np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), y_whole, atol=1e-12)
    else:
        np.testing.assert_allclose(y2, y_whole, atol=1e-12)
    assert not np.allclose(y_restart, y2, atol=1e-3)
    for name in s_whole:
        np.testing.assert_allclose(s2[name], s_whole[name], atol=1e-12)


def test_stateful_state_with_wrong_batch_raises():
    layer = LSTM(N, stateful=True, name="stateful_lstm")
    params = random_params(layer, (T, M))
    with pytest.raises(ValueError, match="stateful_lstm.*init_state"):
        layer.forward(params, layer.init_state(3, (T, M)), jnp.zeros((B, T, M)))


def test_non_stateful_forward_ignores_and_returns_state():
    layer = GRU(N)
    params = random_params(layer, (T, M))
    x = random_input((B, T, M))
    y, state = layer.forward(params, {}, x)
    assert state == {}
    np.testing.assert_allclose(y, layer.apply(params, x), atol=1e-6)


def test_bidirectional_stateful_carries_both_directions():
    layer = Bidirectional(SimpleRNN(N, stateful=True))
    assert layer.stateful
    state = layer.init_state(B, (T, M))
    assert set(state) == {"forward", "backward"}
    params = random_params(layer, (T, M))
    y, new_state = layer.forward(params, state, jnp.ones((B, T, M)))
    assert y.shape == (B, 2 * N) and new_state["forward"]["h"].shape == (B, N)


def test_bidirectional_rejects_non_recurrent_and_bad_merge_mode():
    from physnn.layers import Dense

    with pytest.raises(ValueError, match="SimpleRNN, LSTM or GRU"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(3), merge_mode="max")


def _lstm_loss(layer, params, x):
    return jnp.sum(jnp.sin(layer.apply(params, x)))


def test_lstm_recomputed_backward_equals_the_stored_one_and_allows_forward_mode():
    """``LSTM.backward_saves`` keeps only the gate pre-activations for the backward scan. Its gradient equals
    the one that stores every intermediate (``backward_saves = None``) to rounding, in float64; forward mode
    (``jax.jvp``, ``jax.linearize``, as Hessian-free uses them) goes through it and matches central differences."""
    layer = LSTM(N, return_sequences=True)
    stored = LSTM(N, return_sequences=True)
    stored.backward_saves = None
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), layer.init(np.random.default_rng(1), (T, M)))
        x = jnp.asarray(np.random.default_rng(2).normal(size=(B, T, M)))
        g = jax.grad(lambda p: _lstm_loss(layer, p, x))(params)
        g_stored = jax.grad(lambda p: _lstm_loss(stored, p, x))(params)
        for k in params:
            np.testing.assert_allclose(g[k], g_stored[k], rtol=1e-12, atol=1e-14)
        v = jax.tree.map(lambda a: jnp.asarray(np.random.default_rng(3).normal(size=a.shape)), params)
        _, jv = jax.jvp(lambda p: _lstm_loss(layer, p, x), (params,), (v,))
        _, lin = jax.linearize(lambda p: _lstm_loss(layer, p, x), params)
        eps = 1e-6
        shifted = [jax.tree.map(lambda a, d, s=s: a + s * eps * d, params, v) for s in (1, -1)]
        fd = (_lstm_loss(layer, shifted[0], x) - _lstm_loss(layer, shifted[1], x)) / (2 * eps)
        np.testing.assert_allclose(jv, fd, rtol=1e-7)
        np.testing.assert_allclose(lin(v), jv, rtol=1e-12)
        # the directional derivative of the gradient agrees with the gradient's inner product with v
        np.testing.assert_allclose(sum(jnp.vdot(g[k], v[k]) for k in params), jv, rtol=1e-10)
