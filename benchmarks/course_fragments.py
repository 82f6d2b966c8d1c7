"""One course fragment on one backend, as the course writes it with only the imports changed (the runner of
``bench_course.py``; see there). Prints one JSON line: {"fragment", "backend", "seed", "metric", "value", "fit_s"}.

    python benchmarks/course_fragments.py keras|physnn FRAGMENT SEED
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BACKEND, FRAGMENT, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3])

if BACKEND == "keras":
    import keras
    from keras import ops, optimizers, regularizers
    from keras.initializers import Ones
    from keras.layers import GRU, LSTM, Dense, Input, SimpleRNN
    from keras.models import Model, Sequential
    from keras.utils import to_categorical
else:
    import physnn as keras
    from physnn import ops, optimizers, regularizers
    from physnn.initializers import Ones
    from physnn.layers import GRU, LSTM, Dense, Input, SimpleRNN
    from physnn.models import Model, Sequential
    from physnn.utils import to_categorical

keras.utils.set_random_seed(SEED)
np.random.seed(SEED)


def _units(n):
    """Keras 3 refuses the course's Dense(hidden_neurons/2) = Dense(125.0); physnn takes it (with a warning)."""
    return int(n) if BACKEND == "keras" else n


# --- AML chapter 13: the RNN extrapolation of the coupled-cluster energies ------------------------------------

y_tot = np.array([-0.03077640549, -0.08336233266, -0.1446729567, -0.2116753732, -0.2830637392, -0.3581341341,
                  -0.436462435, -0.5177783846, -0.6019067271, -0.6887363571, -0.7782028952, -0.8702784034,
                  -0.9649652536, -1.062292565, -1.16231451, -1.265109911, -1.370782966, -1.479465113,
                  -1.591317992, -1.70653767])


def _recurrent(kind, units, layers, activation="tanh", dense_first=False):
    inp = Input(batch_shape=(None, 2, 1))
    h = inp
    if dense_first:
        h = Dense(_units(units / 2), activation="relu", name="dnn")(h)
        h = Dense(_units(units / 2), activation="relu", name="dnn1")(h)
    for i in range(layers):
        h = kind(units, return_sequences=i < layers - 1, activation=activation, name=f"RNN{i}")(h)
    model = Model(inputs=[inp], outputs=[Dense(1, name="dense")(h)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def rnn_extrapolation(architecture):
    model = {"rnn": lambda: _recurrent(SimpleRNN, 200, 1),
             "rnn_2layers": lambda: _recurrent(SimpleRNN, 500, 2, activation="sigmoid"),
             "lstm_2layers": lambda: _recurrent(LSTM, 250, 2),
             "dnn2_gru2": lambda: _recurrent(GRU, 250, 2, dense_first=True)}[architecture]()
    dim = 12
    X = np.array([y_tot[i:i + 2].reshape(2, 1) for i in range(dim - 2)])
    y = y_tot[2:dim]
    t0 = time.perf_counter()
    model.fit(X, y, batch_size=None, epochs=150, verbose=0, validation_split=0.05)
    fit_s = time.perf_counter() - t0
    pred, window = list(y_tot[:dim]), [y_tot[dim - 2], y_tot[dim - 1]]
    for _ in range(dim, len(y_tot)):
        nxt = float(model.predict(np.array(window).reshape(1, 2, 1), verbose=0)[0, 0])
        pred.append(nxt)
        window = [window[1], nxt]
    return "unseen-point MSE", float(np.mean((np.array(pred) - y_tot) ** 2)), fit_s


# --- CP3 week 1: iris; AML: the Keras digits grid --------------------------------------------------------------


def iris():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris().data, to_categorical(load_iris().target)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    scaler = StandardScaler()
    X_train, X_test = scaler.fit_transform(X_train), scaler.transform(X_test)
    model = Sequential([Dense(units=8, input_dim=4, activation="relu"), Dense(units=3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(X_train, y_train, epochs=200, batch_size=8, validation_split=0.2, verbose=0)
    fit_s = time.perf_counter() - t0
    return "test accuracy", float(model.evaluate(X_test, y_test, verbose=0)[1]), fit_s


def digits_grid():
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    digits = datasets.load_digits()
    X_train, X_test, Y_train, Y_test = train_test_split(digits.images.reshape(len(digits.images), -1),
                                                        to_categorical(digits.target), train_size=0.8, test_size=0.2)
    accuracies, fit_s = [], 0.0
    for lmbd in (1e-5, 1e-4, 1e-3):
        model = Sequential()
        model.add(Dense(100, activation="sigmoid", kernel_regularizer=regularizers.l2(lmbd)))
        model.add(Dense(50, activation="sigmoid", kernel_regularizer=regularizers.l2(lmbd)))
        model.add(Dense(10, activation="softmax"))
        model.compile(loss="categorical_crossentropy", optimizer=optimizers.SGD(learning_rate=0.1),
                      metrics=["accuracy"])
        t0 = time.perf_counter()
        model.fit(X_train, Y_train, epochs=100, batch_size=100, verbose=0)
        fit_s += time.perf_counter() - t0
        accuracies.append(model.evaluate(X_test, Y_test, verbose=0)[1])
    return "mean test accuracy, eta 0.1", float(np.mean(accuracies)), fit_s


# --- CP3 week 4: the wave-function networks and the projectile network -----------------------------------------


def _wave_data():
    from sklearn.model_selection import train_test_split

    x = np.array([np.random.rand(200, 1) * 2 for _ in range(10000)])
    y = (np.sqrt(2 / 2) * np.sin(x * 10 * np.pi / 2)) ** 2
    return train_test_split(x, y, test_size=0.2, random_state=42)


def wave(kind):
    X_train, X_test, y_train, y_test = _wave_data()

    def physics_loss(y_true, y_pred):
        loss = ops.mean(ops.square(y_true - y_pred), axis=-1)
        return loss + ops.relu(ops.abs(ops.multiply(ops.mean(y_pred), 2) - 1) - 0.01)

    reg = regularizers.L1(1e-5) if kind == "regularizer" else None
    model = Sequential([Input(shape=(200,))] + [Dense(128, activation="relu", kernel_regularizer=reg)
                                                 for _ in range(5)] + [Dense(200, name="output")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.0001, beta_1=0.9, beta_2=0.999, epsilon=1e-07),
                  loss=physics_loss if kind == "physics" else "mse", metrics=["mse"])
    t0 = time.perf_counter()
    model.fit(X_train, y_train, epochs=100, batch_size=32, validation_split=0.2, verbose=0)
    fit_s = time.perf_counter() - t0
    return "test MSE", float(model.evaluate(X_test, y_test, verbose=0)[1]), fit_s


class PhysicsNet(Model):
    def __init__(self):
        super().__init__()
        self.branch_g = [Dense(units=u, activation="relu") for u in (100, 50, 10, 5)]
        self.branch_v = [Dense(units=u, activation="relu") for u in (100, 50, 10, 5)]
        self.head = Dense(units=1, activation="relu", kernel_initializer=Ones())  # (the course's shared dense2e)

    def call(self, t):
        g, v0 = t, t
        for dense in self.branch_g:
            g = dense(g)
        for dense in self.branch_v:
            v0 = dense(v0)
        g, v0 = self.head(g), self.head(v0)
        return ops.multiply(v0, t) - ops.multiply(ops.multiply(0.5, g), ops.power(t, 2))


def projectile():
    from sklearn.model_selection import train_test_split

    x = np.array([np.random.rand(100) * 5 for _ in range(10000)])
    y = 20 * x - 0.5 * 9.7 * x ** 2
    X_train, X_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = PhysicsNet()
    model.compile(optimizer="adam", loss="mse", metrics=["mse"])
    t0 = time.perf_counter()
    model.fit(X_train, y_train, epochs=10, batch_size=10, validation_split=0.2, verbose=0)
    fit_s = time.perf_counter() - t0
    return "test MSE", float(model.evaluate(X_test, y_test, verbose=0)[1]), fit_s


FRAGMENTS = {
    "rnn": lambda: rnn_extrapolation("rnn"), "rnn_2layers": lambda: rnn_extrapolation("rnn_2layers"),
    "lstm_2layers": lambda: rnn_extrapolation("lstm_2layers"), "dnn2_gru2": lambda: rnn_extrapolation("dnn2_gru2"),
    "iris": iris, "digits_grid": digits_grid, "wave_regularizer": lambda: wave("regularizer"),
    "wave_physics": lambda: wave("physics"), "projectile": projectile,
}

if __name__ == "__main__":
    metric, value, fit_s = FRAGMENTS[FRAGMENT]()
    print(json.dumps({"fragment": FRAGMENT, "backend": BACKEND, "seed": SEED, "metric": metric, "value": value,
                      "fit_s": round(fit_s, 3)}))
