"""Recurrent layers (SimpleRNN, LSTM, GRU) and the Bidirectional wrapper, scanned over time with lax.scan.

Inputs are [batch, time, features]. The scan runs over the time-major inputs and each step forms
x_t W + b + h_{t-1} U itself. Projecting all steps at once before the scan (one large product) measured
slower on XLA:CPU: the [time, batch, gates * units] projection and its gradient are two more large arrays to
write, transpose and read (the epoch of benchmarks/bench_scaling.py's LSTM workload 2.42 -> 1.91 s, its GRU
workload 1.87 -> 1.46 s). The sigmoid gates of LSTM and GRU are evaluated as sigma(z) = (1 + tanh(z / 2)) / 2,
the LSTM's four gate blocks in one tanh pass (the LSTM forward scan measured 2x faster than with separate
``logistic`` calls on XLA:CPU; equal to ~1e-7). The LSTM's backward scan recomputes its gates from the saved
pre-activations (``LSTM.backward_saves``).

Stateful layers (``stateful=True``) carry their last state from one batch to the next: ``init_state``
gives zeros and ``forward(params, state, x)`` returns (y, last state). Resetting the state
(Keras's ``reset_states``) is re-initialising it with ``init_state``, which the model does on request.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name

from physnn import _checks, activations, initializers
from physnn.activations import get_activation
from physnn.layers._utils import add_bias
from physnn.layers.base import Layer
from physnn.layers.dense import check_positive_int
from physnn.layers.serialize import deserialize, serialize


class _Recurrent(Layer):
    """Shared machinery: argument checks, shapes, the scan, state handling.

    Subclasses set ``gates`` (blocks of ``units`` columns in the kernels), ``state_names`` and implement
    ``_step(params, state, xw_t) -> state`` with ``state["h"]`` the output h_t.
    """

    gates = 1
    per_sample = True  # (a stateful one carries state across batches: Module._pads_ragged_batch refuses it)
    state_names = ("h",)
    weight_specs = {"kernel": ("kernel", "glorot_uniform"), "recurrent_kernel": ("recurrent", "orthogonal"),
                    "bias": ("bias", "zeros")}

    def _setup(self, units, activation, use_bias, return_sequences, stateful, go_backwards):
        self.units = check_positive_int(units, "units", type(self).__name__)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        if stateful:
            self.stateful = True

    # --- shapes and parameters ------------------------------------------------------------------------

    def output_shape(self, input_shape):
        return self.sequence_output_shape(input_shape)

    def _bias(self, rng):
        return self.initial_value("bias", rng, (self.gates * self.units,))

    def init(self, rng, input_shape):
        self.output_shape(input_shape)
        n = self.units
        _checks.elements(f"Layer '{self.name}' ({type(self).__name__})", (input_shape[1] + n) * self.gates * n)
        params = {
            "kernel": self.initial_value("kernel", rng, (input_shape[1], self.gates * n)),
            "recurrent_kernel": self.initial_value("recurrent_kernel", rng, (n, self.gates * n)),
        }
        if self.use_bias:
            params["bias"] = self._bias(rng)
        return params

    def init_state(self, batch_size, input_shape):
        """Zeros for each state vector (h, and c for LSTM), each [batch_size, units]."""
        return {name: jnp.zeros((batch_size, self.units)) for name in self.state_names}

    # --- the forward map ------------------------------------------------------------------------------

    def _input_projection(self, params, x):
        """x_t W (+ b): [..., features] -> [..., gates * units]."""
        xw = jnp.matmul(x, params["kernel"])
        if self.use_bias:
            xw = add_bias(xw, params["bias"])
        return xw

    def _run(self, params, state, x, mask=None, zero_masked_outputs=False):
        """The scan over time. With a ``mask`` [batch, time] (Keras's, from ``Embedding(mask_zero=True)``) a
        masked step leaves the state as it was, and its output is the previous output (zeros with
        ``zero_masked_outputs``, which Bidirectional asks for, as Keras's): h_t = m_t h'_t + (1 - m_t) h_{t-1}."""
        x = jnp.asarray(x)
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        dtype = jnp.result_type(x, params["kernel"])
        batch = x.shape[0]
        for name in self.state_names:
            if state[name].shape != (batch, self.units):
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): state '{name}' has shape "
                                 f"{tuple(state[name].shape)}, expected {(batch, self.units)} for a batch "
                                 f"of {batch}; re-initialise it with init_state({batch}, ...)")
        state = {name: jnp.asarray(state[name], dtype) for name in self.state_names}
        xs = jnp.swapaxes(x, 0, 1)  # [time, batch, features]

        if mask is None:
            def step(carry, x_t):
                carry = self._step(params, carry, self._input_projection(params, x_t))
                return carry, (carry["h"] if self.return_sequences else None)

            state, hs = jax.lax.scan(self._rematerialised(step), state, xs)
        else:
            def step(carry, inputs):
                x_t, m_t = inputs  # m_t [batch, 1]
                new = self._step(params, carry, self._input_projection(params, x_t))
                carry = {name: jnp.where(m_t, new[name], carry[name]) for name in carry}
                if not self.return_sequences:
                    return carry, None
                return carry, (jnp.where(m_t, new["h"], 0.0) if zero_masked_outputs else carry["h"])

            steps_mask = jnp.swapaxes(jnp.asarray(mask, bool), 0, 1)[..., None]
            state, hs = jax.lax.scan(self._rematerialised(step), state, (xs, steps_mask))
        y = jnp.swapaxes(hs, 0, 1) if self.return_sequences else state["h"]
        return y, state

    # What the backward scan keeps of each step (a ``jax.checkpoint`` policy; None: every intermediate)
    backward_saves = None

    def _rematerialised(self, step):
        """The scan step, with only ``backward_saves`` kept for the backward pass and the rest recomputed."""
        return step if self.backward_saves is None else jax.checkpoint(step, policy=self.backward_saves)

    def _sigmoid_gates(self, z):
        """``recurrent_activation`` of gate pre-activations z; the sigmoid as (1 + tanh(z / 2)) / 2."""
        if self.recurrent_activation is activations.sigmoid:
            return 0.5 + 0.5 * jnp.tanh(0.5 * z)
        return self.recurrent_activation(z)

    accepts_mask = True

    def compute_mask(self, inputs, mask):
        """The input mask goes on with the sequence (``return_sequences``); the last state has none."""
        return mask if self.return_sequences else None

    def apply(self, params, x, *, key=None, training=False, mask=None, zero_masked_outputs=False):
        """x [batch, time, features] -> h_T [batch, units], or all h_t [batch, time, units] with
        ``return_sequences`` (in processing order, i.e. reversed time when ``go_backwards``), from a zero
        initial state; ``mask`` [batch, time] skips the masked steps (see ``_run``)."""
        y, _ = self._run(params, self.init_state(jnp.shape(x)[0], ()), x, mask, zero_masked_outputs)
        return y

    def forward(self, params, state, x, *, key=None, training=False, mask=None, zero_masked_outputs=False):
        """Stateful layers start from ``state`` and return (y, last state); others ignore the state."""
        if not self.stateful:
            return self.apply(params, x, key=key, training=training, mask=mask,
                              zero_masked_outputs=zero_masked_outputs), state
        return self._run(params, state, x, mask, zero_masked_outputs)


class SimpleRNN(_Recurrent):
    """Elman recurrent layer: h_t = f(x_t W + h_{t-1} U + b), h_0 = 0.

    Arguments:
        units: n, the size of h.
        activation: f (default tanh).
        return_sequences: return every h_t [batch, time, n] instead of the last h_T [batch, n].
        stateful: carry the last h to the next batch (see the module docstring).
        use_bias: add b.
        go_backwards: process the sequence from the last step to the first.

    Keras's weight arguments kernel_initializer ("glorot_uniform"), recurrent_initializer ("orthogonal"),
    bias_initializer ("zeros"), kernel_regularizer, recurrent_regularizer, bias_regularizer and
    activity_regularizer are as ``Dense``'s.

    Parameters ``kernel`` W [m, n], ``recurrent_kernel`` U [n, n], ``bias`` b [n]; count m n + n^2 + n.
    """

    def __init__(self, units, activation="tanh", return_sequences=False, stateful=False, use_bias=True,
                 go_backwards=False, name=None):
        super().__init__(name)
        self._setup(units, activation, use_bias, return_sequences, stateful, go_backwards)

    def _step(self, params, state, xw_t):
        return {"h": self.activation(xw_t + state["h"] @ params["recurrent_kernel"])}


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras's form:

        i_t = σ(x_t W_i + h_{t-1} U_i + b_i)        input gate
        f_t = σ(x_t W_f + h_{t-1} U_f + b_f)        forget gate
        c̃_t = g(x_t W_c + h_{t-1} U_c + b_c)        candidate
        o_t = σ(x_t W_o + h_{t-1} U_o + b_o)        output gate
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
        h_t = o_t ⊙ g(c_t),                         h_0 = c_0 = 0

    σ is ``recurrent_activation`` (sigmoid), g is ``activation`` (tanh).

    Arguments: as ``SimpleRNN`` plus ``recurrent_activation`` and ``unit_forget_bias``.

    Parameters ``kernel`` [m, 4n], ``recurrent_kernel`` [n, 4n], ``bias`` [4n], the column blocks in
    gate order (i, f, c, o) — PyTorch's order (i, f, g, o) too. With ``unit_forget_bias`` (default, as Keras)
    the forget-gate bias starts at 1 and ``bias_initializer`` draws the other blocks (zeros by default);
    without it, it draws all 4n. Count 4 (m n + n^2 + n). State {"h", "c"}.
    """

    gates = 4
    state_names = ("h", "c")
    # The backward scan keeps z_t = x_t W + b + h_{t-1} U and recomputes the gates from it: one stacked
    # [batch, 4n] residual per step instead of one per gate and cell intermediate (the epoch of workload (c) in
    # benchmarks/bench_scaling.py: 1.91 -> 1.53 s; keeping every matrix product, 1.67 s). GRU measured slower so.
    backward_saves = staticmethod(jax.checkpoint_policies.save_only_these_names("gate_preactivations"))

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", return_sequences=False,
                 stateful=False, use_bias=True, go_backwards=False, unit_forget_bias=True, name=None):
        super().__init__(name)
        self._setup(units, activation, use_bias, return_sequences, stateful, go_backwards)
        self.recurrent_activation = get_activation(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias(self, rng):
        n = self.units
        if not self.unit_forget_bias:
            return self.initial_value("bias", rng, (4 * n,))
        # Keras's order: bias_initializer((n,)) for i, ones for f, bias_initializer((2n,)) for c and o
        return np.concatenate([self.initial_value("bias", rng, (n,)), initializers.Ones().sample(rng, (n,)),
                               self.initial_value("bias", rng, (2 * n,))])

    def _step(self, params, state, xw_t):
        z = checkpoint_name(xw_t + state["h"] @ params["recurrent_kernel"], "gate_preactivations")
        n = self.units
        if self.recurrent_activation is activations.sigmoid and self.activation is activations.tanh:
            # the four blocks in one tanh pass: (1 + tanh(z / 2)) / 2 for i, f, o and tanh(z) for the candidate
            scale = jnp.full((4 * n,), 0.5, z.dtype).at[2 * n:3 * n].set(1.0)
            shift = jnp.full((4 * n,), 0.5, z.dtype).at[2 * n:3 * n].set(0.0)
            i, f, candidate, o = jnp.split(add_bias(jnp.tanh(z * scale[None]) * scale[None], shift), 4, axis=-1)
        else:
            zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
            i, f, o = (self._sigmoid_gates(v) for v in (zi, zf, zo))
            candidate = self.activation(zc)
        c = f * state["c"] + i * candidate
        return {"h": o * self.activation(c), "c": c}


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al. 2014), Keras 3's default ``reset_after=True`` form:

        z_t = σ(x_t W_z + b_z + h_{t-1} U_z + b'_z)                update gate
        r_t = σ(x_t W_r + b_r + h_{t-1} U_r + b'_r)                reset gate
        ĥ_t = g(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))         candidate
        h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ ĥ_t,                     h_0 = 0

    The reset gate acts after the recurrent product, so there are two biases (input b and recurrent
    b') — the same equations as PyTorch's ``nn.GRU``. With ``reset_after=False`` (Keras 2's original
    form) ĥ_t = g(x_t W_h + b_h + (r_t ⊙ h_{t-1}) U_h) and there is one bias.

    Arguments: as ``LSTM`` plus ``reset_after``.

    Parameters ``kernel`` [m, 3n], ``recurrent_kernel`` [n, 3n] with column blocks (z, r, h), and
    ``bias`` [2, 3n] (row 0 input, row 1 recurrent; [3n] without reset_after), drawn by ``bias_initializer``.
    Count 3 (m n + n^2 + 2 n) with reset_after, 3 (m n + n^2 + n) without.
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", return_sequences=False,
                 stateful=False, use_bias=True, go_backwards=False, reset_after=True, name=None):
        super().__init__(name)
        self._setup(units, activation, use_bias, return_sequences, stateful, go_backwards)
        self.recurrent_activation = get_activation(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias(self, rng):
        return self.initial_value("bias", rng, (2, 3 * self.units) if self.reset_after else (3 * self.units,))

    def _input_projection(self, params, x):
        xw = jnp.matmul(x, params["kernel"])
        if self.use_bias:
            xw = add_bias(xw, params["bias"][0] if self.reset_after else params["bias"])
        return xw

    def _step(self, params, state, xw_t):
        h = state["h"]
        n = self.units
        u = params["recurrent_kernel"]
        sig = self._sigmoid_gates
        x_z, x_r, x_h = jnp.split(xw_t, 3, axis=-1)
        if self.reset_after:
            hu = h @ u
            if self.use_bias:
                hu = add_bias(hu, params["bias"][1])
            h_z, h_r, h_h = jnp.split(hu, 3, axis=-1)
            z, r = sig(x_z + h_z), sig(x_r + h_r)
            candidate = self.activation(x_h + r * h_h)
        else:
            h_zr = h @ u[:, :2 * n]
            z, r = sig(x_z + h_zr[:, :n]), sig(x_r + h_zr[:, n:])
            candidate = self.activation(x_h + (r * h) @ u[:, 2 * n:])
        return {"h": z * h + (1 - z) * candidate}


_MERGE_MODES = ("concat", "sum", "mul", "ave")


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, and merge the two outputs:

        y = merge(RNN_fwd(x_1 .. x_T), RNN_bwd(x_T .. x_1))

    With ``return_sequences`` the backward outputs are reversed back into time order before merging,
    so y_t sees x_1..x_t through the forward copy and x_t..x_T through the backward one (as Keras).

    Arguments:
        layer: a SimpleRNN, LSTM or GRU instance (its hyperparameters are copied; the backward copy has
            ``go_backwards`` flipped).
        merge_mode: "concat" (output size 2n), "sum", "mul" or "ave" (size n).

    Parameters {"forward": ..., "backward": ...}, each those of the wrapped layer (count twice its count).
    A stateful wrapped layer makes the wrapper stateful, with state {"forward": ..., "backward": ...}.
    """

    per_sample = True

    def __init__(self, layer, merge_mode="concat", name=None):
        if not isinstance(layer, _Recurrent):
            raise ValueError(f"Bidirectional: layer must be a SimpleRNN, LSTM or GRU instance, got {layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got {merge_mode!r}")
        super().__init__(name)
        self.layer = layer
        self.merge_mode = merge_mode
        config = dict(layer._config)
        self.forward_layer = type(layer)(**{**config, "name": f"forward_{layer.name}"})
        self.backward_layer = type(layer)(**{**config, "name": f"backward_{layer.name}",
                                             "go_backwards": not layer.go_backwards})
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences

    def output_shape(self, input_shape):
        try:
            shape = self.layer.output_shape(input_shape)
        except ValueError:
            raise self.shape_error("(time, features) with a known number of features", input_shape) from None
        if self.merge_mode == "concat":
            return (*shape[:-1], 2 * shape[-1])
        return shape

    def init(self, rng, input_shape):
        return {"forward": self.forward_layer.init(rng, input_shape),
                "backward": self.backward_layer.init(rng, input_shape)}

    def init_state(self, batch_size, input_shape):
        return {"forward": self.forward_layer.init_state(batch_size, input_shape),
                "backward": self.backward_layer.init_state(batch_size, input_shape)}

    def _merge(self, yf, yb):
        if self.return_sequences:
            yb = yb[:, ::-1]
        if self.merge_mode == "concat":
            return jnp.concatenate([yf, yb], axis=-1)
        if self.merge_mode == "sum":
            return yf + yb
        if self.merge_mode == "mul":
            return yf * yb
        return (yf + yb) / 2

    accepts_mask = True

    def compute_mask(self, inputs, mask):
        return mask if self.return_sequences else None

    def apply(self, params, x, *, key=None, training=False, mask=None):
        """x [batch, time, features] -> merged outputs (see the class docstring); ``mask`` [batch, time] is given
        to both copies, whose masked steps output zeros with ``return_sequences`` (Keras's rule)."""
        masked = {"mask": mask, "zero_masked_outputs": True}
        yf = self.forward_layer.apply(params["forward"], x, **masked)
        yb = self.backward_layer.apply(params["backward"], x, **masked)
        return self._merge(yf, yb)

    def forward(self, params, state, x, *, key=None, training=False, mask=None):
        if not self.stateful:
            return self.apply(params, x, key=key, training=training, mask=mask), state
        masked = {"mask": mask, "zero_masked_outputs": True}
        yf, sf = self.forward_layer.forward(params["forward"], state["forward"], x, **masked)
        yb, sb = self.backward_layer.forward(params["backward"], state["backward"], x, **masked)
        return self._merge(yf, yb), {"forward": sf, "backward": sb}

    def regularization(self, params):
        """The wrapped layer's penalties on both copies' weights."""
        if not self.trainable:
            return 0.0
        return (self.forward_layer.regularization(params["forward"])
                + self.backward_layer.regularization(params["backward"]))

    def get_config(self):
        """{"layer": {"class_name", "config"} of the wrapped layer, "merge_mode", "name"} (and "trainable")."""
        config = super().get_config()  # name, and trainable when False
        config["layer"] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["layer"], dict):
            config["layer"] = deserialize(config["layer"])
        return cls(**config)
