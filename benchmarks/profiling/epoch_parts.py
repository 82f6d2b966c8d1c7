import time

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from physnn import FFNN, LRELU, Adam, CostCrossEntropy, softmax
from physnn.schedulers import as_functional
from physnn.training import Layout, TrainState, course_layout, make_epoch

d = load_digits(); X = (d.data/16).astype(np.float32); y = d.target
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
T = np.eye(10, dtype=np.float32)[ytr]
m = FFNN((64,100,30,10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=0)
n = len(Xtr); layout = course_layout(n, n//32); opt = as_functional(Adam(1e-3))
Xj, Tj = jnp.asarray(Xtr), jnp.asarray(T); key = jax.random.PRNGKey(1); lam = jnp.float32(0)
def timeit(label, f, reps=150):
    for _ in range(5): f()
    w, c = [], []
    for _ in range(reps):
        t, cc = time.perf_counter(), time.process_time(); f(); w.append(time.perf_counter()-t); c.append(time.process_time()-cc)
    print(f"{label:50s} wall {np.median(w)*1e3:6.2f} ms  cpu {np.median(c)*1e3:6.2f} ms", flush=True)
run = m._epoch_function(opt, n, layout, False)
carry = [TrainState(m.weights, opt.init(m.weights), {})]
def physnn_epoch():
    c, s = run(carry[0], Xj, Tj, None, None, key, 3, lam)
    s = {k: float(v) for k, v in jax.device_get(s).items()}
    carry[0] = c
timeit("physnn run + float(scores) (as in FFNN.fit)", physnn_epoch)
def loss_fn(w, s, xb, yb, k): return m._loss(w, xb, yb, 0.0), (s, {})
for label, nn, lay, shuf in [("scan + tail, shuffle, no scores", n, layout, True),
                             ("scan 44x32, shuffle, no tail/scores", 44*32, Layout(32, 44, 0), True),
                             ("scan 44x32, no shuffle", 44*32, Layout(32, 44, 0), False)]:
    ep = jax.jit(make_epoch(loss_fn, opt, nn, lay, shuffle=shuf))
    c0 = [TrainState(m.weights, opt.init(m.weights), {})]
    def f(ep=ep, c0=c0, nn=nn):
        c, logs = ep(c0[0], Xj[:nn], Tj[:nn], key); jax.block_until_ready(logs); c0[0] = c
    timeit(label, f)
fwd = jax.jit(lambda w: m._scores(w, Xj, Tj))
timeit("whole-set scores alone (1437 rows)", lambda: jax.block_until_ready(fwd(m.weights)))
noop = jax.jit(lambda c: c)
timeit("dispatch of a jitted identity on the carry", lambda: jax.block_until_ready(noop(carry[0])))
