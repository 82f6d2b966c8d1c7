"""Writing files so that nothing is lost: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside ``path`` (the pid lets a cleaner tell a dead writer's leftovers)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def writer_pid(temporary: Path) -> int | None:
    """The pid in a name made by ``temporary_name``, or None."""
    parts = temporary.name.split(".")
    return int(parts[-3]) if len(parts) >= 5 and parts[-1] == "tmp" and parts[-3].isdigit() else None


def write_atomically(path, write: Callable) -> Path:
    """Call ``write(f)`` on a new temporary file in ``path``'s directory, flush and fsync it, rename it over
    ``path`` and fsync the directory. On any failure (a full disk, an exception in ``write``, a signal) the
    temporary is removed and the previous ``path`` is untouched. Returns ``path``."""
    path = Path(path)
    temporary = temporary_name(path)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(directory)
    except OSError:
        pass  # some file systems cannot fsync a directory; the file itself is complete
    finally:
        os.close(directory)
    return path
