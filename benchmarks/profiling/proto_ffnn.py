"""Prototype fixes for FFNN's whole-fit time, measured without editing physnn (monkeypatches only).

usage: python proto_ffnn.py [--init numpy] [--unroll K] [--exe-cache DIR] [--epochs-per-call K] [--epochs E]
XLA flags go in the environment (XLA_FLAGS=...). Prints JSON with build/fit wall and CPU times.
"""
import argparse
import hashlib
import json
import os
import pickle
import sys
import time

t_start = time.perf_counter(); c_start = time.process_time()
p = argparse.ArgumentParser()
p.add_argument("--init", default="jax")
p.add_argument("--unroll", type=int, default=1)
p.add_argument("--exe-cache", default=None)
p.add_argument("--epochs", type=int, default=100)
p.add_argument("--async-scores", action="store_true")
p.add_argument("--export-cache", default=None)
args = p.parse_args()

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import physnn.ffnn as F
import physnn.training as T
from physnn import FFNN, LRELU, Adam, CostCrossEntropy, softmax

t_import = time.perf_counter() - t_start

if args.init == "numpy":
    def _initial_weights(dimensions, key):
        rng = np.random.default_rng(0)  # prototype: the benchmark's seed
        out = []
        for n_in, n_out in zip(dimensions[:-1], dimensions[1:]):
            W = rng.standard_normal((n_in, n_out), dtype=np.float32) / np.float32(np.sqrt(n_in))
            b = np.float32(0.01) * rng.standard_normal((1, n_out), dtype=np.float32)
            out.append(jnp.asarray(np.concatenate([b, W], axis=0)))
        return out
    F._initial_weights = _initial_weights
    # PRNGKey(seed) itself compiles a program; the numpy path does not need it
    F.jax = type(sys)("jaxshim"); F.jax.__dict__.update(jax.__dict__)
    F.jax.random = type(sys)("randshim"); F.jax.random.__dict__.update(jax.random.__dict__)
    F.jax.random.PRNGKey = lambda seed: np.array([0, seed], np.uint32)

if args.unroll > 1:
    _scan = jax.lax.scan
    T.jax = type(sys)("jaxshim2"); T.jax.__dict__.update(jax.__dict__)
    T.jax.lax = type(sys)("laxshim"); T.jax.lax.__dict__.update(jax.lax.__dict__)
    T.jax.lax.scan = lambda f, init, xs, **kw: _scan(f, init, xs, unroll=args.unroll, **kw)

if args.exe_cache:
    from jax.experimental import serialize_executable as se
    cache_dir = args.exe_cache
    os.makedirs(cache_dir, exist_ok=True)
    original = FFNN._epoch_function

    def _epoch_function(self, optimizer, n, layout, has_val):
        jitted = original(self, optimizer, n, layout, has_val)
        key_text = repr((self.dimensions, self.hidden_func.__name__, self.output_func.__name__,
                         self.cost_func.__name__, n, tuple(layout), has_val, jax.__version__, "adam1e-3"))
        compiled = {}

        def run(*a):
            if "exe" not in compiled:
                sig = key_text + repr(jax.tree_util.tree_map(lambda x: (jnp.shape(x), str(jnp.result_type(x))) if x is not None else None, a))
                path = os.path.join(cache_dir, hashlib.sha256(sig.encode()).hexdigest() + ".pkl")
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        payload, in_tree, out_tree = pickle.load(f)
                    compiled["exe"] = se.deserialize_and_load(payload, in_tree, out_tree)
                else:
                    exe = jitted.lower(*a).compile()
                    payload, in_tree, out_tree = se.serialize(exe)
                    with open(path, "wb") as f:
                        pickle.dump((payload, in_tree, out_tree), f)
                    compiled["exe"] = exe
            return compiled["exe"](*a)
        return run

    FFNN._epoch_function = _epoch_function

if args.export_cache:
    from jax import export as jexport
    jexport.register_namedtuple_serialization(T.TrainState, serialized_name="physnn.TrainState")
    os.makedirs(args.export_cache, exist_ok=True)
    original2 = FFNN._epoch_function

    def _epoch_function2(self, optimizer, n, layout, has_val):
        jitted = original2(self, optimizer, n, layout, has_val)
        key_text = repr((self.dimensions, self.hidden_func.__name__, self.output_func.__name__,
                         self.cost_func.__name__, n, tuple(layout), has_val, jax.__version__, "adam1e-3"))
        holder = {}

        def run(*a):
            if "fn" not in holder:
                sig = key_text + repr(jax.tree_util.tree_map(lambda x: (jnp.shape(x), str(jnp.result_type(x))) if x is not None else None, a))
                path = os.path.join(args.export_cache, hashlib.sha256(sig.encode()).hexdigest() + ".bin")
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        exp = jexport.deserialize(bytearray(f.read()))
                else:
                    exp = jexport.export(jitted)(*a)
                    with open(path, "wb") as f:
                        f.write(exp.serialize())
                holder["fn"] = jax.jit(exp.call)
            return holder["fn"](*a)
        return run

    FFNN._epoch_function = _epoch_function2

d = load_digits(); X = (d.data / 16).astype(np.float32); y = d.target
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
Tt = np.eye(10, dtype=np.float32)[ytr]

ticks = []
class Tick:
    def __init__(self, *a, **k): pass
    def on_train_begin(self, logs=None): ticks.append(time.perf_counter())
    def on_epoch_end(self, e, logs): ticks.append(time.perf_counter())
    def on_train_end(self, logs=None): pass
F.ProgressBar = Tick

t0, c0 = time.perf_counter(), time.process_time()
m = FFNN((64, 100, 30, 10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=0)
jax.block_until_ready(m.weights)
t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
m.fit(Xtr, Tt, Adam(1e-3), batches=len(Xtr) // 32, epochs=args.epochs, verbose=True)
t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
epochs = np.diff(ticks)
acc = float(np.mean(np.argmax(m.predict_proba(Xte), 1) == yte))
print("RESULT", json.dumps({"import": t_import, "build": t_build, "build_cpu": c_build, "whole_fit": t_fit,
                            "whole_fit_cpu": c_fit, "first_epoch": epochs[0],
                            "epoch_median_ms": float(np.median(epochs[1:]) * 1e3), "acc": acc}))
