"""Replica ensembles side by side: ``physnn.ensemble.fit_replicas`` (100 replicas in one vmapped program) vs a
loop of 100 physnn fits vs a loop of 100 PyTorch eager fits vs a loop of 100 Keras 3 (TensorFlow) fits.

The workload is the ``eos_replicas`` experiment ("100 EoS replicas"), the same in every row:

* data: ``physnn.datasets.eos()`` (90 points), ``train_test_split(np.arange(90), test_size=0.2,
  random_state=0)``, density and energy standardised with the 72 training points' mean and standard deviation,
  float32. Replica r trains on its own bootstrap resample ``physnn.ensemble.replica_data(x, y, r, "bootstrap",
  seed=0)`` of the training points (72 draws with replacement); the driver draws the 100 resamples once and
  every worker reads the same arrays (``fit_replicas`` draws exactly these itself).
* network 1 -> Dense 32 sigmoid -> Dense 32 sigmoid -> Dense 1, mean squared error, Adam(lr=0.01), full batch
  (batch_size=72: one step per epoch), 2000 epochs (``--quick``: 4 replicas, 50 epochs); each library's own
  default initialisers, replica r seeded with r.

Rows (the "framework" column):

* ``physnn``: ``fit_replicas(model, x, y, replicas=100, resample="bootstrap", seed=0, epochs=2000,
  batch_size=72)`` on the compiled template ``Sequential(..., seed=0)``: all replicas in one vmapped program
  (replica r has seed r, so it is the ``physnn-loop`` fit r up to float rounding).
* ``physnn-loop``: for r in range(100), a fresh ``physnn.Sequential`` of the same layers with seed r, compiled
  the same way, ``.fit(x_r, y_r, epochs=2000, batch_size=72, verbose=0)``.
* ``pytorch``: 100 eager fits (``nn.Sequential`` of ``Linear``/``Sigmoid``, ``torch.manual_seed(r)``,
  ``torch.optim.Adam(lr=0.01)``, ``nn.MSELoss``), pre-made tensors, no DataLoader, ``--torch-threads`` threads
  (default 1).
* ``keras``: 100 fits of ``keras.Sequential`` compiled with ``Adam(0.01)`` and "mse" (Keras's defaults
  otherwise: tf.function graphs without XLA on a CPU-only machine), ``keras.utils.set_random_seed(r)``. A Keras
  fit of 2000 one-step epochs takes 1-2 minutes here, so only ``--keras-replicas N`` fits (default 10) are timed
  per job and the job is extrapolated linearly to 100 fits: the N timed fits plus (100 - N) times the median
  time of one fit (the warm job's fits 2..N; its only fit when N = 1). The table marks the row.

Every row is one whole job (building the models and training all replicas; imports and data loading apart),
timed in fresh subprocesses by ``_harness.measure``: physnn ``cold`` = the job in a fresh process whose
compilation cache is empty, ``warm`` = the job in a second fresh process on the filled cache, ``rerun`` = the
job again in that process; peers: cold = the first job in a fresh process, warm = the second job in the same
process, rerun = the third. Wall-clock and process CPU seconds, with the ratio row / physnn after every time
("10.0x" = ``fit_replicas`` is ten times faster). The loss column is the last epoch's training loss (the loss
each library logs for its last step) averaged over the replicas of the cold job, to show equal work; single
replicas are chaotic at 2000 epochs of Adam(0.01) (float rounding alone moves one replica's final loss by 100x),
so the means agree in magnitude, not in digits.

Run: ``python benchmarks/bench_scale.py [--quick] [--repeats 1] [--only physnn-loop,pytorch,keras]
[--keras-replicas 10] [--torch-threads 1] [--json out.json] [--markdown]``.

``--sweep-and-parallel`` measures instead the sweep throughput (16 learning rates of the digits network, 20
epochs each: ``physnn.sweep.learning_rate_objective``'s one vmapped program vs 16 fits in a row; and 16
(dropout rate, L2 factor) trials by ``hyperparameter_objective``, the same way) and the
per-epoch cost of ``fit(..., devices="all")`` on 4 forced host devices against one device.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SEED = 0
ETA = 0.01
HIDDEN = 32
REPLICAS, EPOCHS = 100, 2000
QUICK_REPLICAS, QUICK_EPOCHS, QUICK_KERAS = 4, 50, 2
LOOP_NAMES = ("physnn-loop", "pytorch", "keras")

# the final training losses of each job, by id(job): fit records them, score reports their mean
_LOSSES: dict[int, list[float]] = {}


def eos_data(quick: bool) -> dict:
    """The workload's arrays (the driver's side): the standardised training points and every replica's
    bootstrap resample, float32."""
    from sklearn.model_selection import train_test_split

    from physnn.datasets import eos
    from physnn.ensemble import replica_data

    density, energy = eos()
    train, _ = train_test_split(np.arange(len(density)), test_size=0.2, random_state=SEED)
    x = ((density - density[train].mean()) / density[train].std())[:, None].astype(np.float32)
    y = ((energy - energy[train].mean()) / energy[train].std())[:, None].astype(np.float32)
    x, y = x[train], y[train]
    replicas = QUICK_REPLICAS if quick else REPLICAS
    pairs = [replica_data(x, y, r, "bootstrap", seed=SEED) for r in range(replicas)]
    return {"x": x, "y": y, "x_r": np.stack([p[0] for p in pairs]), "y_r": np.stack([p[1] for p in pairs]),
            "epochs": np.int64(QUICK_EPOCHS if quick else EPOCHS)}


def load_data(args) -> dict:
    """The worker's side: the arrays the driver wrote (no physnn import in a peer's process)."""
    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    data["epochs"] = int(data["epochs"])
    data["replicas"] = len(data["x_r"])
    data["batch"] = len(data["x"])  # full batch: 72
    return data


def n_fits(name: str, data: dict, args) -> int:
    """How many fits a job of ``name`` runs (Keras: the ones timed)."""
    if name == "keras":
        return max(1, min(args.keras_replicas, QUICK_KERAS if args.quick else data["replicas"], data["replicas"]))
    return data["replicas"]


def mean_loss(job, data, args) -> float:
    return float(np.mean(_LOSSES[id(job)]))


class Job:
    """A loop job's handle (the models are built inside the timed fit, one per replica)."""


def loop_build(data, args):
    return Job()


# --- physnn ---------------------------------------------------------------------------------------------


def physnn_setup(args):
    import physnn  # noqa: F401
    import physnn.ensemble  # noqa: F401


def physnn_model(seed: int):
    import physnn
    from physnn.layers import Dense, Input

    return physnn.Sequential([Input((1,)), Dense(HIDDEN, activation="sigmoid"), Dense(HIDDEN, activation="sigmoid"),
                              Dense(1)], seed=seed).compile(physnn.optimizers.Adam(learning_rate=ETA), "mse")


def replicas_build(data, args):
    return physnn_model(SEED)


def replicas_fit(model, data, args, tick):
    from physnn.ensemble import fit_replicas

    ensemble = fit_replicas(model, data["x"], data["y"], replicas=data["replicas"], resample="bootstrap", seed=SEED,
                            epochs=data["epochs"], batch_size=data["batch"])
    tick()
    _LOSSES[id(model)] = [float(v) for v in ensemble.history["loss"][-1][ensemble.finite]]


def physnn_loop_fit(job, data, args, tick):
    losses = []
    for r in range(n_fits("physnn-loop", data, args)):
        model = physnn_model(r)
        history = model.fit(data["x_r"][r], data["y_r"][r], epochs=data["epochs"], batch_size=data["batch"],
                            verbose=0)
        losses.append(history.history["loss"][-1])
        tick()
    _LOSSES[id(job)] = losses


def physnn_version():
    import jax

    import physnn

    return f"{physnn.__version__} (jax {jax.__version__})"


# --- PyTorch eager --------------------------------------------------------------------------------------


def torch_setup(args):
    import torch

    torch.set_num_threads(args.torch_threads)


def torch_fit(job, data, args, tick):
    import torch
    from torch import nn

    losses = []
    for r in range(n_fits("pytorch", data, args)):
        x, y = torch.from_numpy(data["x_r"][r]), torch.from_numpy(data["y_r"][r])
        torch.manual_seed(r)
        model = nn.Sequential(nn.Linear(1, HIDDEN), nn.Sigmoid(), nn.Linear(HIDDEN, HIDDEN), nn.Sigmoid(),
                              nn.Linear(HIDDEN, 1))
        opt = torch.optim.Adam(model.parameters(), lr=ETA)
        mse = nn.MSELoss()
        loss = None
        for _ in range(data["epochs"]):  # full batch: one step per epoch
            opt.zero_grad(set_to_none=True)
            loss = mse(model(x), y)
            loss.backward()
            opt.step()
        losses.append(float(loss.detach()))  # the last step's loss, as physnn and Keras log it
        tick()
    _LOSSES[id(job)] = losses


def torch_version():
    import torch

    return f"{torch.__version__}, {torch.get_num_threads()} thread(s)"


# --- Keras 3 --------------------------------------------------------------------------------------------


def keras_setup(args):
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras  # noqa: F401


def keras_fit(job, data, args, tick):
    import keras
    from keras import layers as L

    losses = []
    for r in range(n_fits("keras", data, args)):
        keras.utils.set_random_seed(r)
        model = keras.Sequential([keras.Input((1,)), L.Dense(HIDDEN, activation="sigmoid"),
                                  L.Dense(HIDDEN, activation="sigmoid"), L.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(ETA), loss="mse")
        history = model.fit(data["x_r"][r], data["y_r"][r], epochs=data["epochs"], batch_size=data["batch"],
                            verbose=0)
        losses.append(float(history.history["loss"][-1]))
        tick()
    _LOSSES[id(job)] = losses


def keras_version():
    import keras
    import tensorflow as tf

    return f"{keras.__version__} (tf {tf.__version__})"


# --- the benchmark --------------------------------------------------------------------------------------

FRAMEWORKS = [
    H.Framework("physnn", physnn_setup, replicas_build, replicas_fit, mean_loss, physnn_version, is_physnn=True),
    H.Framework("physnn-loop", physnn_setup, loop_build, physnn_loop_fit, mean_loss, physnn_version,
                is_physnn=True),
    H.Framework("pytorch", torch_setup, loop_build, torch_fit, mean_loss, torch_version),
    H.Framework("keras", keras_setup, loop_build, keras_fit, mean_loss, keras_version),
]

# the targets: the whole job of fit_replicas >= 20x faster than 100 PyTorch fits, >= 3x than 100 physnn fits
TARGETS = [H.Target(column, factor, (peer,)) for column in ("cold", "warm")
           for peer, factor in (("pytorch", 20.0), ("physnn-loop", 3.0))]

COLUMNS = (("cold", "cold job s"), ("warm", "warm job s"), ("refit", "rerun s"))


def extrapolate(row: H.Row, timed: int, total: int) -> H.Row:
    """Scale a loop row that timed ``timed`` of ``total`` fits per job: each job gets (total - timed) more
    fits of the median fit time (``row.epoch``: the warm job's per-fit median, ticks 2..N)."""
    row.notes["fits_timed_per_job"] = timed
    if timed >= total:
        return row
    more = total - timed
    row.notes["median_fit_s"] = row.epoch
    for column, _ in COLUMNS:
        setattr(row, column, getattr(row, column) + more * row.epoch)
        row.cpu[column] += more * row.cpu["epoch"]
    row.notes["extrapolated_to"] = total
    return row


def format_table(title: str, rows: list[H.Row], total: int, markdown: bool, cpu: bool) -> str:
    ref = next(r for r in rows if r.name == H.PHYSNN)
    kind = "cpu" if cpu else "wall"
    header = ["framework", "fits timed", "train loss (mean over fits)",
              *(f"{label} ({kind})" for _, label in COLUMNS), f"one fit s ({kind})", "import s"]

    def value(row, column):
        return row.cpu[column] if cpu else getattr(row, column)

    body = []
    for r in rows:
        timed = r.notes.get("fits_timed_per_job", total)
        extrapolated = "extrapolated_to" in r.notes
        fits = f"{total} in one program" if r is ref else (
            f"{timed} of {total}, extrapolated*" if extrapolated else str(timed))
        cells = []
        for column, _ in COLUMNS:
            text = f"{value(r, column):.2f}" + ("*" if extrapolated else "")
            cells.append(text if r is ref else f"{text} ({H._ratio(value(r, column), value(ref, column))})")
        one_fit = "-" if r is ref else f"{value(r, 'epoch'):.3f}"
        body.append([r.name + (f" {r.version}" if r.version else ""), fits, f"{r.metric:.3g}", *cells, one_fit,
                     f"{r.import_s:.2f}"])
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [title, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
        lines += [fmt.format(*row) for row in body]
    if any("extrapolated_to" in r.notes for r in rows):
        lines.append(f"* timed that many fits per job, then + ({total} - timed) x the median time of one fit "
                     f"(the warm job's fits 2..N, its only fit when N = 1): linear extrapolation to {total} fits; its "
                     "loss is the mean over the fits timed only")
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPLICAS} replicas, {QUICK_EPOCHS} epochs: a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=1, help="run everything this many times; report medians")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated rows among {', '.join(LOOP_NAMES)} (physnn always)")
    parser.add_argument("--keras-replicas", type=int, default=10,
                        help="Keras fits timed per job, extrapolated to 100 (default 10; a Keras fit takes 1-2 min)")
    parser.add_argument("--json", default=None, help="write the measurements to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch.set_num_threads for PyTorch workers (default 1: its fastest for tiny models)")
    parser.add_argument("--sweep-and-parallel", action="store_true",
                        help="measure the sweep throughput and the data-parallel overhead instead of the replicas")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plan", default="new", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.worker:
        framework = next(f for f in FRAMEWORKS if f.name == args.worker)
        H.print_result(H.run_worker(framework, load_data, args, args.plan.split(",")))
        return
    if args.sweep_and_parallel:
        print(H.machine_info(), flush=True)
        sweep_and_parallel()
        return

    only = None if args.only is None else set(args.only.split(",")) | {H.PHYSNN}
    frameworks = [f for f in FRAMEWORKS if only is None or f.name in only]
    print(H.machine_info(), flush=True)
    report = {"machine": H.machine_info(), "argv": sys.argv[1:], "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        data_path = Path(tmp) / "eos_replicas.npz"
        arrays = eos_data(args.quick)
        np.savez(data_path, **arrays)
        total, epochs = len(arrays["x_r"]), int(arrays["epochs"])
        argv = ["--data", str(data_path), "--torch-threads", str(args.torch_threads),
                "--keras-replicas", str(args.keras_replicas)] + (["--quick"] if args.quick else [])
        data = load_data(argparse.Namespace(data=str(data_path)))
        runs = []
        for repeat in range(args.repeats):
            rows = []
            for framework in frameworks:
                row = H.measure(Path(__file__).resolve(), framework, argv, timeout=7200)
                # the harness's per-epoch notes are per tick here: one fit of a loop, the whole fit_replicas job
                for when in ("cold", "warm"):
                    first = row.notes.pop(f"first_epoch_{when}_s")
                    if framework.name != H.PHYSNN:
                        row.notes[f"first_fit_{when}_s"] = first
                row.notes["loss_warm"] = row.notes.pop("metric_warm")
                if framework.name != H.PHYSNN:
                    row = extrapolate(row, n_fits(framework.name, data, args), total)
                rows.append(row)
                print(f"  [run {repeat + 1}] {framework.name}: cold {row.cold:.2f}s warm {row.warm:.2f}s "
                      f"rerun {row.refit:.2f}s (cpu {row.cpu['cold']:.2f} / {row.cpu['warm']:.2f} / "
                      f"{row.cpu['refit']:.2f}s) loss {row.metric:.3g} load {os.getloadavg()[0]:.2f}", flush=True)
            runs.append(rows)
    rows = H.median_rows(runs) if len(runs) > 1 else runs[0]
    title = (f"{total} EoS replicas, {epochs} epochs, full batch" +
             (f" (median of {args.repeats} runs)" if args.repeats > 1 else "") + ", ratio = row / physnn")
    print()
    print(format_table(title, rows, total, args.markdown, cpu=False))
    print()
    print(format_table(title + ", process CPU time", rows, total, args.markdown, cpu=True))
    print("notes: " + "; ".join(f"{r.name}: " + ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.notes.items()) for r in rows))
    if not args.quick:
        for cpu in (False, True):
            for target in TARGETS:
                print(target.check(rows, cpu)[1])
    print(H.machine_info(), flush=True)
    report["runs"] = [[r.__dict__ for r in rs] for rs in runs]
    report["median"] = [r.__dict__ for r in rows]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


SWEEP_WORKER = """
import sys, time, json
import numpy as np
import physnn
from physnn.layers import Dense, Input
from physnn.experiments.digits import load
from physnn.sweep import learning_rate_objective
X, _, y, _, _ = load(0)
Y = physnn.utils.to_categorical(y, 10)
rates = list(np.logspace(-4, -1, 16))
fit = {"epochs": 20, "batch_size": 32, "validation_split": 0.2}

def network(lr, seed=0):
    return physnn.Sequential([Input((64,)), Dense(100, activation="leaky_relu"), Dense(30, activation="leaky_relu"),
                              Dense(10, activation="softmax")], seed=seed).compile(
        physnn.optimizers.Adam(learning_rate=lr), "categorical_crossentropy", metrics=["accuracy"])

out = {}
objective = learning_rate_objective(network(1e-3), X, Y, monitor="val_accuracy", **fit)
for when in ("cold", "warm"):
    start = time.perf_counter(); values = objective([{"learning_rate": r} for r in rates])
    out[f"vmapped_{when}"] = time.perf_counter() - start
for when in ("cold", "warm"):
    start = time.perf_counter()
    for i, r in enumerate(rates):
        network(r, i).fit(X, Y, verbose=0, **fit)
    out[f"sequential_{when}"] = time.perf_counter() - start
out["best_val_accuracy"] = max(values)

from physnn.layers import Dropout
from physnn.regularizers import L2
from physnn.sweep import hyperparameter_objective

def regularised(rate, l2, seed=0):
    penalty, drop = L2(l2), Dropout(rate)
    model = physnn.Sequential([Input((64,)), Dense(100, activation="leaky_relu", kernel_regularizer=penalty), drop,
                               Dense(30, activation="leaky_relu"), Dense(10, activation="softmax")], seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=3e-3), "categorical_crossentropy",
                         metrics=["accuracy"]), penalty, drop

points = [{"dropout": d, "l2": l} for d, l in zip(np.linspace(0.0, 0.5, 16), np.logspace(-6, -2, 16))]
base, penalty, drop = regularised(0.1, 1e-4)
objective = hyperparameter_objective(base, X, Y, {"dropout": (drop, "rate"), "l2": (penalty, "l2")},
                                     monitor="val_accuracy", **fit)
for when in ("cold", "warm"):
    start = time.perf_counter(); objective(points)
    out[f"regularised_vmapped_{when}"] = time.perf_counter() - start
for when in ("cold", "warm"):
    start = time.perf_counter()
    for i, p in enumerate(points):
        regularised(p["dropout"], p["l2"], i)[0].fit(X, Y, verbose=0, **fit)
    out[f"regularised_sequential_{when}"] = time.perf_counter() - start
print(json.dumps(out))
"""

PARALLEL_WORKER = """
import os, sys, time, json
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import numpy as np
import physnn
from physnn.layers import Dense, Input
rng = np.random.default_rng(0)
x = rng.normal(size=(8192, 64)).astype(np.float32); y = np.tanh(x[:, :10])
out = {}
for devices in (None, "all"):
    model = physnn.Sequential([Input((64,)), Dense(256, activation="relu"), Dense(256, activation="relu"), Dense(10)],
                              seed=0).compile("adam", "mse")
    model.fit(x, y, epochs=2, batch_size=256, verbose=0, devices=devices)   # compile
    times = []
    for _ in range(5):
        start = time.perf_counter(); model.fit(x, y, epochs=4, batch_size=256, verbose=0, devices=devices)
        times.append((time.perf_counter() - start) / 4)
    out[str(devices)] = float(np.median(times))
print(json.dumps(out))
"""


def run_script(script: str, cache: str) -> dict:
    """``script`` in a fresh Python process whose physnn compilation cache is ``cache``; its last line's JSON."""
    import subprocess

    env = {**os.environ, "PHYSNN_CACHE_DIR": cache}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def sweep_and_parallel() -> None:
    """Sweep throughput (16 learning rates of the digits network, 20 epochs each: the 16 trials in one vmapped
    program vs 16 fits in a row) and the per-epoch cost of data-parallel training on 4 forced host devices
    (which share this machine's 2 cores: a correctness setting, not a speed-up)."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-sweep-") as cache:
        sweep = run_script(SWEEP_WORKER, cache)
    print("16-trial learning-rate sweep of the digits network (20 epochs each), seconds in one fresh process:")
    for when in ("cold", "warm"):
        v, q = sweep[f"vmapped_{when}"], sweep[f"sequential_{when}"]
        print(f"  {when}: 16 trials in one vmapped program {v:.2f} s; 16 fits in a row {q:.2f} s ({q / v:.1f}x)")
    print(f"  target: vmapped warm <= 1.5 s on 2 cores: {'PASS' if sweep['vmapped_warm'] <= 1.5 else 'MISS'} "
          f"({sweep['vmapped_warm']:.2f} s); best validation accuracy {sweep['best_val_accuracy']:.4f}")
    print("16 (dropout rate, L2 factor) trials of the digits network with Dropout and an L2 kernel penalty (20 epochs "
          "each; traced hyperparameters):")
    for when in ("cold", "warm"):
        v, q = sweep[f"regularised_vmapped_{when}"], sweep[f"regularised_sequential_{when}"]
        print(f"  {when}: 16 trials in one vmapped program {v:.2f} s; 16 fits in a row {q:.2f} s ({q / v:.1f}x)")
    with tempfile.TemporaryDirectory(prefix="bench-scale-parallel-") as cache:
        parallel = run_script(PARALLEL_WORKER, cache)
    one, four = parallel["None"], parallel["all"]
    print("data parallel, MLP 64-256-256-10 on 8192 samples, batch 256, per epoch (median of 5 x 4 epochs):")
    print(f"  1 device {1e3 * one:.1f} ms; 4 forced host devices {1e3 * four:.1f} ms (overhead {four / one:.2f}x: "
          "the 4 devices share 2 cores)")


if __name__ == "__main__":
    main()
