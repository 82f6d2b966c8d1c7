"""Hyperparameters traced into one vmapped program (physnn.hyperparameters): k trials of a dropout rate, an L2
factor, a reservoir's leak rate or a ridge train together and each equals its trial fitted alone."""

import jax
import numpy as np
import pytest

import physnn
from physnn.ensemble import fit_replicas
from physnn.hyperparameters import bound, check_binding, check_values, hyperparameter
from physnn.layers import Dense, Dropout, GaussianNoise, Input
from physnn.regularizers import L2
from physnn.reservoir import Reservoir, RidgeReadoutLoss


def _table_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    return x, (np.sin(2 * x[:, :1]) * x[:, 1:2] + 0.05 * rng.standard_normal((n, 1))).astype(np.float32)


def _sequence_data(n=32, T=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, T, 1)).astype(np.float32)
    return x, (x[:, -3, :] * x[:, -1, :]).astype(np.float32)


def _dropout(seed, value):
    drop = Dropout(value)
    model = physnn.Sequential([Input((3,)), Dense(16, activation="tanh"), drop, Dense(1)], seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=1e-2), "mse"), drop, "rate"


def _noise(seed, value):
    noise = GaussianNoise(value)
    model = physnn.Sequential([Input((3,)), noise, Dense(16, activation="tanh"), Dense(1)], seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=1e-2), "mse"), noise, "stddev"


def _l2(seed, value):
    penalty = L2(value)
    model = physnn.Sequential([Input((3,)), Dense(16, activation="tanh", kernel_regularizer=penalty), Dense(1)],
                              seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=1e-2), "mse"), penalty, "l2"


def _leak(seed, value):
    reservoir = Reservoir(12, leak_rate=value, density=0.5, return_sequences=False, seed=1)
    model = physnn.Sequential([Input((30, 1)), reservoir, Dense(1)], seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=1e-2), "mse"), reservoir, "leak_rate"


def _ridge(seed, value):
    loss = RidgeReadoutLoss(value, warmup=5, split=20)
    model = physnn.Sequential([Input((29, 1)), Reservoir(12, density=0.5, train=("leak", "radius"), seed=1)],
                              seed=seed)
    return model.compile(physnn.optimizers.Adam(learning_rate=3e-2), loss), loss, "ridge"


def _ridge_data():
    x, _ = _sequence_data(n=1)
    return x[:, :-1], x[:, 1:]


CASES = {
    "dropout": (_dropout, (0.0, 0.2, 0.5), _table_data, {"batch_size": 16, "validation_split": 0.25}),
    "stddev": (_noise, (0.0, 0.1, 0.5), _table_data, {"batch_size": 16, "validation_split": 0.25}),
    "l2": (_l2, (0.0, 1e-3, 1e-1), _table_data, {"batch_size": 16, "validation_split": 0.25}),
    "leak_rate": (_leak, (0.1, 0.5, 1.0), _sequence_data, {"batch_size": 8}),
    "ridge": (_ridge, (1e-6, 1e-3, 1e-1), _ridge_data, {"batch_size": 1, "shuffle": False}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_trials_equal_each_trial_fitted_alone(name):
    build, values, data, fit = CASES[name]
    x, y = data()
    model, owner, attribute = build(7, values[0])
    ensemble = fit_replicas(model, x, y, replicas=3, resample=None, seed=7, epochs=6,
                            hyperparameters={name: (owner, attribute, values)}, **fit)
    assert getattr(owner, attribute) == values[0]  # the attribute itself is left as it was
    losses = ensemble.history["loss"]
    for r, value in enumerate(values):
        solo, _, _ = build(7 + r, value)
        history = solo.fit(x, y, epochs=6, verbose=0, **fit).history
        np.testing.assert_allclose(losses[:, r], history["loss"], rtol=2e-5, atol=1e-7)
    assert not np.allclose(losses[-1, 0], losses[-1, 2])  # the values made a difference


def test_an_ensemble_predicts_with_each_replica_s_own_traced_values():
    x, y = _sequence_data()
    values = (0.1, 0.5, 1.0)
    model, owner, attribute = _leak(7, values[0])
    ensemble = fit_replicas(model, x, y, replicas=3, resample=None, seed=7, epochs=3, batch_size=8,
                            hyperparameters={"leak": (owner, attribute, values)})
    members = ensemble.members(x[:5])
    for r, value in enumerate(values):  # replica r's parameters through the model with leak_rate = values[r]
        owner.leak_rate = value
        params = jax.tree_util.tree_map(lambda p, r=r: p[r], ensemble.params)
        np.testing.assert_allclose(members[r], np.asarray(model.forward(params, {}, x[:5], None, False)[0]),
                                   rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[0], members[2], atol=1e-3)


def test_a_sweep_batch_of_dropout_and_l2_trials_equals_the_trials_alone():
    pytest.importorskip("optuna")
    from physnn.sweep import hyperparameter_objective, sweep

    x, y = _table_data()
    drop, penalty = Dropout(0.1), L2(1e-3)
    model = physnn.Sequential([Input((3,)), Dense(16, activation="tanh", kernel_regularizer=penalty), drop,
                               Dense(1)], seed=3).compile(physnn.optimizers.Adam(learning_rate=1e-2), "mse")
    fit = {"epochs": 5, "batch_size": 16, "validation_split": 0.25}
    objective = hyperparameter_objective(model, x, y, {"dropout": (drop, "rate"), "l2": (penalty, "l2"),
                                                       "lr": "learning_rate"}, seed=3, **fit)
    study = sweep(objective, 4, space={"dropout": (0.0, 0.5), "l2": ("log", 1e-5, 1e-1), "lr": ("log", 1e-3, 1e-1)},
                  batch=2, seed=0, sampler="random")
    assert len(study.trials) == 4
    for t in study.trials:
        d2, p2 = Dropout(t.params["dropout"]), L2(t.params["l2"])
        alone = physnn.Sequential([Input((3,)), Dense(16, activation="tanh", kernel_regularizer=p2), d2, Dense(1)],
                                  seed=3 + t.number % 2).compile(physnn.optimizers.Adam(learning_rate=t.params["lr"]),
                                                                 "mse")
        assert alone.fit(x, y, verbose=0, **fit).history["val_loss"][-1] == pytest.approx(t.value, rel=1e-4)


def test_binding_checks_and_the_context():
    drop = Dropout(0.3)
    assert hyperparameter(drop, "rate") == 0.3
    with bound({"d": (drop, "rate")}, {"d": 0.7}):
        assert hyperparameter(drop, "rate") == 0.7
    assert hyperparameter(drop, "rate") == 0.3
    with pytest.raises(ValueError, match="no numeric attribute 'rat'"):
        check_binding({"d": (drop, "rat")})
    with pytest.raises(ValueError, match=r"\(owner, attribute name\)"):
        check_binding({"d": drop})
    with pytest.raises(ValueError, match=r"Reservoir.spectral_radius cannot be traced.*\['leak_rate'\]"):
        check_binding({"r": (Reservoir(8, seed=0), "spectral_radius")})  # (read only while the matrices are drawn)
    with pytest.raises(ValueError, match="leak_rate cannot be traced.*none"):
        check_binding({"r": (Reservoir(8, train=("leak",), seed=0), "leak_rate")})  # (trained: read from params)
    for owner, attribute, bad in [(drop, "rate", 1.0), (L2(0.1), "l2", -1e-3), (Reservoir(8, seed=0), "leak_rate", 0.0),
                                  (RidgeReadoutLoss(1e-6, 1, 2), "ridge", float("nan"))]:
        binding = check_binding({"h": (owner, attribute)})
        check_values(binding, {"h": getattr(owner, attribute)})
        with pytest.raises(ValueError, match=f"'h'.*{attribute} must be in"):
            check_values(binding, {"h": [getattr(owner, attribute), bad]})
    model, owner, attribute = _dropout(0, 0.1)
    x, y = _table_data()
    with pytest.raises(ValueError, match="3 finite numbers"):
        fit_replicas(model, x, y, replicas=3, resample=None, hyperparameters={"d": (owner, attribute, [0.1, 0.2])})


def test_a_sweep_objective_checks_its_targets_when_made():
    from physnn.sweep import hyperparameter_objective

    model, drop, _ = _dropout(0, 0.1)
    x, y = _table_data()
    with pytest.raises(ValueError, match="one 'learning_rate' target at most"):
        hyperparameter_objective(model, x, y, {"a": "learning_rate", "b": "learning_rate"})
    with pytest.raises(ValueError, match="one 'learning_rate' target at most"):
        hyperparameter_objective(model, x, y, {"a": "lr"})
    with pytest.raises(ValueError, match="no numeric attribute 'rat'"):
        hyperparameter_objective(model, x, y, {"d": (drop, "rat")})
    objective = hyperparameter_objective(model, x, y, {"d": (drop, "rate")}, monitor="loss", epochs=1)
    with pytest.raises(ValueError, match="Dropout.rate must be in"):
        objective([{"d": 0.2}, {"d": 1.5}])
