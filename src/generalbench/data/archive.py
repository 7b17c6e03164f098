"""Safe unpacking of task folders shipped as .zip / .tar.gz, into a cache, on demand.

Archives come from the internet, so nothing in them is trusted: member names that are absolute or
climb out ('..'), links and device files are rejected, and the total size, file count and
compression ratio are bounded (a zip bomb fails before it fills the disk). Members are copied
with a byte budget instead of `extractall`, so a header that lies about sizes cannot bypass the
limits. The result goes to a temporary folder renamed into place, so an interrupted unpack never
leaves a half-filled cache entry.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from generalbench.errors import DataError

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class Limits:
    """Bounds on what one archive may unpack to."""

    max_total_bytes: int = 200 * 1024**3
    max_files: int = 2_000_000
    max_ratio: float = 200.0
    """Largest uncompressed/compressed ratio, checked per member above `ratio_floor` bytes and
    for the archive as a whole (media compresses poorly; a bomb compresses ~1000x)."""
    ratio_floor: int = 1024**2


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(ARCHIVE_SUFFIXES)


def archive_stem(path: Path) -> str:
    name = path.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def default_cache() -> Path:
    """Unpacked archives: `cache_root()/unpacked`."""
    from generalbench.datafiles import cache_root

    return cache_root() / "unpacked"


def _safe_name(name: str, archive: Path) -> PurePosixPath:
    norm = name.replace("\\", "/")
    pure = PurePosixPath(norm)
    if norm.startswith("/") or pure.is_absolute() or (len(norm) > 1 and norm[1] == ":"):
        raise DataError(f"{archive}: member {name!r} has an absolute path; refusing to unpack")
    if any(part == ".." for part in pure.parts):
        raise DataError(f"{archive}: member {name!r} climbs out of the folder ('..'); refusing to unpack")
    return PurePosixPath(*[p for p in pure.parts if p not in ("", ".")])


def _unique(rel: PurePosixPath, name: str, seen: set[PurePosixPath], archive: Path) -> None:
    """Refuse a second member of the same name: which copy would win is the unpacker's whim, so
    an archive could show a reviewer one file and feed the scorer another."""
    if rel in seen and rel.parts:
        raise DataError(f"{archive}: member {name!r} appears twice; refusing to unpack (which copy "
                        "counts would be ambiguous)")
    seen.add(rel)


class _Budget:
    def __init__(self, archive: Path, limits: Limits):
        self.archive, self.limits = archive, limits
        self.total = 0
        self.files = 0

    def file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise DataError(f"{self.archive}: more than {self.limits.max_files} files; refusing to unpack")

    def copy(self, src: IO[bytes], dst: Path, name: str, compressed: int | None) -> None:
        written = 0
        with open(dst, "wb") as out:
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                written += len(block)
                self.total += len(block)
                if self.total > self.limits.max_total_bytes:
                    raise DataError(f"{self.archive}: unpacks to more than {self.limits.max_total_bytes} "
                                    "bytes; refusing (zip bomb?)")
                if (compressed is not None and written > self.limits.ratio_floor
                        and written > self.limits.max_ratio * max(compressed, 1)):
                    raise DataError(f"{self.archive}: member {name!r} compression ratio above "
                                    f"{self.limits.max_ratio:g}; refusing (zip bomb?)")
                out.write(block)


def _members_zip(zf: zipfile.ZipFile, archive: Path, limits: Limits) -> Iterator[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > limits.max_files:
        raise DataError(f"{archive}: more than {limits.max_files} files; refusing to unpack")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise DataError(f"{archive}: declares {declared} bytes unpacked, above the limit "
                        f"{limits.max_total_bytes}; refusing (zip bomb?)")
    packed = archive.stat().st_size
    if declared > limits.ratio_floor and declared > limits.max_ratio * max(packed, 1):
        raise DataError(f"{archive}: compression ratio {declared / max(packed, 1):.0f} above "
                        f"{limits.max_ratio:g}; refusing (zip bomb?)")
    seen: set[PurePosixPath] = set()
    for info in infos:
        if not info.is_dir():
            _unique(_safe_name(info.filename, archive), info.filename, seen, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise DataError(f"{archive}: member {info.filename!r} is a symbolic link; refusing to unpack")
        yield info


def _extract_zip(archive: Path, dest: Path, limits: Limits) -> None:
    budget = _Budget(archive, limits)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in _members_zip(zf, archive, limits):
                rel = _safe_name(info.filename, archive)
                target = dest.joinpath(*rel.parts) if rel.parts else dest
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                budget.file()
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src:
                    budget.copy(src, target, info.filename, info.compress_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DataError(f"{archive}: not a readable zip file ({exc})") from None


def _extract_tar(archive: Path, dest: Path, limits: Limits) -> None:
    budget = _Budget(archive, limits)
    packed = archive.stat().st_size
    try:
        with tarfile.open(archive, "r:*") as tf:
            seen: set[PurePosixPath] = set()
            for member in tf:
                rel = _safe_name(member.name, archive)
                if not member.isdir():
                    _unique(rel, member.name, seen, archive)
                if member.issym() or member.islnk():
                    raise DataError(f"{archive}: member {member.name!r} is a link; refusing to unpack")
                if member.isdir():
                    (dest.joinpath(*rel.parts) if rel.parts else dest).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise DataError(f"{archive}: member {member.name!r} is not a regular file; refusing")
                budget.file()
                target = dest.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(member)
                if src is None:
                    continue
                with src:
                    budget.copy(src, target, member.name, None)
                if budget.total > limits.ratio_floor and budget.total > limits.max_ratio * max(packed, 1):
                    raise DataError(f"{archive}: compression ratio above {limits.max_ratio:g}; "
                                    "refusing (zip bomb?)")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{archive}: not a readable tar archive ({exc})") from None


def safe_extract(archive: Path, dest: Path, limits: Limits | None = None) -> Path:
    """Unpack `archive` into the (new or empty) folder `dest`, enforcing `limits`."""
    limits = limits or Limits()
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.lower().endswith(".zip"):
        _extract_zip(archive, dest, limits)
    else:
        _extract_tar(archive, dest, limits)
    return dest


def unpack_cached(archive: Path, cache: Path | None = None, limits: Limits | None = None) -> Path:
    """The folder `archive` unpacks to, unpacking it once into the cache.

    The cache key covers the archive's absolute path, size and mtime, so a re-downloaded
    archive is unpacked afresh.
    """
    cache = cache or default_cache()
    st = archive.stat()
    key = hashlib.sha256(f"{archive.absolute()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    final = cache / f"{archive_stem(archive)}-{key}"
    if final.is_dir():
        return final
    missing = [p for p in (cache, *cache.parents) if not p.exists()]
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=cache))
    try:
        safe_extract(archive, tmp, limits)
        try:
            tmp.rename(final)
        except OSError:
            if not final.is_dir():
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in missing:  # a refused archive leaves no trace, not even an empty cache
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
