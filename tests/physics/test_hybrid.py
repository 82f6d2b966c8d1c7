"""HybridModel F = rho + G (eq. 4.9): shapes, the network-alone baseline, bad input."""

import numpy as np
import pytest

from physnn.experiments.physics import HYBRID_N, HYBRID_T, damped_exact
from physnn.physics.hybrid import HybridModel


def _data(seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, HYBRID_T, HYBRID_N))
    return t, damped_exact(t, 0.1)


def test_hybrid_with_the_exact_physics_keeps_the_network_near_zero():
    t, y = _data()
    model = HybridModel(lambda t: damped_exact(t, 0.1), hidden=(32, 32)).fit(t, y, epochs=2000, seed=0)
    t_test = np.linspace(0, HYBRID_T, 200)
    pred = model.predict(t_test)
    assert pred.shape == (200,)
    assert np.max(np.abs(pred - damped_exact(t_test, 0.1))) < 1e-2  # G learns r = 0 (Adam's floor)
    assert model.network(t_test).shape == (200, 1)
    np.testing.assert_allclose(model.network(t_test)[:, 0], pred - damped_exact(t_test, 0.1), atol=1e-12)


def test_network_alone_fits_its_training_points():
    t, y = _data()  # the experiment's shapes and settings: the compiled trainer is shared
    model = HybridModel(None, hidden=(32, 32)).fit(t, y, epochs=2000, seed=0)
    assert model.predict(t).shape == (HYBRID_N,)
    assert np.max(np.abs(model.predict(t) - y)) < 0.05
    assert model.loss_history.shape == (2000,) and model.loss_history[-1] < 1e-2 * model.loss_history[0]


def test_bad_input():
    t, y = _data()
    with pytest.raises(ValueError, match="before fit"):
        HybridModel(np.cos).predict(t)
    with pytest.raises(ValueError, match="physics_fn must return the shape of y"):
        HybridModel(lambda t: np.zeros((len(t), 3))).fit(t, y, epochs=5)
    with pytest.raises(ValueError, match="same number of samples"):
        HybridModel(np.cos).fit(t, y[:-1], epochs=5)
    with pytest.raises(ValueError, match="physics_fn"):
        HybridModel(physics_fn=3.0)
    with pytest.raises(ValueError, match="hidden"):
        HybridModel(np.cos, hidden=())
    with pytest.raises(ValueError, match="epochs"):
        HybridModel(np.cos).fit(t, y, epochs=0)


def test_two_dimensional_inputs_and_targets_keep_their_shapes():
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = np.stack([x[:, 0], x[:, 1] ** 2], axis=1)
    model = HybridModel(lambda x: 0.5 * y_of(x), hidden=(4,)).fit(x, y, epochs=3, seed=0)
    assert model.predict(x).shape == (6, 2) and model.network(x).shape == (6, 2)
    np.testing.assert_allclose(model.predict(x) - model.network(x), 0.5 * y_of(x), atol=1e-12)


def y_of(x):
    return np.stack([x[:, 0], x[:, 1] ** 2], axis=1)
