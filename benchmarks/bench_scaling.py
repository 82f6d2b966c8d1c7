"""Scaling: physnn vs PyTorch eager (1 and 2 threads) vs Keras 3 on larger models, with GFLOP/s and memory.

Workloads (synthetic float32 data from ``numpy.random.default_rng(0)``; Adam(1e-3) everywhere; the same
architecture, data, loss, batch size and epochs in every framework):

  a  MLP 784-512-512-10 (relu, relu, softmax), categorical cross-entropy, 20000 samples, batch 256;
  b  the same MLP with batch 32;
  c  LSTM(128) over 100 steps of 8 features -> Dense(1), MSE, 2048 sequences, batch 64;
  d  GRU(64) over 1000 steps of 1 feature -> Dense(1), MSE, 256 sequences, batch 16;
  e  CNN on 28x28x1: Conv2D(32, 3, relu) - MaxPool 2 - Conv2D(64, 3, relu) - MaxPool 2 - Flatten -
     Dense(128, relu) - Dense(10, softmax), categorical cross-entropy, 4096 images, batch 128;
  f  u' = 2x, u(0) = 1 on [0, 1] with a trial solution: ``physnn.physics.solve_ode`` (1 -> 64 -> 64 -> 1 tanh,
     1000 collocation points, full batch, Adam(1e-3), no L-BFGS polish, float64) against the same method in
     plain PyTorch (float64): u_t(x) = u0 + x N(2x - 1) (solve_ode's trial solution; on [0, 1] its scaled
     variable s is x), the residual u_t'(x) - 2x from ``torch.autograd.grad(..., create_graph=True)``, the loss
     the mean squared residual, one Adam step per "epoch". NeuroDiffEq (``Solver1D``, the same trial solution
     as a custom condition) runs too when it is installed (it also evaluates its validation set every epoch).
     Keras has no peer here.

The MLP's labels are the argmax of a fixed random linear map of the inputs, the CNN's of the pixels, the RNNs'
targets tanh of 3 x the mean of the first feature, so the loss falls and the column "loss" (the last epoch's
training loss) shows that every framework trained. physnn ``Sequential`` / Keras end in a softmax with
categorical cross-entropy on one-hot labels, PyTorch in ``CrossEntropyLoss`` on the logits (the same function).
Each framework draws its own initial weights with its own initialisers; PyTorch loops over pre-made tensors
(no DataLoader), reshuffled every epoch by ``randperm``, and reads the loss once per epoch; Keras runs its
defaults (``jit_compile="auto"``: tf.function graphs, no XLA on a CPU-only machine), TensorFlow backend.

Protocol. Every framework runs in a fresh subprocess per repeat (``--worker``); the runs of one workload are
interleaved: repeat r runs the frameworks in the order physnn, torch1, torch2, keras rotated by r. In its
process a framework first does a *cold* fit (a new model, 1 epoch - the first fit of the process: imports
done, nothing traced or compiled, physnn with an empty persistent compilation cache) and then a *warm* fit (a
newly built model, E epochs). The time per epoch is the median of epochs 2..E of the warm fit (wall clock;
the process CPU time too), and the table gives the median over repeats. solve_ode compiles the whole solve
into one program, so its time per step is (t(S) - t(0)) / S: t(S) the median of 3 warm ``solve_ode`` calls
with S Adam steps, t(0) that of the same call with 0 steps (initialisation, transfers, the held-out residual);
its cold fit is the first call with S steps (compiling included). The PyTorch ODE loop is ticked per step and
its cold fit is a whole S-step run.

ratio = peer's median time / physnn's median time ("2.0x": physnn twice as fast); with several repeats the
cell adds the range of the paired ratios (each repeat's peer / the same repeat's physnn).

GFLOP/s of the training step = FLOPs per epoch / median time per epoch, counting only matrix products and
convolutions of the forward pass, analytically, times 3 for forward + backward (the backward pass needs two
products per forward product: the gradients with respect to the inputs and to the weights); biases,
activations, pooling, the loss and the optimiser update are not counted. Per sample, forward:

  Dense n_in -> n_out:                 2 n_in n_out
  Conv2D k x k, C_in -> C_out:          2 H_out W_out k^2 C_in C_out
  LSTM(n) over T steps of m features:  T 2 (m + n) 4n        (input and recurrent products, 4 gates)
  GRU(n):                              T 2 (m + n) 3n
  FLOPs per epoch = 3 x samples x forward FLOPs per sample.

For (f) per step and collocation point: the value and the x-derivative of the network (forward-mode in
physnn, the autograd graph in PyTorch: the tangent goes through the same products) = 2 x 2 sum(n_in n_out),
times 3 for the backward pass of both; 1 -> 64 -> 64 -> 1 gives 12 x 4224 = 50,688 FLOPs per point, 50.7 MFLOP
per step with 1000 points (float64, while the peak below is float32).

% of peak = GFLOP/s / the peak measured in the same run, before the workloads, in two subprocesses: the best
of 3 timed float32 4096 x 4096 matmuls (after a warm-up), GFLOP/s = 2 * 4096^3 / t, in NumPy (its BLAS, with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from that process's environment; the BLAS library is reported
from ``threadpoolctl.threadpool_info()``) and in ``jax.numpy`` (``jax.jit``, ``block_until_ready``): both are
printed, the larger is the peak.

peak RSS MB = ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the worker process at its end: imports, data,
the cold and the warm fit (the largest over repeats).

Verdicts (the issue's targets, one line per workload): physnn's epoch at least as fast as the fastest peer's
everywhere; (c) >= 1.3x PyTorch with 2 threads; (e) >= 1.3x Keras and >= 1.3x PyTorch with 2 threads;
physnn's peak RSS no higher than PyTorch's (both thread counts) on (a) and (c).

Run: ``python benchmarks/bench_scaling.py [--bench a,b,c,d,e,f] [--repeats 3] [--epochs 3 | --epochs a=5,f=300]
[--only physnn,torch1,torch2,keras] [--quick] [--json out.json] [--markdown]``. Defaults: 3 repeats, warm fits
of 3 epochs (so 2 timed epochs of hundreds of steps each per repeat; 300 steps for f). ``--quick`` is a smoke
run (2 epochs, 20 ODE steps, tiny sample counts, 1 repeat, no peak): not a measurement. A worker that fails or
runs past ``--timeout`` seconds is reported and left out of its repeat. On 2 shared cores PyTorch with 2 threads
(and TensorFlow's pools) can be many times slower than with 1 while another job runs: its threads wait for each
other (smoke runs at load 2-3: torch2 3-20x slower than torch1); such a run takes correspondingly longer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SEED = 0
ETA = 1e-3
U0 = 1.0
PEAK_N = 4096
PEAK_REPEATS = 3
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
FRAMEWORKS = ("physnn", "torch1", "torch2", "keras")
TORCH_THREADS = {"torch1": 1, "torch2": 2}
NEURODIFFEQ = "neurodiffeq"

# kind, sizes, samples (full / --quick), batch, default epochs (f: Adam steps)
WORKLOADS = {
    "a": {"title": "(a) MLP 784-512-512-10, batch 256", "kind": "mlp", "n": 20000, "quick_n": 512, "batch": 256,
          "epochs": 3},
    "b": {"title": "(b) MLP 784-512-512-10, batch 32", "kind": "mlp", "n": 20000, "quick_n": 256, "batch": 32,
          "epochs": 3},
    "c": {"title": "(c) LSTM(128), 100 steps x 8 features, batch 64", "kind": "lstm", "units": 128, "steps": 100,
          "features": 8, "n": 2048, "quick_n": 64, "batch": 64, "epochs": 3},
    "d": {"title": "(d) GRU(64), 1000 steps x 1 feature, batch 16", "kind": "gru", "units": 64, "steps": 1000,
          "features": 1, "n": 256, "quick_n": 16, "batch": 16, "epochs": 3},
    "e": {"title": "(e) CNN 28x28x1 conv32-pool-conv64-pool-128-10, batch 128", "kind": "cnn", "n": 4096,
          "quick_n": 128, "batch": 128, "epochs": 3},
    "f": {"title": "(f) solve_ode u' = 2x, 1-64-64-1 tanh", "kind": "ode", "hidden": (64, 64),
          "n": 1000, "quick_n": 1000, "batch": 1000, "epochs": 300, "quick_epochs": 20},
}
MLP_SIZES = (784, 512, 512, 10)

# the issue's targets: physnn at least as fast as the fastest peer everywhere, plus these
EXTRA_TARGETS = {"c": [H.Target("epoch", 1.3, ("torch2",))],
                 "e": [H.Target("epoch", 1.3, ("keras",)), H.Target("epoch", 1.3, ("torch2",))]}
RSS_TARGETS = ("a", "c")  # physnn's peak RSS <= PyTorch's


def unit(key: str) -> str:
    return "step" if WORKLOADS[key]["kind"] == "ode" else "epoch"


# --- FLOPs ----------------------------------------------------------------------------------------------


def dense_flops(sizes) -> int:
    """Forward FLOPs per sample of a stack of Dense layers with widths ``sizes``: 2 sum(n_in n_out)."""
    return sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def conv2d_flops(h_out: int, w_out: int, k: int, c_in: int, c_out: int) -> int:
    return 2 * h_out * w_out * k * k * c_in * c_out


def forward_flops(key: str) -> int:
    """Forward matmul/conv FLOPs per sample (per collocation point for the ODE, value and derivative)."""
    w = WORKLOADS[key]
    kind = w["kind"]
    if kind == "mlp":
        return dense_flops(MLP_SIZES)
    if kind in ("lstm", "gru"):
        gates = 4 if kind == "lstm" else 3
        n, m, t = w["units"], w["features"], w["steps"]
        return t * 2 * (m + n) * gates * n + dense_flops((n, 1))
    if kind == "cnn":  # 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5; 5 x 5 x 64 = 1600
        return (conv2d_flops(26, 26, 3, 1, 32) + conv2d_flops(11, 11, 3, 32, 64) + dense_flops((1600, 128, 10)))
    return 2 * dense_flops((1, *w["hidden"], 1))  # ode: the value and its tangent


def flops_per_epoch(key: str, quick: bool) -> float:
    """Training FLOPs per epoch (per step for the ODE): 3 x forward x samples (points)."""
    w = WORKLOADS[key]
    return 3.0 * forward_flops(key) * (w["quick_n"] if quick else w["n"])


# --- data ----------------------------------------------------------------------------------------------


def make_data(key: str, quick: bool) -> dict:
    """Synthetic float32 data of workload ``key`` (seeded), with the labels also one-hot."""
    w = WORKLOADS[key]
    n, kind = (w["quick_n"] if quick else w["n"]), w["kind"]
    data = {"key": key, "kind": kind, "batch": w["batch"], "n": n}
    rng = np.random.default_rng(SEED)
    if kind in ("mlp", "cnn"):
        shape = (n, MLP_SIZES[0]) if kind == "mlp" else (n, 28, 28, 1)
        X = rng.standard_normal(shape, dtype=np.float32) if kind == "mlp" else rng.random(shape, dtype=np.float32)
        flat = X.reshape(n, -1)
        mixing = rng.standard_normal((flat.shape[1], 10), dtype=np.float32)
        labels = np.argmax((flat - flat.mean(0)) @ mixing, axis=1)
        data.update(X=X, labels=labels, Y=np.eye(10, dtype=np.float32)[labels])
    elif kind in ("lstm", "gru"):
        X = rng.standard_normal((n, w["steps"], w["features"]), dtype=np.float32)
        data.update(X=X, Y=np.tanh(3.0 * X[:, :, 0].mean(axis=1, keepdims=True)).astype(np.float32))
    return data


# --- physnn --------------------------------------------------------------------------------------------


def physnn_setup(args):
    import physnn  # noqa: F401


def physnn_build(data, args):
    from physnn import Input, Sequential
    from physnn.layers import GRU, LSTM, Conv2D, Dense, Flatten, MaxPooling2D
    from physnn.optimizers import Adam

    kind = data["kind"]
    if kind == "mlp":
        layers, loss = [Input((784,)), Dense(512, "relu"), Dense(512, "relu"), Dense(10, "softmax")], "cce"
    elif kind == "cnn":
        layers, loss = [Input((28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                        Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dense(128, "relu"),
                        Dense(10, "softmax")], "cce"
    else:
        w = WORKLOADS[data["key"]]
        rnn = LSTM if kind == "lstm" else GRU
        layers, loss = [Input((w["steps"], w["features"])), rnn(w["units"]), Dense(1)], "mse"
    model = Sequential(layers, seed=SEED)
    model.compile(optimizer=Adam(ETA), loss="categorical_crossentropy" if loss == "cce" else "mse")
    return model


def physnn_fit(model, data, epochs, tick):
    from physnn.callbacks import Callback

    class Ticker(Callback):
        """Ticks the epoch clock; it only reads the logs, so the fit loop still queues epoch e + 1 before it
        reads epoch e's logs, as a plain ``fit(..., verbose=0)`` does (a LambdaCallback would stop that)."""

        reads_logs_only = True

        def on_epoch_end(self, epoch, logs):
            tick()

    history = model.fit(data["X"], data["Y"], epochs=epochs, batch_size=data["batch"], verbose=0,
                        callbacks=[Ticker()])
    return history.history["loss"][-1]


def physnn_version():
    import jax

    import physnn

    return f"{physnn.__version__} (jax {jax.__version__})"


# --- PyTorch eager ---------------------------------------------------------------------------------------


def torch_setup(args):
    import torch

    torch.set_num_threads(TORCH_THREADS[args.worker.split("::")[1]])


def torch_build(data, args):
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    kind = data["kind"]
    if "torch_X" not in data:  # pre-made tensors, once per process (outside the timed fits)
        X = torch.from_numpy(data["X"])
        data["torch_X"] = X.permute(0, 3, 1, 2).contiguous() if kind == "cnn" else X  # NCHW
        data["torch_Y"] = (torch.from_numpy(data["labels"]).long() if kind in ("mlp", "cnn")
                           else torch.from_numpy(data["Y"]))
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    elif kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        w = WORKLOADS[data["key"]]
        rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(w["features"], w["units"], batch_first=True)

        class LastStep(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn, self.head = rnn, nn.Linear(w["units"], 1)

            def forward(self, x):
                return self.head(self.rnn(x)[0][:, -1])

        model = LastStep()
    model.optimizer = torch.optim.Adam(model.parameters(), lr=ETA)
    return model


def torch_fit(model, data, epochs, tick):
    import torch

    X, Y = data["torch_X"], data["torch_Y"]
    n, bs = len(X), data["batch"]
    generator = torch.Generator().manual_seed(SEED)
    opt = model.optimizer
    # log-softmax + NLL on the logits = softmax output + categorical cross-entropy
    loss_fn = torch.nn.CrossEntropyLoss() if data["kind"] in ("mlp", "cnn") else torch.nn.MSELoss()
    last = float("nan")
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        Xs, Ys = X[order], Y[order]
        total = torch.zeros(())
        for i in range(0, n, bs):
            opt.zero_grad(set_to_none=True)
            out = model(Xs[i:i + bs])
            loss = loss_fn(out, Ys[i:i + bs])
            loss.backward()
            opt.step()
            total += loss.detach() * len(out)
        last = float(total) / n
        tick()
    return last


def torch_version():
    import torch

    return f"{torch.__version__}, {torch.get_num_threads()} thread(s)"


# --- Keras 3, TensorFlow backend -------------------------------------------------------------------------


def keras_setup(args):
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras  # noqa: F401


def keras_build(data, args):
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(SEED)
    kind = data["kind"]
    if kind == "mlp":
        stack = [keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
                 L.Dense(10, activation="softmax")]
    elif kind == "cnn":
        stack = [keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                 L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                 L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]
    else:
        w = WORKLOADS[data["key"]]
        rnn = L.LSTM if kind == "lstm" else L.GRU
        stack = [keras.Input((w["steps"], w["features"])), rnn(w["units"]), L.Dense(1)]
    model = keras.Sequential(stack)
    model.compile(optimizer=keras.optimizers.Adam(ETA),
                  loss="categorical_crossentropy" if kind in ("mlp", "cnn") else "mse")
    return model


def keras_fit(model, data, epochs, tick):
    import keras

    history = model.fit(data["X"], data["Y"], epochs=epochs, batch_size=data["batch"], verbose=0,
                        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tick())])
    return history.history["loss"][-1]


def keras_version():
    import keras
    import tensorflow as tf

    return f"{keras.__version__} (tf {tf.__version__})"


# --- (f) the trial-solution ODE ----------------------------------------------------------------------------


def ode_rhs(x, u):
    """u' = 2x (module level: solve_ode caches its compiled solve on the rhs object)."""
    return 2 * x


def physnn_ode_worker(args) -> dict:
    """solve_ode timed whole: a cold call, then t(S) and t(0) warm (see the module docstring)."""
    t0 = time.perf_counter()
    from physnn.physics import solve_ode
    import_s = time.perf_counter() - t0
    w, steps = WORKLOADS["f"], args.worker_epochs
    n_points = w["quick_n"] if args.quick else w["n"]

    def solve(s):
        with warnings.catch_warnings():  # "did not converge" after a few hundred steps of Adam(1e-3)
            warnings.simplefilter("ignore", RuntimeWarning)
            t, c = time.perf_counter(), time.process_time()
            sol = solve_ode(ode_rhs, U0, (0.0, 1.0), hidden=w["hidden"], activation="tanh", n_points=n_points,
                            steps=s, eta=ETA, seed=SEED, polish=False)
            return time.perf_counter() - t, time.process_time() - c, sol

    cold_s, cold_cpu, sol = solve(steps)
    solve(0)  # compiles the 0-step program
    zero = [solve(0)[:2] for _ in range(3)]
    full = []
    for _ in range(3):
        wall, cpu, sol = solve(steps)
        full.append((wall, cpu))
    t_zero, c_zero = (statistics.median(z[i] for z in zero) for i in (0, 1))
    per_step = [(wall - t_zero) / steps for wall, _ in full]
    per_step_cpu = [(cpu - c_zero) / steps for _, cpu in full]
    loss = float(sol.residual_history[-1] ** 2)  # the mean squared residual before the last step
    return {"import_s": import_s, "version": physnn_version(),
            "fits": [{"kind": "new", "fit_s": cold_s, "cpu_s": cold_cpu, "epoch_s": [], "epoch_cpu_s": [],
                      "metric": loss},
                     {"kind": "new", "fit_s": statistics.median(f[0] for f in full),
                      "cpu_s": statistics.median(f[1] for f in full), "epoch_s": per_step,
                      "epoch_cpu_s": per_step_cpu, "metric": loss}],
            "epoch_median_s": statistics.median(per_step), "epoch_cpu_median_s": statistics.median(per_step_cpu),
            "notes": {"t_S_s": [f[0] for f in full], "t_0_s": [z[0] for z in zero]}}


def torch_ode_build(data, args):
    import torch
    from torch import nn

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(SEED)
    (h1, h2), n_points = WORKLOADS["f"]["hidden"], data["n"]
    net = nn.Sequential(nn.Linear(1, h1), nn.Tanh(), nn.Linear(h1, h2), nn.Tanh(), nn.Linear(h2, 1))
    net.x = torch.linspace(0.0, 1.0, n_points).reshape(-1, 1).requires_grad_(True)  # the collocation points
    net.optimizer = torch.optim.Adam(net.parameters(), lr=ETA)
    return net


def torch_ode_fit(net, data, steps, tick):
    import torch

    x, opt, params = net.x, net.optimizer, list(net.parameters())
    loss = None
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        u = U0 + x * net(2 * x - 1)  # solve_ode's trial solution on [0, 1]
        (du,) = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)
        loss = torch.mean((du - 2 * x) ** 2)
        loss.backward(inputs=params)
        opt.step()
        tick()
    return float(loss)


def ndq_setup(args):
    import neurodiffeq  # noqa: F401
    import torch

    torch.set_num_threads(1)


def ndq_build(data, args):
    import torch
    from neurodiffeq import diff
    from neurodiffeq.conditions import BaseCondition
    from neurodiffeq.generators import Generator1D
    from neurodiffeq.networks import FCNN
    from neurodiffeq.solvers import Solver1D

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(SEED)

    class Trial(BaseCondition):
        """u_t = u0 + t N(2t - 1): solve_ode's first-order trial solution on [0, 1]."""

        def enforce(self, net, t):
            return U0 + t * net(2 * t - 1)

    n_points = data["n"]
    net = FCNN(n_input_units=1, n_output_units=1, hidden_units=WORKLOADS["f"]["hidden"], actv=torch.nn.Tanh)
    return Solver1D(ode_system=lambda u, x: [diff(u, x) - 2 * x], conditions=[Trial()], t_min=0.0, t_max=1.0,
                    nets=[net], train_generator=Generator1D(n_points, 0.0, 1.0, method="equally-spaced"),
                    valid_generator=Generator1D(n_points, 0.0, 1.0, method="equally-spaced"),
                    optimizer=torch.optim.Adam(net.parameters(), lr=ETA), n_batches_train=1, n_batches_valid=1)


def ndq_fit(solver, data, steps, tick):
    from neurodiffeq.callbacks import ActionCallback

    class Tick(ActionCallback):
        def __call__(self, solver):
            tick()

    solver.fit(max_epochs=steps, callbacks=[Tick()], tqdm_file=None)
    history = getattr(solver, "metrics_history", {}).get("train_loss") or [float("nan")]
    return float(history[-1])


def ndq_version():
    import neurodiffeq
    import torch

    return f"{getattr(neurodiffeq, '__version__', '?')} (torch {torch.__version__}, 1 thread)"


# --- the peak: a 4096 x 4096 float32 matmul ------------------------------------------------------------------


def peak_numpy_worker(args) -> dict:
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(SEED)
    a, b = (rng.standard_normal((PEAK_N, PEAK_N), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up
    times = []
    for _ in range(PEAK_REPEATS):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    blas = [{k: info.get(k) for k in ("internal_api", "architecture", "num_threads", "version", "threading_layer")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    return {"library": f"numpy {np.__version__}", "times_s": times, "gflops": 2 * PEAK_N**3 / min(times) / 1e9,
            "blas": blas, "env": {k: os.environ.get(k) for k in BLAS_ENV}}


def peak_jax_worker(args) -> dict:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(SEED)
    a, b = (jax.device_put(rng.standard_normal((PEAK_N, PEAK_N), dtype=np.float32)) for _ in range(2))
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()  # compile + warm-up
    times = []
    for _ in range(PEAK_REPEATS):
        t = time.perf_counter()
        matmul(a, b).block_until_ready()
        times.append(time.perf_counter() - t)
    return {"library": f"jax {jax.__version__} ({jax.devices()[0].platform})", "times_s": times,
            "gflops": 2 * PEAK_N**3 / min(times) / 1e9}


def measure_peak(script: Path) -> dict:
    env = H.worker_env()
    for name in BLAS_ENV:
        env.pop(name, None)
    numpy_peak = H.spawn_json([sys.executable, str(script), "--worker", "peak-numpy"], env)
    jax_peak = H.spawn_json([sys.executable, str(script), "--worker", "peak-jax"], H.worker_env())
    return {"numpy": numpy_peak, "jax": jax_peak, "gflops": max(numpy_peak["gflops"], jax_peak["gflops"])}


def peak_lines(peak: dict) -> list[str]:
    blas = "; ".join(f"{b['internal_api']} {b['version']} kernel {b['architecture']}, {b['num_threads']} threads"
                     f" ({b['threading_layer']})" for b in peak["numpy"]["blas"]) or "no BLAS found by threadpoolctl"
    removed = ", ".join(f"{k}={v}" for k, v in peak["driver_env"].items() if v is not None) or "neither set"
    return [f"peak: {PEAK_N}x{PEAK_N} float32 matmul, best of {PEAK_REPEATS}: "
            f"{peak['numpy']['library']} {peak['numpy']['gflops']:.1f} GFLOP/s [{blas}; {' and '.join(BLAS_ENV)} "
            f"removed from its environment (the driver's: {removed})], "
            f"{peak['jax']['library']} {peak['jax']['gflops']:.1f} GFLOP/s -> peak {peak['gflops']:.1f} GFLOP/s"]


# --- the worker side ----------------------------------------------------------------------------------------


def cold_then_warm(fit):
    """``fit(model, data, epochs, tick)`` as a harness fit: the process's first call (the cold fit) trains
    ``args.cold_epochs`` epochs, later calls (the warm fit) ``args.worker_epochs``."""
    calls = []

    def harness_fit(model, data, args, tick):
        calls.append(None)
        model.final_loss = fit(model, data, args.cold_epochs if len(calls) == 1 else args.worker_epochs, tick)

    return harness_fit


def final_loss(model, data, args):
    return model.final_loss


def framework_of(key: str, name: str) -> H.Framework:
    """The harness Framework that runs ``name`` on workload ``key`` in a worker."""
    ode = WORKLOADS[key]["kind"] == "ode"
    if name == "physnn":
        return H.Framework(name, physnn_setup, physnn_build, cold_then_warm(physnn_fit), final_loss,
                           physnn_version, is_physnn=True)
    if name in TORCH_THREADS:
        build, fit = (torch_ode_build, torch_ode_fit) if ode else (torch_build, torch_fit)
        return H.Framework(name, torch_setup, build, cold_then_warm(fit), final_loss, torch_version)
    if name == "keras" and not ode:
        return H.Framework(name, keras_setup, keras_build, cold_then_warm(keras_fit), final_loss, keras_version)
    if name == NEURODIFFEQ and ode:
        return H.Framework(name, ndq_setup, ndq_build, cold_then_warm(ndq_fit), final_loss, ndq_version)
    raise ValueError(f"no framework {name!r} for workload {key}")


def run_worker(args) -> dict:
    if args.worker == "peak-numpy":
        return peak_numpy_worker(args)
    if args.worker == "peak-jax":
        return peak_jax_worker(args)
    key, name = args.worker.split("::")
    if name == "physnn" and WORKLOADS[key]["kind"] == "ode":
        result = physnn_ode_worker(args)
    else:
        if WORKLOADS[key]["kind"] == "ode":  # the ODE's cold fit is a whole run, like solve_ode's
            args.cold_epochs = args.worker_epochs
        result = H.run_worker(framework_of(key, name), lambda a: make_data(key, a.quick), args, ["new", "new"])
        warm = result["fits"][1]
        for field, times in (("epoch_median_s", warm["epoch_s"]), ("epoch_cpu_median_s", warm["epoch_cpu_s"])):
            clock = H.EpochClock()
            clock.times = times
            result[field] = clock.median(skip=1)  # epochs 2..E of the warm fit
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    return result


# --- the driver ----------------------------------------------------------------------------------------------


def spawn(script: Path, key: str, name: str, epochs: int, quick: bool, timeout: float) -> dict:
    command = [sys.executable, str(script), "--worker", f"{key}::{name}", "--worker-epochs", str(epochs),
               *(["--quick"] if quick else [])]
    if name != "physnn":
        return H.spawn_json(command, H.worker_env(), timeout)
    cache = Path(tempfile.mkdtemp(prefix="physnn-bench-cache-"))  # empty: the cold fit compiles
    try:
        return H.spawn_json(command, H.worker_env(cache), timeout)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def frameworks_for(key: str, only: set | None) -> list[str]:
    names = list(FRAMEWORKS)
    if WORKLOADS[key]["kind"] == "ode":
        names.remove("keras")
        if importlib.util.find_spec("neurodiffeq") is not None:
            names.append(NEURODIFFEQ)
        elif only is None or NEURODIFFEQ in only:
            print("  note: neurodiffeq is not installed; (f) runs without it "
                  "(pip install --no-deps neurodiffeq, see README)", flush=True)
    return [n for n in names if only is None or n in only]


def summarise(key: str, names: list[str], runs: list[dict], quick: bool, peak: dict | None) -> list[dict]:
    """Per framework: medians over repeats, ratios vs physnn (of the medians, and the paired range); a run that
    failed (None) is left out."""
    flops = flops_per_epoch(key, quick)
    rows = []
    for name in names:
        results = [run[name] for run in runs if run.get(name)]
        if not results:
            continue
        epoch = statistics.median(r["epoch_median_s"] for r in results)
        rows.append({"name": name, "version": results[0]["version"], "epoch_s": epoch,
                     "epoch_cpu_s": statistics.median(r["epoch_cpu_median_s"] for r in results),
                     "cold_fit_s": statistics.median(r["fits"][0]["fit_s"] for r in results),
                     "import_s": statistics.median(r["import_s"] for r in results),
                     "loss": statistics.median(r["fits"][1]["metric"] for r in results),
                     "rss_mb": max(r["rss_mb"] for r in results), "gflops": flops / epoch / 1e9,
                     "peak_fraction": (flops / epoch / 1e9 / peak["gflops"]) if peak else None,
                     "runs_ok": len(results)})
    ref = next((r for r in rows if r["name"] == "physnn"), None)
    for row in rows:
        if ref is not None and row is not ref:
            row["ratio"] = row["epoch_s"] / ref["epoch_s"]
            row["paired_ratios"] = [run[row["name"]]["epoch_median_s"] / run["physnn"]["epoch_median_s"]
                                    for run in runs if run.get(row["name"]) and run.get("physnn")]
    return rows


def format_rows(key: str, rows: list[dict], markdown: bool, label: str) -> str:
    u = unit(key)
    header = ["framework", f"ms/{u}", "ratio vs physnn", "GFLOP/s", "% of peak", "peak RSS MB", f"cpu ms/{u}",
              "cold fit s", "loss"]
    body = []
    for r in rows:
        ratio = ""
        if "ratio" in r:
            ratio = f"{r['ratio']:.2f}x"
            if len(r["paired_ratios"]) > 1:
                ratio += f" ({min(r['paired_ratios']):.2f}-{max(r['paired_ratios']):.2f})"
        body.append([f"{r['name']} {r['version']}", f"{r['epoch_s'] * 1e3:.2f}", ratio, f"{r['gflops']:.1f}",
                     "" if r["peak_fraction"] is None else f"{100 * r['peak_fraction']:.1f}",
                     f"{r['rss_mb']:.0f}", f"{r['epoch_cpu_s'] * 1e3:.2f}", f"{r['cold_fit_s']:.2f}",
                     f"{r['loss']:.4g}"])
    if markdown:
        lines = [f"**{label}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [label, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    return "\n".join(line.rstrip() for line in lines + [fmt.format(*row) for row in body])


def verdict(key: str, rows: list[dict]) -> str:
    """One line: the issue's targets for workload ``key`` (H.Target on the median times per epoch)."""
    title = WORKLOADS[key]["title"].split(",")[0]
    if not any(r["name"] == "physnn" for r in rows) or len(rows) < 2:
        return f"{title}: no verdict (physnn and a peer must both run)"
    harness_rows = [H.Row(r["name"], r["loss"], r["cold_fit_s"], math.nan, math.nan, r["epoch_s"], r["import_s"],
                          r["version"]) for r in rows]
    checks = [H.Target("epoch", 1.0).check(harness_rows)]
    checks += [t.check(harness_rows) for t in EXTRA_TARGETS.get(key, [])]
    parts = [text.replace("  ", " ", 1) for _, text in checks]
    ok = all(passed for passed, _ in checks)
    torch_rows = [r for r in rows if r["name"] in TORCH_THREADS]
    if key in RSS_TARGETS and not torch_rows:
        parts.append("skip peak RSS: no PyTorch row")
    elif key in RSS_TARGETS:
        phys = next(r for r in rows if r["name"] == "physnn")["rss_mb"]
        least = min(torch_rows, key=lambda r: r["rss_mb"])
        passed = phys <= least["rss_mb"]
        ok = ok and passed
        parts.append(f"{'PASS' if passed else 'MISS'} peak RSS <= PyTorch's ({least['name']}): {phys:.0f} MB vs "
                     f"{least['rss_mb']:.0f} MB")
    return f"{title}: {'all met' if ok else 'NOT all met'} - " + "; ".join(parts)


def parse_epochs(text: str | None, quick: bool) -> dict:
    """``--epochs``: a number for every workload but (f) (whose epochs are Adam steps), or key=N,..."""
    epochs = {k: (w.get("quick_epochs", 2) if quick else w["epochs"]) for k, w in WORKLOADS.items()}
    for part in (text.split(",") if text else []):
        if "=" in part:
            key, value = part.split("=", 1)
            if key not in WORKLOADS:
                raise SystemExit(f"--epochs: unknown workload {key!r} (choose from {','.join(WORKLOADS)})")
            epochs[key] = int(value)
        else:
            epochs.update({k: int(part) for k in WORKLOADS if WORKLOADS[k]["kind"] != "ode"})
    if any(e < 2 for e in epochs.values()):
        raise SystemExit("--epochs: at least 2 (the time is the median of epochs 2..E)")
    return epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=",".join(WORKLOADS), help="comma-separated workloads (default: a-f)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3; --quick: 1)")
    parser.add_argument("--epochs", default=None,
                        help="epochs of the warm fit: N for a-e, or per workload, e.g. a=5,c=4,f=300 "
                             "(f: Adam steps; default 3, f 300)")
    parser.add_argument("--only", default=None, help=f"comma-separated frameworks ({','.join(FRAMEWORKS)},"
                                                     f"{NEURODIFFEQ})")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, tiny data, 1 repeat, no peak")
    parser.add_argument("--json", default=None, help="write every measurement to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds one worker process may take (default 1800); a worker that fails or times "
                             "out is reported and left out of its repeat")
    parser.add_argument("--cold-epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        H.print_result(run_worker(args))
        return

    script = Path(__file__).resolve()
    keys = args.bench.split(",")
    unknown = [k for k in keys if k not in WORKLOADS]
    only = None if args.only is None else set(args.only.split(","))
    if unknown or (only and only - {*FRAMEWORKS, NEURODIFFEQ}):
        raise SystemExit(f"unknown workload or framework: {unknown or sorted(only - {*FRAMEWORKS, NEURODIFFEQ})}")
    repeats = args.repeats or (1 if args.quick else 3)
    epochs = parse_epochs(args.epochs, args.quick)
    started = time.perf_counter()
    print(H.machine_info(), flush=True)
    report = {"machine": H.machine_info(), "argv": sys.argv[1:], "repeats": repeats, "epochs": epochs,
              "peak": None, "workloads": {}}
    peak = None
    if not args.quick:
        peak = measure_peak(script)
        peak["driver_env"] = {k: os.environ.get(k) for k in BLAS_ENV}
        report["peak"] = peak
        print("\n".join(peak_lines(peak)), flush=True)
    verdicts = []
    for key in keys:
        w = WORKLOADS[key]
        names = frameworks_for(key, only)
        if not names:
            print(f"{w['title']}: no framework selected by --only", flush=True)
            continue
        n = w["quick_n"] if args.quick else w["n"]
        label = (f"{w['title']}, {n} {'points' if unit(key) == 'step' else 'samples'}, {epochs[key]} "
                 f"{unit(key)}s, {flops_per_epoch(key, args.quick) / 1e9:.3g} GFLOP/{unit(key)}"
                 + (f", median of {repeats} interleaved repeats" if repeats > 1 else ""))
        runs = []
        for repeat in range(repeats):
            shift = repeat % len(names)
            order = names[shift:] + names[:shift]
            run = {}
            for name in order:
                try:
                    run[name] = result = spawn(script, key, name, epochs[key], args.quick, args.timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as err:  # reported; the others go on
                    run[name] = None
                    print(f"  [{key} run {repeat + 1}] {name}: FAILED, left out: {str(err)[-1500:]}", flush=True)
                    continue
                print(f"  [{key} run {repeat + 1}] {name}: {result['epoch_median_s'] * 1e3:.2f} ms/{unit(key)}, "
                      f"cold fit {result['fits'][0]['fit_s']:.2f} s, peak RSS {result['rss_mb']:.0f} MB, "
                      f"loss {result['fits'][1]['metric']:.4g}, load {os.getloadavg()[0]:.2f}", flush=True)
            runs.append(run)
        rows = summarise(key, names, runs, args.quick, peak)
        print()
        print(format_rows(key, rows, args.markdown, label) if rows else f"{label}: every run failed")
        print(flush=True)
        verdicts.append(verdict(key, rows))
        report["workloads"][key] = {"title": w["title"], "label": label, "samples": n,
                                    "flops_per_epoch": flops_per_epoch(key, args.quick), "runs": runs,
                                    "summary": rows, "verdict": verdicts[-1]}
    print("Verdicts" + (" (--quick: a smoke run, not a measurement)" if args.quick else "") + ":")
    print("\n".join(("- " if args.markdown else "  ") + v for v in verdicts))
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
