"""Where does physnn FFNN's whole-fit time go? jax.monitoring durations summed by event."""
import collections
import sys
import time

t0 = time.perf_counter()
import jax
from jax import monitoring

events = collections.defaultdict(lambda: [0, 0.0])
def listener(name, secs, **kw):
    events[name][0] += 1; events[name][1] += secs
monitoring.register_event_duration_secs_listener(listener)
counts = collections.Counter()
monitoring.register_event_listener(lambda name, **kw: counts.__setitem__(name, counts[name] + 1))
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from physnn import FFNN, LRELU, Adam, CostCrossEntropy, softmax

t_import = time.perf_counter() - t0
d = load_digits(); X = (d.data/16).astype(np.float32); y = d.target
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
T = np.eye(10, dtype=np.float32)[ytr]
E = int(sys.argv[1]) if len(sys.argv) > 1 else 100
def snap(): return {k: tuple(v) for k, v in events.items()}
def diff(a, b):
    return {k: (b[k][0]-a.get(k,(0,0))[0], b[k][1]-a.get(k,(0,0))[1]) for k in b if b[k][1]-a.get(k,(0,0))[1] > 1e-4}
s0 = snap(); t = time.perf_counter()
m = FFNN((64,100,30,10), hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=0)
jax.block_until_ready(m.weights)
t_build = time.perf_counter() - t; s1 = snap()
t = time.perf_counter()
h = m.fit(Xtr, T, Adam(1e-3), batches=len(Xtr)//32, epochs=1, verbose=False)
t_fit1 = time.perf_counter() - t; s2 = snap()
t = time.perf_counter()
h = m.fit(Xtr, T, Adam(1e-3), batches=len(Xtr)//32, epochs=E, verbose=False)
t_fitE = time.perf_counter() - t; s3 = snap()
print(f"import {t_import:.3f}s build {t_build:.3f}s fit(1 epoch, first) {t_fit1:.3f}s fit({E} epochs, compiled) {t_fitE:.3f}s -> {t_fitE/E*1e3:.2f} ms/epoch")
for label, a, b in [("build", s0, s1), ("first fit", s1, s2), ("second fit", s2, s3)]:
    print(" ", label)
    for k, (n, s) in sorted(diff(a, b).items(), key=lambda kv: -kv[1][1]):
        print(f"    {s:8.3f}s  x{n:<4d} {k}")
print(" event counts:", dict(counts))
