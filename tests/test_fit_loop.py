"""The one fit loop (physnn.training.loop) under FFNN and the Keras-style models: callbacks, queueing,
interrupts, divergence and saving of the course network."""

import numpy as np
import pytest

import physnn
from physnn import (
    FFNN,
    LRELU,
    Adam,
    CostCrossEntropy,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ReduceLROnPlateau,
    softmax,
)
from physnn.layers import Dense, Input


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 6))
    return X, np.eye(3)[(X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.7)]


def _net():
    return FFNN((6, 10, 3), LRELU, softmax, CostCrossEntropy, seed=4)


def test_ffnn_scores_do_not_depend_on_whether_the_next_epoch_was_queued():
    X, t = _data()
    queued = _net().fit(X, t, Adam(0.01), batches=4, epochs=6, verbose=False)
    seen = []
    unqueued = _net().fit(X, t, Adam(0.01), batches=4, epochs=6, verbose=False,
                          callbacks=[LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
    assert seen == list(range(6))
    for k in queued:
        np.testing.assert_array_equal(queued[k], unqueued[k])


def test_ffnn_early_stopping_restores_the_best_weights_and_shortens_the_scores():
    X, t = _data()
    net = _net()
    weights_by_epoch = []
    record = LambdaCallback(on_epoch_end=lambda e, logs: weights_by_epoch.append([np.array(W) for W in net.weights]))
    stop = EarlyStopping(monitor="val_error", patience=1, restore_best_weights=True)
    scores = net.fit(X, t, Adam(0.5), batches=6, epochs=40, X_val=X[:20], t_val=t[:20], verbose=False,
                     callbacks=[record, stop])
    ran = len(scores["val_errors"])
    assert ran < 40 and all(len(v) == ran for v in scores.values())
    best = int(np.argmin(scores["val_errors"]))
    for W, W_best in zip(net.weights, weights_by_epoch[best]):
        np.testing.assert_array_equal(W, W_best)


def test_ffnn_reduce_lr_on_plateau_scales_the_learning_rate():
    X, t = _data()
    scales = []
    net = _net()
    plateau = ReduceLROnPlateau(monitor="train_error", factor=0.5, patience=1, min_delta=10.0)  # never improves
    net.fit(X, t, Adam(0.01), batches=4, epochs=6, verbose=False,
            callbacks=[plateau, LambdaCallback(on_epoch_end=lambda e, logs: scales.append(logs["lr_scale"]))])
    assert len(scales) == 6 and scales[-1] <= 0.125 and all(b <= a for a, b in zip(scales, scales[1:]))


def test_ffnn_model_checkpoint_writes_a_network_that_loads(tmp_path):
    X, t = _data()
    net = _net()
    net.fit(X, t, Adam(0.01), batches=4, epochs=3, verbose=False,
            callbacks=[ModelCheckpoint(str(tmp_path / "net-{epoch:02d}.npz"), monitor="train_error")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-01.npz", "net-02.npz", "net-03.npz"]
    loaded = physnn.load_model(tmp_path / "net-03.npz")
    assert isinstance(loaded, FFNN) and loaded.dimensions == net.dimensions
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    again = net.fit(X, t, Adam(0.01), batches=4, epochs=2, verbose=False)
    assert np.array_equal(loaded.fit(X, t, Adam(0.01), batches=4, epochs=2, verbose=False)["train_errors"],
                          again["train_errors"]), "the fit counter must round-trip (same shuffling stream)"


def test_an_ffnn_with_a_user_function_is_refused_by_save(tmp_path):
    net = FFNN((2, 3, 1), hidden_func=lambda z: z * 2, seed=0)
    with pytest.raises(ValueError, match="hidden_func"):
        net.save(tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())


def _interrupt_at(epoch):
    def hook(e, logs):
        if e == epoch:
            raise KeyboardInterrupt
    return LambdaCallback(on_epoch_end=hook)


def test_ctrl_c_leaves_the_ffnn_at_the_last_finished_epoch():
    X, t = _data()
    reference = _net()
    reference.fit(X, t, Adam(0.01), batches=4, epochs=3, verbose=False)
    net = _net()
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, t, Adam(0.01), batches=4, epochs=10, verbose=False, callbacks=[_interrupt_at(2)])
    for W, W_ref in zip(net.weights, reference.weights):
        np.testing.assert_array_equal(W, W_ref)


def test_ctrl_c_leaves_the_model_at_the_last_finished_epoch():
    X, t = _data()

    def model():
        return physnn.Sequential([Input((6,)), Dense(8, activation="relu"), Dense(3, activation="softmax")],
                                 seed=2).compile("adam", "categorical_crossentropy")

    reference = model()
    reference.fit(X, t, epochs=3, batch_size=16, verbose=0)
    interrupted = model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(X, t, epochs=10, batch_size=16, verbose=0, callbacks=[_interrupt_at(2)])
    for a, b in zip(interrupted.layers, reference.layers):
        for key in interrupted.params[a.name]:
            np.testing.assert_array_equal(interrupted.params[a.name][key], reference.params[b.name][key])


def test_one_seeding_formula():
    from physnn.training import fit_seed

    assert fit_seed(7, 0) == 7 and fit_seed(7, 2) == 7 + 2 * 1_000_003 and fit_seed(7, 5, seed=3) == 3
    assert fit_seed(2**32 - 1, 1) == (2**32 - 1 + 1_000_003) % 2**32
