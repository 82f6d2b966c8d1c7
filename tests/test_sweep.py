"""Sweeps on Optuna (physnn.sweep): spaces, batched learning-rate trials in one program, pruning, a study shared
by two worker processes through SQLite, and `physnn sweep CONFIG.toml`."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import physnn  # noqa: E402
from physnn.layers import Dense, Input  # noqa: E402
from physnn.sweep import PruningCallback, check_space, learning_rate_objective, study_table, sweep  # noqa: E402


def test_space_ranges_and_their_checks():
    space = {"lr": ("log", 1e-4, 1e-1), "rate": (0.0, 0.5), "units": ("int", 8, 64), "act": ["relu", "tanh"]}
    study = sweep(lambda p: (np.log10(p["lr"]) + 2) ** 2 + p["rate"], 12, space=space, seed=1, sampler="random")
    for t in study.trials:
        p = t.params
        assert 1e-4 <= p["lr"] <= 1e-1 and 0 <= p["rate"] <= 0.5 and 8 <= p["units"] <= 64
        assert isinstance(p["units"], int) and p["act"] in ("relu", "tanh")
    again = sweep(lambda p: (np.log10(p["lr"]) + 2) ** 2 + p["rate"], 12, space=space, seed=1, sampler="random")
    assert [t.params for t in again.trials] == [t.params for t in study.trials]  # the seed fixes the points
    for bad in ({"lr": (1.0, 0.1)}, {"lr": ("log", 0.0, 1.0)}, {"n": ("int", 1.5, 3)}, {"a": []}, {}):
        with pytest.raises(ValueError, match="space"):
            check_space(bad)
    with pytest.raises(ValueError, match="sampler"):
        sweep(lambda p: 0.0, 1, space={"x": (0, 1)}, sampler="grid")
    with pytest.raises(ValueError, match="needs space"):
        sweep(lambda t: 0.0, 2, batch=2)


def test_tpe_finds_the_minimum_of_a_quadratic():
    study = sweep(lambda p: (p["x"] - 0.3) ** 2, 40, space={"x": (-2.0, 2.0)}, seed=0)
    assert abs(study.best_params["x"] - 0.3) < 0.1


def test_tpe_startup_trials_are_random_then_the_model_concentrates():
    """``startup_trials``: TPE's random first trials (Optuna's n_startup_trials); after them the trials gather
    around the minimum, so a short sweep with few startup trials ends nearer it than an all-random one."""
    def distances(startup):
        study = sweep(lambda p: (p["x"] - 0.3) ** 2, 20, space={"x": (-2.0, 2.0)}, seed=0, startup_trials=startup)
        return np.abs(np.array([t.params["x"] for t in study.trials]) - 0.3)

    few, all_random = distances(4), distances(20)
    np.testing.assert_array_equal(few[:4], all_random[:4])  # the same seeded random start
    assert not np.array_equal(few[4:], all_random[4:])  # then TPE's model draws
    assert np.median(few[10:]) < 0.7 * np.median(all_random[10:])
    with pytest.raises(ValueError, match="startup_trials"):
        sweep(lambda p: p["x"], 2, space={"x": (0.0, 1.0)}, startup_trials=-1)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype(np.float32)
    return x, np.tanh(x @ np.array([[1.0], [-0.5], [0.3], [0.8]], np.float32))


def _net(lr=1e-3, seed=0):
    return physnn.Sequential([Input((4,)), Dense(16, activation="tanh"), Dense(1)], seed=seed).compile(
        physnn.optimizers.Adam(learning_rate=lr), "mse")


def test_a_batch_of_learning_rate_trials_equals_each_trial_fitted_alone():
    x, y = _data()
    fit = {"epochs": 10, "batch_size": 32, "validation_split": 0.25}
    objective = learning_rate_objective(_net(), x, y, seed=3, **fit)
    study = sweep(objective, 6, space={"learning_rate": ("log", 1e-4, 1e-1)}, batch=3, seed=0, sampler="random")
    assert len(study.trials) == 6 and all(t.state.name == "COMPLETE" for t in study.trials)
    for t in study.trials[:3] + study.trials[4:5]:
        alone = _net(t.params["learning_rate"], seed=3 + t.number % 3)
        value = alone.fit(x, y, verbose=0, **fit).history["val_loss"][-1]
        assert value == pytest.approx(t.value, rel=1e-4)
    with pytest.raises(ValueError, match="learning_rate is a number"):
        learning_rate_objective(_net().compile(physnn.optimizers.Adam(learning_rate=physnn.optimizers.
                                                                       ExponentialDecay(1e-3, 10, 0.9)), "mse"),
                                x, y)


def test_pruning_stops_hopeless_learning_curves():
    x, y = _data()

    def objective(trial):
        lr = [1e-2] * 5 + [1e-6] * 2  # (Optuna's median pruner starts after 5 trials)
        lr = lr[trial.number]
        history = _net(lr).fit(x, y, epochs=15, batch_size=32, validation_split=0.25, verbose=0,
                               callbacks=[PruningCallback(trial)])
        return history.history["val_loss"][-1]

    study = sweep(objective, 7, seed=0, sampler="random")
    states = [t.state.name for t in study.trials]
    assert states[:5] == ["COMPLETE"] * 5 and states[5:] == ["PRUNED"] * 2, states
    assert all(len(t.intermediate_values) < 15 for t in study.trials[5:])  # stopped early
    assert "PRUNED" in study_table(study)


WORKER = textwrap.dedent('''
    import sys
    import numpy as np
    from physnn.sweep import sweep
    storage, worker = sys.argv[1], int(sys.argv[2])
    sweep(lambda p: (p["x"] - 1.0) ** 2 + p["y"] ** 2, 8, space={"x": (-3.0, 3.0), "y": (-3.0, 3.0)},
          storage=storage, study_name="shared", seed=worker, sampler="random")
''')


@pytest.mark.slow
def test_two_workers_share_one_sqlite_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    optuna.create_study(storage=storage, study_name="shared")  # (created once: no race on the schema)
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, storage, str(w)], stderr=subprocess.PIPE, text=True)
               for w in range(2)]
    for w in workers:
        assert w.wait(timeout=300) == 0, w.stderr.read()[-2000:]
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert len(trials) == 16 and sorted(t.number for t in trials) == list(range(16))
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == 16  # each worker its own seed: no repeats


def test_the_sweep_command_runs_a_toml_config(tmp_path):
    (tmp_path / "my_objective.py").write_text("def f(p):\n    return (p['x'] - 0.5) ** 2 + p['k']\n")
    (tmp_path / "sweep.toml").write_text(textwrap.dedent('''
        objective = "my_objective:f"
        n_trials = 10
        seed = 0
        sampler = "random"
        storage = "sqlite:///study.db"
        study_name = "cli"
        [space]
        x = [0.0, 1.0]
        k = {choices = [0, 1]}
    '''))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "physnn", "sweep", "sweep.toml", "--out", "report"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "report" / "index.html").exists()
    table = next((tmp_path / "report").rglob("trials.csv")).read_text()
    assert table.count("COMPLETE") == 10
    assert len(optuna.load_study(study_name="cli", storage=f"sqlite:///{tmp_path / 'study.db'}").trials) == 10
    (tmp_path / "bad.toml").write_text('objective = "my_objective:f"\nn_trials = 2\nspace = {x = 3}\n')
    bad = subprocess.run([sys.executable, "-m", "physnn", "sweep", "bad.toml"], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "space.x" in bad.stderr


@pytest.mark.slow
def test_lr_sweep_experiment():
    """16 learning rates of the digits network trained together; the best refitted alone gives its trial's
    accuracy; the warm sweep measured 1.2-1.4 s (issue target 1.5 s on 2 cores; not asserted: a timing)."""
    from physnn.experiments.registry import get_experiment

    result = get_experiment("lr_sweep")(seed=0, quick=True)
    m = result.metrics
    assert m["trials"] == 16 and m["best_val_accuracy"] >= 0.95
    assert m["refit_alone_val_accuracy"] == pytest.approx(m["best_val_accuracy"], abs=1e-3)
    assert 1e-4 <= m["best_learning_rate"] <= 1e-1
    assert result.tables["trials"].count("COMPLETE") == 16
