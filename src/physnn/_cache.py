"""The persistent compilation cache: a compiled program survives the process, keyed on the program itself.

physnn stores compiled programs with JAX's persistent compilation cache, whose key is a hash of the lowered
program (its StableHLO), the compile options, the devices and the JAX/XLA versions: a program whose code,
constants or shapes changed anywhere (an edited ``call``, a module constant, a nested model's activation)
gets a new key, so a stale program is never served. physnn adds no key of its own.

The cache is switched on by physnn's first compiled call (``enable``), never at import, in
``$XDG_CACHE_HOME/physnn/jax`` (or ``~/.cache/physnn/jax``); ``PHYSNN_CACHE_DIR`` moves it,
``PHYSNN_NO_CACHE=1`` turns it off, and a directory the user already set in JAX
(``jax_compilation_cache_dir`` / ``JAX_COMPILATION_CACHE_DIR``) is used as it is, without physnn's guard.

What an entry is, and how physnn guards physnn's directory:

* An entry is an XLA executable, zlib-compressed by JAX (no pickle, nothing that runs Python code when
  read). zlib verifies the entry's Adler-32 checksum before XLA deserialises it; a failed check makes JAX
  warn and compile again.
* At its first compile a process decompresses every entry it has not verified before (new or changed
  since, by size and modification time) and deletes those that fail: an entry damaged on disk, or cut
  short by a full disk or a killed writer, is compiled again once and replaced.
* Each process using the directory holds a marker ``running/<host>-<pid>-<start>`` until it exits. A
  marker whose process is gone means that process died, perhaps while loading an entry: the next process
  deletes every entry read since that process started (JAX records each read in the entry's access-time
  file), so an entry that crashes its reader is discarded, not loaded again.
* Left-over temporary files of physnn's are deleted; JAX evicts the least recently used entries beyond
  ``MAX_BYTES``.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import json
import os
import socket
import time
import zlib
from pathlib import Path

import filelock
import jax

from physnn import _io

MAX_BYTES = 256 * 2**20
ENTRY_SUFFIX, ATIME_SUFFIX = "-cache", "-atime"  # the names JAX's file cache gives an entry and its access time
_VERIFIED = "physnn-verified.json"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_enabled: list[Path | None] = []  # [] until the first compile; then [directory or None]


def cache_dir() -> Path | None:
    """Where compiled programs are cached, or None when caching is off."""
    if os.environ.get("PHYSNN_NO_CACHE", "").strip() not in ("", "0"):
        return None
    if os.environ.get("PHYSNN_CACHE_DIR"):
        return Path(os.environ["PHYSNN_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "physnn" / "jax"


def enable() -> Path | None:
    """Switch on the persistent cache in physnn's directory, once per process (physnn's compiled calls do
    this before their first compile). Returns the guarded directory, or None when the cache is off, the
    directory is unusable, or the user configured JAX's cache directory already."""
    if _enabled:
        return _enabled[0]
    directory = cache_dir()
    if directory is None or jax.config.jax_compilation_cache_dir:
        _enabled.append(None)
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        recover(directory)
        marker = _hold_marker(directory)
    except OSError:  # a read-only or full home: run without the cache rather than fail
        _enabled.append(None)
        return None
    atexit.register(_release_marker, marker)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    _enabled.append(directory)
    return directory


def jit(fun, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)`` that switches on physnn's persistent cache before its first compile."""
    jitted = jax.jit(fun, **jit_kwargs)

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if not _enabled:
            enable()
        return jitted(*args, **kwargs)

    call.jitted = jitted
    return call


# --- the guard ------------------------------------------------------------------------------------------


def recover(directory: Path) -> dict[str, int]:
    """Make ``directory`` safe to load from: delete the entries read by processes that died, entries that
    fail their checksum and physnn's left-over temporary files. Returns how many of each were deleted."""
    deleted = {"read_by_dead_process": 0, "damaged": 0, "temporary": 0}
    try:  # the lock JAX's cache takes to evict: no entry disappears under its feet
        lock = filelock.FileLock(directory / ".lockfile", timeout=10)
        lock.acquire()
    except filelock.Timeout:
        return deleted
    try:
        deleted["read_by_dead_process"] = _discard_after_crashes(directory)
        deleted["damaged"] = _verify_entries(directory)
    finally:
        lock.release()
    for temporary in directory.glob(".*.tmp"):  # see physnn._io.temporary_name
        pid = _io.writer_pid(temporary)
        if pid is None or not _alive(pid):
            temporary.unlink(missing_ok=True)
            deleted["temporary"] += 1
    return deleted


def _entries(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(ENTRY_SUFFIX) and p.is_file()]


def _delete_entry(entry: Path) -> None:
    entry.unlink(missing_ok=True)
    entry.with_name(entry.name[: -len(ENTRY_SUFFIX)] + ATIME_SUFFIX).unlink(missing_ok=True)


def intact(data: bytes) -> bool:
    """Whether a cache entry's compressed bytes pass their checksum (zlib's Adler-32; zstd's frame check
    where JAX uses zstd)."""
    try:
        if data.startswith(_ZSTD_MAGIC):
            try:
                from compression import zstd  # Python >= 3.14
            except ImportError:
                import zstandard as zstd  # JAX uses zstd only when one of the two is installed
            zstd.decompress(data)
        else:
            decompressor = zlib.decompressobj()
            decompressor.decompress(data)
            if not decompressor.eof or decompressor.unused_data:
                return False
    except Exception:  # noqa: BLE001 - any failure to decompress is a damaged entry
        return False
    return True


def _verify_entries(directory: Path) -> int:
    """Check every entry not verified before (by name, size and modification time); delete the damaged."""
    record_path = directory / _VERIFIED
    try:
        record = json.loads(record_path.read_text())
        if not isinstance(record, dict):
            record = {}
    except (OSError, ValueError):
        record = {}
    verified, damaged = {}, 0
    for entry in _entries(directory):
        try:
            stat = entry.stat()
            stamp = [stat.st_size, stat.st_mtime_ns]
            if record.get(entry.name) != stamp:
                if not intact(entry.read_bytes()):
                    _delete_entry(entry)
                    damaged += 1
                    continue
            verified[entry.name] = stamp
            atime = entry.with_name(entry.name[: -len(ENTRY_SUFFIX)] + ATIME_SUFFIX)
            if not atime.exists():  # written without eviction: JAX's eviction fails on an entry without one
                atime.write_bytes(stat.st_mtime_ns.to_bytes(8, "little"))
        except OSError:  # evicted or replaced by another process meanwhile
            continue
    if verified != record:
        with contextlib.suppress(OSError):  # another process may be writing it too: it is only a shortcut
            _io.write_atomically(record_path, lambda f: f.write(json.dumps(verified).encode()))
    return damaged


def _marker_dir(directory: Path) -> Path:
    return directory / "running"


def _hold_marker(directory: Path) -> Path:
    markers = _marker_dir(directory)
    markers.mkdir(exist_ok=True)
    marker = markers / f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"
    marker.touch()
    return marker


def _release_marker(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _discard_after_crashes(directory: Path) -> int:
    """Delete the entries read since each dead process on this host started; returns how many."""
    markers = _marker_dir(directory)
    if not markers.is_dir():
        return 0
    host, deleted = socket.gethostname(), 0
    for marker in markers.iterdir():
        try:
            name_host, pid, started = marker.name.rsplit("-", 2)
            pid, started = int(pid), int(started)
        except ValueError:
            marker.unlink(missing_ok=True)
            continue
        if name_host != host or _alive(pid):
            continue
        for atime in directory.glob(f"*{ATIME_SUFFIX}"):
            try:
                read_at = int.from_bytes(atime.read_bytes()[:8], "little")
            except OSError:
                continue
            if read_at >= started:
                _delete_entry(atime.with_name(atime.name[: -len(ATIME_SUFFIX)] + ENTRY_SUFFIX))
                deleted += 1
        marker.unlink(missing_ok=True)
    return deleted


# --- compiled programs held in memory -------------------------------------------------------------------


class Programs(collections.OrderedDict):
    """A model's compiled programs, the ``maxsize`` most recently used (a refit with a new data size
    compiles a new epoch program; the oldest are dropped so memory stays bounded)."""

    def __init__(self, maxsize: int = 8):
        super().__init__()
        self.maxsize = maxsize

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)
