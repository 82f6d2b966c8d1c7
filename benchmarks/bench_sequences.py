"""The course's energy extrapolation side by side: physnn's ``rnn`` preset vs the same network in Keras 3.

Problem (the course's RNN headline): the 20 energies of ``physnn.datasets.vary_dimension()``; windows of
length 2 of the first 12 -> the next value (10 samples); SimpleRNN(200, tanh) -> Dense(1), mean squared error,
Adam(1e-3), ``fit(epochs=150, batch_size=None (= 32), validation_split=0.05)`` (the last sample validates, the
other 9 form one batch); then an autoregressive roll-out of the 8 unseen energies. The score is their MSE.

* physnn: ``sequences.preset("rnn", 2, seed=s)``, ``fit``, ``sequences.extrapolate``.
* Keras 3 (TensorFlow backend, its defaults): ``keras.utils.set_random_seed(s)``, the same layers, the same
  ``fit`` call, the roll-out as a Python loop of ``model(window, training=False)`` (not timed).

Two parts, in one run:

1. the shared harness (_harness.py): cold / warm / refit / epoch times of seed 0, in fresh processes;
2. a seed sweep (``--seeds``, default 5): in one fresh process per framework, a new model per seed, each
   fit timed (build + fit, after one untimed warm-up fit that pays compilation / tracing); the unseen MSE
   median (min..max) and the median fit time, with the ratio keras / physnn. physnn's recommended recipe
   (``physnn.experiments.sequences.recommended_forecast``) runs on the same seeds for its median MSE.

Targets: physnn's warm fit >= 10x faster than Keras's; its median MSE within Keras's range over the same
seeds (the course reports 1.3e-4 ... 5.3e-4) or below.

Run: ``python benchmarks/bench_sequences.py [--quick] [--seeds 5] [--repeats 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

TITLE = "energies, rnn preset"
LENGTH = 2
TRAIN = 12
SWEEP_MARK = "SWEEP_RESULT "


def epochs(args) -> int:
    return 20 if args.quick else 150


def load_data(args):
    from physnn.datasets import vary_dimension
    from physnn.sequences import windows

    _, energy = vary_dimension()
    X, y = windows(energy[:TRAIN], LENGTH)
    return {"X": X.astype(np.float32), "y": y.astype(np.float32), "train": energy[:TRAIN],
            "unseen": energy[TRAIN:]}


def unseen_mse(prediction, data) -> float:
    return float(np.mean((np.asarray(prediction, dtype=np.float64).reshape(-1) - data["unseen"]) ** 2))


# --- physnn -----------------------------------------------------------------------------------------------


def physnn_setup(args):
    import physnn.sequences  # noqa: F401


def physnn_build(data, args, seed=0):
    from physnn.sequences import preset

    return preset("rnn", LENGTH, seed=seed)


def physnn_fit(model, data, args, tick):
    from physnn.callbacks import LambdaCallback

    model.fit(data["X"], data["y"], epochs=epochs(args), batch_size=32, validation_split=0.05, verbose=0,
              callbacks=[LambdaCallback(on_epoch_end=lambda epoch, logs: tick())])


def physnn_score(model, data, args):
    from physnn.sequences import extrapolate

    return unseen_mse(extrapolate(model, data["train"], len(data["unseen"])), data)


def physnn_version():
    import jax

    import physnn

    return f"{getattr(physnn, '__version__', '')} (jax {jax.__version__})"


# --- Keras 3 ----------------------------------------------------------------------------------------------


def keras_setup(args):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: F401


def keras_build(data, args, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((LENGTH, 1)), keras.layers.SimpleRNN(200), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def keras_fit(model, data, args, tick):
    import keras

    model.fit(data["X"], data["y"], epochs=epochs(args), batch_size=None, validation_split=0.05, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tick())])


def keras_score(model, data, args):
    history = [float(v) for v in data["train"]]
    out = []
    for _ in range(len(data["unseen"])):
        window = np.asarray(history[-LENGTH:], dtype=np.float32)[None, :, None]
        nxt = float(np.asarray(model(window, training=False))[0, 0])
        out.append(nxt)
        history.append(nxt)
    return unseen_mse(out, data)


def keras_version():
    import keras
    import tensorflow as tf

    return f"{keras.__version__} (tf {tf.__version__})"


FRAMEWORKS = [
    H.Framework("physnn", physnn_setup, physnn_build, physnn_fit, physnn_score, physnn_version, is_physnn=True),
    H.Framework("keras", keras_setup, keras_build, keras_fit, keras_score, keras_version),
]
BUILDERS = {"physnn": physnn_build, "keras": keras_build}
TARGETS = [H.Target("warm", 10.0, ("keras",)), H.Target("refit", 10.0, ("keras",))]


# --- the seed sweep ---------------------------------------------------------------------------------------


def sweep_worker(args):
    """In this process: one untimed warm-up fit, then per seed build + fit (timed) and score."""
    framework = next(f for f in FRAMEWORKS if f.name == args.sweep)
    framework.setup(args)
    data = load_data(args)
    seeds = [int(s) for s in args.seeds_list.split(",")]
    t0 = time.perf_counter()
    warm_up = BUILDERS[framework.name](data, args, seed=10_000)
    framework.fit(warm_up, data, args, lambda: None)
    first_fit_s = time.perf_counter() - t0
    fits = []
    for seed in seeds:
        t0 = time.perf_counter()
        model = BUILDERS[framework.name](data, args, seed=seed)
        framework.fit(model, data, args, lambda: None)
        fit_s = time.perf_counter() - t0
        fits.append({"seed": seed, "fit_s": fit_s, "mse": framework.score(model, data, args)})
    result = {"framework": framework.name, "first_fit_s": first_fit_s, "fits": fits}
    if framework.name == "physnn":
        from physnn.experiments.sequences import recommended_forecast

        recipe = []
        for seed in seeds:
            t0 = time.perf_counter()
            forecast = recommended_forecast(data["train"], len(data["unseen"]), seed=seed)
            recipe.append({"seed": seed, "fit_s": time.perf_counter() - t0, "mse": unseen_mse(forecast.prediction,
                                                                                                data)})
        result["recommended"] = recipe
    print(SWEEP_MARK + json.dumps(result), flush=True)


def run_sweep(name: str, seeds: list[int], quick: bool) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--sweep", name,
               "--seeds-list", ",".join(map(str, seeds)), *(["--quick"] if quick else [])]
    done = subprocess.run(command, env=H.worker_env(), capture_output=True, text=True, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith(SWEEP_MARK):
            return json.loads(line[len(SWEEP_MARK):])
    raise RuntimeError(f"sweep worker {name} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                       f"{done.stderr[-3000:]}")


def summarise(fits: list[dict]) -> dict:
    mse = [f["mse"] for f in fits]
    return {"mse_median": statistics.median(mse), "mse_min": min(mse), "mse_max": max(mse),
            "fit_s_median": statistics.median(f["fit_s"] for f in fits)}


def sweep_report(seeds: list[int], quick: bool, only: set[str] | None) -> dict:
    results = {}
    for framework in FRAMEWORKS:
        if only is not None and framework.name not in only:
            continue
        results[framework.name] = run_sweep(framework.name, seeds, quick)
    rows = {name: summarise(r["fits"]) for name, r in results.items()}
    print(f"\nseed sweep ({len(seeds)} seeds {seeds[0]}..{seeds[-1]}, new model per seed, warm process)")
    print(f"{'framework':<22}{'unseen MSE median':>18}{'min':>11}{'max':>11}{'fit s (median)':>16}{'first fit s':>13}")
    for name, row in rows.items():
        ratio = ""
        if name != "physnn" and "physnn" in rows:
            ratio = f" ({row['fit_s_median'] / rows['physnn']['fit_s_median']:.1f}x)"
        print(f"{name:<22}{row['mse_median']:>18.3e}{row['mse_min']:>11.2e}{row['mse_max']:>11.2e}"
              f"{row['fit_s_median']:>10.3f}{ratio:<6}{results[name]['first_fit_s']:>13.2f}")
    if "physnn" in results:
        recipe = summarise(results["physnn"]["recommended"])
        rows["physnn recommended"] = recipe
        print(f"{'physnn recommended':<22}{recipe['mse_median']:>18.3e}{recipe['mse_min']:>11.2e}"
              f"{recipe['mse_max']:>11.2e}{recipe['fit_s_median']:>10.3f}")
    if not quick and {"physnn", "keras"} <= set(rows):
        speedup = rows["keras"]["fit_s_median"] / rows["physnn"]["fit_s_median"]
        ok = speedup >= 10.0
        print(f"{'PASS' if ok else 'MISS'}  fit (sweep median) >= 10x faster than keras: measured {speedup:.1f}x")
        physnn_mse, keras = rows["physnn"]["mse_median"], rows["keras"]
        ok = physnn_mse <= keras["mse_max"]
        print(f"{'PASS' if ok else 'MISS'}  unseen MSE median within keras's range over the same seeds or below: "
              f"physnn {physnn_mse:.3e}, keras {keras['mse_min']:.2e} .. {keras['mse_max']:.2e} "
              f"(median {keras['mse_median']:.3e}, ratio of medians {physnn_mse / keras['mse_median']:.2f})")
    return {"seeds": seeds, "raw": results, "summary": rows}


def add_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("--seeds", type=int, default=5, help="seeds in the sweep (0..n-1); 0 skips it")
    parser.add_argument("--sweep", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seeds-list", default="0", help=argparse.SUPPRESS)


def main():
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", default=None)
    parser.add_argument("--only", default=None)
    parser.add_argument("--json", default=None)
    args, _ = parser.parse_known_args()
    if args.sweep:
        sweep_worker(args)
        return
    H.main(__doc__.splitlines()[0], {TITLE: ("unseen MSE", FRAMEWORKS, TARGETS)}, {TITLE: load_data},
           add_arguments)
    if args.worker or args.seeds < 1:
        return
    only = None if args.only is None else set(args.only.split(",")) | {"physnn"}
    report = sweep_report(list(range(args.seeds)), args.quick, only)
    if args.json:  # the harness wrote its part; add the sweep
        path = Path(args.json)
        data = json.loads(path.read_text()) if path.exists() else {}
        data["seed_sweep"] = report
        path.write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
