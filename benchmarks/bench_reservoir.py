"""Echo state network on the J84 Mackey-Glass protocol: physnn.reservoir.ESN against ReservoirPy.

Protocol (Jaeger & Haas 2004; ``physnn.experiments.reservoir``): the shipped Mackey-Glass tau = 17 series;
washout 1000 steps, ridge readout over [1; u; x] trained one step ahead on the next 3000; from 50 starts spread
over t = 4500..9500 drive 300 true steps from x = 0 and run 84 steps closed loop; NRMSE84 = rms over the starts
of the error at step 84 / std of the series.

Both libraries get the same hyperparameters (N = 500, leak 0.3, spectral radius 1.25, ridge 1e-8, density 0.1)
and the same matrices: physnn draws W, W_in (seed 0) and ReservoirPy's ``Reservoir(W=, Win=, bias=)`` takes
them as arrays (float64 both). ReservoirPy's readout is ``Ridge(ridge, fit_bias=True)`` on [u; x], i.e. over
[1; u; x] as physnn's; its free run is the Python loop its tutorials write (reservoir step, readout step, fed
back). Each library runs in its own fresh subprocess.

    warm fit    median over ``--repeats`` fits of a new model, after one fit of the same shape (physnn's
                programs compiled; ReservoirPy's imports and first call done)
    evaluation  median over ``--repeats`` of the 50-start drive + free run (physnn: one vmapped call)
    first       the first fit + evaluation of the process (physnn: includes tracing and compiling, or
                loading from the persistent cache)

    python benchmarks/bench_reservoir.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HP = {"units": 500, "leak_rate": 0.3, "spectral_radius": 1.25, "ridge": 1e-8, "density": 0.1,
      "input_scaling": 1.0, "bias_scaling": 1.0, "seed": 0}
WASHOUT, TRAIN, DRIVE, HORIZON, STARTS = 1000, 3000, 300, 84, 50


def _data():
    import numpy as np

    from physnn.datasets import mackey_glass_t17

    s = mackey_glass_t17()[:, None]
    starts = np.linspace(4500, 9500, STARTS).round().astype(int)
    contexts = np.stack([s[t:t + DRIVE] for t in starts])
    truth = np.stack([s[t + DRIVE + HORIZON - 1, 0] for t in starts])
    return s, contexts, truth


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def worker_physnn(repeats: int, matrices: str) -> dict:
    import numpy as np

    from physnn.reservoir import ESN

    s, contexts, truth = _data()
    end = WASHOUT + TRAIN
    t0 = time.perf_counter()
    esn = ESN(**HP).fit(s[:end], s[1:end + 1], warmup=WASHOUT)
    f = esn.forecast(HORIZON, warmup=contexts)
    first = time.perf_counter() - t0
    np.savez(matrices, W=esn.W, W_in=esn.W_in)
    fits, evals = [], []
    for _ in range(repeats):
        model = ESN(**HP)
        model.build(1)  # the matrices are drawn on the host (timed apart: ReservoirPy is given them)
        t0 = time.perf_counter()
        model.fit(s[:end], s[1:end + 1], warmup=WASHOUT)
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        f = model.forecast(HORIZON, warmup=contexts)
        evals.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ESN(**HP).build(1)
    draw = time.perf_counter() - t0
    nrmse = float(np.sqrt(np.mean((f[:, -1, 0] - truth) ** 2)) / s.std())
    return {"fit": _median(fits), "eval": _median(evals), "first": first, "draw": draw, "nrmse84": nrmse,
            "forecast": f[:, :, 0].tolist()}


def worker_reservoirpy(repeats: int, matrices: str) -> dict:
    import numpy as np
    import reservoirpy
    from reservoirpy.nodes import Reservoir, Ridge

    s, contexts, truth = _data()
    end = WASHOUT + TRAIN
    m = np.load(matrices, allow_pickle=False)
    W, Win, bias = m["W"], m["W_in"][:, 1:], m["W_in"][:, 0]

    def fit(reservoir_kwargs):
        reservoir = Reservoir(lr=HP["leak_rate"], **reservoir_kwargs)
        readout = Ridge(ridge=HP["ridge"], fit_bias=True)
        u = s[:end]
        x = reservoir.run(u)
        readout.fit(np.hstack([u, x])[WASHOUT:], s[1:end + 1][WASHOUT:])
        return reservoir, readout

    def evaluate(reservoir, readout):
        out = np.empty((STARTS, HORIZON))
        for j, context in enumerate(contexts):
            reservoir.reset()
            x = reservoir.run(context)[-1]
            y = readout.step(np.concatenate([context[-1], x]))
            for k in range(HORIZON):
                out[j, k] = y[0]
                if k + 1 < HORIZON:
                    x = reservoir.step(y)
                    y = readout.step(np.concatenate([y, x]))
        return out

    same = {"W": W, "Win": Win, "bias": bias}
    t0 = time.perf_counter()
    f = evaluate(*fit(same))
    first = time.perf_counter() - t0
    fits, evals = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = fit({"W": W.copy(), "Win": Win.copy(), "bias": bias.copy()})
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        f = evaluate(*model)
        evals.append(time.perf_counter() - t0)
    nrmse = float(np.sqrt(np.mean((f[:, -1] - truth) ** 2)) / s.std())
    own = evaluate(*fit({"units": HP["units"], "sr": HP["spectral_radius"], "seed": 0}))  # its own initialisation
    return {"fit": _median(fits), "eval": _median(evals), "first": first, "nrmse84": nrmse,
            "nrmse84_own_init": float(np.sqrt(np.mean((own[:, -1] - truth) ** 2)) / s.std()),
            "forecast": f.tolist(), "version": reservoirpy.__version__}


def _spawn(name: str, repeats: int, matrices: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--repeats", str(repeats),
                          "--matrices", matrices], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--worker", choices=("physnn", "reservoirpy"))
    parser.add_argument("--matrices")
    args = parser.parse_args()
    if args.worker:
        fn = worker_physnn if args.worker == "physnn" else worker_reservoirpy
        print(json.dumps(fn(args.repeats, args.matrices)))
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        matrices = os.path.join(tmp, "matrices.npz")
        ours = _spawn("physnn", args.repeats, matrices)
        peer = _spawn("reservoirpy", args.repeats, matrices)
    gap = float(np.max(np.abs(np.array(ours.pop("forecast")) - np.array(peer.pop("forecast")))))
    print(f"J84, N = {HP['units']}, leak {HP['leak_rate']}, radius {HP['spectral_radius']}, ridge {HP['ridge']}, "
          f"same matrices; ReservoirPy {peer['version']}; load {os.getloadavg()[0]:.2f}\n")
    print("| measure | physnn | ReservoirPy | ratio (ReservoirPy / physnn) | target |")
    print("| --- | --- | --- | --- | --- |")
    for key, label, target in (("fit", "warm fit (4000 steps + readout)", "<= 0.5 s"),
                               ("eval", "50-start evaluation (50 x (300 + 84) steps)", "<= 0.3 s")):
        print(f"| {label} | {ours[key]:.3f} s | {peer[key]:.3f} s | {peer[key] / ours[key]:.1f}x | {target} |")
    total_ours, total_peer = ours["fit"] + ours["eval"], peer["fit"] + peer["eval"]
    print(f"| fit + evaluation | {total_ours:.3f} s | {total_peer:.3f} s | {total_peer / total_ours:.1f}x | >= 3x |")
    print(f"| first fit + evaluation in a fresh process | {ours['first']:.2f} s | {peer['first']:.2f} s | "
          f"{peer['first'] / ours['first']:.1f}x | |")
    print(f"| NRMSE84 (same matrices) | {ours['nrmse84']:.2e} | {peer['nrmse84']:.2e} | | |")
    print(f"| NRMSE84, ReservoirPy's own initialisation | | {peer['nrmse84_own_init']:.2e} | | |")
    print(f"\nlargest difference between the two libraries' 50 x 84 free-run values: {gap:.1e}; physnn's host draw "
          f"of W, W_in (eigenvalues of a 500 x 500 matrix), not timed above: {ours['draw']:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"physnn": ours, "reservoirpy": peer, "max_forecast_difference": gap}, f, indent=1)


if __name__ == "__main__":
    main()
