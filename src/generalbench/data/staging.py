"""Folders that appear whole or not at all: written in a hidden sibling, renamed into place.

`split` and `make-mini` write many files; a kill half-way used to leave a half-filled folder that
the retry then refused ("not empty"). Writing into a staging sibling on the same file system and
renaming it at the end makes the result all-or-nothing, and the staging folder is removed on
any failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces `final` (which must be absent, an
    empty folder, or a folder the caller has decided to replace)."""
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the result is an ordinary folder
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
