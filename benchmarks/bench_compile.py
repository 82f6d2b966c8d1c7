"""Where a fresh process's first epoch goes: trace, lower, compile (cold) and the persistent-cache load (warm).

For the FFNN digits epoch, the iris Dense epoch and the digits CNN epoch, each in two fresh processes sharing
a new cache directory (the first fills it, the second finds it), this prints the seconds spent tracing the
epoch function, lowering it to StableHLO, and compiling it (cold: XLA; warm: loaded from JAX's persistent
cache, keyed on the lowered program). Trace + lower is what a cache keyed on a description of the model,
rather than on the program, could skip — and what physnn pays for never serving a stale program.

The two Keras-style workloads have a ragged last batch, which ``fit`` pads and folds into the epoch's scan
(one compiled step); ``--no-fold`` also runs them with the tail as a separate step (two compiled steps), the
code before the fold, to measure what it cuts.

    python benchmarks/bench_compile.py [--no-fold]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

WORKLOADS = ("ffnn_digits", "iris_dense", "cnn_digits")


def worker(name: str, fold: bool = True) -> dict:
    import numpy as np
    from sklearn.datasets import load_digits

    import physnn
    from physnn import _cache, layers

    timings = {}
    original = _cache.jit

    def timed_jit(fun, **kwargs):  # time the stages of the first (largest) program: the epoch
        call = original(fun, **kwargs)

        def first(*args, **kw):
            if "trace" not in timings:
                _cache.enable()
                t0 = time.perf_counter()
                traced = call.jitted.trace(*args, **kw)
                t1 = time.perf_counter()
                lowered = traced.lower()
                t2 = time.perf_counter()
                lowered.compile()
                t3 = time.perf_counter()
                timings.update(trace=t1 - t0, lower=t2 - t1, compile=t3 - t2)
            return call(*args, **kw)

        return first

    _cache.jit = timed_jit
    if not fold:
        physnn.Module._pads_ragged_batch = lambda self: False
    digits_x, digits_y = load_digits(return_X_y=True)
    digits_x = digits_x / 16.0
    start = time.perf_counter()
    if name == "ffnn_digits":
        net = physnn.FFNN((64, 100, 30, 10), physnn.LRELU, physnn.softmax, physnn.CostCrossEntropy, seed=2023)
        net.fit(digits_x[:1400], np.eye(10)[digits_y[:1400]], physnn.Adam(1e-3), batches=44, epochs=1,
                verbose=False)
    elif name == "iris_dense":
        from sklearn.datasets import load_iris

        x, y = load_iris(return_X_y=True)
        model = physnn.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                                   layers.Dense(3, activation="softmax")], seed=0)
        model.compile("adam", "categorical_crossentropy", ["accuracy"])
        model.fit(x, np.eye(3)[y], epochs=1, batch_size=8, verbose=0)
    else:
        model = physnn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(16, 3, activation="relu"),
                                   layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")],
                                  seed=0)
        model.compile("adam", "categorical_crossentropy", ["accuracy"])
        model.fit(digits_x.reshape(-1, 8, 8, 1), np.eye(10)[digits_y], epochs=1, batch_size=32, verbose=0)
    timings["first_epoch_total"] = time.perf_counter() - start
    return timings


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], fold="--no-fold" not in sys.argv)))
        return
    variants = [("", [])] + ([(" no fold", ["--no-fold"])] if "--no-fold" in sys.argv else [])
    print(f"{'workload':<20} {'run':<5} {'trace s':>8} {'lower s':>8} {'compile s':>10} {'first epoch s':>14}")
    for name in WORKLOADS:
        for label, flags in variants if name != "ffnn_digits" else variants[:1]:  # (the course cut: no fold)
            with tempfile.TemporaryDirectory() as cache:
                env = {**os.environ, "PHYSNN_CACHE_DIR": cache}
                env.pop("PHYSNN_NO_CACHE", None)
                for run in ("cold", "warm"):
                    out = subprocess.run([sys.executable, __file__, "--worker", name, *flags], env=env,
                                         check=True, capture_output=True, text=True).stdout
                    t = json.loads(out.strip().splitlines()[-1])
                    print(f"{name + label:<20} {run:<5} {t['trace']:8.3f} {t['lower']:8.3f} {t['compile']:10.3f} "
                          f"{t['first_epoch_total']:14.3f}")


if __name__ == "__main__":
    main()
