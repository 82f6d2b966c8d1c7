"""Which parts of FFNN's epoch program cost compile time? (PHYSNN_NO_CACHE=1; CPU seconds per compile)"""
import time

import jax
import jax.numpy as jnp

from physnn import FFNN, LRELU, Adam, CostCrossEntropy, softmax
from physnn.schedulers import as_functional
from physnn.training import Layout, TrainState, course_layout, make_epoch

n = 1437
m = FFNN((64, 100, 30, 10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=0)
opt = as_functional(Adam(1e-3))
X = jnp.zeros((n, 64)); Tt = jnp.zeros((n, 10)); key = jax.random.PRNGKey(0)
carry = TrainState(m.weights, opt.init(m.weights), {})

def loss_fn(w, s, xb, yb, k):
    return m._loss(w, xb, yb, 0.0), (s, {})

def measure(label, fn, *a):
    t, c = time.perf_counter(), time.process_time()
    lowered = jax.jit(fn).lower(*a)
    t1, c1 = time.perf_counter(), time.process_time()
    lowered.compile()
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"{label:45s} trace+lower {c1 - c:5.2f} cpu-s   compile {c2 - c1:5.2f} cpu-s  (wall {t2 - t:5.2f})", flush=True)

layout = course_layout(n, n // 32)
run = m._epoch_function(opt, n, layout, False)
measure("physnn run (scan + tail + scores)", lambda c, X, T, k: run(c, X, T, None, None, k, 0, 0.0), carry, X, Tt, key)
measure("epoch: scan + tail, shuffle", make_epoch(loss_fn, opt, n, layout), carry, X, Tt, key)
measure("epoch: scan only (no tail), shuffle", make_epoch(loss_fn, opt, 44 * 32, Layout(32, 44, 0)),
        carry, X[:44 * 32], Tt[:44 * 32], key)
measure("epoch: scan only, no shuffle", make_epoch(loss_fn, opt, 44 * 32, Layout(32, 44, 0), shuffle=False),
        carry, X[:44 * 32], Tt[:44 * 32], key)
measure("permutation alone", lambda k: jax.random.permutation(k, n), key)
measure("one step (value_and_grad + adam)", lambda c, x, y: jax.value_and_grad(lambda w: m._loss(w, x, y, 0.0))(c.params), carry, X[:32], Tt[:32])
measure("scores on whole set", lambda w, X, T: m._scores(w, X, T), m.weights, X, Tt)
from physnn.ffnn import _initial_weights

measure("_initial_weights (threefry normal x6)", lambda k: _initial_weights((64, 100, 30, 10), k), key)
