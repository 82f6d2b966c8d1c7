"""The digits FFNN side by side: physnn ``FFNN`` vs scikit-learn, PyTorch eager and a plain NumPy loop.

Problem (the issue's target): scikit-learn's 8x8 digits, X = pixels / 16, a stratified 80/20 split
(random_state=0); a (64, 100, 30, 10) network, leaky ReLU (slope 0.01) hidden layers, softmax output,
cross-entropy, Adam(1e-3), minibatches of 32, 100 epochs, no weight decay.

* physnn: ``FFNN(..., hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy)``,
  ``fit(X, T, Adam(1e-3), batches=n_train // 32)``: 44 steps per epoch (43 of 32 samples, one of 61), and
  the training cost and accuracy on the whole training set after each epoch (part of FFNN.fit).
* PyTorch eager and NumPy: the same cut into 44 batches, shuffled every epoch, Adam as in the paper.
* scikit-learn ``MLPClassifier``: it has no leaky ReLU, so ReLU; its own cut into 45 batches of <= 32;
  alpha=0, tol=0, no early stopping, ``n_iter_no_change`` large so all 100 epochs run.

Run: ``python benchmarks/bench_ffnn_digits.py [--quick] [--repeats 2]``. Times are explained in _harness.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

DIMENSIONS = (64, 100, 30, 10)
ETA = 1e-3
BATCH = 32
SEED = 0


def epochs(args) -> int:
    return 10 if args.quick else 100


def load_data(args):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=y)
    return {"X_tr": X_tr, "X_te": X_te, "y_tr": y_tr, "y_te": y_te,
            "T_tr": np.eye(10, dtype=np.float32)[y_tr], "batches": len(X_tr) // BATCH}


def course_batches(n: int, batches: int) -> list[slice]:
    """physnn's course_layout: batches - 1 slices of n // batches, the last one taking the remainder."""
    size = n // batches
    return [slice(i * size, (i + 1) * size if i < batches - 1 else n) for i in range(batches)]


def accuracy(proba, y) -> float:
    return float(np.mean(np.argmax(np.asarray(proba), axis=1) == y))


# --- physnn ---------------------------------------------------------------------------------------------

_tick = [None]


def physnn_setup(args):
    import physnn
    import physnn.ffnn
    from physnn.callbacks import ProgressBar

    class EpochTicker(ProgressBar):
        """Stands in for FFNN's progress bar (verbose=True) to time every epoch; draws nothing. (A progress
        bar only reads the logs, so the fit loop still queues each next epoch, as without it.)"""

        def __init__(self, epochs, description=""):
            pass

        def on_train_begin(self, logs=None):
            pass

        def on_epoch_end(self, epoch, logs):
            _tick[0]()

        def on_train_end(self, logs=None):
            pass

    physnn.ffnn.ProgressBar = EpochTicker


def physnn_build(data, args):
    from physnn import FFNN, LRELU, CostCrossEntropy, softmax

    return FFNN(DIMENSIONS, hidden_func=LRELU, output_func=softmax, cost_func=CostCrossEntropy, seed=SEED)


def physnn_fit(model, data, args, tick):
    from physnn import Adam

    _tick[0] = tick
    model.fit(data["X_tr"], data["T_tr"], Adam(ETA), batches=data["batches"], epochs=epochs(args), verbose=True)


def physnn_score(model, data, args):
    return accuracy(model.predict_proba(data["X_te"]), data["y_te"])


def physnn_version():
    import jax

    import physnn

    return f"{physnn.__version__} (jax {jax.__version__})"


# --- scikit-learn -----------------------------------------------------------------------------------------

def sklearn_setup(args):
    import sklearn.neural_network  # noqa: F401


def sklearn_build(data, args):
    from sklearn.neural_network import MLPClassifier

    class TimedMLP(MLPClassifier):
        # called once at the end of every epoch of the stochastic solvers
        def _update_no_improvement_count(self, *a, **k):
            self._tick()
            return super()._update_no_improvement_count(*a, **k)

    model = TimedMLP(hidden_layer_sizes=DIMENSIONS[1:-1], activation="relu", solver="adam", alpha=0.0,
                     batch_size=BATCH, learning_rate_init=ETA, max_iter=epochs(args), shuffle=True,
                     random_state=SEED, tol=0.0, early_stopping=False, n_iter_no_change=10**9)
    return model


def sklearn_fit(model, data, args, tick):
    import warnings

    model._tick = tick
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, as intended
        model.fit(data["X_tr"], data["y_tr"])


def sklearn_score(model, data, args):
    return accuracy(model.predict_proba(data["X_te"]), data["y_te"])


def sklearn_version():
    import sklearn

    return sklearn.__version__


# --- PyTorch eager ----------------------------------------------------------------------------------------

def torch_setup(args):
    import torch

    torch.set_num_threads(args.torch_threads)


def torch_build(data, args):
    import torch

    torch.manual_seed(SEED)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(DIMENSIONS[:-1], DIMENSIONS[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(DIMENSIONS) - 2:
            layers.append(torch.nn.LeakyReLU(0.01))
    model = torch.nn.Sequential(*layers)
    model.optimizer = torch.optim.Adam(model.parameters(), lr=ETA)
    return model


def torch_fit(model, data, args, tick):
    import torch

    X = torch.from_numpy(data["X_tr"])
    y = torch.from_numpy(data["y_tr"]).long()
    n = len(X)
    cuts = course_batches(n, data["batches"])
    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + cross-entropy = softmax output + CostCrossEntropy
    generator = torch.Generator().manual_seed(SEED)
    opt = model.optimizer
    for _ in range(epochs(args)):
        order = torch.randperm(n, generator=generator)
        Xs, ys = X[order], y[order]
        total = torch.zeros(())
        for cut in cuts:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[cut]), ys[cut])
            loss.backward()
            opt.step()
            total += loss.detach() * (cut.stop - cut.start)
        float(total) / n  # the epoch's mean loss, as the others report
        tick()


def torch_score(model, data, args):
    import torch

    with torch.no_grad():
        return accuracy(model(torch.from_numpy(data["X_te"])).numpy(), data["y_te"])


def torch_version():
    import torch

    return f"{torch.__version__}, {torch.get_num_threads()} thread(s)"


# --- plain NumPy ------------------------------------------------------------------------------------------

class NumpyFFNN:
    """Hand-written forward/backward pass and Adam, float32, the course layout of batches."""

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.W = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
                  for a, b in zip(DIMENSIONS[:-1], DIMENSIONS[1:])]
        self.b = [np.zeros(b, np.float32) for b in DIMENSIONS[1:]]
        self.params = self.W + self.b
        self.m = [np.zeros_like(p) for p in self.params]
        self.s = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def forward(self, X):
        activations, a = [X], X
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W + b
            if i < len(self.W) - 1:
                a = np.where(z > 0, z, np.float32(0.01) * z)
            else:
                z = z - z.max(axis=1, keepdims=True)
                e = np.exp(z)
                a = e / e.sum(axis=1, keepdims=True)
            activations.append(a)
        return activations

    def step(self, X, T):
        acts = self.forward(X)
        p = acts[-1]
        loss = -np.sum(T * np.log(p + 1e-12)) / len(X)
        delta = (p - T) / np.float32(len(X))
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for i in range(len(self.W) - 1, -1, -1):
            gW[i] = acts[i].T @ delta
            gb[i] = delta.sum(axis=0)
            if i:
                delta = (delta @ self.W[i].T) * np.where(acts[i] > 0, np.float32(1), np.float32(0.01))
        self.t += 1
        c1, c2 = 1 - 0.9**self.t, 1 - 0.999**self.t
        for p_, g, m, s in zip(self.params, gW + gb, self.m, self.s):
            m *= 0.9
            m += 0.1 * g
            s *= 0.999
            s += 0.001 * g * g
            p_ -= np.float32(ETA) * (m / c1) / (np.sqrt(s / c2) + np.float32(1e-8))
        return loss


def numpy_setup(args):
    pass


def numpy_build(data, args):
    return NumpyFFNN(SEED)


def _numpy_loop(model, data, args, tick, whole_set_scores):
    X, T = data["X_tr"], data["T_tr"]
    n = len(X)
    cuts = course_batches(n, data["batches"])
    for _ in range(epochs(args)):
        order = model.rng.permutation(n)
        Xs, Ts = X[order], T[order]
        total = 0.0
        for cut in cuts:
            total += model.step(Xs[cut], Ts[cut]) * (cut.stop - cut.start)
        if whole_set_scores:
            p = model.forward(X)[-1]
            model.train_error = -np.sum(T * np.log(p + 1e-12)) / n
            model.train_acc = np.mean(np.argmax(p, axis=1) == np.argmax(T, axis=1))
        tick()


def numpy_fit(model, data, args, tick):
    """The bare loop: the batch losses are summed, nothing else is evaluated."""
    _numpy_loop(model, data, args, tick, whole_set_scores=False)


def numpy_course_fit(model, data, args, tick):
    """The same loop plus what the course's ``FFNN.fit`` (and physnn's) does after every epoch: the cost and the
    accuracy on the whole training set."""
    _numpy_loop(model, data, args, tick, whole_set_scores=True)


def numpy_score(model, data, args):
    return accuracy(model.forward(data["X_te"])[-1], data["y_te"])


def numpy_version():
    return np.__version__


FRAMEWORKS = [
    H.Framework("physnn", physnn_setup, physnn_build, physnn_fit, physnn_score, physnn_version, is_physnn=True),
    H.Framework("scikit-learn", sklearn_setup, sklearn_build, sklearn_fit, sklearn_score, sklearn_version),
    H.Framework("pytorch", torch_setup, torch_build, torch_fit, torch_score, torch_version),
    H.Framework("numpy", numpy_setup, numpy_build, numpy_fit, numpy_score, numpy_version),
    H.Framework("numpy-course-fit", numpy_setup, numpy_build, numpy_course_fit, numpy_score, numpy_version),
]

TARGETS = [H.Target("epoch", 2.5), H.Target("warm", 2.0), H.Target("cold", 1.0)]

TITLE = "digits FFNN (64,100,30,10), Adam, batch 32"

if __name__ == "__main__":
    H.main(__doc__.splitlines()[0], {TITLE: ("test acc", FRAMEWORKS, TARGETS)}, {TITLE: load_data})
