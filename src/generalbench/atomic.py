"""Atomic output files: write a temporary file next to the target, fsync it, rename it over.

A reader (or a rerun after a kill) sees either the old file or the whole new one, never a
half-written file, and a full disk is one clear error that leaves the old file in place. Every
command that writes a result file (predictions, run.json, run-info.json, reports, tables) uses
these two functions so that guarantee is made in one place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from generalbench.errors import GeneralBenchError


class OutputWriteError(GeneralBenchError):
    """An output file cannot be written (full disk, no permission, a folder in the way)."""


def _describe(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"{path}: cannot write: the disk is full; free some space and rerun"
    if exc.errno == errno.EDQUOT:
        return f"{path}: cannot write: disk quota exceeded; free some space and rerun"
    return f"{path}: cannot write ({exc.strerror or exc})"


def _default_perms() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "w", *, encoding: str | None = "utf-8",
                perms: int | None = None, fsync: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces `path` when the block ends without error.

    `mode` is "w" or "wb". On an exception the temporary file is removed and `path` is untouched;
    an OSError (full disk, permissions) becomes one OutputWriteError naming `path`. The file gets
    mode `perms`, by default what open() would give (0666 less the umask): tempfile alone would
    leave it 0600, unreadable to the user's group and other tools.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode {mode!r} (use 'w' or 'wb')")
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputWriteError(_describe(path, exc)) from None
    ok = False
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, _default_perms() if perms is None else perms)
        os.replace(tmp, path)
        ok = True
    except OSError as exc:
        raise OutputWriteError(_describe(path, exc)) from None
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write_text(path: Path | str, text: str, *, encoding: str = "utf-8",
                      fsync: bool = True) -> None:
    """Replace `path` with `text` atomically (see atomic_open)."""
    with atomic_open(path, "w", encoding=encoding, fsync=fsync) as fh:
        fh.write(text)


def atomic_write_bytes(path: Path | str, data: bytes, *, fsync: bool = True) -> None:
    """Replace `path` with `data` atomically (see atomic_open)."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)
