"""OpenAI-ES on the digits MLP: physnn.evolve against evosax (issue 16), each library in a fresh subprocess.

Protocol (``physnn.experiments.evolution.evolve_digits``): scikit-learn's 8x8 digits / 16, split 75/25 stratified
with ``random_state=0``; the MLP 64-32-10, p = softmax(tanh(x W1 + b1) W2 + b2) (2410 parameters, one flat vector,
Glorot-uniform weights from NumPy's ``default_rng(0)``, the same vector in both workers); the fitness of a member is
the cross-entropy L = -1/n sum_b ln p_{b, y_b} on all 1347 training images (the same JAX function in both).

The same strategy and settings: OpenAI-ES (Salimans et al. 2017), population 256 with antithetic pairs, centred
ranks u_i = rank_i / (P - 1) - 1/2, the search gradient g = 1 / (P sigma) sum_i u_i eps_i, Adam (learning rate
0.05) on g, sigma = 0.05 fixed, up to ``--generations`` (default 300). physnn: ``evolve.OpenES(...).strategy(n)``
(the pure ``init / ask / tell``); evosax 0.3: ``Open_ES(population_size=256, solution=x0,
optimizer=optax.adam(0.05), std_schedule=optax.constant_schedule(0.05))``. Both run the generations in compiled
``lax.scan`` chunks of ``--chunk`` generations (the population evaluated by ``vmap``), with the test accuracy of
the search mean computed between chunks:

    compile     the first chunk of the process (tracing + compiling + running it)
    per gen     the warm run (programs compiled, a fresh state; median of ``--repeats``): wall time / generations,
                and process CPU time (all threads) / generations, less sensitive to other load
    to target   warm wall time until the mean's test accuracy first reaches ``--target`` (0.97), at chunk ends
    accuracy    the test accuracy after all generations (and the best seen at a chunk end)

Ratios are evosax / physnn (> 1: physnn faster). evosax is optional: without it (``pip install evosax``) the peer
is skipped with a message.

    python benchmarks/bench_evolve.py [--generations 300] [--chunk 10] [--target 0.97] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

POPSIZE, SIGMA, LEARNING_RATE, HIDDEN = 256, 0.05, 0.05, 32
MARK = "BENCH_RESULT "


def _problem():
    """(x0 [2410] float32, loss(flat) on the training set, accuracy(flat) on the test set)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                                                        random_state=0)
    onehot = np.eye(10, dtype=np.float32)[y_train]
    rng = np.random.default_rng(0)

    def glorot(fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)

    shapes = [(64, HIDDEN), (HIDDEN,), (HIDDEN, 10), (10,)]
    x0 = np.concatenate([glorot(64, HIDDEN).ravel(), np.zeros(HIDDEN, np.float32), glorot(HIDDEN, 10).ravel(),
                         np.zeros(10, np.float32)])
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0, *sizes])

    def logits(v, xs):
        w1, b1, w2, b2 = (v[offsets[k]:offsets[k + 1]].reshape(shapes[k]) for k in range(4))
        return jnp.tanh(xs @ w1 + b1[None, :]) @ w2 + b2[None, :]

    def loss(v):
        return -jnp.mean(jnp.sum(onehot * jax.nn.log_softmax(logits(v, x_train)), axis=-1))

    @jax.jit
    def accuracy(v):
        return jnp.mean(jnp.argmax(logits(v, x_test), axis=-1) == y_test)

    return x0, loss, accuracy


def _physnn_chunk(x0, loss, chunk):
    import jax

    from physnn import evolve

    strategy = evolve.OpenES(popsize=POPSIZE, sigma=SIGMA, learning_rate=LEARNING_RATE).strategy(x0.shape[0])

    def init(key):
        return strategy.init(jax.numpy.asarray(x0), key)

    @jax.jit
    def run(state, key):
        def generation(state, k):
            population, state = strategy.ask(state, k)
            return strategy.tell(state, population, jax.vmap(loss)(population)), None

        return jax.lax.scan(generation, state, jax.random.split(key, chunk))[0]

    return init, run, lambda state: state.mean


def _evosax_chunk(x0, loss, chunk):
    import jax
    import optax
    from evosax.algorithms import Open_ES

    es = Open_ES(population_size=POPSIZE, solution=jax.numpy.asarray(x0), optimizer=optax.adam(LEARNING_RATE),
                 std_schedule=optax.constant_schedule(SIGMA))
    params = es.default_params

    def init(key):
        return es.init(key, jax.numpy.asarray(x0), params)

    @jax.jit
    def run(state, key):
        def generation(state, k):
            k_ask, k_tell = jax.random.split(k)
            population, state = es.ask(k_ask, state, params)
            state, _ = es.tell(k_tell, population, jax.vmap(loss)(population), state, params)
            return state, None

        return jax.lax.scan(generation, state, jax.random.split(key, chunk))[0]

    return init, run, lambda state: state.mean


def worker(library: str, generations: int, chunk: int, target: float, repeats: int) -> dict:
    import jax

    t0 = time.perf_counter()
    x0, loss, accuracy = _problem()
    make = _physnn_chunk if library == "physnn" else _evosax_chunk
    init, run, mean = make(x0, loss, chunk)
    setup = time.perf_counter() - t0

    t0 = time.perf_counter()  # the first chunk: tracing, compiling and running it
    state = run(init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))
    float(accuracy(mean(state)))
    compile_s = time.perf_counter() - t0

    keys = jax.random.split(jax.random.PRNGKey(2), generations // chunk)
    runs = []
    for _ in range(repeats):  # each repeat: a fresh state, the same keys, the compiled chunk
        state = init(jax.random.PRNGKey(0))
        jax.block_until_ready(state)
        curve, to_target = [], None
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(generations // chunk):
            state = run(state, keys[k])
            acc = float(accuracy(mean(state)))  # blocks: the chunk is finished
            curve.append(acc)
            if to_target is None and acc >= target:
                to_target = ((k + 1) * chunk, time.perf_counter() - t0)
        runs.append((time.perf_counter() - t0, time.process_time() - c0, to_target, curve))
    done = (generations // chunk) * chunk
    warm = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    to_target = runs[0][2]
    seconds_to_target = None if to_target is None else statistics.median(r[2][1] for r in runs)
    curve = runs[0][3]
    return {"library": library, "setup_s": setup, "compile_s": compile_s, "warm_s": warm, "warm_cpu_s": cpu,
            "per_generation_ms": 1e3 * warm / done, "per_generation_cpu_ms": 1e3 * cpu / done, "generations": done,
            "generations_to_target": None if to_target is None else to_target[0],
            "seconds_to_target": seconds_to_target, "repeats": repeats,
            "test_accuracy": curve[-1], "best_test_accuracy": max(curve), "curve": curve,
            "jax": jax.__version__}


def _have_evosax() -> str | None:
    """evosax's version, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version("evosax")
    except metadata.PackageNotFoundError:
        return None


def _spawn(library, args) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, __file__, "--worker", library, "--generations", str(args.generations),
           "--chunk", str(args.chunk), "--target", str(args.target), "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"{library} worker failed:\n{out.stdout}\n{out.stderr}")


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["physnn", "evosax"])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.generations < args.chunk or args.chunk < 1 or args.repeats < 1:
        parser.error("--generations must be >= --chunk >= 1 and --repeats >= 1")
    if args.worker:
        print(MARK + json.dumps(worker(args.worker, args.generations, args.chunk, args.target, args.repeats)))
        return
    libraries = ["physnn"]
    version = _have_evosax()
    if version is None:
        print("evosax is not installed (pip install evosax): the peer is skipped, physnn alone is timed")
    else:
        libraries.append("evosax")
    print(f"load average at start: {os.getloadavg()[0]:.2f}; OpenAI-ES, pop {POPSIZE}, sigma {SIGMA}, "
          f"Adam {LEARNING_RATE}, {args.generations} generations in chunks of {args.chunk}")
    rows = {lib: _spawn(lib, args) for lib in libraries}
    if version:
        rows["evosax"]["version"] = version
    head = (f"{'library':<14}{'compile s':>10}{'per gen ms':>12}{'cpu ms':>8}{'warm s':>9}{'gens->':>8}"
            f"{'s->target':>11}{'test acc':>10}{'best':>8}")
    print(head)
    for lib, r in rows.items():
        name = lib if lib == "physnn" else f"evosax {version}"
        print(f"{name:<14}{r['compile_s']:>10.2f}{r['per_generation_ms']:>12.1f}{r['per_generation_cpu_ms']:>8.1f}"
              f"{r['warm_s']:>9.2f}{_fmt(r['generations_to_target'], 'd'):>8}{_fmt(r['seconds_to_target'], '.2f'):>11}"
              f"{r['test_accuracy']:>10.4f}{r['best_test_accuracy']:>8.4f}")
    if "evosax" in rows:
        p, e = rows["physnn"], rows["evosax"]
        print(f"ratio evosax / physnn: per generation {e['per_generation_ms'] / p['per_generation_ms']:.2f}x wall, "
              f"{e['per_generation_cpu_ms'] / p['per_generation_cpu_ms']:.2f}x CPU; compile "
              f"{e['compile_s'] / p['compile_s']:.2f}x", end="")
        if p["seconds_to_target"] and e["seconds_to_target"]:
            print(f"; to {args.target} {e['seconds_to_target'] / p['seconds_to_target']:.2f}x", end="")
        print()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
