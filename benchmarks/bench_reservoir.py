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

Scaling rows (``--scaling``, after the table above): for each reservoir size N in ``--units`` (default 100 ..
4000) at the J84 length (washout 1000 + train 3000) the warm fit and the warm 50-start evaluation, and for each
series length T in ``--lengths`` (default 1e3 .. 1e6) at N = 500 the warm fit (teacher-forced pass over T steps
of a generated ``physnn.datasets.mackey_glass`` series + ridge solve, washout min(1000, T/4)), with physnn's
effective GFLOP/s (2 N^2 flops a step: its W runs dense). W, W_in are drawn once per N in the parent; each case
runs each library in a fresh subprocess, the order alternating from case to case. Each measure is the median of
up to ``--repeats`` runs after a first one, stopped before the timed runs pass ``--cap`` seconds (at least one
run). A first run at a shape that alone exceeds the cap is taken as the one run, marked * (ReservoirPy compiles
nothing, its imports and first calls are done on a small slice first; physnn's then includes compiling or loading
its program, an upper bound on its warm time); ReservoirPy's evaluation is timed on k < 50 evenly spread starts
and scaled by 50 / k when 50 would exceed the cap (its starts are a Python loop); the table says where. N = 4000
(more readout weights than the 3000 training steps) uses ridge 1e-6 in both libraries, 1e-8 being singular.

The length rows keep J84's ridge per training step, ridge = 1e-8 (T - washout) / 3000 in both libraries (Z^T Z
grows with T: 1e-8 alone leaves physnn's normal equations below float64's reciprocal condition number at T = 1e5,
and physnn refuses them). A length whose [T, N] states would not fit in 3/4 of the available memory (about 32
bytes per element at the peak in either library: ~15 GB at T = 1e6) is skipped and the table says so.
``--cores 1`` pins every worker to one CPU: on a shared machine OpenBLAS's threaded matrix-vector products (and
physnn's ridge solve after XLA's threads) stall whenever a neighbour holds the other core.

    python benchmarks/bench_reservoir.py --scaling --repeats 3 [--cores 1] [--units 100 500] [--lengths 1000]
        [--cap 20]
"""

from __future__ import annotations

import argparse
import copy
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


# --- scaling rows (--scaling) -------------------------------------------------------------------------------

SCALE_UNITS = (100, 250, 500, 1000, 2000, 4000)  # at the J84 series length (washout 1000 + train 3000)
SCALE_LENGTHS = (10**3, 10**4, 10**5, 10**6)  # at N = 500, on a generated Mackey-Glass series
SCALE_CAP = 20.0  # seconds of timed runs per library and measure in one case (at least one run)
EVAL_STEPS = STARTS * (DRIVE + HORIZON)
WORKER_FLAGS = []  # passed on to every worker (--cores)


BYTES_PER_STATE = 32  # peak memory per element of the [T, N] states (measured: 28 physnn, 25 ReservoirPy)


def _available_gb() -> float:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) / 2**20


def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # (Linux: KiB)


def _timed(run, repeats: int, cap: float, first: float | None = None) -> list:
    """Times ``run`` up to ``repeats`` times, stopping before the next run would take the total past ``cap``
    (estimated from the slowest run so far, or ``first``); at least once."""
    times = []
    while len(times) < repeats:
        estimate = max(times) if times else (first or 0.0)
        if times and sum(times) + estimate > cap:
            break
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def _case_data(case: dict):
    """u [T, 1], y [T, 1], the washout and (for the evaluation) the J84 contexts and truths."""
    import numpy as np

    if case["kind"] == "units":
        s, contexts, truth = _data()
        end = WASHOUT + TRAIN
        return s[:end], s[1:end + 1], WASHOUT, contexts, truth, s.std()
    s = np.load(case["series"], allow_pickle=False)["s"][:case["T"] + 1, None]
    return s[:-1], s[1:], case["warmup"], None, None, None


def scale_physnn(case: dict) -> dict:
    import numpy as np

    from physnn.reservoir import ESN

    u, y, warmup, contexts, truth, std = _case_data(case)
    m = np.load(case["matrices"], allow_pickle=False)
    template = ESN(**dict(HP, units=case["N"], ridge=case["ridge"])).build(1)  # the parent's draw (checked)
    gap = max(float(np.max(np.abs(template.W - m["W"]))), float(np.max(np.abs(template.W_in - m["W_in"]))))
    if gap > 1e-12:  # (the same draw; the radius's last bits can differ with LAPACK's thread count)
        raise RuntimeError(f"N = {case['N']}: physnn's W, W_in differ from the ones given to ReservoirPy by {gap}")

    def model():  # a new model, built and not yet fitted (a copy: the draw at N = 4000 takes seconds)
        return copy.deepcopy(template)

    out = {}
    t0 = time.perf_counter()
    esn = model().fit(u, y, warmup=warmup)
    out["first_fit"] = time.perf_counter() - t0
    if out["first_fit"] > case["cap"]:  # one run: the first (its compiling, or loading from the cache, in it)
        fits, out["fit_from_first"] = [out["first_fit"]], True
    else:
        fits = _timed(lambda: model().fit(u, y, warmup=warmup), case["repeats"], case["cap"], out["first_fit"])
    out.update(fit=_median(fits), fits=fits)
    if contexts is not None:
        t0 = time.perf_counter()
        f = esn.forecast(HORIZON, warmup=contexts)
        out["first_eval"] = time.perf_counter() - t0
        box = {"f": f}
        if out["first_eval"] > case["cap"]:
            evals, out["eval_from_first"] = [out["first_eval"]], True
        else:
            evals = _timed(lambda: box.update(f=esn.forecast(HORIZON, warmup=contexts)), case["repeats"],
                           case["cap"], out["first_eval"])
        f = box["f"][:, :, 0]
        out.update(eval=_median(evals), evals=evals, eval_starts=STARTS, forecast=f.tolist(),
                   nrmse84=float(np.sqrt(np.mean((f[:, -1] - truth) ** 2)) / std))
    out["peak_rss_gb"] = _peak_rss_gb()
    out["matrix_difference"] = gap
    return out


def scale_reservoirpy(case: dict) -> dict:
    import numpy as np
    import reservoirpy
    from reservoirpy.nodes import Reservoir, Ridge

    u, y, warmup, contexts, truth, std = _case_data(case)
    m = np.load(case["matrices"], allow_pickle=False)
    W, Win, bias = m["W"], m["W_in"][:, 1:], m["W_in"][:, 0]

    def fit(u=u, y=y, warmup=warmup):
        reservoir = Reservoir(lr=HP["leak_rate"], W=W.copy(), Win=Win.copy(), bias=bias.copy())
        readout = Ridge(ridge=case["ridge"], fit_bias=True)
        x = reservoir.run(u)
        readout.fit(np.hstack([u, x])[warmup:], y[warmup:])
        return reservoir, readout

    def evaluate(reservoir, readout, contexts):
        out = np.empty((len(contexts), HORIZON))
        for j, context in enumerate(contexts):
            reservoir.reset()
            x = reservoir.run(context)[-1]
            yk = readout.step(np.concatenate([context[-1], x]))
            for k in range(HORIZON):
                out[j, k] = yk[0]
                if k + 1 < HORIZON:
                    x = reservoir.step(yk)
                    yk = readout.step(np.concatenate([yk, x]))
        return out

    # imports and first calls on a small slice (ReservoirPy compiles nothing that depends on the length)
    model = fit(u[:200], y[:200], 50)
    evaluate(*model, u[None, :20])
    out = {}
    t0 = time.perf_counter()
    model = fit()
    out["first_fit"] = time.perf_counter() - t0
    if out["first_fit"] > case["cap"]:  # one run: this first one (nothing compiled at this shape)
        fits = [out["first_fit"]]
        out["fit_from_first"] = True
    else:
        fits = _timed(fit, case["repeats"], case["cap"], out["first_fit"])
    out.update(fit=_median(fits), fits=fits)
    if contexts is not None:
        t0 = time.perf_counter()
        evaluate(*model, contexts[:1])
        one = time.perf_counter() - t0  # one start: sets how many fit in the cap
        k = STARTS if one * STARTS <= case["cap"] else max(5, min(STARTS, int(case["cap"] / 2 / one)))
        pick = np.linspace(0, STARTS - 1, k).round().astype(int)
        box = {}
        evals = _timed(lambda: box.update(f=evaluate(*model, contexts[pick])), case["repeats"], case["cap"],
                       one * k)
        f = box["f"]
        out.update(eval=_median(evals) * STARTS / k, evals=evals, eval_starts=k, eval_pick=pick.tolist(),
                   forecast=f.tolist())
        if k == STARTS:
            out["nrmse84"] = float(np.sqrt(np.mean((f[:, -1] - truth) ** 2)) / std)
    out["peak_rss_gb"] = _peak_rss_gb()
    out["version"] = reservoirpy.__version__
    return out


def _spawn_case(name: str, case: dict) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--case", json.dumps(case), *WORKER_FLAGS],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the {name} worker failed on {case}:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t0  # the whole subprocess, imports included
    return result


def run_scaling(repeats: int, cap: float, units, lengths, tmp: str) -> dict:
    """Both tables: one case per N and per T, each library in a fresh subprocess per case, the order of the
    two alternating from case to case; the same W, W_in (drawn here) and series in both."""
    import numpy as np

    from physnn.datasets import mackey_glass
    from physnn.reservoir import ESN

    rows, loads, start = [], [os.getloadavg()[0]], time.perf_counter()
    series = os.path.join(tmp, "series.npz")
    if lengths:
        t0 = time.perf_counter()
        x = mackey_glass(max(lengths) + 1, tau=17.0, discard=1000)
        np.savez(series, s=np.tanh(x - 1.0))  # the form of the shipped mackey_glass_t17
        print(f"generated {len(x)} Mackey-Glass samples in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    # (N > 3000 units leave more readout weights than training steps: 1e-8 is then refused, 1e-6 is not)
    cases = [{"kind": "units", "N": n, "T": WASHOUT + TRAIN, "ridge": HP["ridge"] if n < TRAIN else 1e-6}
             for n in units]
    for t in lengths:  # the ridge per training step kept at J84's (Z^T Z grows with T; 1e-8 alone is refused)
        warmup = min(WASHOUT, t // 4)
        cases.append({"kind": "length", "N": HP["units"], "T": t, "warmup": warmup, "series": series,
                      "ridge": HP["ridge"] * (t - warmup) / TRAIN})
    drawn = {}
    for i, case in enumerate(cases):
        n = case["N"]
        path = os.path.join(tmp, f"matrices_{n}.npz")
        if n not in drawn:
            t0 = time.perf_counter()
            esn = ESN(**dict(HP, units=n)).build(1)
            np.savez(path, W=esn.W, W_in=esn.W_in)
            del esn
            drawn[n] = time.perf_counter() - t0
        case.update(matrices=path, repeats=repeats, cap=cap)
        loads.append(os.getloadavg()[0])
        need, free = BYTES_PER_STATE * case["T"] * n / 2**30, _available_gb()
        if need > 0.75 * free:  # both libraries hold the [T, N] states (and copies) at once
            rows.append({"kind": case["kind"], "N": n, "T": case["T"], "skipped": f"needs ~{need:.0f} GB, "
                         f"{free:.0f} GB available"})
            print(f"  N = {n}, T = {case['T']}: skipped, {rows[-1]['skipped']}", file=sys.stderr)
            continue
        order = ("physnn", "reservoirpy") if i % 2 == 0 else ("reservoirpy", "physnn")
        result = {name: _spawn_case(name, case) for name in order}
        ours, peer = result["physnn"], result["reservoirpy"]
        row = {key: case[key] for key in ("kind", "N", "T")}
        row.update(warmup=case.get("warmup", WASHOUT), ridge=case["ridge"], first=order[0], draw=drawn[n],
                   load=os.getloadavg()[0], physnn=ours, reservoirpy=peer)
        row["fit_ratio"] = peer["fit"] / ours["fit"]
        row["fit_gflops"] = 2 * n * n * case["T"] / ours["fit"] / 1e9
        row["fit_steps_per_s"] = {"physnn": case["T"] / ours["fit"], "reservoirpy": case["T"] / peer["fit"]}
        if "eval" in ours:
            row["eval_ratio"] = peer["eval"] / ours["eval"]
            row["eval_gflops"] = 2 * n * n * EVAL_STEPS / ours["eval"] / 1e9
            pick = peer["eval_pick"]
            row["max_forecast_difference"] = float(np.max(np.abs(np.array(ours.pop("forecast"))[pick]
                                                                  - np.array(peer.pop("forecast")))))
        rows.append(row)
        print(f"  N = {n}, T = {case['T']}: physnn fit {ours['fit']:.3f} s, ReservoirPy {peer['fit']:.3f} s"
              + (f"; evaluation {ours['eval']:.3f} / {peer['eval']:.3f} s" if "eval" in ours else "")
              + f" (load {row['load']:.2f})", file=sys.stderr)
    loads += [row["load"] for row in rows if "load" in row]
    return {"rows": rows, "cap": cap, "repeats": repeats, "load_start": loads[0], "load_max": max(loads),
            "load_end": os.getloadavg()[0], "wall": time.perf_counter() - start}


def _runs(result: dict, key: str) -> str:
    n = len(result[key + "s"])
    return f"{n}" + ("*" if result.get(key + "_from_first") else "")


def print_scaling(scaling: dict):
    rows = scaling["rows"]
    units = [r for r in rows if r["kind"] == "units"]
    lengths = [r for r in rows if r["kind"] == "length"]
    version = next((r["reservoirpy"]["version"] for r in rows if "reservoirpy" in r), "?")
    print(f"\nScaling, float64, same matrices and series; ReservoirPy {version} (NumPy); workers on "
          f"{scaling['cores']} core{'s' if scaling['cores'] > 1 else ''}; warm = median over up to "
          f"{scaling['repeats']} runs after a first one, capped at {scaling['cap']:.0f} s of timed runs per "
          f"measure; load (1 min) {scaling['load_start']:.2f} at the start, at most {scaling['load_max']:.2f}, "
          f"{scaling['load_end']:.2f} at the end; {scaling['wall'] / 60:.1f} min in all\n")
    if units:
        print(f"Reservoir size N, J84 series ({WASHOUT} washout + {TRAIN} train = {WASHOUT + TRAIN} steps; "
              f"evaluation {STARTS} x ({DRIVE} + {HORIZON}) steps):\n")
        print("| N | fit physnn | fit ReservoirPy | ratio | physnn fit GFLOP/s | evaluation physnn | "
              "evaluation ReservoirPy | ratio | physnn eval GFLOP/s | NRMSE84 physnn / ReservoirPy | "
              "max free-run difference | runs (fit, eval) physnn / ReservoirPy |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in units:
            if "skipped" in r:
                print(f"| {r['N']} | skipped: {r['skipped']} | | | | | | | | | | |")
                continue
            ours, peer = r["physnn"], r["reservoirpy"]
            k = peer["eval_starts"]
            note = "" if k == STARTS else f" (x {STARTS}/{k}: {k} starts timed)"
            nrmse = f"{ours['nrmse84']:.2e} / " + (f"{peer['nrmse84']:.2e}" if "nrmse84" in peer else "-")
            print(f"| {r['N']} | {ours['fit']:.3f} s | {peer['fit']:.3f} s | {r['fit_ratio']:.2f}x | "
                  f"{r['fit_gflops']:.1f} | {ours['eval']:.3f} s | {peer['eval']:.3f} s{note} | "
                  f"{r['eval_ratio']:.1f}x | {r['eval_gflops']:.1f} | {nrmse} | {r['max_forecast_difference']:.1e} | "
                  f"{_runs(ours, 'fit')}, {_runs(ours, 'eval')} / {_runs(peer, 'fit')}, {_runs(peer, 'eval')} |")
    if lengths:
        print(f"\nSeries length T, N = {HP['units']}, generated Mackey-Glass (tau 17, tanh(x - 1)); the fit = the "
              "teacher-forced pass over T steps + the ridge solve (washout min(1000, T/4)):\n")
        print("| T | fit physnn | fit ReservoirPy | ratio | physnn steps/s | ReservoirPy steps/s | physnn GFLOP/s | "
              "peak RSS physnn / ReservoirPy | runs physnn / ReservoirPy |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in lengths:
            if "skipped" in r:
                print(f"| {r['T']:.0e} | skipped: {r['skipped']} | | | | | | | |")
                continue
            ours, peer = r["physnn"], r["reservoirpy"]
            sps = r["fit_steps_per_s"]
            print(f"| {r['T']:.0e} | {ours['fit']:.3f} s | {peer['fit']:.3f} s | {r['fit_ratio']:.2f}x | "
                  f"{sps['physnn']:.3g} | {sps['reservoirpy']:.3g} | {r['fit_gflops']:.1f} | "
                  f"{ours['peak_rss_gb']:.1f} / {peer['peak_rss_gb']:.1f} GB | "
                  f"{_runs(ours, 'fit')} / {_runs(peer, 'fit')} |")
    print("\nGFLOP/s: 2 N^2 per reservoir step (dense W; physnn runs it dense whatever the density) over the "
          "warm time. Runs marked * are the one first run at that shape, taken because it alone exceeded the "
          "cap: ReservoirPy compiles nothing (its imports and first calls were done on a small slice); "
          "physnn's includes compiling or loading its program (an upper bound on its warm time).")
    big = [r["N"] for r in units if r.get("ridge", HP["ridge"]) != HP["ridge"]]
    if big:
        print(f"N = {', '.join(map(str, big))}: ridge 1e-6 (more readout weights than the {TRAIN} training "
              "steps; 1e-8 leaves the normal equations singular in float64).")


def _spawn(name: str, repeats: int, matrices: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--repeats", str(repeats),
                          "--matrices", matrices, *WORKER_FLAGS], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--scaling", action="store_true",
                        help="also the scaling rows: N in --units at the J84 length, T in --lengths at N = 500")
    parser.add_argument("--units", type=int, nargs="+", default=list(SCALE_UNITS))
    parser.add_argument("--lengths", type=int, nargs="+", default=list(SCALE_LENGTHS))
    parser.add_argument("--cap", type=float, default=SCALE_CAP,
                        help="seconds of timed runs per library and measure in one scaling case (at least one run)")
    parser.add_argument("--cores", type=int,
                        help="pin every worker to its first CORES CPUs before NumPy or JAX load (OpenBLAS and "
                             "XLA then size their thread pools to them); default: all")
    parser.add_argument("--worker", choices=("physnn", "reservoirpy"))
    parser.add_argument("--matrices")
    parser.add_argument("--case")
    args = parser.parse_args()
    if args.cores:
        cpus = sorted(os.sched_getaffinity(0))[:args.cores]
        os.sched_setaffinity(0, cpus)  # the parent too: its draw of W (LAPACK's eigenvalues) as the workers'
        if not args.worker:
            WORKER_FLAGS[:] = ["--cores", str(args.cores)]
            print(f"workers pinned to CPU {', '.join(map(str, cpus))}", file=sys.stderr)
    if args.worker and args.case:
        fn = scale_physnn if args.worker == "physnn" else scale_reservoirpy
        print(json.dumps(fn(json.loads(args.case))))
        return
    if args.worker:
        fn = worker_physnn if args.worker == "physnn" else worker_reservoirpy
        print(json.dumps(fn(args.repeats, args.matrices)))
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        matrices = os.path.join(tmp, "matrices.npz")
        ours = _spawn("physnn", args.repeats, matrices)
        peer = _spawn("reservoirpy", args.repeats, matrices)
        scaling = run_scaling(args.repeats, args.cap, args.units, args.lengths, tmp) if args.scaling else None
    cores = args.cores or len(os.sched_getaffinity(0))
    if scaling:
        scaling["cores"] = cores
    gap = float(np.max(np.abs(np.array(ours.pop("forecast")) - np.array(peer.pop("forecast")))))
    print(f"J84, N = {HP['units']}, leak {HP['leak_rate']}, radius {HP['spectral_radius']}, ridge {HP['ridge']}, "
          f"same matrices; ReservoirPy {peer['version']}; load {os.getloadavg()[0]:.2f}; workers on {cores} "
          f"core{'s' if cores > 1 else ''}\n")
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
    if scaling:
        print_scaling(scaling)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"physnn": ours, "reservoirpy": peer, "max_forecast_difference": gap,
                       **({"scaling": scaling} if scaling else {})}, f, indent=1)


if __name__ == "__main__":
    main()
