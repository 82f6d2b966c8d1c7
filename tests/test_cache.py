"""The compilation caches: JAX's persistent cache is on, and physnn's executable cache skips tracing."""

import collections
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physnn import FFNN, LRELU, Adam, CostCrossEntropy, _cache, softmax
from physnn.training import flat_jit


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSNN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PHYSNN_NO_CACHE", raising=False)
    return tmp_path / "executables"


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSNN_CACHE_DIR", str(tmp_path))
    assert _cache.cache_dir() == tmp_path
    monkeypatch.setenv("PHYSNN_NO_CACHE", "1")
    assert _cache.cache_dir() is None


def _counting(calls):
    def fn(params, x):
        calls.append(1)
        return {"y": jnp.tanh(x @ params["w"]), "n": jnp.sum(x)}
    return fn


def test_executable_cache_hit_skips_tracing_and_gives_the_same_numbers(cache):
    params, x = {"w": jnp.ones((3, 2))}, jnp.arange(12.0).reshape(4, 3) / 10
    calls = []
    first = flat_jit(_counting(calls), cache_key="test-program")(params, x)
    assert len(calls) == 1 and len(list(cache.glob("*.pkl"))) == 1
    second = flat_jit(_counting(calls), cache_key="test-program")(params, x)  # as a new process would
    assert len(calls) == 1, "a cache hit must not trace the function"
    assert jax.tree_util.tree_structure(second) == jax.tree_util.tree_structure(first)
    np.testing.assert_array_equal(second["y"], first["y"])
    flat_jit(_counting(calls), cache_key="test-program")(params, x[:2])  # new shapes: a new program
    assert len(calls) == 2


def test_a_damaged_cache_entry_is_recompiled(cache):
    params, x = {"w": jnp.ones((3, 2))}, jnp.ones((4, 3))
    calls = []
    expected = flat_jit(_counting(calls), cache_key="damaged")(params, x)
    (entry,) = cache.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    again = flat_jit(_counting(calls), cache_key="damaged")(params, x)
    assert len(calls) == 2
    np.testing.assert_array_equal(again["y"], expected["y"])
    assert entry.read_bytes() != b"not a pickle"


def test_no_executable_cache_without_a_key_or_when_off(cache, monkeypatch):
    flat_jit(_counting([]))(({"w": jnp.ones((3, 2))}), jnp.ones((4, 3)))
    assert not cache.exists()
    monkeypatch.setenv("PHYSNN_NO_CACHE", "1")
    flat_jit(_counting([]), cache_key="off")(({"w": jnp.ones((3, 2))}), jnp.ones((4, 3)))
    assert not cache.exists()


def _digits_like(n=60):
    rng = np.random.default_rng(0)
    return rng.random((n, 8)), np.eye(3)[rng.integers(0, 3, n)]


def test_ffnn_second_process_loads_the_epoch_and_trains_identically(cache, monkeypatch):
    X, t = _digits_like()
    scores, traces = [], []
    for _ in range(2):  # a fresh FFNN has no compiled epoch, as in a new process
        net = FFNN((8, 16, 3), LRELU, softmax, CostCrossEntropy, seed=3)
        traced = []
        forward = net._forward
        monkeypatch.setattr(net, "_forward", lambda w, x, traced=traced, forward=forward:
                            traced.append(1) or forward(w, x))
        scores.append(net.fit(X, t, Adam(0.01), batches=4, epochs=3, verbose=False))
        traces.append(len(traced))
    assert traces[0] > 0 and traces[1] == 0, "the second fit must load the compiled epoch, not trace it"
    assert len(list(cache.glob("*.pkl"))) == 1
    for k in scores[0]:
        np.testing.assert_array_equal(scores[0][k], scores[1][k])


def test_ffnn_with_a_user_activation_is_not_cached(cache):
    X, t = _digits_like()
    FFNN((8, 4, 3), lambda z: jnp.tanh(z), softmax, CostCrossEntropy, seed=0).fit(X, t, Adam(0.01), epochs=1,
                                                                                  verbose=False)
    FFNN((8, 4, 3), LRELU, softmax, CostCrossEntropy, seed=0).fit(X, t, Adam(lambda s: 0.01), epochs=1,
                                                                  verbose=False)
    assert not cache.exists()


def _iris_like_model(style):
    from physnn import Model, Sequential
    from physnn.layers import Dense, Input

    if style == "sequential":
        model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")], seed=1)
    else:
        x = Input((4,))
        model = Model(x, Dense(3, activation="softmax")(Dense(8, activation="relu")(x)), seed=1)
    return model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])


@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_model_second_build_loads_the_epoch_and_trains_identically(cache, monkeypatch, style):
    from physnn.layers import Dense

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)), np.eye(3)[rng.integers(0, 3, 40)]
    import physnn.layers.base as base

    histories, traces = [], []
    for _ in range(2):  # a new model whose layers get the same names, as in a new process running the same script
        monkeypatch.setattr(base, "_name_counters", collections.defaultdict(itertools.count))
        model = _iris_like_model(style)
        traced = []
        apply = Dense.apply
        monkeypatch.setattr(Dense, "apply", lambda self, *a, traced=traced, apply=apply, **k:
                            traced.append(1) or apply(self, *a, **k))
        histories.append(model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0).history)
        monkeypatch.setattr(Dense, "apply", apply)
        traces.append(len(traced))
    assert traces[0] > 0 and traces[1] == 0, "the second fit must load the compiled epoch, not trace it"
    assert histories[0] == histories[1]


def test_model_with_a_custom_loss_is_not_cached(cache):
    model = _iris_like_model("sequential")
    model.compile(optimizer="adam", loss=lambda t, p: jnp.mean((t - p) ** 2))
    model.fit(np.ones((8, 4)), np.ones((8, 3)), epochs=1, verbose=0)
    assert not cache.exists()


def test_models_with_other_layer_names_keep_their_own_parameter_names(cache):
    """Regression: a cached epoch must not hand back another model's parameter tree (its layer names)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)), np.eye(3)[rng.integers(0, 3, 16)]
    for _ in range(2):  # the second model's layers are named dense_2, dense_3, ...
        model = _iris_like_model("sequential")
        model.fit(x, y, epochs=1, verbose=0)
        assert sorted(model.params) == sorted(layer.name for layer in model.layers)
        assert model.predict(x).shape == (16, 3)


def test_another_model_of_the_same_architecture_is_not_compiled_again(cache, monkeypatch):
    """Same architecture, other layer names (a new entry here): JAX's own cache serves the program, which
    physnn's cache cannot store, and physnn must not compile it afresh just to fill an entry again."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 4)), np.eye(3)[rng.integers(0, 3, 16)]
    _iris_like_model("sequential").fit(x, y, epochs=1, verbose=0)
    fresh_compiles = []
    original = _cache._persistent_cache_off
    monkeypatch.setattr(_cache, "_persistent_cache_off", lambda: fresh_compiles.append(1) or original())
    _iris_like_model("sequential").fit(x, y, epochs=1, verbose=0)
    assert fresh_compiles == []


def test_prune_deletes_the_least_recently_used_entries(tmp_path):
    import os

    for i in range(5):
        entry = tmp_path / f"e{i}.pkl"
        entry.write_bytes(b"x" * 100)
        os.utime(entry, (1000 + i, 1000 + i))
    _cache._prune(tmp_path, limit=250)
    assert sorted(p.name for p in tmp_path.glob("*.pkl")) == ["e3.pkl", "e4.pkl"]


def test_x64_gets_its_own_entry(cache):
    """The same key and argument types under jax.enable_x64 compile another program (its constants differ)."""
    def fn(n):
        return {"y": n * 0.1}  # int32 * a Python float: float32, or float64 under x64
    calls = []
    with jax.enable_x64(False):
        low = flat_jit(lambda n: calls.append(1) or fn(n), cache_key="x64-test")(np.int32(3))
    with jax.enable_x64(True):
        high = flat_jit(lambda n: calls.append(1) or fn(n), cache_key="x64-test")(np.int32(3))
    assert len(calls) == 2 and np.asarray(low["y"]).dtype == np.float32 and np.asarray(high["y"]).dtype == np.float64


def test_one_cached_function_follows_the_x64_mode(cache):
    """The executables a flat_jit keeps in memory are specialised to the x64 mode too."""
    scaled = flat_jit(lambda n: {"y": n * 0.1}, cache_key="x64-same-function")
    with jax.enable_x64(False):
        assert np.asarray(scaled(np.int32(3))["y"]).dtype == np.float32
    with jax.enable_x64(True):
        assert np.asarray(scaled(np.int32(3))["y"]).dtype == np.float64
