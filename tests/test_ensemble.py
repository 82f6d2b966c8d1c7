"""Replica ensembles (physnn.ensemble) and the losses with measurement errors (physnn.costs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import gammaln

import physnn
from physnn.callbacks import EarlyStopping
from physnn.costs import ChiSquared, poisson_nll
from physnn.ensemble import fit_replicas, replica_data
from physnn.layers import Dense, Input


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    return x, (np.sin(3 * x) + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)


def _model(seed=0, lr=1e-2):
    return physnn.Sequential([Input((1,)), Dense(16, activation="tanh"), Dense(1)], seed=seed).compile(
        physnn.optimizers.Adam(learning_rate=lr), "mse")


@pytest.mark.parametrize("resample", ["bootstrap", "pseudodata", None])
def test_each_replica_equals_the_model_fitted_alone_on_its_data(resample):
    x, y = _data()
    ens = fit_replicas(_model(), x, y, replicas=5, resample=resample, sigma=0.1, seed=7, epochs=12, batch_size=16)
    assert len(ens) == 5 and ens.history["loss"].shape == (12, 5) and ens.finite.all()
    members = ens.members(x)
    for r in (0, 4):
        xr, yr = replica_data(x, y, r, resample, 0.1, 7)
        solo = _model(seed=int(ens.seeds[r]))
        history = solo.fit(xr, yr, epochs=12, batch_size=16, verbose=0)
        np.testing.assert_allclose(solo.predict(x), members[r], rtol=1e-5, atol=1e-6)  # (vmap: ulps)
        np.testing.assert_allclose(history.history["loss"], ens.history["loss"][:, r], rtol=1e-6)
    assert np.std(members[:, :, 0], axis=0).min() > 0  # the replicas differ
    mean, std = ens.predict(x)
    np.testing.assert_allclose(mean, members.mean(0), rtol=1e-6)
    np.testing.assert_allclose(std, members.std(0, ddof=1), rtol=1e-5)


def test_resamplings():
    x, y = _data(200)
    xb, yb = replica_data(x, y, 3, "bootstrap", seed=1)
    assert xb.shape == x.shape and 0.55 < len(np.unique(xb)) / len(x) < 0.72  # 1 - 1/e of the points are drawn
    xp, yp = replica_data(x, y, 3, "pseudodata", sigma=0.5, seed=1)
    np.testing.assert_array_equal(xp, x)
    assert abs(np.std(yp - y) - 0.5) < 0.07
    np.testing.assert_array_equal(replica_data(x, y, 3, "pseudodata", 0.5, 1)[1], yp)
    assert not np.array_equal(replica_data(x, y, 4, "pseudodata", 0.5, 1)[1], yp)
    with pytest.raises(ValueError, match="needs sigma"):
        replica_data(x, y, 0, "pseudodata")
    with pytest.raises(ValueError, match="resample"):
        replica_data(x, y, 0, "jackknife")


def test_early_stopping_acts_on_each_replica_alone():
    x, y = _data(64)
    es = EarlyStopping(patience=3, restore_best_weights=True)
    ens = fit_replicas(_model(), x, y, replicas=6, epochs=300, batch_size=16, seed=5, early_stopping=es,
                       validation_split=0.25)
    assert len(set(ens.stopped_epoch.tolist())) > 1 and np.all(ens.stopped_epoch >= 0)
    members = ens.members(x)
    for r in (1, 2):
        xr, yr = replica_data(x, y, r, "bootstrap", None, 5)
        solo = _model(seed=int(ens.seeds[r]))
        h = solo.fit(xr, yr, epochs=300, batch_size=16, verbose=0, validation_split=0.25,
                     callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
        assert len(h.history["loss"]) == ens.stopped_epoch[r] + 1
        np.testing.assert_allclose(solo.predict(x), members[r], rtol=1e-5, atol=1e-6)  # (vmap: ulps)
        assert np.all(np.isnan(ens.history["loss"][ens.stopped_epoch[r] + 1:, r]))


def test_a_diverging_replica_stops_alone():
    """One target of 1e20 (its square overflows float32): the bootstrap replicas that draw it get an infinite
    loss at once, stop and leave the ensemble; the others (about (1 - 1/n)^n = 37 % of them) train on exactly as
    they would alone."""
    x, y = _data(32)
    y[5] = 1e20
    ens = fit_replicas(_model(), x, y, replicas=12, seed=3, epochs=6, batch_size=32)
    drew = np.array([5 in np.nonzero(np.isin(x[:, 0], replica_data(x, y, r, seed=3)[0][:, 0]))[0]
                     for r in range(12)])
    np.testing.assert_array_equal(ens.finite, ~drew)
    assert 0 < ens.finite.sum() < 12
    r = int(np.nonzero(ens.finite)[0][0])
    solo = _model(seed=int(ens.seeds[r]))
    solo.fit(*replica_data(x, y, r, seed=3), epochs=6, batch_size=32, verbose=0)
    np.testing.assert_allclose(solo.predict(x), ens.members(x)[r], rtol=1e-5, atol=1e-6)
    mean, _ = ens.predict(x)
    np.testing.assert_allclose(mean, ens.members(x)[ens.finite].mean(0), rtol=1e-6)
    assert np.all(np.isfinite(mean))


def test_fit_replicas_refuses_bad_arguments():
    x, y = _data(16)
    with pytest.raises(ValueError, match="replicas"):
        fit_replicas(_model(), x, y, replicas=0)
    with pytest.raises(ValueError, match="compile"):
        fit_replicas(physnn.Sequential([Input((1,)), Dense(1)]), x, y)
    with pytest.raises(ValueError, match="not logged"):
        fit_replicas(_model(), x, y, replicas=2, early_stopping=EarlyStopping(monitor="val_loss"))
    with pytest.raises(ValueError, match="EarlyStopping"):
        fit_replicas(_model(), x, y, replicas=2, early_stopping=3)


def test_chi_squared_per_point_and_with_covariance():
    rng = np.random.default_rng(0)
    y, f = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
    sigma = rng.uniform(0.5, 2.0, 6)
    np.testing.assert_allclose(ChiSquared(sigma)(jnp.asarray(y), jnp.asarray(f)),
                               np.mean(((y - f)[:, 0] / sigma) ** 2), rtol=1e-6)
    A = rng.normal(size=(6, 6))
    C = A @ A.T + 6 * np.eye(6)
    r = (y - f)[:, 0]
    np.testing.assert_allclose(ChiSquared(covariance=C)(jnp.asarray(y), jnp.asarray(f)),
                               r @ np.linalg.solve(C, r) / 6, rtol=1e-5)
    np.testing.assert_allclose(ChiSquared(covariance=np.diag(sigma**2))(jnp.asarray(y), jnp.asarray(f)),
                               ChiSquared(sigma)(jnp.asarray(y), jnp.asarray(f)), rtol=1e-6)
    # gradient against finite differences
    with jax.enable_x64(True):
        loss = ChiSquared(covariance=C)
        g = jax.grad(lambda f: loss(jnp.asarray(y), f))(jnp.asarray(f))
        h = 1e-6
        fd = [(loss(jnp.asarray(y), jnp.asarray(f + h * e)) - loss(jnp.asarray(y), jnp.asarray(f - h * e))) / (2 * h)
              for e in np.eye(6)[:, :, None]]
        np.testing.assert_allclose(np.asarray(g)[:, 0], np.asarray(fd), rtol=1e-6)
    for bad, match in (({"sigma": [1.0, -1.0]}, "> 0"), ({"covariance": [[1.0, 2.0], [2.0, 1.0]]}, "positive"),
                       ({}, "exactly one"), ({"covariance": np.ones((2, 3))}, "square")):
        with pytest.raises(ValueError, match=match):
            ChiSquared(**bad)


def test_chi_squared_fit_needs_the_whole_data_in_order_and_weights_the_points():
    x = np.linspace(-1, 1, 21, dtype=np.float32)[:, None]
    y = (2 * x + 1).astype(np.float32)
    y[0] += 5.0  # an outlier with a large error bar: the chi^2 fit ignores it, the MSE fit does not
    sigma = np.ones(21)
    sigma[0] = 1e3
    fits = {}
    for name, loss in (("chi2", ChiSquared(sigma)), ("mse", "mse")):
        model = physnn.Sequential([Input((1,)), Dense(1)], seed=0).compile(physnn.optimizers.Adam(learning_rate=0.05),
                                                                           loss)
        model.fit(x, y, epochs=600, batch_size=21, shuffle=False, verbose=0)
        fits[name] = float(model.predict(np.array([[0.0]], np.float32))[0, 0])
    assert abs(fits["chi2"] - 1.0) < 0.02 and abs(fits["mse"] - 1.0) > 0.15
    model = physnn.Sequential([Input((1,)), Dense(1)]).compile("adam", ChiSquared(sigma))
    with pytest.raises(ValueError, match="shuffle=False"):
        model.fit(x, y, epochs=1, batch_size=21, verbose=0)
    with pytest.raises(ValueError, match="batch_size=21"):
        model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)


def test_poisson_nll_is_the_poisson_log_likelihood():
    n = np.array([0.0, 1.0, 4.0, 10.0])
    lam = np.array([0.5, 1.5, 3.0, 9.0])
    expected = -np.mean(n * np.log(lam) - lam - gammaln(n + 1))
    np.testing.assert_allclose(poisson_nll(jnp.asarray(n), jnp.asarray(lam)), expected, rtol=1e-6)
    g = jax.grad(lambda lam: poisson_nll(jnp.asarray(n), lam))(jnp.asarray(lam))
    np.testing.assert_allclose(g, (1 - n / lam) / 4, rtol=1e-6)  # zero at lambda = n: the MLE


@pytest.mark.slow
def test_eos_replicas_experiment_band_and_pulls():
    """100 bootstrap replicas of the EoS network: all finite, held-out RMSE ~13 MeV (energies up to 3000 MeV), the
    pulls' width measured 0.56 (the bootstrap band is conservative on this smooth data)."""
    from physnn.experiments.registry import get_experiment

    result = get_experiment("eos_replicas")(seed=0, quick=True)
    m = result.metrics
    assert m["replicas"] == m["finite_replicas"] == 100
    assert m["rmse_test"] < 25 and 0.3 < m["pull_width"] < 1.5 and abs(m["pull_mean"]) < 0.5
    assert 0 < m["relative_band"] < 0.05
    assert set(result.figures) == {"eos_replicas"}
