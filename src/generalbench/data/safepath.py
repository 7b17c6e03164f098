"""One place that turns a submitted relative path into a file that may be read.

Predictions folders come from strangers (the leaderboard service scores uploads), so every
file that `validate`, `score` and the data and predictions readers open goes through
`resolve_inside`: the path must be relative, must not climb out with '..', must not be
absurdly long, and once symbolic links are followed it must still lie inside its root (a
symlinked artifact, `artifacts/<task>` folder or `<task>.jsonl` pointing at the answer key is
refused). Only regular files and folders are accepted: a named pipe or device would block a
reader forever.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from generalbench.errors import DataError

MAX_PATH_CHARS = 1024
"""Longest relative path accepted (the OS limit is 4096 for the whole path, 255 per name)."""
MAX_NAME_BYTES = 255


def check_length(rel: str, where: str = "") -> None:
    """DataError for a path the file system cannot hold (instead of an OSError traceback)."""
    if len(rel) > MAX_PATH_CHARS:
        raise DataError(f"{where}path {rel[:60]!r}... is {len(rel)} characters long; at most "
                        f"{MAX_PATH_CHARS} are allowed")
    for part in rel.replace("\\", "/").split("/"):
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise DataError(f"{where}path {rel[:60]!r}...: the name {part[:40]!r}... is longer than "
                            f"{MAX_NAME_BYTES} bytes")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_inside(path: Path | str, root: Path | str, *, what: str = "file") -> Path:
    """`path` (absolute or relative to the working folder) when it is safe to read below `root`.

    Missing paths are returned as they are (the caller reports "not found"); an existing path
    must resolve, symbolic links followed, inside `root` and be a regular file or a folder.
    """
    path = Path(path)
    check_length(str(path))
    try:
        exists = os.path.lexists(path)
        if not exists:
            return path
        real = os.path.realpath(path)
        real_root = os.path.realpath(root)
        if not _inside(real, real_root):
            raise DataError(f"{path}: {what} is a symbolic link (or under one) that leads outside "
                            f"{root}; refusing to read it (links may only point inside the folder; "
                            "copy the file in instead)")
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            return path  # a dangling link inside the root: reported as not found
    except OSError as exc:
        raise DataError(f"{path}: cannot access {what} ({exc.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(f"{path}: {what} is not a regular file (a pipe, socket or device); "
                        "refusing to read it")
    return path


@lru_cache(maxsize=256)
def _real_root(root: str) -> str:
    """A root folder's real path (memoised: a scoring run resolves every file against a handful
    of roots, and the roots are the operator's folders, not the submission's)."""
    return os.path.realpath(root)


@lru_cache(maxsize=256)
def _abs_root(root: str) -> str:
    """os.path.abspath of an absolute root (memoised; a relative one depends on the working
    folder and is not cached)."""
    return os.path.abspath(root)


_UNPLAIN = frozenset({"", ".", ".."})


def resolve_inside(root: Path | str, rel: str, *, what: str = "file") -> Path:
    """The absolute path of `rel` under `root`, checked by `check_relative` and `check_inside`.

    The common case (no symbolic link below the root) costs one lstat per component of `rel`
    instead of two full realpath walks; any link hands over to `check_inside`'s general rule."""
    return Path(resolve_inside_str(root, rel, what=what))


def resolve_inside_str(root: Path | str, rel: str, *, what: str = "file") -> str:
    """`resolve_inside` as a string (a scoring run resolves ~100k files; Path objects cost more
    than the lstat calls). A plain path (ASCII, at most 255 characters, no '', '.', '..' part,
    no backslash or drive) skips the general spelling checks, which it passes by construction."""
    return resolve_checked(root, rel, what=what)[0]


def resolve_checked(root: Path | str, rel: str, *, what: str = "file") -> tuple[str, bool]:
    """`resolve_inside_str` and whether the file exists (known from its walk: the scorer needs
    no further stat before opening it)."""
    root_s = os.fspath(root)
    root_s = _abs_root(root_s) if root_s.startswith("/") else os.path.abspath(root_s)
    parts = rel.split("/") if isinstance(rel, str) else None
    if (parts is None or len(rel) > MAX_NAME_BYTES or not rel.isascii() or "\\" in rel
            or rel[1:2] == ":" or not _UNPLAIN.isdisjoint(parts)):
        from generalbench.data.instances import check_relative

        check_length(rel)
        rel = check_relative(rel)
        parts = [part for part in rel.split("/") if part not in ("", ".")]
    path = os.path.join(root_s, rel)
    cur = _real_root(root_s)
    mode = None
    try:
        for part in parts:
            cur = f"{cur}/{part}" if cur != "/" else f"/{part}"
            try:
                mode = os.lstat(cur).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return path, False  # missing: the caller reports "not found"
            if stat.S_ISLNK(mode):
                path = str(check_inside(path, root, what=what))
                return path, os.path.exists(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot access {what} ({exc.strerror})") from None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(f"{path}: {what} is not a regular file (a pipe, socket or device); "
                        "refusing to read it")
    return path, True


_O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def read_plain(root: Path | str, rel: str) -> tuple[str, bytes] | None:
    """(path, content) of the regular file `rel` below `root` reached through no symbolic link,
    with one lstat fewer than `resolve_checked` + open; None for anything else.

    Why it is as safe as `resolve_checked`: the folders of `rel` are lstat-walked as there (a
    link hands over to the general path). The file itself is not lstat'ed but opened with
    O_NOFOLLOW (a symbolic link there, even one swapped in after the folder walk, fails with
    ELOOP instead of being followed) and O_NONBLOCK (a FIFO opens without blocking), and the
    fstat of that open descriptor must say "regular file": the check and the read are on one
    inode, so the last component has no check-then-read gap at all (resolve_checked's lstat then
    open has one). None (link, missing file, folder, pipe, odd spelling, read error) sends the
    caller to `resolve_checked` and its loader, which give the same value and the same messages
    as before, so this lane changes speed only.
    """
    if (not isinstance(rel, str) or len(rel) > MAX_NAME_BYTES or not rel.isascii() or "\\" in rel
            or rel[1:2] == ":"):
        return None
    parts = rel.split("/")
    if not _UNPLAIN.isdisjoint(parts):
        return None
    root_s = os.fspath(root)
    root_s = _abs_root(root_s) if root_s.startswith("/") else os.path.abspath(root_s)
    cur = _real_root(root_s)
    try:
        for part in parts[:-1]:
            cur = f"{cur}/{part}" if cur != "/" else f"/{part}"
            if not stat.S_ISDIR(os.lstat(cur).st_mode):
                return None  # a link (general rule), or a file where a folder should be
        fd = os.open(f"{cur}/{parts[-1]}" if cur != "/" else f"/{parts[-1]}", _O_FILE)
    except OSError:
        return None  # missing, ELOOP (a link), no permission: the general path decides
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        size = st.st_size
        data = os.read(fd, size + 1)  # one byte more: a file larger than it said is read on
        if len(data) != size:
            parts_read = [data]
            while chunk := os.read(fd, 1 << 20):
                parts_read.append(chunk)
            data = b"".join(parts_read)
    except OSError:
        return None
    finally:
        os.close(fd)
    # os.path.join(root_s, rel) of an absolute, normalised root and a plain relative path
    return (f"{root_s}/{rel}" if root_s != "/" else f"/{rel}"), data


def require_file(path: Path | str, root: Path | str, *, what: str = "file") -> Path:
    """`check_inside`, and the path must be an existing regular file."""
    path = check_inside(path, root, what=what)
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not found"
        raise DataError(f"{path}: {what} is {kind}; expected a file")
    return path


def iter_files(folder: Path, root: Path | str | None = None) -> Iterator[Path]:
    """Every file below `folder` in sorted order, each checked to stay inside `root`
    (default: `folder`); symlinked sub-folders are not descended into unless they stay inside."""
    root = folder if root is None else root
    for p in sorted(folder.rglob("*")):
        check_inside(p, root)
        if p.is_file():
            yield p
