"""Model files as untrusted input, saving that never destroys the previous file, and completeness of what is
saved (physnn.saving; issue 10, "Trust")."""

import contextlib
import errno
import io
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import jax
import numpy as np
import pytest

import physnn as keras
from physnn import costs, layers, saving, schedulers
from physnn.physics.losses import PhysicsGuidedLoss
from physnn.saving import _checksum, load_model, save_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype(np.float32)
Y = np.eye(3)[RNG.integers(0, 3, 16)].astype(np.float32)


def sequential(seed=1):
    return keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh", name="hidden"),
                             layers.Dense(3, activation="softmax", name="out")], seed=seed)


def _contents(path):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    config = json.loads(arrays.pop("__config__").tobytes().decode())
    del arrays["__checksum__"]
    return config, arrays


def _forge_text(path, text: str, arrays: dict):
    """A file with a valid (recomputed) checksum over any configuration text and arrays."""
    np.savez(path, __config__=np.frombuffer(text.encode(), np.uint8),
             __checksum__=np.frombuffer(_checksum(text, arrays).encode(), np.uint8), **arrays)
    return path


def _forge(path, config: dict, arrays: dict):
    return _forge_text(path, json.dumps(config, sort_keys=True), arrays)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A compiled Sequential model, its file, and that file's configuration and arrays."""
    model = sequential()
    model.compile(schedulers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path_factory.mktemp("good") / "good.npz"
    model.save(path)
    config, arrays = _contents(path)
    return model, path, config, arrays


# ------------------------------------------------------------------------- loading never runs file code


def _subclassed(config, module, qualname, kwargs):
    """``config`` with its model replaced by a "Subclassed" one naming module.qualname(**kwargs)."""
    return {**config, "model": {"kind": "Subclassed", "name": "m", "seed": 0, "module": module,
                                "qualname": qualname, "config": kwargs, "input_shape": [4]}}


def _reproducers(marker):
    return {
        "os.system": ("os", "system", {"command": f"touch {marker}"}),
        "subprocess.Popen": ("subprocess", "Popen", {"args": ["touch", str(marker)]}),
        "builtins.open": ("builtins", "open", {"file": str(marker), "mode": "w"}),
        "module on sys.path": ("evil_module", "Evil", {}),
    }


@pytest.mark.parametrize("case", ["os.system", "subprocess.Popen", "builtins.open", "module on sys.path"])
def test_a_file_naming_any_callable_runs_nothing(tmp_path, monkeypatch, good, case):
    marker = tmp_path / "marker"
    (tmp_path / "evil_module.py").write_text(textwrap.dedent(f"""
        open({str(marker)!r}, "w").close()  # runs on import

        class Evil:
            def __init__(self):
                open({str(marker)!r}, "w").close()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    module, qualname, kwargs = _reproducers(marker)[case]
    path = _forge(tmp_path / "evil.npz", _subclassed(good[2], module, qualname, kwargs), good[3])
    with pytest.raises(ValueError, match=rf"names the class '{module}\.{qualname}', which load_model does not"):
        load_model(path)
    assert not marker.exists()
    assert "evil_module" not in sys.modules


def test_custom_objects_must_be_physnn_classes(good):
    with pytest.raises(ValueError, match=r"custom_objects\['system'\]"):
        load_model(good[1], custom_objects={"system": os.system})
    with pytest.raises(ValueError, match="custom_objects must be a dict"):
        load_model(good[1], custom_objects=[os.system])


def test_a_registered_class_that_is_not_a_module_is_refused():
    with pytest.raises(ValueError, match="expects a physnn.Module or Layer subclass"):
        keras.register_serializable(dict)


def test_a_layer_class_name_that_is_not_a_physnn_layer_is_refused(tmp_path, good):
    config = json.loads(json.dumps(good[2]))
    config["model"]["layers"][0]["class_name"] = "Popen"
    with pytest.raises(ValueError, match="Unknown layer class_name='Popen'"):
        load_model(_forge(tmp_path / "l.npz", config, good[3]))


@keras.register_serializable
class Block(keras.Module):
    """A registered user Module, used as a layer inside a Sequential."""

    def __init__(self, width=5):
        super().__init__()
        self.width = width
        self.a = layers.Dense(width, activation="tanh", name="block_a")
        self.b = layers.Dense(width, activation="relu", name="block_b")

    def call(self, inputs, training=False):
        return self.b(self.a(inputs))

    def get_config(self):
        return {"width": self.width}


class Unregistered(keras.Module):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2, name="unregistered_dense")

    def call(self, inputs, training=False):
        return self.dense(inputs)


def test_an_unregistered_subclass_loads_only_through_custom_objects(tmp_path):
    model = Unregistered()
    model.build((4,))
    model.save(tmp_path / "u.npz")
    with pytest.raises(ValueError, match=r"names the class '.*Unregistered'.*custom_objects=\{'Unregistered'"):
        load_model(tmp_path / "u.npz")
    loaded = load_model(tmp_path / "u.npz", custom_objects={"Unregistered": Unregistered})
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ------------------------------------------------------------------------------ crafted configurations


def _deep(depth):
    value = 0
    for _ in range(depth):
        value = [value]
    return value


def _set(path_in_config, value):
    """A mutation setting config[k1][k2]... = value."""
    def mutate(config):
        target = config
        for key in path_in_config[:-1]:
            target = target[key]
        target[path_in_config[-1]] = value
        return config
    return mutate


def _delete(*keys):
    def mutate(config):
        target = config
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
        return config
    return mutate


LAYER0 = ("model", "layers", 0, "config")
# a declared size beyond what the file holds (initializers.allocation_limit) or beyond physnn's limit per model
TOO_BIG = "asks for a parameter of shape|more than physnn.s limit"

CRAFTED = {
    "deep JSON": (_set((*LAYER0, "name"), _deep(200)), "nests deeper than 64 levels"),
    "no model kind": (_delete("model", "kind"), r"malformed model configuration \(KeyError"),
    "unknown kind": (_set(("model", "kind"), "Pickle"), "unknown model kind 'Pickle'"),
    "model is a list": (_set(("model",), [1, 2]), "a model configuration must be a dict"),
    "layers is a string": (_set(("model", "layers"), "Dense"), "layers must be a list"),
    "layer is a number": (_set(("model", "layers", 0), 7), "deserialize expects"),
    "unknown layer key": (_set((*LAYER0, "bogus"), 1), r"layer Dense: unknown configuration key\(s\) \['bogus'\]"),
    "missing layer key": (_delete(*LAYER0, "units"), r"lacks the required argument\(s\) \['units'\]"),
    "layer config is a list": (_set(LAYER0, [1]), "the configuration must be a dict"),
    "huge units": (_set((*LAYER0, "units"), 10**9), TOO_BIG),
    "huge input shape": (_set(("model", "input_shape"), [10**12]), TOO_BIG),
    "negative input shape": (_set(("model", "input_shape"), [-4]), "input_shape must be a list of positive"),
    "input shape of strings": (_set(("model", "input_shape"), ["4"]), "input_shape must be a list of positive"),
    "negative seed": (_set(("model", "seed"), -1), "seed must be a non-negative integer"),
    "layer types differ": (_set(("layer_types",), ["Conv1D", "Dense"]), "differ from the saved"),
    "negative fit counter": (_set(("fits",), -1), "fit counter must be an integer >= 0"),
    "fit counter string": (_set(("fits",), "many"), "fit counter must be an integer >= 0"),
    "object dtype in config": (_set(("dtype",), "object"), "unsupported dtype 'object'"),
    "unknown optimiser": (_set(("compile", "optimizer", "class"), "Popen"), "unknown optimiser class 'Popen'"),
    "unknown optimiser key": (_set(("compile", "optimizer", "config", "shell"), True),
                              r"optimiser Adam: unknown configuration key\(s\) \['shell'\]"),
    "unknown schedule": (_set(("compile", "optimizer", "config", "eta"), {"schedule": "system", "config": {}}),
                         "unknown learning-rate schedule 'system'"),
    "unknown loss function": (_set(("compile", "loss"), {"function": "system"}), "unknown loss function 'system'"),
    "unknown loss name": (_set(("compile", "loss"), {"name": "rm -rf"}), "unknown loss 'rm -rf'"),
    "metric not a name": (_set(("compile", "metrics"), [{"a": 1}]), "metrics must be names"),
    "compile is a list": (_set(("compile",), [1]), "malformed model configuration"),
    "layers of a wrong type": (_set(("model", "layers", 0, "class_name"), ["Dense"]), "Unknown layer class_name"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_configuration_with_a_valid_checksum_is_a_value_error(tmp_path, good, case):
    mutate, message = CRAFTED[case]
    config = mutate(json.loads(json.dumps(good[2])))
    with pytest.raises(ValueError, match=message):
        load_model(_forge(tmp_path / "crafted.npz", config, good[3]))


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('{"a": ' * 100 + "1" + "}" * 100, "nests deeper than 64 levels"),
    ("[1, 2, 3]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_crafted_configuration_text_is_a_value_error(tmp_path, good, text, message):
    with pytest.raises(ValueError, match=message):
        load_model(_forge_text(tmp_path / "t.npz", text, good[3]))


def test_the_configuration_size_is_bounded(tmp_path, good, monkeypatch):
    monkeypatch.setattr(saving, "MAX_CONFIG_BYTES", 10_000)
    path = _forge(tmp_path / "big.npz", {**good[2], "padding": "x" * 20_000}, good[3])
    with pytest.raises(ValueError, match=r"member '__config__.npy' declares \d+ bytes, more than the 11024 allowed"):
        load_model(path)


def test_stored_arrays_of_the_wrong_dtype_kind_are_refused(tmp_path, good):
    config, arrays = good[2], dict(good[3])
    kernel = next(k for k in arrays if k.startswith("params") and "kernel" in k)
    arrays[kernel] = arrays[kernel].astype(np.int32)
    with pytest.raises(ValueError, match=r"has dtype int32, the architecture needs float32"):
        load_model(_forge(tmp_path / "d.npz", config, arrays))


# ------------------------------------------------------------------------------------ crafted archives


def _npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _npy_header(shape, descr="<f4") -> bytes:
    """A .npy header declaring ``shape`` of ``descr`` (followed by no data)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@contextlib.contextmanager
def _open_archive(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    """A zip archive at ``path`` holding ``members``, left open for the caller to add or doctor entries."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        yield archive


def _archive(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with _open_archive(path, members, compression):
        pass
    return path


def _with(good, **members) -> dict[str, bytes]:
    """The good file's members as bytes, with some replaced or added."""
    with zipfile.ZipFile(good[1]) as archive:
        existing = {name: archive.read(name) for name in archive.namelist()}
    return {**existing, **members}


ARCHIVES = {
    "object dtype": (lambda: {"params[0]['bias'].npy": _npy(np.array([os.system, 1], dtype=object), True)},
                     "has dtype object; a model file holds numeric arrays only"),
    "string dtype": (lambda: {"params[0]['bias'].npy": _npy(np.array(["a", "b"]))}, "numeric arrays only"),
    "structured dtype": (lambda: {"x.npy": _npy(np.zeros(2, [("a", "f4"), ("b", "i4")]))}, "numeric arrays only"),
    "huge declared shape": (lambda: {"x.npy": _npy_header((1 << 20, 1 << 20))},
                            r"declares shape \(1048576, 1048576\) of float32 .* but its member holds 0 bytes"),
    "negative shape": (lambda: {"x.npy": _npy_header((-5,))}, r"'x.npy' declares the shape \(-5,\)"),
    "shape larger than data": (lambda: {"x.npy": _npy_header((1000,)) + b"\0" * 8}, "but its member holds 8 bytes"),
    "not an npy member": (lambda: {"../../etc/passwd": b"root"}, "unexpected or repeated member"),
    "npy version 9": (lambda: {"x.npy": b"\x93NUMPY\x09\x00" + b"\0" * 20}, r"unsupported .npy version \(9, 0\)"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_crafted_archive_members_are_refused_before_reading(tmp_path, good, case):
    members, message = ARCHIVES[case]
    path = _archive(tmp_path / "a.npz", _with(good, **members()))
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_a_decompression_bomb_is_refused_without_inflating_it(tmp_path, good):
    """64 MiB of zeros deflate to ~64 kB; the declared size betrays the ratio before anything is read."""
    path = tmp_path / "bomb.npz"
    with _open_archive(path, _with(good), zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(_npy_header((1 << 24,)))
            chunk = bytes(1 << 20)
            for _ in range(64):
                member.write(chunk)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"declares 67108992 bytes uncompressed from \d+ compressed \(a "
                                             r"decompression bomb\)"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_member_declaring_1_gib_is_refused(tmp_path, good):
    """A small member whose central-directory entry claims 1 GiB uncompressed (a crafted header)."""
    path = tmp_path / "liar.npz"
    with _open_archive(path, _with(good), zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", _npy(np.zeros(256, np.float32)))
        archive.filelist[-1].file_size = 1 << 30
    with pytest.raises(ValueError, match=r"'x.npy' declares 1073741824 bytes uncompressed"):
        load_model(path)


def test_a_stored_member_whose_sizes_disagree_is_refused(tmp_path, good):
    path = tmp_path / "liar.npz"
    with _open_archive(path, _with(good)) as archive:
        archive.filelist[-1].file_size = 1 << 30
    with pytest.raises(ValueError, match=r"stored member .* declares 1073741824 bytes but occupies"):
        load_model(path)


# ------------------------------------------------------------------------------- saving is atomic


def test_the_path_given_is_the_path_written(tmp_path):
    model = sequential()
    for name in ("x.keras", "model.v2", "m.npz"):
        assert model.save(tmp_path / name) == tmp_path / name
        np.testing.assert_array_equal(load_model(tmp_path / name).predict(X), model.predict(X))
    assert save_model(model, tmp_path / "plain") == tmp_path / "plain.npz"  # no suffix at all: ".npz" added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "model.v2", "plain.npz", "x.keras"]


def test_a_full_disk_during_a_save_keeps_the_previous_file(tmp_path, monkeypatch, good):
    path = tmp_path / "m.npz"
    good[0].save(path)
    before = path.read_bytes()
    write_array, calls = np.lib.format.write_array, []

    def full_disk(f, array, *args, **kwargs):  # the third array is half written, then the disk is full
        calls.append(1)
        if len(calls) == 3:
            f.write(bytes(array.nbytes // 2))
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_array(f, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", full_disk)
    other = sequential(seed=7)
    with pytest.raises(OSError, match="No space left"):
        other.save(path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left
    np.testing.assert_array_equal(load_model(path).predict(X), good[0].predict(X))


def test_a_refused_save_keeps_the_previous_file(tmp_path, good):
    path = tmp_path / "m.npz"
    good[0].save(path)
    before = path.read_bytes()
    model = sequential()
    model.compile(schedulers.adam(1e-3), "mse")
    with pytest.raises(ValueError, match="functional optimiser"):
        model.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


CHILD = """
import os, random, signal, sys, time
import jax, numpy as np
import physnn
from physnn import layers

directory, rounds = sys.argv[1], int(sys.argv[2])
path = os.path.join(directory, "m.npz")
models = [physnn.Sequential([physnn.Input((128,)), layers.Dense(256, name="a"), layers.Dense(128, name="b")],
                            seed=seed) for seed in (1, 2)]
for model in models:  # host arrays: a forked process then saves without touching the JAX runtime
    model.params = jax.tree_util.tree_map(np.asarray, model.params)
expected = [model.get_weights() for model in models]
models[0].save(path)
rng, saves = random.Random(0), 0
for k in range(rounds):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the saver: alternate the two models for ever, one byte down the pipe per completed save
        try:
            os.close(read)
            for i in range(10**9):
                models[i % 2].save(path)
                os.write(write, b".")
        finally:
            os._exit(1)
    os.close(write)
    time.sleep(rng.uniform(0.0, 0.25))
    os.kill(pid, signal.SIGKILL)  # kill -9, at a random moment of a save
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        saves += len(pipe.read())
    weights = physnn.load_model(path).get_weights()  # raises for a damaged file
    if not any(all(np.array_equal(w, e) for w, e in zip(weights, exp)) for exp in expected):
        print("round", k, "loaded weights of neither model", flush=True)
        sys.exit(1)
print("saves", saves, flush=True)
"""


def test_kill_9_during_saves_always_leaves_a_loadable_file(tmp_path):
    """A process saves two alternating models to one path over and over and is killed (SIGKILL) at a random
    moment, ten times: the file always loads, as one of the two models, complete."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    (tmp_path / "models").mkdir()
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "models"), "10"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.split()[-1]) >= 10  # saves did happen between the kills
    leftovers = [p.name for p in (tmp_path / "models").iterdir() if p.name != "m.npz"]
    assert all(name.startswith(".m.npz.") and name.endswith(".tmp") for name in leftovers)  # (killed mid-save)


# ------------------------------------------------------------------------ what is saved is complete


def _assert_round_trip(model, tmp_path, **load_kwargs):
    path = model.save(tmp_path / "m.npz")
    loaded = load_model(path, **load_kwargs)
    assert [type(a).__name__ for a in loaded.layers] == [type(b).__name__ for b in model.layers]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    return loaded


def test_a_nested_sequential_round_trips(tmp_path):
    inner = keras.Sequential([layers.Dense(5, activation="tanh", name="inner_a"),
                              layers.Dense(4, activation="relu", name="inner_b")], name="inner")
    model = keras.Sequential([keras.Input((4,)), inner, layers.Dense(3, activation="softmax", name="top")])
    model.compile(schedulers.Adam(0.01), "categorical_crossentropy")
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    loaded = _assert_round_trip(model, tmp_path)
    assert type(loaded._stack[0]) is keras.Sequential
    assert loaded.fit(X, Y, epochs=1, batch_size=8, verbose=0, seed=3).history == \
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0, seed=3).history


def test_a_user_module_used_as_a_layer_round_trips(tmp_path):
    model = keras.Sequential([keras.Input((4,)), Block(width=6), layers.Dense(3, name="head")])
    loaded = _assert_round_trip(model, tmp_path)
    assert isinstance(loaded._stack[0], Block) and loaded._stack[0].width == 6


def test_a_float64_model_round_trips_as_float64(tmp_path):
    with jax.enable_x64(True):
        model = sequential()
        model.compile(schedulers.Adam(0.01), "categorical_crossentropy")
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
        assert model.params["hidden"]["kernel"].dtype == np.float64
        path = model.save(tmp_path / "f64.npz")
        loaded = load_model(path)
        assert {p.dtype for p in jax.tree_util.tree_leaves(loaded.params)} == {np.dtype(np.float64)}
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_array_equal(a, b), loaded.opt_state,
                               model.opt_state)
    with pytest.raises(ValueError, match=r"holds a float64 model; load it inside `with jax.enable_x64\(True\):`"):
        load_model(path)


def test_a_float32_model_stays_float32_when_loaded_with_x64(tmp_path):
    model = sequential()
    path = model.save(tmp_path / "f32.npz")
    with jax.enable_x64(True):
        loaded = load_model(path)
    assert {p.dtype for p in jax.tree_util.tree_leaves(loaded.params)} == {np.dtype(np.float32)}


def test_the_fit_counter_round_trips(tmp_path):
    """Continuing fit without a seed follows the same stream as the original model would."""
    model = sequential()
    model.compile(schedulers.Adam(0.01), "categorical_crossentropy")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    loaded = load_model(model.save(tmp_path / "m.npz"))
    assert loaded._fits == model._fits == 2
    assert loaded.fit(X, Y, epochs=2, batch_size=8, verbose=0).history == \
        model.fit(X, Y, epochs=2, batch_size=8, verbose=0).history


@pytest.mark.parametrize("schedule", [schedulers.exponential_decay(0.05, 0.5, 10), schedulers.step_decay(0.05, 0.5, 3),
                                      schedulers.inverse_time_decay(0.05, 1.0, 4),
                                      schedulers.polynomial_decay(0.05, 6, end=0.01)])
def test_an_optimiser_with_a_decay_schedule_round_trips(tmp_path, schedule):
    model = sequential()
    model.compile(schedulers.Momentum(schedule, 0.9), "categorical_crossentropy")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    loaded = _assert_round_trip(model, tmp_path)
    assert type(loaded.optimizer) is schedulers.Momentum and loaded.optimizer.momentum == 0.9
    assert loaded.optimizer.eta.physnn_schedule == schedule.physnn_schedule
    assert loaded.fit(X, Y, epochs=2, batch_size=8, verbose=0, seed=5).history == \
        model.fit(X, Y, epochs=2, batch_size=8, verbose=0, seed=5).history


@pytest.mark.parametrize("loss", [costs.mse, costs.CostOLS, "MSE"])
def test_a_physnn_loss_function_round_trips_as_itself(tmp_path, loss):
    model = sequential()
    model.compile("adam", loss)
    assert load_model(model.save(tmp_path / "m.npz")).loss is loss or loss == "MSE"


UNSTORABLE = {
    "functional optimiser": (dict(optimizer=schedulers.adam(1e-3)), "the optimiser .* functional optimiser"),
    "custom learning-rate function": (dict(optimizer=schedulers.Adam(lambda step: 1e-3)),
                                      "the learning-rate function eta=.* of Adam cannot be stored"),
    "PhysicsGuidedLoss": (dict(loss=PhysicsGuidedLoss("mse", physics=[lambda y, x: y ** 2])),
                          r"the loss PhysicsGuidedLoss\(.* cannot be stored"),
    "callable loss": (dict(loss=lambda y, p: (y - p) ** 2), "the loss <function .* cannot be stored"),
    "metric callable": (dict(metrics=[lambda y, p: (y - p).mean()]), "the metric '<lambda>' .* cannot be stored"),
}


@pytest.mark.parametrize("case", list(UNSTORABLE))
def test_an_unstorable_compile_setting_is_refused_unless_include_optimizer_is_false(tmp_path, case):
    settings, message = UNSTORABLE[case]
    model = sequential()
    model.compile(**{"optimizer": schedulers.Adam(0.01), "loss": "mse", **settings})
    with pytest.raises(ValueError, match=message + ".*include_optimizer=False"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    loaded = load_model(model.save(tmp_path / "m.npz", include_optimizer=False))
    assert loaded.loss is None and loaded.opt_state is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_model_checkpoint_of_a_physics_guided_model_needs_include_optimizer_false(tmp_path):
    model = sequential()
    model.compile(schedulers.Adam(0.01), PhysicsGuidedLoss("mse", physics=[lambda y, x: y ** 2]))
    with pytest.raises(ValueError, match=r"the loss PhysicsGuidedLoss\(.*include_optimizer=False"):
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[keras.ModelCheckpoint(tmp_path / "a.npz")])
    checkpoint = keras.ModelCheckpoint(tmp_path / "b-{epoch}.npz", include_optimizer=False)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[checkpoint])
    np.testing.assert_array_equal(load_model(tmp_path / "b-2.npz").predict(X), model.predict(X))
