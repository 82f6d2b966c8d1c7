"""Keras-style models side by side: physnn ``Sequential`` vs Keras 3 (TensorFlow backend) vs PyTorch eager.

Two problems, each with the same data, architecture, optimiser, epochs and batch size everywhere:

* iris: 4 -> Dense 8 relu -> Dense 3 softmax, categorical cross-entropy, Adam(1e-3), 200 epochs, batch 8,
  validation_split 0.2 (the last 20% of the training part, evaluated after every epoch), inputs
  standardised on the training part, a stratified 20% test split (random_state=0). Metric: test accuracy.
* digits CNN: scikit-learn's 8x8 digits / 16, stratified 80/20 split (random_state=0);
  Conv2D 16 3x3 relu same -> MaxPooling2D 2 -> Conv2D 32 3x3 relu (valid) -> Flatten -> Dense 64 relu ->
  Dense 10 softmax, Adam(1e-3), 30 epochs, batch 32. Metric: test accuracy.

Keras runs on its defaults (``jit_compile="auto"``, which on a CPU-only machine means tf.function graphs
without XLA); PyTorch is a plain eager loop over pre-made tensors (no DataLoader), on the thread count
``--torch-threads`` (default 1, its fastest for models this small on 2 busy cores). Run:
``python benchmarks/bench_models.py [--quick] [--repeats 2] [--bench iris|cnn]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

SEED = 0
ETA = 1e-3


def one_hot(y, k):
    return np.eye(k, dtype=np.float32)[y]


def accuracy(proba, y) -> float:
    return float(np.mean(np.argmax(np.asarray(proba), axis=1) == y))


# --- the two problems ---------------------------------------------------------------------------------------

IRIS = {"epochs": 200, "quick_epochs": 10, "batch": 8, "validation_split": 0.2}
CNN = {"epochs": 30, "quick_epochs": 3, "batch": 32, "validation_split": 0.0}


def load_iris_data(args):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    iris = load_iris()
    X_tr, X_te, y_tr, y_te = train_test_split(iris.data, iris.target, test_size=0.2, random_state=SEED,
                                              stratify=iris.target)
    scaler = StandardScaler().fit(X_tr)
    return {"problem": "iris", **IRIS, "X_tr": scaler.transform(X_tr).astype(np.float32),
            "X_te": scaler.transform(X_te).astype(np.float32), "y_tr": y_tr, "y_te": y_te,
            "Y_tr": one_hot(y_tr, 3)}


def load_digits_images(args):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[..., None]  # [n, 8, 8, 1], channels last
    X_tr, X_te, y_tr, y_te = train_test_split(X, digits.target, test_size=0.2, random_state=SEED,
                                              stratify=digits.target)
    return {"problem": "cnn", **CNN, "X_tr": X_tr, "X_te": X_te, "y_tr": y_tr, "y_te": y_te,
            "Y_tr": one_hot(y_tr, 10)}


def n_epochs(data, args):
    return data["quick_epochs"] if args.quick else data["epochs"]


# --- physnn -------------------------------------------------------------------------------------------------

def physnn_setup(args):
    import physnn  # noqa: F401


def physnn_build(data, args):
    from physnn import Input, Sequential
    from physnn.layers import Conv2D, Dense, Flatten, MaxPooling2D

    if data["problem"] == "iris":
        layers = [Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")]
    else:
        layers = [Input((8, 8, 1)), Conv2D(16, 3, padding="same", activation="relu"), MaxPooling2D(2),
                  Conv2D(32, 3, activation="relu"), Flatten(), Dense(64, activation="relu"),
                  Dense(10, activation="softmax")]
    model = Sequential(layers, seed=SEED)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def physnn_fit(model, data, args, tick):
    from physnn import LambdaCallback

    model.fit(data["X_tr"], data["Y_tr"], epochs=n_epochs(data, args), batch_size=data["batch"],
              validation_split=data["validation_split"], verbose=0,
              callbacks=[LambdaCallback(on_epoch_end=lambda epoch, logs: tick())])


def physnn_score(model, data, args):
    return accuracy(model.predict(data["X_te"]), data["y_te"])


def physnn_version():
    import jax

    import physnn

    return f"{physnn.__version__} (jax {jax.__version__})"


# --- Keras 3 ------------------------------------------------------------------------------------------------

def keras_setup(args):
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras  # noqa: F401


def keras_build(data, args):
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(SEED)
    if data["problem"] == "iris":
        stack = [keras.Input((4,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")]
    else:
        stack = [keras.Input((8, 8, 1)), L.Conv2D(16, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
                 L.Conv2D(32, 3, activation="relu"), L.Flatten(), L.Dense(64, activation="relu"),
                 L.Dense(10, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(optimizer=keras.optimizers.Adam(ETA), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def keras_fit(model, data, args, tick):
    import keras

    model.fit(data["X_tr"], data["Y_tr"], epochs=n_epochs(data, args), batch_size=data["batch"],
              validation_split=data["validation_split"], verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tick())])


def keras_score(model, data, args):
    return accuracy(model.predict(data["X_te"], verbose=0), data["y_te"])


def keras_version():
    import keras
    import tensorflow as tf

    return f"{keras.__version__} (tf {tf.__version__})"


# --- PyTorch eager ------------------------------------------------------------------------------------------

def torch_setup(args):
    import torch

    torch.set_num_threads(args.torch_threads)


def torch_build(data, args):
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    if data["problem"] == "iris":
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3),
                              nn.ReLU(), nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    model.optimizer = torch.optim.Adam(model.parameters(), lr=ETA)
    return model


def _torch_x(data, X):
    import torch

    X = torch.from_numpy(X)
    return X.permute(0, 3, 1, 2).contiguous() if data["problem"] == "cnn" else X  # NCHW


def torch_fit(model, data, args, tick):
    import torch

    X, y = _torch_x(data, data["X_tr"]), torch.from_numpy(data["y_tr"]).long()
    n = len(X)
    split = int(n * (1 - data["validation_split"]))  # Keras's rule: the last n - split samples validate
    X, X_val, y, y_val = X[:split], X[split:], y[:split], y[split:]
    bs = data["batch"]
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + NLL = softmax output + categorical cross-entropy
    generator = torch.Generator().manual_seed(SEED)
    opt = model.optimizer
    for _ in range(n_epochs(data, args)):
        model.train()
        order = torch.randperm(split, generator=generator)
        Xs, ys = X[order], y[order]
        total, correct = torch.zeros(()), torch.zeros(())
        for i in range(0, split, bs):
            opt.zero_grad(set_to_none=True)
            out = model(Xs[i:i + bs])
            loss = loss_fn(out, ys[i:i + bs])
            loss.backward()
            opt.step()
            total += loss.detach() * len(out)
            correct += (out.detach().argmax(1) == ys[i:i + bs]).sum()
        logs = {"loss": float(total) / split, "accuracy": float(correct) / split}
        if len(X_val):
            model.eval()
            with torch.no_grad():
                out = model(X_val)
                logs.update(val_loss=float(loss_fn(out, y_val)), val_accuracy=float((out.argmax(1) == y_val)
                                                                                    .float().mean()))
        tick()


def torch_score(model, data, args):
    import torch

    model.eval()
    with torch.no_grad():
        return accuracy(model(_torch_x(data, data["X_te"])).numpy(), data["y_te"])


def torch_version():
    import torch

    return f"{torch.__version__}, {torch.get_num_threads()} thread(s)"


# --- the benchmark --------------------------------------------------------------------------------------

FRAMEWORKS = [
    H.Framework("physnn", physnn_setup, physnn_build, physnn_fit, physnn_score, physnn_version, is_physnn=True),
    H.Framework("keras", keras_setup, keras_build, keras_fit, keras_score, keras_version),
    H.Framework("pytorch", torch_setup, torch_build, torch_fit, torch_score, torch_version),
]

TARGETS = [H.Target("epoch", 5.0, ("keras",)), H.Target("epoch", 2.0, ("pytorch",)),
           H.Target("warm", 3.0, ("keras",)), H.Target("warm", 1.0, ("pytorch",))]

BENCHMARKS = {
    "iris": ("test acc", FRAMEWORKS, TARGETS),
    "cnn": ("test acc", FRAMEWORKS, TARGETS),
}
LOADERS = {"iris": load_iris_data, "cnn": load_digits_images}



if __name__ == "__main__":
    H.main(__doc__.splitlines()[0], BENCHMARKS, LOADERS)
