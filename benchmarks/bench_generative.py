"""Generative models side by side: physnn's digits autoencoder and VAE vs PyTorch eager vs Keras 3 (TensorFlow).

The models are exactly those of ``physnn.experiments.unsupervised`` (the ``autoencoder`` tour experiment), with
the same data, architecture, optimiser, epochs and batch size in every framework:

* data: scikit-learn's 8x8 digits / 16 (float32), ``train_test_split(test_size=0.25, stratify=y,
  random_state=0)``: 1347 training images of 64 pixels. Batch 32, Keras's cut everywhere (ceil(1347 / 32) = 43
  batches, 42 of 32 and one of 3), the samples shuffled every epoch. Adam(1e-3), the libraries' defaults
  otherwise (initialisers included).
* autoencoder (the 2-D code): encoder 64 -> Dense 64 relu -> Dense 32 relu -> Dense 2, decoder 2 -> Dense 32
  relu -> Dense 64 relu -> Dense 64 sigmoid; mean squared error; 300 epochs (``--quick``: 5).
* VAE (8-D latent space): encoder 64 -> Dense 64 relu -> Dense 16 (mu, then log sigma^2), decoder 8 -> Dense 64
  relu -> Dense 64 sigmoid; z = mu + exp(log sigma^2 / 2) eps with a fresh eps every step; the loss of a batch
  is the mean over its samples of [the Bernoulli negative log-likelihood summed over the 64 pixels
  (probabilities clipped to [1e-7, 1 - 1e-7]) + KL(N(mu, sigma^2) || N(0, I)) summed over the 8 latent
  dimensions] (``physnn.generative.VAE``'s objective, beta = 1); 100 epochs (``--quick``: 5).

physnn: ``Autoencoder(encoder, decoder, seed=0).compile("adam", "mse")``, ``fit(X, X, epochs, batch_size=32,
verbose=0)`` and ``VAE(encoder, decoder, latent_dim=8, seed=0).compile("adam")``, ``fit(X, epochs, ...)``; its
epochs are timed by a callback that only reads the logs (a ``History``), so the fit loop still queues each next
epoch as it does without callbacks. PyTorch: a plain eager loop over pre-made tensors (no DataLoader), one
``torch.randn`` eps per VAE step, the epoch's loss synced once per epoch, on ``--torch-threads`` threads
(default 1). Keras 3: ``keras.Sequential([encoder, decoder])`` compiled with "mse" for the autoencoder; for the
VAE the keras.io VAE example's pattern (a subclassed ``keras.Model`` with a custom ``train_step`` on a
``tf.GradientTape``, a ``keras.random.SeedGenerator`` for eps), with the loss normalised as above; Keras's
defaults (``jit_compile="auto"``: tf.function graphs without XLA on a CPU-only machine).

The metric column is the final training loss: the last epoch's loss averaged over its samples (each batch's
loss weighted by its size, as physnn's and Keras's logs do); the libraries' seeds and initialisers differ, so
these show equal work, they do not rank the libraries.

Run: ``python benchmarks/bench_generative.py [--quick] [--repeats 2] [--bench autoencoder|vae]
[--only physnn,pytorch] [--torch-threads 1]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SEED = 0
ETA = 1e-3
BATCH = 32
CLIP = 1e-7  # the VAE's Bernoulli probabilities are clipped to [CLIP, 1 - CLIP]

AUTOENCODER = {"problem": "autoencoder", "epochs": 300, "quick_epochs": 5, "code": 2}
VAE = {"problem": "vae", "epochs": 100, "quick_epochs": 5, "latent": 8}

# the final training loss of each fitted model, by id(model): fit records it, score reports it
_FINAL_LOSS: dict[int, float] = {}


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, _, _ = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=SEED)
    return {"X_tr": X_tr.astype(np.float32), "X_te": X_te.astype(np.float32)}


def load_autoencoder_data(args):
    return {**AUTOENCODER, **_digits()}


def load_vae_data(args):
    return {**VAE, **_digits()}


def n_epochs(data, args):
    return data["quick_epochs"] if args.quick else data["epochs"]


def final_loss(model, data, args) -> float:
    return _FINAL_LOSS[id(model)]


# --- physnn -------------------------------------------------------------------------------------------------

_PHYSNN_TICKER = [None]


def physnn_setup(args):
    import physnn  # noqa: F401
    from physnn.callbacks import History

    class EpochTicker(History):
        """Times every epoch. A History only reads the logs, so the fit loop still queues epoch e + 1 before it
        reads epoch e's logs, as in a plain ``fit(..., verbose=0)`` (a LambdaCallback would stop that)."""

        def __init__(self, tick):
            super().__init__()
            self._tick = tick

        def on_epoch_end(self, epoch, logs):
            self._tick()

    _PHYSNN_TICKER[0] = EpochTicker


def physnn_build(data, args):
    from physnn.generative import VAE, Autoencoder
    from physnn.layers import Dense, Input
    from physnn.models import Sequential

    if data["problem"] == "autoencoder":  # physnn.experiments.unsupervised._autoencoder(code, seed)
        code = data["code"]
        encoder = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(32, activation="relu"),
                              Dense(code)])
        decoder = Sequential([Input((code,)), Dense(32, activation="relu"), Dense(64, activation="relu"),
                              Dense(64, activation="sigmoid")])
        return Autoencoder(encoder, decoder, seed=SEED).compile("adam", "mse")
    latent = data["latent"]
    encoder = Sequential([Input((64,)), Dense(64, activation="relu"), Dense(2 * latent)])
    decoder = Sequential([Input((latent,)), Dense(64, activation="relu"), Dense(64, activation="sigmoid")])
    return VAE(encoder, decoder, latent_dim=latent, seed=SEED).compile("adam")


def physnn_fit(model, data, args, tick):
    X = data["X_tr"]
    kwargs = {"epochs": n_epochs(data, args), "batch_size": BATCH, "verbose": 0,
              "callbacks": [_PHYSNN_TICKER[0](tick)]}
    history = model.fit(X, X, **kwargs) if data["problem"] == "autoencoder" else model.fit(X, **kwargs)
    _FINAL_LOSS[id(model)] = history.history["loss"][-1]


def physnn_version():
    import jax

    import physnn

    return f"{physnn.__version__} (jax {jax.__version__})"


# --- PyTorch eager ------------------------------------------------------------------------------------------

def torch_setup(args):
    import torch

    torch.set_num_threads(args.torch_threads)


def torch_build(data, args):
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    if data["problem"] == "autoencoder":
        code = data["code"]
        encoder = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, code))
        decoder = nn.Sequential(nn.Linear(code, 32), nn.ReLU(), nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64),
                                nn.Sigmoid())
    else:
        latent = data["latent"]
        encoder = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2 * latent))
        decoder = nn.Sequential(nn.Linear(latent, 64), nn.ReLU(), nn.Linear(64, 64), nn.Sigmoid())
    model = nn.ModuleDict({"encoder": encoder, "decoder": decoder})
    model.optimizer = torch.optim.Adam(model.parameters(), lr=ETA)
    model.fits = 0
    return model


def _torch_vae_loss(encoder, decoder, xb, eps_generator):
    import torch

    mu, log_var = encoder(xb).chunk(2, dim=-1)
    eps = torch.randn(mu.shape, generator=eps_generator)  # a fresh eps every step
    z = mu + torch.exp(0.5 * log_var) * eps
    p = decoder(z).clamp(CLIP, 1.0 - CLIP)
    nll = -(xb * torch.log(p) + (1.0 - xb) * torch.log1p(-p)).sum(dim=-1)
    kl = -0.5 * (1.0 + log_var - mu.square() - log_var.exp()).sum(dim=-1)
    return (nll + kl).mean()


def torch_fit(model, data, args, tick):
    import torch

    X = torch.from_numpy(data["X_tr"])
    n = len(X)
    encoder, decoder, opt = model["encoder"], model["decoder"], model.optimizer
    # successive fits of one model draw different streams (as physnn's and Keras's do)
    generator = torch.Generator().manual_seed(SEED + 1_000_003 * model.fits)
    model.fits += 1
    if data["problem"] == "autoencoder":
        mse = torch.nn.MSELoss()

        def batch_loss(xb):
            return mse(decoder(encoder(xb)), xb)
    else:
        def batch_loss(xb):
            return _torch_vae_loss(encoder, decoder, xb, generator)

    model.train()
    epoch_loss = float("nan")
    for _ in range(n_epochs(data, args)):
        Xs = X[torch.randperm(n, generator=generator)]
        total = torch.zeros(())
        for i in range(0, n, BATCH):  # Keras's cut: ceil(n / BATCH) batches, the last one smaller
            xb = Xs[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = batch_loss(xb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        epoch_loss = float(total) / n  # the one sync of the epoch
        tick()
    _FINAL_LOSS[id(model)] = epoch_loss


def torch_version():
    import torch

    return f"{torch.__version__}, {torch.get_num_threads()} thread(s)"


# --- Keras 3 ------------------------------------------------------------------------------------------------

def keras_setup(args):
    import os

    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras  # noqa: F401


def _keras_vae_class():
    """The keras.io VAE example's model (custom ``train_step``), with physnn's loss normalisation."""
    import keras
    import tensorflow as tf
    from keras import ops

    class KerasVAE(keras.Model):
        def __init__(self, encoder, decoder, latent_dim, seed, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.loss_tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.loss_tracker]

        def call(self, x, training=False):  # inference: decode the posterior mean
            mu, _ = ops.split(self.encoder(x, training=training), 2, axis=-1)
            return self.decoder(mu, training=training)

        def train_step(self, data):
            x = data[0] if isinstance(data, tuple) else data
            with tf.GradientTape() as tape:
                mu, log_var = ops.split(self.encoder(x, training=True), 2, axis=-1)
                eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
                z = mu + ops.exp(0.5 * log_var) * eps
                p = ops.clip(self.decoder(z, training=True), CLIP, 1.0 - CLIP)
                nll = -ops.sum(x * ops.log(p) + (1.0 - x) * ops.log1p(-p), axis=-1)
                kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)
                loss = ops.mean(nll + kl)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
            self.loss_tracker.update_state(loss, sample_weight=ops.shape(x)[0])  # weighted as Keras's own loss
            return {"loss": self.loss_tracker.result()}

    return KerasVAE


def keras_build(data, args):
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(SEED)
    if data["problem"] == "autoencoder":
        code = data["code"]
        encoder = keras.Sequential([keras.Input((64,)), L.Dense(64, activation="relu"),
                                    L.Dense(32, activation="relu"), L.Dense(code)])
        decoder = keras.Sequential([keras.Input((code,)), L.Dense(32, activation="relu"),
                                    L.Dense(64, activation="relu"), L.Dense(64, activation="sigmoid")])
        model = keras.Sequential([encoder, decoder])
        model.compile(optimizer=keras.optimizers.Adam(ETA), loss="mse")
        return model
    latent = data["latent"]
    encoder = keras.Sequential([keras.Input((64,)), L.Dense(64, activation="relu"), L.Dense(2 * latent)])
    decoder = keras.Sequential([keras.Input((latent,)), L.Dense(64, activation="relu"),
                                L.Dense(64, activation="sigmoid")])
    model = _keras_vae_class()(encoder, decoder, latent, SEED)
    model.compile(optimizer=keras.optimizers.Adam(ETA))
    return model


def keras_fit(model, data, args, tick):
    import keras

    X = data["X_tr"]
    kwargs = {"epochs": n_epochs(data, args), "batch_size": BATCH, "verbose": 0,
              "callbacks": [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tick())]}
    history = model.fit(X, X, **kwargs) if data["problem"] == "autoencoder" else model.fit(X, **kwargs)
    _FINAL_LOSS[id(model)] = float(history.history["loss"][-1])


def keras_version():
    import keras
    import tensorflow as tf

    return f"{keras.__version__} (tf {tf.__version__})"


# --- the benchmark --------------------------------------------------------------------------------------

FRAMEWORKS = [
    H.Framework("physnn", physnn_setup, physnn_build, physnn_fit, final_loss, physnn_version, is_physnn=True),
    H.Framework("pytorch", torch_setup, torch_build, torch_fit, final_loss, torch_version),
    H.Framework("keras", keras_setup, keras_build, keras_fit, final_loss, keras_version),
]

# the targets: per epoch, physnn >= 3x faster than PyTorch eager and >= 5x faster than Keras
TARGETS = [H.Target("epoch", 3.0, ("pytorch",)), H.Target("epoch", 5.0, ("keras",))]

BENCHMARKS = {
    "autoencoder": ("train loss", FRAMEWORKS, TARGETS),
    "vae": ("train loss", FRAMEWORKS, TARGETS),
}
LOADERS = {"autoencoder": load_autoencoder_data, "vae": load_vae_data}


if __name__ == "__main__":
    H.main(__doc__.splitlines()[0], BENCHMARKS, LOADERS)
