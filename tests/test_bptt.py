import jax
import jax.numpy as jnp
import numpy as np
import pytest
from matplotlib.figure import Figure

from physnn import bptt


def random_problem(seed, n_in=3, n_hidden=5, n_out=2, batch=(), T=7):
    """Random float64 parameters (non-zero biases), inputs, targets and initial state, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    params = {
        "U": 1.5 * rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in),
        "W": 1.5 * rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden),
        "V": rng.standard_normal((n_out, n_hidden)),
        "b": 0.5 * rng.standard_normal(n_hidden),
        "c": rng.standard_normal(n_out),
    }
    xs = rng.standard_normal(batch + (T, n_in))
    ys = rng.standard_normal(batch + (T, n_out))
    h0 = 0.5 * rng.standard_normal(batch + (n_hidden,))
    return params, xs, ys, h0


@pytest.mark.parametrize("seed, batch, use_h0", [(0, (), True), (1, (4,), False)])
def test_bptt_equals_autodiff_in_float64(seed, batch, use_h0):
    with jax.enable_x64(True):
        params, xs, ys, h0 = random_problem(seed, batch=batch)
        h0 = h0 if use_h0 else None
        ours = bptt.bptt_gradients(params, xs, ys, h0)
        reference = jax.jit(jax.grad(bptt.rnn_loss))(params, xs, ys, h0)
        assert set(ours) == set(bptt.PARAM_NAMES)
        for name in bptt.PARAM_NAMES:
            assert ours[name].dtype == jnp.float64
            assert ours[name].shape == np.shape(params[name])
            np.testing.assert_allclose(ours[name], reference[name], rtol=1e-10, atol=1e-10, err_msg=name)
        assert float(jnp.abs(ours["W"]).max()) > 1e-3  # a non-trivial gradient was compared


def test_forward_and_gradients_match_torch_rnn():
    torch = pytest.importorskip("torch")
    with jax.enable_x64(True):
        params, xs, ys, h0 = random_problem(5, n_in=3, n_hidden=6, n_out=2, batch=(2,), T=9)
        states = bptt.rnn_forward(params, xs, h0)
        ours = bptt.bptt_gradients(params, xs, ys, h0)
        loss = bptt.rnn_loss(params, xs, ys, h0)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    rnn = torch.nn.RNN(3, 6, batch_first=True, nonlinearity="tanh").double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["U"])
        rnn.weight_hh_l0.copy_(p["W"])
        rnn.bias_ih_l0.copy_(p["b"])
        rnn.bias_hh_l0.zero_()
    hs, _ = rnn(torch.tensor(xs), torch.tensor(h0)[None])
    os = hs @ p["V"].T + p["c"]
    torch_loss = 0.5 * ((os - torch.tensor(ys)) ** 2).sum()
    torch_loss.backward()
    np.testing.assert_allclose(states.h, hs.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(states.o, os.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(float(loss), torch_loss.item(), rtol=1e-12)
    torch_grads = {
        "U": rnn.weight_ih_l0.grad,
        "W": rnn.weight_hh_l0.grad,
        "b": rnn.bias_ih_l0.grad,
        "V": p["V"].grad,
        "c": p["c"].grad,
    }
    for name, grad in torch_grads.items():
        np.testing.assert_allclose(ours[name], grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_forward_shapes_and_first_step():
    params, xs, _, h0 = random_problem(7, n_in=3, n_hidden=5, n_out=2, batch=(4,), T=6)
    h, o = bptt.rnn_forward(params, xs, h0)
    assert h.shape == (4, 6, 5) and o.shape == (4, 6, 2)
    first = np.tanh(xs[:, 0] @ params["U"].T + h0 @ params["W"].T + params["b"])
    second = np.tanh(xs[:, 1] @ params["U"].T + first @ params["W"].T + params["b"])
    np.testing.assert_allclose(h[:, 0], first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h[:, 1], second, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(o, np.asarray(h) @ params["V"].T + params["c"], rtol=1e-5, atol=1e-5)
    h_default, _ = bptt.rnn_forward(params, xs[0])  # default h0 = 0, unbatched
    assert h_default.shape == (6, 5)
    np.testing.assert_allclose(h_default[0], np.tanh(xs[0, 0] @ params["U"].T + params["b"]), rtol=1e-5)


def test_bad_shapes_are_named():
    params, xs, ys, h0 = random_problem(8)
    with pytest.raises(ValueError, match="missing W"):
        bptt.rnn_forward({k: v for k, v in params.items() if k != "W"}, xs)
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(5, 5\)"):
        bptt.rnn_forward({**params, "W": np.zeros((5, 4))}, xs)
    with pytest.raises(ValueError, match=r"params\['c'\] must have shape \(2,\)"):
        bptt.rnn_forward({**params, "c": np.zeros(3)}, xs)
    with pytest.raises(ValueError, match=r"xs must have shape \[T, 3\]"):
        bptt.rnn_forward(params, xs[:, :2])
    with pytest.raises(ValueError, match="h0 must have shape"):
        bptt.rnn_forward(params, xs, np.zeros(4))
    with pytest.raises(ValueError, match="ys must have the shape of the outputs"):
        bptt.bptt_gradients(params, xs, ys[:-1], h0)


def test_rnn_gradient_vanishes_at_least_as_fast_as_the_recurrent_scale():
    scale = 0.8
    norms = bptt.hidden_gradient_norms("rnn", length=50, recurrent_scale=scale, seed=0)
    assert norms.shape == (50,) and norms.dtype == np.float64
    np.testing.assert_allclose(norms[0], 1.0, rtol=1e-12)
    # ||dL/dh_{T-k}|| <= ||W||^k max|tanh'|^k = scale^k  (an exact bound, not a fit)
    assert np.all(norms <= scale ** np.arange(50) * (1 + 1e-9))
    assert norms[30] / norms[0] < 1e-6  # orders of magnitude
    assert norms[49] / norms[0] < 1e-10


def test_lstm_gradient_decays_much_more_slowly():
    rnn = bptt.hidden_gradient_norms("rnn", length=50, seed=0)
    lstm = bptt.hidden_gradient_norms("lstm", length=50, seed=0, forget_bias=2.0)
    np.testing.assert_allclose(lstm[0], 1.0, rtol=1e-12)
    assert lstm[49] / lstm[1] > 1e-3  # less than three orders of magnitude over 48 further steps
    assert np.all(lstm[30:] > 1e3 * rnn[30:])
    assert lstm[49] / lstm[1] > 1e6 * (rnn[49] / rnn[1])
    # a larger forget-gate bias keeps more of the gradient
    weak = bptt.hidden_gradient_norms("lstm", length=50, seed=0, forget_bias=0.0)
    strong = bptt.hidden_gradient_norms("lstm", length=50, seed=0, forget_bias=3.0)
    assert strong[49] > 100 * weak[49]


def test_hidden_gradient_norms_rejects_bad_arguments():
    with pytest.raises(ValueError, match="cell must be 'rnn' or 'lstm', received 'gru'"):
        bptt.hidden_gradient_norms("gru")
    with pytest.raises(ValueError, match="length must be an integer >= 1"):
        bptt.hidden_gradient_norms("rnn", length=0)
    with pytest.raises(ValueError, match="forget_bias must be a finite real number"):
        bptt.hidden_gradient_norms("lstm", forget_bias=float("nan"))


def test_plot_gradient_norms_is_a_log_figure():
    fig = bptt.plot_gradient_norms(length=50, seed=0)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["SimpleRNN (tanh)", "LSTM"]
    np.testing.assert_allclose(lines[0].get_ydata(), bptt.hidden_gradient_norms("rnn", length=50, seed=0))
    given = bptt.plot_gradient_norms({"mine": np.array([1.0, 0.1, 0.01])})
    assert given.axes[0].get_lines()[0].get_label() == "mine"
    with pytest.raises(ValueError, match="not both"):
        bptt.plot_gradient_norms({"mine": np.ones(2)}, length=5)


def test_init_params_shapes_and_scale():
    params = bptt.init_params(jax.random.PRNGKey(0), n_in=3, n_hidden=64, n_out=2, scale=0.5)
    assert {k: v.shape for k, v in params.items()} == {
        "U": (64, 3),
        "W": (64, 64),
        "V": (2, 64),
        "b": (64,),
        "c": (2,),
    }
    assert abs(np.std(np.asarray(params["W"])) * np.sqrt(64) - 0.5) < 0.05  # variance scale^2 / fan-in
    assert not np.any(np.asarray(params["b"]))
