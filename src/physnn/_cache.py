"""JAX's persistent compilation cache, on by default so a repeated run does not compile again.

The cache lives in the user's cache directory (``$XDG_CACHE_HOME/physnn/jax`` or ``~/.cache/physnn/jax``);
``PHYSNN_CACHE_DIR`` moves it and ``PHYSNN_NO_CACHE=1`` turns it off. A directory the user already set
through ``jax.config`` or ``JAX_COMPILATION_CACHE_DIR`` is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax


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


enable()
