"""Caches of compiled programs, on by default so a repeated run does not compile again.

Two layers, both in the user's cache directory (``$XDG_CACHE_HOME/physnn/jax`` or ``~/.cache/physnn/jax``;
``PHYSNN_CACHE_DIR`` moves it and ``PHYSNN_NO_CACHE=1`` turns both off):

* JAX's persistent compilation cache, for every program. It is keyed on the lowered program, so a new
  process still traces and lowers before it can look up (about a second for a training epoch). A directory
  the user already set through ``jax.config`` or ``JAX_COMPILATION_CACHE_DIR`` is left alone.
* physnn's executable cache (``executables/``) for the programs physnn can describe without tracing (a
  training epoch of a model made of physnn's own layers, activations, losses and optimisers): the key is
  that description plus the argument shapes, the physnn source, the JAX version and the machine, and a hit
  loads the compiled executable directly (``jax.experimental.serialize_executable``), skipping trace and
  lowering. Like JAX's cache, its files are trusted: they are pickles written by this user.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import platform
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np


def cache_dir() -> Path | None:
    """Where compiled programs are cached, or None when caching is off."""
    if os.environ.get("PHYSNN_NO_CACHE", "").strip() not in ("", "0"):
        return None
    if os.environ.get("PHYSNN_CACHE_DIR"):
        return Path(os.environ["PHYSNN_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "physnn" / "jax"


def enable() -> None:
    directory = cache_dir()
    if directory is None or jax.config.jax_compilation_cache_dir:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@functools.lru_cache(maxsize=1)
def _environment() -> str:
    """What a compiled executable depends on besides the program: physnn's source, JAX, the machine."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    import jaxlib

    return repr((digest.hexdigest(), jax.__version__, jaxlib.__version__, jax.default_backend(),
                 [str(d) for d in jax.devices()], platform.machine(), flags))


def signature(leaves) -> tuple:
    """What a compiled executable is specialised to besides its program: the x64 mode (read per call, as
    ``jax.enable_x64`` may switch it) and each argument's shape, dtype and whether it is a (weakly typed)
    Python scalar."""
    return (str(jax.dtypes.canonicalize_dtype(np.float64)),
            tuple((tuple(jnp.shape(x)), str(jnp.result_type(x)), isinstance(x, (int, float))) for x in leaves))


def _executable_path(key: str, treedef, arguments: tuple) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    # the argument structure (dictionary keys such as layer names included) fixes the output structure
    name = hashlib.sha256(repr((key, str(treedef), arguments, _environment())).encode()).hexdigest()
    return directory / "executables" / f"{name}.pkl"


_persistent_cache_hits = [0]
_keys_stored: set[str] = set()


def _count_persistent_cache_hits(event: str, **kwargs) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _persistent_cache_hits[0] += 1


jax.monitoring.register_event_listener(_count_persistent_cache_hits)


@contextlib.contextmanager
def _persistent_cache_off():
    """Compile without JAX's persistent cache: an executable that cache hands back serialises without its
    kernels (it then fails with "Function ... not found" when run), so entries here are compiled afresh."""
    from jax.experimental.compilation_cache import compilation_cache

    enabled = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    compilation_cache.reset_cache()
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", enabled)
        compilation_cache.reset_cache()


def load_or_compile(jitted, treedef, leaves, arguments: tuple, key: str, out_tree: dict):
    """The compiled ``jitted`` for arguments ``leaves``, from the executable cache when ``key`` was seen.

    Arguments:
        jitted: a ``jax.jit`` function of flat array arguments returning a flat list; tracing it stores the
            structure of the caller's output in ``out_tree["treedef"]``.
        treedef, leaves: the caller's arguments, flattened (leaves are arrays or Python scalars).
        arguments: ``signature(leaves)``.
        key: a complete description of the program ``jitted`` computes (same key -> same program).
        out_tree: filled with "treedef" from the cache on a hit.
    Returns:
        A callable executable (stored in the cache when it was compiled here, or loaded from it); None when
        the cache is off, in which case the caller runs ``jitted`` itself.
    """
    from jax.experimental import serialize_executable

    path = _executable_path(key, treedef, arguments)
    if path is None:
        return None
    if path.exists():
        try:
            with open(path, "rb") as f:
                payload, in_tree, flat_out_tree, out_tree["treedef"] = pickle.load(f)
            executable = serialize_executable.deserialize_and_load(payload, in_tree, flat_out_tree)
            os.utime(path)  # recently used: pruned last
            return executable
        except Exception:  # noqa: BLE001 - a stale or damaged entry is recompiled and replaced
            pass
    hits = _persistent_cache_hits[0]
    compiled = jitted.lower(*leaves).compile()
    if _persistent_cache_hits[0] > hits:
        # JAX's persistent cache served it, and such an executable cannot be stored here (see
        # _persistent_cache_off). Recompile it for an entry once per key and process; later models of the
        # same architecture but other layer names (hence another entry) keep JAX's copy.
        if key in _keys_stored and not path.exists():  # (a damaged entry is replaced)
            return compiled
        with _persistent_cache_off():
            # a compiler option at its default value keeps JAX's in-memory cache from handing back the
            # executable just loaded
            compiled = jitted.lower(*leaves).compile(compiler_options={"xla_embed_ir_in_executable": False})
    _keys_stored.add(key)
    try:
        entry = (*serialize_executable.serialize(compiled), out_tree["treedef"])
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with open(temporary, "wb") as f:
            pickle.dump(entry, f)
        os.replace(temporary, path)  # atomic: a concurrent reader sees the old file or the whole new one
        _prune(path.parent)
    except Exception:  # noqa: BLE001 - an unwritable cache only costs the next process a compile
        pass
    return compiled


EXECUTABLES_MAX_BYTES = 256 * 2**20


def _prune(directory: Path, limit: int | None = None) -> None:
    """Delete the least recently used entries until the directory holds at most ``limit`` bytes
    (``EXECUTABLES_MAX_BYTES``); every change of physnn's source starts new entries."""
    limit = EXECUTABLES_MAX_BYTES if limit is None else limit
    entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in directory.glob("*.pkl")]
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size


enable()
