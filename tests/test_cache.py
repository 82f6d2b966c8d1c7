"""The persistent compilation cache: keyed on the program itself, no pickles, damaged or crash-suspect
entries discarded, physnn's temporaries cleaned, in-memory programs bounded.

The cross-process tests run fresh Python processes sharing one cache directory, as two runs of a user's
script would."""

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest

from physnn import _cache, _io

# A small fit whose final loss depends on every part of the program: a nested Sequential's activation
# (argv[1]), LRELU's slope constant (argv[2]) and, through a user layer, an edited `call` (argv[3]).
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import jax
    hits = [0]
    jax.monitoring.register_event_listener(
        lambda event, **k: event == "/jax/compilation_cache/cache_hits" and hits.__setitem__(0, hits[0] + 1))
    import physnn
    from physnn import activations
    from physnn.layers import Dense
    activation, slope, scale = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    activations.LRELU_SLOPE = slope

    class Scaled(physnn.layers.Layer):
        def output_shape(self, input_shape):
            return input_shape
        def init(self, rng, input_shape):
            return {}
        def apply(self, params, x, **kwargs):
            return x * SCALE

    SCALE = scale
    inner = physnn.Sequential([Dense(6, activation=activation), Dense(6, activation="lrelu")])
    model = physnn.Sequential([physnn.Input((3,)), inner, Scaled(), Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 2))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    print(json.dumps({"loss": history.history["loss"][-1], "hits": hits[0]}))
""")


def _run(cache, *args, no_cache=False, timeout=120):
    env = {**os.environ, "PHYSNN_CACHE_DIR": str(cache), "JAX_PLATFORMS": "cpu"}
    env.pop("PHYSNN_NO_CACHE", None)
    if no_cache:
        env["PHYSNN_NO_CACHE"] = "1"
    done = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _entries(cache):
    return sorted(p for p in cache.iterdir() if p.name.endswith(_cache.ENTRY_SUFFIX))


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSNN_CACHE_DIR", str(tmp_path))
    assert _cache.cache_dir() == tmp_path
    monkeypatch.setenv("PHYSNN_NO_CACHE", "1")
    assert _cache.cache_dir() is None


def test_import_leaves_jax_config_alone_and_the_first_compile_switches_the_cache_on(tmp_path):
    code = textwrap.dedent("""
        import jax
        before = jax.config.jax_compilation_cache_dir
        import physnn
        at_import = jax.config.jax_compilation_cache_dir
        physnn.Sequential([physnn.Input((2,)), physnn.layers.Dense(1)]).predict([[1.0, 2.0]])
        print(before, at_import, jax.config.jax_compilation_cache_dir)
    """)
    env = {**os.environ, "PHYSNN_CACHE_DIR": str(tmp_path)}
    env.pop("PHYSNN_NO_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["None", "None", str(tmp_path)]


def test_a_directory_the_user_set_in_jax_is_respected(tmp_path):
    code = textwrap.dedent(f"""
        import jax
        jax.config.update("jax_compilation_cache_dir", {str(tmp_path / "mine")!r})
        import physnn
        physnn.Sequential([physnn.Input((2,)), physnn.layers.Dense(1)]).predict([[1.0, 2.0]])
        print(jax.config.jax_compilation_cache_dir)
    """)
    env = {**os.environ, "PHYSNN_CACHE_DIR": str(tmp_path / "physnn")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(tmp_path / "mine")
    assert not (tmp_path / "physnn").exists()


@pytest.mark.slow
def test_no_stale_program_across_processes(tmp_path):
    """Regression: the old executable cache described a nested Sequential as {"class_name": "Sequential"},
    so a relu model trained with the cached tanh program, and edited constants or calls were ignored."""
    cache = tmp_path / "cache"
    first = _run(cache, "tanh", 0.01, 1.0)
    assert _entries(cache), "the first process must fill the cache"
    again = _run(cache, "tanh", 0.01, 1.0)
    assert again["hits"] > 0 and again["loss"] == first["loss"], "the same program must come from the cache"
    for args in [("relu", 0.01, 1.0), ("tanh", 0.3, 1.0), ("tanh", 0.01, 2.0)]:
        cached = _run(cache, *args)
        fresh = _run(tmp_path / "unused", *args, no_cache=True)
        assert cached["loss"] == fresh["loss"], f"{args}: a stale program was served"
        assert cached["loss"] != first["loss"]


@pytest.mark.slow
def test_a_bit_flipped_entry_is_discarded_and_three_later_processes_succeed(tmp_path):
    cache = tmp_path / "cache"
    expected = _run(cache, "tanh", 0.01, 1.0)["loss"]
    entries = _entries(cache)
    largest = max(entries, key=lambda p: p.stat().st_size)
    data = bytearray(largest.read_bytes())
    data[len(data) // 2] ^= 0x10
    largest.write_bytes(bytes(data))
    assert not _cache.intact(bytes(data))
    for _ in range(3):
        assert _run(cache, "tanh", 0.01, 1.0)["loss"] == expected
    assert all(_cache.intact(p.read_bytes()) for p in _entries(cache))


def test_entries_are_not_pickles_and_a_planted_pickle_is_never_loaded(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / f"planted{_cache.ENTRY_SUFFIX}").write_bytes(pickle.dumps(Exploit()))
    (tmp_path / f"ok{_cache.ENTRY_SUFFIX}").write_bytes(zlib.compress(b"an executable"))
    deleted = _cache.recover(tmp_path)
    assert deleted["damaged"] == 1 and not marker.exists()
    assert [p.name for p in _entries(tmp_path)] == [f"ok{_cache.ENTRY_SUFFIX}"]
    record = json.loads((tmp_path / "physnn-verified.json").read_text())
    assert list(record) == [f"ok{_cache.ENTRY_SUFFIX}"]


def test_a_truncated_entry_fails_its_check():
    data = zlib.compress(np.arange(1000.0).tobytes())
    assert _cache.intact(data)
    assert not _cache.intact(data[:-7])
    assert not _cache.intact(data + b"junk")
    assert not _cache.intact(b"")


def test_a_changed_entry_is_verified_again(tmp_path):
    entry = tmp_path / f"k{_cache.ENTRY_SUFFIX}"
    entry.write_bytes(zlib.compress(b"program"))
    assert _cache.recover(tmp_path)["damaged"] == 0
    time.sleep(0.01)
    entry.write_bytes(b"garbage of another size")
    assert _cache.recover(tmp_path)["damaged"] == 1 and not entry.exists()


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_entries_read_by_a_process_that_died_are_discarded(tmp_path):
    started = time.time_ns()
    for name, read_at in [("before", started - 10**9), ("during", started + 10**6)]:
        (tmp_path / f"{name}{_cache.ENTRY_SUFFIX}").write_bytes(zlib.compress(b"x"))
        (tmp_path / f"{name}{_cache.ATIME_SUFFIX}").write_bytes(read_at.to_bytes(8, "little"))
    running = tmp_path / "running"
    running.mkdir()
    import socket

    dead = running / f"{socket.gethostname()}-{_dead_pid()}-{started}"
    alive = running / f"{socket.gethostname()}-{os.getpid()}-{started - 10**10}"
    dead.touch()
    alive.touch()
    assert _cache.recover(tmp_path)["read_by_dead_process"] == 1
    assert [p.name for p in _entries(tmp_path)] == [f"before{_cache.ENTRY_SUFFIX}"]
    assert not (tmp_path / f"during{_cache.ATIME_SUFFIX}").exists()
    assert not dead.exists() and alive.exists(), "a live process's marker stays"


@pytest.mark.slow
def test_a_process_killed_after_loading_leaves_its_entries_to_be_discarded(tmp_path):
    cache = tmp_path / "cache"
    _run(cache, "tanh", 0.01, 1.0)
    killed_script = SCRIPT + "\nimport os, signal; os.kill(os.getpid(), signal.SIGKILL)\n"
    env = {**os.environ, "PHYSNN_CACHE_DIR": str(cache)}
    env.pop("PHYSNN_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-c", killed_script, "tanh", "0.01", "1.0"], env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert list((cache / "running").iterdir()), "the killed process's marker must remain"
    assert _cache.recover(cache)["read_by_dead_process"] > 0
    assert not list((cache / "running").iterdir())


def test_temporaries_of_dead_processes_are_deleted(tmp_path):
    stale = tmp_path / f".physnn-verified.json.{_dead_pid()}.0a1b2c.tmp"
    live = _io.temporary_name(tmp_path / "physnn-verified.json")
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    assert _cache.recover(tmp_path)["temporary"] == 1
    assert not stale.exists() and live.exists()


def test_write_atomically_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        _io.write_atomically(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_compiled_programs_in_memory_are_bounded():
    import physnn
    from physnn.layers import Dense

    model = physnn.Sequential([physnn.Input((2,)), Dense(1)], seed=0).compile("sgd", "mse")
    rng = np.random.default_rng(0)
    for n in range(4, 4 + _cache.Programs().maxsize + 2):  # a new data size, a new epoch program
        model.fit(rng.normal(size=(n, 2)), rng.normal(size=(n, 1)), epochs=1, batch_size=3, verbose=0)
    assert len(model._compiled) == _cache.Programs().maxsize
    programs = _cache.Programs(maxsize=2)
    programs["a"], programs["b"] = 1, 2
    programs["a"]  # noqa: B018 - a use makes "a" the most recent
    programs["c"] = 3
    assert list(programs) == ["a", "c"]


def test_an_entry_without_an_access_time_gets_one(tmp_path):
    """Entries written with eviction off have no access-time file, on which JAX's eviction then fails."""
    entry = tmp_path / f"old{_cache.ENTRY_SUFFIX}"
    entry.write_bytes(zlib.compress(b"program"))
    _cache.recover(tmp_path)
    atime = tmp_path / f"old{_cache.ATIME_SUFFIX}"
    assert int.from_bytes(atime.read_bytes(), "little") == entry.stat().st_mtime_ns
