"""Uploads: a size limit while the bytes stream in, zip checks before and while extracting, and
storage under the archive's sha256.

Every rejection is an UploadRejected carrying one sentence from `reasons` (never the archive's
own text beyond what it names), so nothing a participant sends is echoed back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from generalbench.server import reasons
from generalbench.server.config import Limits


class UploadRejected(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def save_stream(chunks: AsyncIterator[bytes], storage: Path, limit: int) -> tuple[Path, str]:
    """Write the stream to a temporary file, stopping as soon as it passes `limit` bytes, then
    move it to archives/<sha256>.zip. Returns (path, sha256)."""
    tmp_dir = storage / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(reasons.TOO_LARGE, 413)
                digest.update(chunk)
                fh.write(chunk)
        sha = digest.hexdigest()
        dest = storage / "archives" / f"{sha}.zip"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(name, dest)
        return dest, sha
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    mode = info.external_attr >> 16
    if ("\\" in name or name.startswith("/") or "\x00" in name or (len(name) > 1 and name[1] == ":")
            or stat.S_ISLNK(mode)):
        raise UploadRejected(reasons.UNSAFE_MEMBER)
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts) or not path.parts:
        raise UploadRejected(reasons.UNSAFE_MEMBER)
    return path


def check_zip(archive: Path, limits: Limits) -> list[zipfile.ZipInfo]:
    """Everything that can be checked before extracting: member names, kinds, count, sizes."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise UploadRejected(reasons.NOT_ZIP) from None
    with zf:
        infos = zf.infolist()
    if len(infos) > limits.max_files:
        raise UploadRejected(reasons.TOO_MANY_FILES)
    seen: set[str] = set()
    total = 0
    for info in infos:
        path = _member_path(info)
        key = path.as_posix().rstrip("/").lower()
        if key in seen:
            raise UploadRejected(reasons.UNSAFE_MEMBER)
        seen.add(key)
        total += info.file_size
        if total > limits.max_unpacked_bytes:
            raise UploadRejected(reasons.TOO_BIG_UNPACKED)
    return infos


def extract(archive: Path, dest: Path, limits: Limits) -> Path:
    """Check, then extract into `dest` counting the bytes actually written: a member that
    inflates past its declared size, or past the total limit, stops extraction (headers lie)."""
    infos = check_zip(archive, limits)
    if dest.exists():
        return dest
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".extract-"))
    try:
        total = 0
        with zipfile.ZipFile(archive) as zf:
            for info in infos:
                target = tmp / _member_path(info)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                try:
                    with zf.open(info) as src, open(target, "xb") as out:
                        while chunk := src.read(1 << 16):
                            written += len(chunk)
                            total += len(chunk)
                            if written > info.file_size or total > limits.max_unpacked_bytes:
                                raise UploadRejected(reasons.TOO_BIG_UNPACKED)
                            out.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
                    raise UploadRejected(reasons.NOT_ZIP) from None
        try:
            os.replace(tmp, dest)
        except OSError:  # the same archive, extracted concurrently by another upload
            if not dest.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        return dest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def predictions_root(folder: Path) -> Path:
    """The folder holding run.json: the archive's root or its single top-level folder."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def validate(folder: Path, catalog) -> dict:
    """Ids and types only (no answer key is read here): every task file names a catalog task and
    every line is an {"id", "prediction"} row. Returns run.json (the manifest)."""
    from generalbench.data.predictions import read_predictions
    from generalbench.errors import GeneralBenchError, UnknownTaskError

    try:
        preds = read_predictions(folder, catalog)
    except UnknownTaskError:
        raise UploadRejected(reasons.UNKNOWN_TASK) from None
    except GeneralBenchError as exc:
        if "unknown task" in str(exc):
            raise UploadRejected(reasons.UNKNOWN_TASK) from None
        raise UploadRejected(reasons.NO_PREDICTIONS if "no predictions" in str(exc)
                             else reasons.MALFORMED) from None
    if preds.layout != "generalbench" or not preds.task_ids():
        raise UploadRejected(reasons.NO_PREDICTIONS)
    try:
        for task_id in preds.task_ids():
            for _line, _id, _value in preds.rows(task_id):
                pass
    except (GeneralBenchError, ValueError, UnicodeDecodeError):
        raise UploadRejected(reasons.MALFORMED) from None
    return dict(preds.manifest)
