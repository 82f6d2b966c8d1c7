"""Saving and loading: round trips of the three model styles (predictions, optimiser state, continued
training) and clear ValueErrors for damaged or foreign files."""

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import physnn as keras
from physnn import layers
from physnn.saving import _checksum, load_model, save_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 4)).astype(np.float32)
Y = np.eye(3)[RNG.integers(0, 3, 20)]


@keras.register_serializable
class TwoLayerNet(keras.Model):
    """A subclassed model (registered, so load_model may rebuild it) with a constructor argument."""

    def __init__(self, width=6):
        super().__init__()
        self.width = width
        self.hidden = layers.Dense(width, activation="tanh", name="hidden")
        self.out = layers.Dense(3, activation="softmax", name="out")

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {"width": self.width}


def sequential():
    return keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh", name="hidden"),
                             layers.Dense(3, activation="softmax", name="out")], seed=1)


def functional():
    inputs = keras.Input((4,))
    a = layers.Dense(6, activation="relu", kernel_regularizer=keras.L2(0.01), name="hidden")(inputs)
    b = layers.Dense(2, activation="tanh", name="side")(inputs)
    h = layers.Dropout(0.1, name="drop")(layers.Concatenate(name="join")([a, b]))
    return keras.Model(inputs, layers.Dense(3, activation="softmax", name="out")(h), seed=1)


def subclassed():
    model = TwoLayerNet(width=5)
    model.build((4,))
    return model


# Layer names are fixed so that every copy of a model (and its reloaded twin) traces to the same program,
# which JAX's persistent compilation cache then compiles once.
MAKERS = {"sequential": sequential, "functional": functional, "subclassed": subclassed}


def _trained(make):
    model = make()
    model.compile(keras.schedulers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    return model


def _leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module", params=list(MAKERS))
def saved(request, tmp_path_factory):
    model = _trained(MAKERS[request.param])
    path = tmp_path_factory.mktemp("models") / f"{request.param}.npz"
    model.save(path)
    return request.param, model, path


def test_round_trip_predicts_identically(saved):
    style, model, path = saved
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert [type(a).__name__ for a in loaded.layers] == [type(b).__name__ for b in model.layers]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    _leaves_equal(loaded.params, model.params)
    assert loaded.count_params() == model.count_params()
    if style == "subclassed":
        assert loaded.width == 5


def test_round_trip_restores_the_optimiser_and_its_state(saved):
    _, model, path = saved
    loaded = load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer) and loaded.optimizer.get_config() == {
        "eta": 0.01, "rho": 0.9, "rho2": 0.999, "delta": 1e-8, "epsilon_hat": False}
    assert loaded.loss == "categorical_crossentropy" and [name for name, _ in loaded.metrics] == ["accuracy"]
    assert int(loaded.opt_state["step"]) == int(model.opt_state["step"]) == 6  # 2 epochs of 3 batches
    _leaves_equal(loaded.opt_state, model.opt_state)
    assert loaded.evaluate(X, Y) == model.evaluate(X, Y)


def test_round_trip_continues_training_identically(saved, tmp_path):
    style, _, _ = saved
    original = _trained(MAKERS[style])
    original.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    history_a = original.fit(X, Y, epochs=3, batch_size=8, verbose=0, seed=11)
    history_b = loaded.fit(X, Y, epochs=3, batch_size=8, verbose=0, seed=11)
    assert history_a.history == history_b.history
    _leaves_equal(loaded.params, original.params)
    _leaves_equal(loaded.opt_state, original.opt_state)


def test_an_uncompiled_model_round_trips(tmp_path):
    model = sequential()
    path = save_model(model, tmp_path / "plain")  # ".npz" is appended
    assert path.name == "plain.npz" and path.exists()
    loaded = load_model(tmp_path / "plain")  # and found again without it
    assert loaded.loss is None and loaded.opt_state is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_saving_an_unbuilt_model_or_a_custom_activation_explains(tmp_path):
    with pytest.raises(ValueError, match="not built; nothing to save"):
        keras.Sequential([layers.Dense(2)]).save(tmp_path / "x.npz")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation=jnp.sin, name="wavy")])
    with pytest.raises(ValueError, match=r"Layer 'wavy' \(Dense\): activation=.* is a custom callable"):
        model.save(tmp_path / "y.npz")
    assert not (tmp_path / "y.npz").exists()


# ------------------------------------------------------------------------------ damaged and foreign files


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A trained Sequential model and the path of its file."""
    model = _trained(sequential)
    path = tmp_path_factory.mktemp("good") / "good.npz"
    model.save(path)
    return model, path


@pytest.fixture(scope="module")
def good_bytes(good):
    return good[1].read_bytes()


def _write(tmp_path, data: bytes, name="bad.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, good_bytes, fraction):
    path = _write(tmp_path, good_bytes[: int(len(good_bytes) * fraction)])
    with pytest.raises(ValueError, match=r"bad\.npz is not a readable physnn model file \(truncated or "):
        load_model(path)


def test_flipped_byte_in_the_weights(tmp_path, good):
    model, path = good
    data = bytearray(path.read_bytes())
    weights = np.asarray(jax.tree_util.tree_leaves(model.params)[-1]).tobytes()  # stored uncompressed
    data[bytes(data).index(weights) + len(weights) // 2] ^= 0x01
    message = r"bad\.npz is not a readable physnn model file \(truncated or corrupt: Bad CRC-32"
    with pytest.raises(ValueError, match=message):
        load_model(_write(tmp_path, bytes(data)))


def test_flipped_byte_in_the_configuration(tmp_path, good_bytes):
    data = bytearray(good_bytes)
    data[bytes(data).index(b'"kind": "') + 9] ^= 0x20  # "Sequential" -> "sequential": still valid JSON
    with pytest.raises(ValueError, match="corrupt"):
        load_model(_write(tmp_path, bytes(data)))


def test_changed_contents_under_a_valid_zip_fail_the_checksum(tmp_path, good):
    """Contents rewritten consistently at the zip level (fresh CRCs) but not by save_model."""
    config, arrays = _contents(good[1])
    with np.load(good[1]) as data:
        checksum = data["__checksum__"]
    kernel = next(k for k in arrays if "kernel" in k)
    arrays[kernel] = arrays[kernel].copy()
    arrays[kernel].flat[0] += 1e-3
    text = json.dumps(config, sort_keys=True)
    np.savez(tmp_path / "c.npz", __config__=np.frombuffer(text.encode(), np.uint8), __checksum__=checksum,
             **arrays)
    with pytest.raises(ValueError, match=r"c\.npz is corrupt: its checksum does not match its contents"):
        load_model(tmp_path / "c.npz")


@pytest.mark.parametrize("seed", [0, 1])
def test_random_bytes(tmp_path, seed):
    path = _write(tmp_path, np.random.default_rng(seed).bytes(2000))
    with pytest.raises(ValueError, match="not a readable physnn model file"):
        load_model(path)


def test_foreign_and_missing_files(tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.ones(3))
    message = r"arrays\.npz is not a physnn model file \(no configuration or checksum\)"
    with pytest.raises(ValueError, match=message):
        load_model(tmp_path / "arrays.npz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a readable physnn model file"):
        load_model(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="empty.npz is not a readable"):
        load_model(_write(tmp_path, b"", "empty.npz"))
    with pytest.raises(ValueError, match="missing.npz: no such model file"):
        load_model(tmp_path / "missing.npz")


def _forge(path, config: dict, arrays: dict):
    """A file with a valid checksum over the given configuration and arrays."""
    text = json.dumps(config, sort_keys=True)
    np.savez(path, __config__=np.frombuffer(text.encode(), np.uint8),
             __checksum__=np.frombuffer(_checksum(text, arrays).encode(), np.uint8), **arrays)
    return path


def _contents(path):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return json.loads(arrays.pop("__config__").tobytes().decode()), {k: v for k, v in arrays.items()
                                                                      if k != "__checksum__"}


def test_other_format_or_version_is_refused(tmp_path, good):
    config, arrays = _contents(good[1])
    with pytest.raises(ValueError, match=r"unsupported format 'keras' version 1"):
        load_model(_forge(tmp_path / "f.npz", {**config, "format": "keras"}, arrays))
    with pytest.raises(ValueError, match=r"unsupported format 'physnn-model' version 99"):
        load_model(_forge(tmp_path / "v.npz", {**config, "version": 99}, arrays))


def test_arrays_that_do_not_fit_the_architecture_are_refused(tmp_path, good):
    config, arrays = _contents(good[1])
    kernel = next(k for k in arrays if k.startswith("params") and "kernel" in k)
    wrong_shape = {**arrays, kernel: np.zeros((7, 7), np.float32)}
    message = f"array {kernel!r} has shape (7, 7), the architecture needs (4, 6)"
    with pytest.raises(ValueError, match=re.escape(message)):
        load_model(_forge(tmp_path / "s.npz", config, wrong_shape))
    missing = {k: v for k, v in arrays.items() if k != kernel}
    with pytest.raises(ValueError, match=re.escape(f"the file has no array {kernel!r}")):
        load_model(_forge(tmp_path / "m.npz", config, missing))
    other_layers = {**config, "layer_types": ["Conv1D"] * len(config["layer_types"])}
    with pytest.raises(ValueError, match=r"rebuilt layers \[.*'Dense'.*\] differ from the saved \['Conv1D'"):
        load_model(_forge(tmp_path / "l.npz", other_layers, arrays))


def test_an_unregistered_subclass_is_refused_naming_it(tmp_path):
    model = subclassed()
    model.save(tmp_path / "sub.npz")
    config, arrays = _contents(tmp_path / "sub.npz")
    assert config["model"]["kind"] == "Subclassed" and config["model"]["qualname"] == "TwoLayerNet"
    config["model"]["module"] = "no_such_module_anywhere"
    message = r"names the class 'no_such_module_anywhere\.TwoLayerNet', which load_model does not rebuild"
    with pytest.raises(ValueError, match=message):
        load_model(_forge(tmp_path / "c.npz", config, arrays))
    # custom_objects says explicitly which class the name means
    loaded = load_model(tmp_path / "c.npz", custom_objects={"TwoLayerNet": TwoLayerNet})
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
