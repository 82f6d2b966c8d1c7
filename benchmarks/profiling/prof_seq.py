"""Sequential iris whole-fit breakdown by JAX compile events (run twice: cold then warm cache)."""
import collections
import logging
import time

import jax
from jax import monitoring

ev = collections.defaultdict(float); cnt = collections.Counter()
def listener(name, secs, **kw):
    ev[name] += secs; cnt[name] += 1
monitoring.register_event_duration_secs_listener(listener)
per_fn = collections.defaultdict(float)
class H(logging.Handler):
    def emit(self, r):
        msg = r.getMessage()
        import re
        m = re.match(r"Finished (tracing|jaxpr to MLIR module conversion|XLA compilation of) (?:\+ transforming )?(\S+).* in ([0-9.e-]+) sec", msg)
        if m: per_fn[(m.group(2), m.group(1)[:5])] += float(m.group(3))
jax.config.update("jax_log_compiles", True)
logging.getLogger("jax").addHandler(H()); logging.getLogger("jax").setLevel(logging.DEBUG)
logging.getLogger("jax").propagate = False
import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from physnn import Input, LambdaCallback, Sequential
from physnn.layers import Dense

iris = load_iris()
Xtr, Xte, ytr, yte = train_test_split(iris.data, iris.target, test_size=0.2, random_state=0, stratify=iris.target)
sc = StandardScaler().fit(Xtr); Xtr = sc.transform(Xtr).astype(np.float32); Xte = sc.transform(Xte).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[ytr]
ticks = []
t0, c0 = time.perf_counter(), time.process_time()
m = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")], seed=0)
m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
cb = LambdaCallback(on_epoch_end=lambda e, l: ticks.append((time.perf_counter(), time.process_time())))
ticks.append((time.perf_counter(), time.process_time()))
m.fit(Xtr, Y, epochs=200, batch_size=8, validation_split=0.2, verbose=0, callbacks=[cb])
t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
w = np.diff([t for t, _ in ticks]); c = np.diff([c for _, c in ticks])
print(f"build {t_build:.2f}s (cpu {c_build:.2f})  whole {t_fit:.2f}s (cpu {c_fit:.2f})  first epoch {w[0]:.2f}s (cpu {c[0]:.2f})  epoch median {np.median(w[1:])*1e3:.2f} ms (cpu {np.median(c[1:])*1e3:.2f})")
for k in sorted(ev, key=lambda k: -ev[k]):
    print(f"   {ev[k]:7.3f}s x{cnt[k]:<3d} {k}")
print("  per function (wall s):")
for (fn, kind), s in sorted(per_fn.items(), key=lambda kv: -kv[1])[:14]:
    print(f"   {s:7.3f}  {kind:5s} {fn}")
