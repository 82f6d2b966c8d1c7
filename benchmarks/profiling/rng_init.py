import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

impl = sys.argv[1]
shapes = [(64, 100), (1, 100), (100, 30), (1, 30), (30, 10), (1, 10)]
def init(key):
    keys = jax.random.split(key, len(shapes))
    return [jax.random.normal(k, s) for k, s in zip(keys, shapes)]
c = time.process_time()
if impl == "numpy":
    rng = np.random.default_rng(0); out = [jnp.asarray(rng.standard_normal(s, dtype=np.float32)) for s in shapes]
    jax.block_until_ready(out); print(f"{impl:10s} total {time.process_time()-c:.3f} cpu-s"); sys.exit()
key = jax.random.key(0, impl=impl)
c1 = time.process_time()
lowered = jax.jit(init).lower(key); c2 = time.process_time()
exe = lowered.compile(); c3 = time.process_time()
jax.block_until_ready(exe(key)); c4 = time.process_time()
print(f"{impl:10s} key {c1-c:.3f}  trace+lower {c2-c1:.3f}  compile {c3-c2:.3f}  run {c4-c3:.3f}  total {c4-c:.3f} cpu-s")
