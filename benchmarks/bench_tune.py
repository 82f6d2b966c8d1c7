"""``physnn.reservoir.tune``'s strategies at equal wall time on the J84 Mackey-Glass protocol.

For each reservoir seed and strategy ("random", "cma_es", "gradient"), ``tune`` gets the training series only
(s[0:4001], one step ahead) and ``--budget`` seconds; the ESN it returns is then scored by the J84 protocol of
``physnn.experiments.reservoir.j84`` (refitted on s[0:4000] with washout 1000; 50 starts over 4500..9500; the
test part was never seen by the search). Reported: NRMSE84 per seed, the median, and the number of candidates
each strategy scored within its budget.

    python benchmarks/bench_tune.py [--seeds 0 1 2 3 4] [--budget 60] [--units 500] [--strategies ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from physnn.datasets import mackey_glass_t17
from physnn.experiments.reservoir import j84
from physnn.reservoir import ESN, tune


def run(strategy: str, seed: int, budget: float, units: int, readout: str, gradient_epochs: int) -> dict:
    s = mackey_glass_t17()[:, None]
    start = time.perf_counter()
    tuned = tune(s[:4000], s[1:4001], units=units, seed=seed, budget_s=budget, strategy=strategy, horizon=84,
                 context=300, readout=readout, gradient_epochs=gradient_epochs)
    seconds = time.perf_counter() - start
    if strategy == "gradient":  # the trained reservoir itself (W_in, leak, radius), refitted by the protocol
        esn = tuned
    else:
        esn = ESN(units=units, seed=seed, readout=readout, **tuned.tuning["best"].params)
    return {"strategy": strategy, "seed": seed, "nrmse84": j84(esn).nrmse84, "trials": len(tuned.tuning["trials"]),
            "seconds": seconds, "best": tuned.tuning["best"].params}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--readout", default="quadratic")
    parser.add_argument("--strategies", nargs="+", default=["random", "cma_es", "gradient"])
    parser.add_argument("--gradient-epochs", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:  # interleaved: every strategy at each seed before the next seed
        for strategy in args.strategies:
            row = run(strategy, seed, args.budget, args.units, args.readout, args.gradient_epochs)
            rows.append(row)
            print(f"seed {seed} {strategy:9s} NRMSE84 {row['nrmse84']:.2e}  ({row['trials']} candidates, "
                  f"{row['seconds']:.0f} s)", flush=True)
    print(f"\n| strategy | median NRMSE84 | range | candidates per {args.budget:g} s |\n| --- | --- | --- | --- |")
    for strategy in args.strategies:
        values = [r["nrmse84"] for r in rows if r["strategy"] == strategy]
        trials = [r["trials"] for r in rows if r["strategy"] == strategy]
        print(f"| {strategy} | {np.median(values):.2e} | {min(values):.1e} .. {max(values):.1e} | "
              f"{int(np.median(trials))} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
