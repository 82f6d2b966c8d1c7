"""The course's Keras code on Keras and on physnn, side by side: the numbers each gets and the time each fit takes.

Each fragment of ``course_fragments.py`` (the Oslo notes' RNN extrapolation in four architectures, CP3's iris,
the Oslo Keras digits grid at eta = 0.1, CP3 week 4's wave-function networks with the L1 regulariser and with
the physics loss, and its projectile network) runs as the course writes it, with only the imports changed, in a
fresh process per (backend, seed); the backends alternate seed by seed. Reported: the median and range over
seeds of the fragment's metric, the median fit time (the first fit of the process: compiling included) and
physnn's speed-up (Keras's time / physnn's).

    python benchmarks/bench_course.py [--seeds 3] [--only rnn,iris] [--json out.json]

Keras (``pip install -e ".[bench]"``: tensorflow-cpu) runs on its default TensorFlow backend, as the course.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

RUNNER = Path(__file__).with_name("course_fragments.py")
FRAGMENTS = ["rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2", "iris", "digits_grid", "wave_regularizer",
             "wave_physics", "projectile"]


def run(backend: str, fragment: str, seed: int) -> dict:
    out = subprocess.run([sys.executable, str(RUNNER), backend, fragment, str(seed)], capture_output=True,
                         text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"{backend} {fragment} seed {seed} failed:\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default=",".join(FRAGMENTS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for fragment in args.only.split(","):
        results = {"keras": [], "physnn": []}
        for seed in range(args.seeds):
            for backend in (("keras", "physnn") if seed % 2 == 0 else ("physnn", "keras")):
                results[backend].append(run(backend, fragment, seed))
        row = {"fragment": fragment, "metric": results["physnn"][0]["metric"]}
        for backend, runs in results.items():
            values = [r["value"] for r in runs]
            row[backend] = {"median": float(np.median(values)), "min": min(values), "max": max(values),
                            "fit_s": float(np.median([r["fit_s"] for r in runs]))}
        row["speedup"] = row["keras"]["fit_s"] / row["physnn"]["fit_s"]
        rows.append(row)
        k, p = row["keras"], row["physnn"]
        print(f"| {fragment} | {row['metric']} | {k['median']:.3g} ({k['min']:.3g} .. {k['max']:.3g}) | "
              f"{p['median']:.3g} ({p['min']:.3g} .. {p['max']:.3g}) | {k['fit_s']:.1f} s | {p['fit_s']:.1f} s | "
              f"{row['speedup']:.1f}x |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
