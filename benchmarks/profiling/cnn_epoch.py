import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import physnn.layers.pooling as P
from physnn import Input, LambdaCallback, Sequential
from physnn.layers import Conv2D, Dense, Flatten, MaxPooling2D

if "reshape-pool" in sys.argv:
    orig = P._Pooling.apply
    def apply(self, params, x, *, key=None, training=False):
        if self.reduction == "max" and self.padding == "valid" and tuple(self.pool_size) == tuple(self.strides) == (2, 2):
            b, h, w, c = x.shape
            x = x[:, : h // 2 * 2, : w // 2 * 2]
            return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        return orig(self, params, x, key=key, training=training)
    P._Pooling.apply = apply
if "im2col" in sys.argv:
    import physnn.layers.conv as C
    def capply(self, params, x, *, key=None, training=False):
        k = params["kernel"]  # [kh, kw, cin, cout]
        patches = jax.lax.conv_general_dilated_patches(x, self.kernel_size, self.strides, self.padding.upper(),
                                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))
        # patches: [b, h, w, cin * kh * kw] ordered (cin, kh, kw)
        kk = jnp.transpose(k, (2, 0, 1, 3)).reshape(-1, k.shape[-1])
        z = patches @ kk
        if self.use_bias:
            z = z + params["bias"]
        return self.activation(z)
    C.Conv2D.apply = capply
from sklearn.datasets import load_digits

d = load_digits(); X = (d.images / 16).astype(np.float32)[..., None][:1437]; Y = np.eye(10, dtype=np.float32)[d.target[:1437]]
m = Sequential([Input((8, 8, 1)), Conv2D(16, 3, padding="same", activation="relu"), MaxPooling2D(2),
                Conv2D(32, 3, activation="relu"), Flatten(), Dense(64, activation="relu"), Dense(10, activation="softmax")], seed=0)
m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
ts = [(time.perf_counter(), time.process_time())]
m.fit(X, Y, epochs=8, batch_size=32, verbose=0, callbacks=[LambdaCallback(on_epoch_end=lambda e, l: ts.append((time.perf_counter(), time.process_time())))])
w = np.diff([a for a, b in ts]); c = np.diff([b for a, b in ts])
print(" ".join(a for a in sys.argv[1:]) or "default", f"epoch wall {np.median(w[1:])*1e3:.1f} ms  cpu {np.median(c[1:])*1e3:.1f} ms")
