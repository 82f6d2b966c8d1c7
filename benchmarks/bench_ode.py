"""A first-order ODE with a trial-solution network: ``physnn.physics.solve_ode`` vs NeuroDiffEq.

Problem: u'(x) = 2x, u(0) = 1 on [0, 2]; exact u = 1 + x^2. Error: max |u_net(x) - u(x)| on 401 equally
spaced points of [0, 2].

Both use the same trial solution and network: with s = x / 2 (the domain scaled to [0, 1]),
g(x) = 1 + s N(2 s - 1), N a 1 -> 32 tanh -> 1 perceptron (Lagaris et al. 1998, the course's eq. 2.13 as
physnn implements it; NeuroDiffEq gets it as a custom condition), 100 equally spaced collocation points,
full batch, Adam(1e-2), float64 for both (``torch.set_default_dtype(torch.float64)``).

* NeuroDiffEq: ``Solver1D`` for 1000 epochs (one Adam step each), with the error measured every 10
  epochs with the clock paused. Cold: the first fit in a fresh process; warm: a second fit (new solver).
* physnn: ``solve_ode`` compiles the whole solve (Adam steps, then an optional L-BFGS polish) into one
  program, so it is run for a ladder of step counts, polish off, and once with its defaults; each call is
  timed whole. Cold: a process with an empty compilation cache; warm: a second process on that cache.

Printed: NeuroDiffEq's final error E and time T; the time physnn needs to reach E (the fastest call, ladder
or defaults, with error <= E); the error physnn reaches within T (the best call not slower than T); and
NeuroDiffEq's error at the time physnn's default solve takes. Run:
``python benchmarks/bench_ode.py [--quick] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

X0, X1, U0 = 0.0, 2.0, 1.0
HIDDEN = 32
N_POINTS = 100
ETA = 1e-2
NDQ_EPOCHS = 1000
LADDER = (25, 50, 100, 200, 400, 700, 1000)


def exact(x):
    return 1.0 + x**2


def max_error(u, x=None) -> float:
    x = np.linspace(X0, X1, 401) if x is None else x
    return float(np.max(np.abs(np.asarray(u(x)).ravel() - exact(x))))


# --- NeuroDiffEq ----------------------------------------------------------------------------------------


def ndq_worker(args) -> dict:
    t0 = time.perf_counter()
    import torch
    from neurodiffeq import diff
    from neurodiffeq.callbacks import ActionCallback
    from neurodiffeq.conditions import BaseCondition
    from neurodiffeq.generators import Generator1D
    from neurodiffeq.networks import FCNN
    from neurodiffeq.solvers import Solver1D
    import_s = time.perf_counter() - t0

    torch.set_num_threads(args.torch_threads)
    torch.set_default_dtype(torch.float64)
    length = X1 - X0

    class ScaledLagaris(BaseCondition):
        """g(t) = u0 + s N(2 s - 1) with s = (t - t0) / L: physnn's first-order trial solution."""

        def enforce(self, net, t):
            s = (t - X0) / length
            return U0 + s * net(2 * s - 1)

    x_check = np.linspace(X0, X1, 401)
    t_check = torch.tensor(x_check).reshape(-1, 1)
    epochs = 100 if args.quick else NDQ_EPOCHS

    class Recorder(ActionCallback):
        """Every 10 epochs: the error, with the time it takes to measure it removed from the clock."""

        def __init__(self):
            super().__init__()
            self.curve, self.paused, self.start = [], 0.0, time.perf_counter()

        def __call__(self, solver):
            epoch = solver.global_epoch
            if epoch % 10 and epoch != epochs:
                return
            t = time.perf_counter()
            with torch.no_grad():
                u = solver.get_solution(copy=False, best=False)(t_check, to_numpy=True)
            err = float(np.max(np.abs(np.ravel(u) - exact(x_check))))
            self.curve.append((t - self.start - self.paused, epoch, err))
            self.paused += time.perf_counter() - t

    def one_fit():
        torch.manual_seed(0)
        t = time.perf_counter()
        net = FCNN(n_input_units=1, n_output_units=1, hidden_units=(HIDDEN,), actv=torch.nn.Tanh)
        solver = Solver1D(
            ode_system=lambda u, x: [diff(u, x) - 2 * x], conditions=[ScaledLagaris()], t_min=X0, t_max=X1,
            nets=[net], train_generator=Generator1D(N_POINTS, X0, X1, method="equally-spaced"),
            valid_generator=Generator1D(N_POINTS, X0, X1, method="equally-spaced"),
            optimizer=torch.optim.Adam(net.parameters(), lr=ETA), n_batches_train=1, n_batches_valid=1)
        recorder = Recorder()
        recorder.start = time.perf_counter()
        solver.fit(max_epochs=epochs, callbacks=[recorder], tqdm_file=None)
        wall = time.perf_counter() - t - recorder.paused
        return {"fit_s": wall, "curve": recorder.curve, "error": recorder.curve[-1][2]}

    return {"import_s": import_s, "fits": [one_fit(), one_fit()]}


# --- physnn ---------------------------------------------------------------------------------------------


def physnn_ladder(args) -> list[dict]:
    steps = (25, 100) if args.quick else LADDER
    runs = [{"steps": s, "polish": False} for s in steps]
    return runs + [{"steps": None, "polish": True}]  # None: solve_ode's defaults


def physnn_worker(args) -> dict:
    t0 = time.perf_counter()
    from physnn.physics.ode import solve_ode
    import_s = time.perf_counter() - t0

    results = []
    for rung in physnn_ladder(args):
        kwargs = {"hidden": (HIDDEN,), "activation": "tanh", "n_points": N_POINTS, "eta": ETA, "seed": 0,
                  "polish": rung["polish"], "tol": 1e-3}
        if rung["steps"] is not None:
            kwargs["steps"] = rung["steps"]
        t = time.perf_counter()
        sol = solve_ode(lambda x, u: 2 * x, U0, (X0, X1), **kwargs)
        wall = time.perf_counter() - t
        results.append({**rung, "fit_s": wall, "error": max_error(sol)})
    return {"import_s": import_s, "fits": results}


# --- the driver -----------------------------------------------------------------------------------------


def measure(args) -> dict:
    script = [sys.executable, str(Path(__file__).resolve())]
    extra = ["--torch-threads", str(args.torch_threads)] + (["--quick"] if args.quick else [])
    ndq = H.spawn_json([*script, "--worker", "neurodiffeq", *extra], H.worker_env())
    cache = Path(tempfile.mkdtemp(prefix="physnn-bench-cache-"))
    try:
        cold = H.spawn_json([*script, "--worker", "physnn", *extra], H.worker_env(cache))
        warm = H.spawn_json([*script, "--worker", "physnn", *extra], H.worker_env(cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"ndq": ndq, "physnn_cold": cold, "physnn_warm": warm}


def summarise(result: dict) -> dict:
    ndq_cold, ndq_warm = result["ndq"]["fits"]
    E, T = ndq_warm["error"], ndq_warm["fit_s"]
    out = {"ndq_error": E, "ndq_cold_s": ndq_cold["fit_s"], "ndq_warm_s": T}
    for kind in ("cold", "warm"):
        rungs = result[f"physnn_{kind}"]["fits"]
        reached = [r for r in rungs if r["error"] <= E]
        out[f"physnn_{kind}_time_to_E"] = min((r["fit_s"] for r in reached), default=float("nan"))
        within = [r for r in rungs if r["fit_s"] <= T]
        out[f"physnn_{kind}_error_within_T"] = min((r["error"] for r in within), default=float("nan"))
        default = rungs[-1]
        out[f"physnn_{kind}_default_s"], out[f"physnn_{kind}_default_error"] = default["fit_s"], default["error"]
    # NeuroDiffEq's error once as much time has passed as physnn's warm default solve took
    t_phys = out["physnn_warm_default_s"]
    before = [err for (t, _, err) in ndq_warm["curve"] if t <= t_phys]
    out["ndq_error_at_physnn_default_time"] = before[-1] if before else float("nan")
    return out


def report(result: dict, summary: dict) -> str:
    lines = []
    ndq_cold, ndq_warm = result["ndq"]["fits"]
    lines.append(f"NeuroDiffEq, {len(ndq_warm['curve']) and ndq_warm['curve'][-1][1]} epochs: max error "
                 f"{summary['ndq_error']:.3e}; fit cold {ndq_cold['fit_s']:.2f} s, warm {ndq_warm['fit_s']:.2f} s")
    for kind in ("cold", "warm"):
        lines.append(f"physnn solve_ode, {kind} ({'empty' if kind == 'cold' else 'filled'} compilation cache):")
        for r in result[f"physnn_{kind}"]["fits"]:
            name = "defaults (Adam + L-BFGS polish)" if r["polish"] else f"{r['steps']} Adam steps"
            lines.append(f"    {name:34s} {r['fit_s']:7.2f} s   max error {r['error']:.3e}")
    T = summary["ndq_warm_s"]
    for kind in ("cold", "warm"):
        t_e = summary[f"physnn_{kind}_time_to_E"]
        lines.append(f"{kind}: physnn reaches NeuroDiffEq's error {summary['ndq_error']:.2e} in {t_e:.2f} s "
                     f"({T / t_e:.1f}x faster than NeuroDiffEq's warm {T:.2f} s); best error within "
                     f"{T:.2f} s: {summary[f'physnn_{kind}_error_within_T']:.2e}")
    lines.append(f"physnn's default solve (warm) takes {summary['physnn_warm_default_s']:.2f} s for error "
                 f"{summary['physnn_warm_default_error']:.2e}; NeuroDiffEq's error after that long: "
                 f"{summary['ndq_error_at_physnn_default_time']:.2e}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 NeuroDiffEq epochs, 2 rungs")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "neurodiffeq":
        H.print_result(ndq_worker(args))
        return
    if args.worker == "physnn":
        H.print_result(physnn_worker(args))
        return
    print(H.machine_info(), flush=True)
    results, summaries = [], []
    for repeat in range(args.repeats):
        result = measure(args)
        summary = summarise(result)
        results.append(result)
        summaries.append(summary)
        print(f"--- run {repeat + 1} ---")
        print(report(result, summary), flush=True)
    if args.repeats > 1:
        print(f"--- median of {args.repeats} runs ---")
        for key in summaries[0]:
            print(f"    {key:40s} {statistics.median(s[key] for s in summaries):.4g}")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps({"machine": H.machine_info(), "runs": results,
                                               "summaries": summaries}, indent=1))


if __name__ == "__main__":
    main()
