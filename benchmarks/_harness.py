"""Shared machinery for the side-by-side benchmarks (never run by CI, never a unit test).

A benchmark script declares its frameworks (physnn and the peers) as ``Framework`` objects and calls
``main``. Every framework runs in subprocesses of the script (``--worker NAME``), so nothing one framework
imported or compiled helps another, and the first fit of a process is honestly cold:

* physnn, ``cold``: the first fit in a fresh process whose persistent compilation cache is empty
  (``PHYSNN_CACHE_DIR`` pointing at a new directory);
  ``warm``: the first fit of a new model in a second fresh process pointed at the same, now filled, cache.
* peers, ``cold``: the first fit in a fresh process; ``warm``: a second fit of a newly built model in the
  same process (their caches, tf.function/torch/BLAS warm-up, all hot).
* everyone, ``refit``: ``fit`` called again on the warm fit's model object (physnn reuses its compiled
  epoch; Keras reuses its traced train function): the steady-state cost of a whole fit.
* ``epoch``: the median wall time of one epoch in the warm fit, epochs 2..E (compiled / traced already).

Whole-fit times cover building the model (physnn compiles its initialiser) and ``fit``; imports and data
loading are timed apart ("import s"). Each table prints each time with the ratio peer / physnn ("3.0x"
means physnn is three times faster), once in wall-clock time and once in process CPU time
(``time.process_time``, all threads), the latter being much less sensitive to other load on the machine.

Adding a benchmark: write ``load_data(args)``, one ``Framework`` per library with ``setup`` (imports),
``build(data, args)`` and ``fit(model, data, args, tick)`` (call ``tick()`` after every epoch) and
``score(model, data, args)``, then ``main(...)``; see ``bench_ffnn_digits.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RESULT_MARK = "BENCH_RESULT "
PHYSNN = "physnn"


# --- timing --------------------------------------------------------------------------------------------


class EpochClock:
    """Wall time (and process CPU time) of each epoch: ``start()`` before the fit, ``tick()`` after each epoch."""

    def __init__(self):
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self._last = self._last_cpu = None

    def start(self):
        self.times, self.cpu_times = [], []
        self._last, self._last_cpu = time.perf_counter(), time.process_time()

    def tick(self):
        now, cpu = time.perf_counter(), time.process_time()
        self.times.append(now - self._last)
        self.cpu_times.append(cpu - self._last_cpu)
        self._last, self._last_cpu = now, cpu

    def median(self, skip: int = 1) -> float:
        """Median epoch time, skipping the first ``skip`` epochs (compilation, tracing, warm-up)."""
        times = self.times[skip:] or self.times
        return statistics.median(times) if times else float("nan")


@dataclass
class Framework:
    """One library in a benchmark.

    setup(args) imports the library (timed as "import s"); build(data, args) -> model; fit(model, data,
    args, tick) trains it, calling tick() after each epoch; score(model, data, args) -> the metric
    (accuracy or error); version() -> a version string.
    """

    name: str
    setup: Callable
    build: Callable
    fit: Callable
    score: Callable
    version: Callable = lambda: ""
    is_physnn: bool = False


@dataclass
class Row:
    """One framework's measurements (seconds); ``cpu`` holds the same four times in process CPU seconds."""

    name: str
    metric: float
    cold: float
    warm: float
    refit: float
    epoch: float
    import_s: float
    version: str = ""
    notes: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)


TIMES = ("cold", "warm", "refit", "epoch")


def median_rows(runs: list[list[Row]]) -> list[Row]:
    """Per framework, the median of each number over repeated runs."""
    out = []
    for rows in zip(*runs, strict=True):
        med = {k: statistics.median(getattr(r, k) for r in rows) for k in ("metric", *TIMES, "import_s")}
        cpu = {k: statistics.median(r.cpu[k] for r in rows) for k in TIMES}
        out.append(Row(rows[0].name, version=rows[0].version, notes=rows[-1].notes, cpu=cpu, **med))
    return out


# --- the worker side: one process, some fits ----------------------------------------------------------


def run_worker(framework: Framework, load_data: Callable, args, plan: list[str]) -> dict:
    """Run ``plan`` ("new": build and fit a new model; "refit": fit the last model again) and time it."""
    t0 = time.perf_counter()
    framework.setup(args)
    import_s = time.perf_counter() - t0
    data = load_data(args)
    clock = EpochClock()
    fits, model = [], None
    for kind in plan:
        t0, c0 = time.perf_counter(), time.process_time()
        if kind == "new" or model is None:
            model = framework.build(data, args)
        clock.start()
        framework.fit(model, data, args, clock.tick)
        fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        fits.append({"kind": kind, "fit_s": fit_s, "cpu_s": cpu_s, "epoch_s": clock.times,
                     "epoch_cpu_s": clock.cpu_times, "metric": float(framework.score(model, data, args))})
    return {"import_s": import_s, "fits": fits, "version": framework.version()}


def spawn_json(command: list[str], env: dict, timeout: float = 1800) -> dict:
    """Run ``command`` (a worker) and return the JSON it printed after ``RESULT_MARK``."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"worker {command[1:]} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                       f"{done.stderr[-3000:]}")


def print_result(result: dict) -> None:
    """The worker's side of ``spawn_json``."""
    print(RESULT_MARK + json.dumps(result), flush=True)


def _spawn(script: Path, name: str, argv: list[str], plan: list[str], env: dict, timeout: float) -> dict:
    command = [sys.executable, str(script), "--worker", name, "--plan", ",".join(plan), *argv]
    return spawn_json(command, env, timeout)


def _count_files(directory: Path) -> int:
    return sum(1 for p in directory.rglob("*") if p.is_file())


def worker_env(cache_dir: Path | None = None) -> dict:
    env = dict(os.environ)
    for name in ("JAX_COMPILATION_CACHE_DIR", "PHYSNN_NO_CACHE", "PHYSNN_CACHE_DIR"):
        env.pop(name, None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("PYTHONWARNINGS", "ignore")
    if cache_dir is not None:
        env["PHYSNN_CACHE_DIR"] = str(cache_dir)
    return env


def measure(script: Path, framework: Framework, argv: list[str], timeout: float = 1800) -> Row:
    """Cold, warm, refit and per-epoch times of one framework, in fresh subprocesses (see module doc)."""
    if framework.is_physnn:
        cache = Path(tempfile.mkdtemp(prefix="physnn-bench-cache-"))
        try:
            env = worker_env(cache)
            cold = _spawn(script, framework.name, argv, ["new"], env, timeout)
            entries_cold = _count_files(cache)
            warm = _spawn(script, framework.name, argv, ["new", "refit"], env, timeout)
            entries_warm = _count_files(cache) - entries_cold
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        cold_fit, warm_fit, refit = cold["fits"][0], warm["fits"][0], warm["fits"][1]
        import_s = cold["import_s"]
        notes = {"cache_files_written_cold": entries_cold, "cache_files_written_warm": entries_warm,
                 "warm_import_s": warm["import_s"]}
        version = cold["version"]
    else:
        run = _spawn(script, framework.name, argv, ["new", "new", "refit"], worker_env(), timeout)
        cold_fit, warm_fit, refit = run["fits"]
        import_s, notes, version = run["import_s"], {}, run["version"]
    epoch = statistics.median(warm_fit["epoch_s"][1:] or warm_fit["epoch_s"])
    cpu = {"cold": cold_fit["cpu_s"], "warm": warm_fit["cpu_s"], "refit": refit["cpu_s"],
           "epoch": statistics.median(warm_fit["epoch_cpu_s"][1:] or warm_fit["epoch_cpu_s"])}
    notes["first_epoch_warm_s"] = warm_fit["epoch_s"][0]
    notes["first_epoch_cold_s"] = cold_fit["epoch_s"][0]
    notes["metric_warm"] = warm_fit["metric"]
    return Row(framework.name, cold_fit["metric"], cold_fit["fit_s"], warm_fit["fit_s"], refit["fit_s"],
               epoch, import_s, version, notes, cpu)


# --- the table -----------------------------------------------------------------------------------------


def _ratio(value: float, reference: float) -> str:
    if not (reference > 0 and value > 0):
        return ""
    return f"{value / reference:.1f}x"


def format_table(title: str, rows: list[Row], metric_name: str, markdown: bool = False, cpu: bool = False) -> str:
    """A table of the rows with the ratio peer / physnn after every time; ``cpu``: process CPU times instead."""
    ref = next((r for r in rows if r.name == PHYSNN), rows[0])
    kind = "cpu" if cpu else "wall"
    header = ["framework", metric_name, f"cold fit s ({kind})", f"warm fit s ({kind})", f"refit s ({kind})",
              f"epoch ms ({kind})", "import s"]
    body = []

    def value(row, column):
        seconds = row.cpu[column] if cpu else getattr(row, column)
        return seconds * (1000.0 if column == "epoch" else 1.0)

    for r in rows:
        cells = []
        for column in TIMES:
            text = f"{value(r, column):.2f}"
            cells.append(text if r is ref else f"{text} ({_ratio(value(r, column), value(ref, column))})")
        body.append([r.name + (f" {r.version}" if r.version else ""), f"{r.metric:.4f}", *cells,
                     f"{r.import_s:.2f}"])
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [title, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*row) for row in body]
    return "\n".join(lines)


@dataclass
class Target:
    """A goal: physnn's ``column`` is at least ``factor`` times faster than ``peers`` (their fastest)."""

    column: str  # "cold" | "warm" | "refit" | "epoch"
    factor: float
    peers: tuple[str, ...] | None = None  # None: every peer

    def check(self, rows: list[Row], cpu: bool = False) -> tuple[bool, str]:
        def value(row):
            return row.cpu[self.column] if cpu else getattr(row, self.column)

        ref = next(r for r in rows if r.name == PHYSNN)
        others = [r for r in rows if r.name != PHYSNN and (self.peers is None or r.name in self.peers)]
        if not others:
            return True, f"skip  {self.column}: no peer ran"
        best = min(others, key=value)
        speedup = value(best) / value(ref)
        ok = speedup >= self.factor
        who = "fastest peer" if self.peers is None or len(self.peers) > 1 else self.peers[0]
        return ok, (f"{'PASS' if ok else 'MISS'}  {self.column:5s} ({'cpu' if cpu else 'wall'}) >= "
                    f"{self.factor:g}x faster than {who} ({best.name}): measured {speedup:.2f}x")


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"{time.strftime('%Y-%m-%d %H:%M')}, {cpu}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


# --- the entry point ----------------------------------------------------------------------------------


def main(description: str, benchmarks: dict, load_data: dict, add_arguments: Callable | None = None):
    """Run a benchmark script.

    Arguments:
        description: what the script measures (argparse help).
        benchmarks: title -> (metric name, [Framework, ...], [Target, ...]); physnn must be among them.
        load_data: title -> load_data(args) for the workers.
        add_arguments: optional function adding script options to the parser (``--quick`` exists already).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="few epochs: a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=1, help="run everything this many times; report medians")
    parser.add_argument("--only", default=None, help="comma-separated framework names to run (physnn always)")
    parser.add_argument("--bench", default=None, help="comma-separated benchmark titles (default: all)")
    parser.add_argument("--json", default=None, help="write the measurements to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch.set_num_threads for PyTorch workers (default 1: its fastest for tiny models)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plan", default="new", help=argparse.SUPPRESS)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()

    if args.worker:
        title, name = args.worker.split("::", 1)
        framework = next(f for f in benchmarks[title][1] if f.name == name)
        result = run_worker(framework, load_data[title], args, args.plan.split(","))
        print_result(result)
        return

    script = Path(sys.argv[0]).resolve()
    # the workers get the script's own options, not the driver's (--repeats, --json, ...)
    cleaned, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("--repeats", "--json", "--only", "--bench"):
            skip = True
            continue
        if a.startswith(("--repeats=", "--json=", "--only=", "--bench=")) or a == "--markdown":
            continue
        cleaned.append(a)
    passthrough = cleaned
    only = None if args.only is None else set(args.only.split(",")) | {PHYSNN}
    titles = list(benchmarks) if args.bench is None else args.bench.split(",")
    print(machine_info(), flush=True)
    report = {"machine": machine_info(), "argv": sys.argv[1:], "benchmarks": {}}
    for title in titles:
        metric_name, frameworks, targets = benchmarks[title]
        frameworks = [f for f in frameworks if only is None or f.name in only]
        runs = []
        for repeat in range(args.repeats):
            rows = []
            for framework in frameworks:
                worker_name = f"{title}::{framework.name}"
                fw = Framework(worker_name, *(getattr(framework, k) for k in ("setup", "build", "fit", "score",
                                                                            "version")),
                               is_physnn=framework.is_physnn)
                row = measure(script, fw, passthrough)
                row.name = framework.name
                rows.append(row)
                print(f"  [{title} run {repeat + 1}] {framework.name}: cold {row.cold:.2f}s warm {row.warm:.2f}s "
                      f"refit {row.refit:.2f}s epoch {row.epoch * 1e3:.2f}ms metric {row.metric:.4f} "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
            runs.append(rows)
            if args.repeats > 1:
                print(format_table(f"{title} (run {repeat + 1})", rows, metric_name, args.markdown), flush=True)
        rows = median_rows(runs)
        label = f"{title} (median of {args.repeats} runs)" if args.repeats > 1 else title
        print()
        print(format_table(label, rows, metric_name, args.markdown))
        print(format_table(label + ", process CPU time", rows, metric_name, args.markdown, cpu=True))
        print("notes: " + "; ".join(f"{r.name}: " + ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.notes.items()) for r in rows))
        if not args.quick:
            for cpu in (False, True):
                for target in targets:
                    print(target.check(rows, cpu)[1])
        print(flush=True)
        report["benchmarks"][title] = {"metric": metric_name,
                                       "runs": [[r.__dict__ for r in rs] for rs in runs],
                                       "median": [r.__dict__ for r in rows]}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
