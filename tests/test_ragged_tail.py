"""The ragged last batch folded into the epoch's scan: padded to the batch size with zero-weight samples, its loss
and gradient are those of the unpadded batch, and a fit with the fold equals a fit without it; models whose
samples are not independent (batch statistics, state, add_loss, a user's loss or call) keep the separate step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn
from physnn.layers import LSTM, BatchNormalization, Concatenate, Conv1D, Dense, Dropout, Flatten, Input, MaxPooling1D
from physnn.losses import Huber


def _data(n=70, shape=(3,), classes=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    s = x.reshape(n, -1)
    if classes is None:
        return x, (np.sin(s[:, :1]) * s[:, 1:2]).astype(np.float32)
    labels = (np.argmax(s[:, :classes], axis=1)).astype(np.int32)
    return x, labels


def _mlp(loss="mse", metrics=("mae",), outputs=1, activation=None):
    model = physnn.Sequential([Input((3,)), Dense(16, activation="tanh"), Dense(outputs, activation=activation)],
                              seed=1)
    return model.compile(physnn.optimizers.Adam(learning_rate=1e-2), loss, metrics=list(metrics))


def _functional():
    a, b = Input((3,)), Input((3,))
    y = Dense(1)(Concatenate()([Dense(8, activation="tanh")(a), Dense(8, activation="relu")(b)]))
    return physnn.Model([a, b], y, seed=2).compile(physnn.optimizers.Adam(learning_rate=1e-2), Huber(), ["mse"])


def _conv():
    model = physnn.Sequential([Input((12, 2)), Conv1D(4, 3, activation="relu"), MaxPooling1D(2), Flatten(),
                               Dense(1)], seed=3)
    return model.compile(physnn.optimizers.SGD(learning_rate=0.05, momentum=0.9), "mae")


def _lstm():
    model = physnn.Sequential([Input((6, 2)), LSTM(5), Dense(1)], seed=4)
    return model.compile(physnn.optimizers.RMSprop(learning_rate=1e-2), "mse")


CASES = {
    "mlp_mse": (_mlp, lambda: _data()),
    "mlp_sparse_crossentropy": (lambda: _mlp("sparse_categorical_crossentropy", ("accuracy",), 3, "softmax"),
                                lambda: _data(classes=3)),
    "functional_huber": (_functional, lambda: (lambda x, y: ([x, x[::-1].copy()], y))(*_data())),
    "conv": (_conv, lambda: _data(shape=(12, 2))),
    "lstm": (_lstm, lambda: _data(shape=(6, 2))),
}


def _unfolded(model):
    model._pads_ragged_batch = lambda: False  # (the separate tail step, as every model had before the fold)
    return model


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fit_with_the_tail_folded_equals_the_fit_without(name):
    build, data = CASES[name]
    x, y = data()
    folded, plain = build(), _unfolded(build())
    assert folded._pads_ragged_batch()
    h1 = folded.fit(x, y, epochs=4, batch_size=16, verbose=0).history  # 70 = 4 x 16 + a tail of 6
    h2 = plain.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    assert h1.keys() == h2.keys()
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=2e-5, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree_util.tree_leaves(folded.params), jax.tree_util.tree_leaves(plain.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(folded.evaluate(x, y, verbose=0), plain.evaluate(x, y, verbose=0), rtol=1e-4)


def test_the_padded_batch_has_the_loss_and_gradient_of_the_unpadded_one():
    with jax.enable_x64(True):
        model = physnn.Sequential([Input((3,)), Dense(8, activation="tanh", kernel_regularizer="l2"), Dense(3,
                                   activation="softmax")], seed=5)
        model.compile(physnn.optimizers.Adam(), "categorical_crossentropy", metrics=["accuracy"])
        x, labels = _data(n=6, classes=3)
        x, y = jnp.asarray(x, jnp.float64), jnp.asarray(np.eye(3)[labels])
        params = jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), model.params)
        pad = np.arange(4)  # 6 real samples and 4 zero-weight copies of the first ones
        xp, yp = jnp.concatenate([x, x[pad]]), jnp.concatenate([y, y[pad]])
        w = jnp.asarray([1.0] * 6 + [0.0] * 4)

        def unpadded(p):
            loss, (_, metrics, _) = model._objective(p, {}, x, y, None, True)
            return loss, metrics

        def padded(p):
            loss, (_, metrics, _) = model._masked_objective(p, {}, xp, yp, None, True, w)
            return loss, metrics

        (l1, m1), g1 = jax.value_and_grad(unpadded, has_aux=True)(params)
        (l2, m2), g2 = jax.value_and_grad(padded, has_aux=True)(params)
        np.testing.assert_allclose(l2, l1, rtol=1e-13)
        np.testing.assert_allclose(m2["accuracy"], m1["accuracy"], rtol=1e-13)
        for a, b in zip(jax.tree_util.tree_leaves(g2), jax.tree_util.tree_leaves(g1)):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


class _Subclassed(physnn.Module):
    def __init__(self):
        super().__init__(seed=0)
        self.dense = Dense(1)

    def call(self, inputs, training=False):
        return self.dense(inputs - jnp.mean(inputs, axis=0, keepdims=True))  # (mixes the samples of a batch)


def _bn():
    return physnn.Sequential([Input((3,)), Dense(4), BatchNormalization(), Dense(1)], seed=0).compile("adam", "mse")


@pytest.mark.parametrize("build, folds", [
    (lambda: _mlp(), True),
    (lambda: physnn.Sequential([Input((3,)), Dense(4), Dropout(0.2), Dense(1)]).compile("adam", "mse"), True),
    (_bn, False),  # batch statistics
    (lambda: _mlp(loss=lambda y, p: jnp.mean((y - p) ** 2) / jnp.var(y)), False),  # a user's loss
    (lambda: _mlp(metrics=(lambda y, p: jnp.max(jnp.abs(y - p)),)), False),  # a user's metric
    (lambda: physnn.Sequential([Input((3,)), Dense(1, activity_regularizer="l2")]).compile("adam", "mse"), False),
    (lambda: _Subclassed().compile("adam", "mse"), False),  # a subclass's call
])
def test_only_models_of_independent_samples_and_mean_losses_fold_the_tail(build, folds):
    model = build()
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model._pads_ragged_batch() is folds


def test_a_stateful_model_keeps_the_separate_tail_step():
    model = physnn.Sequential([Input((6, 2), batch_size=4), LSTM(2, stateful=True), Dense(1)]).compile("adam", "mse")
    x, y = _data(n=8, shape=(6, 2))
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert not model._pads_ragged_batch()
