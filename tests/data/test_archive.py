"""Archives are unpacked safely: no escape from the target folder, no links, no bombs."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from generalbench.data.archive import Limits, safe_extract, unpack_cached
from generalbench.errors import DataError


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)


def test_zip_roundtrip_and_cache(tmp_path):
    arc = tmp_path / "t.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("T/a.txt", "hello")
        zf.writestr("T/sub/b.txt", "world")
    out = unpack_cached(arc, tmp_path / "cache")
    assert (out / "T/a.txt").read_text() == "hello" and (out / "T/sub/b.txt").read_text() == "world"
    assert unpack_cached(arc, tmp_path / "cache") == out  # second call reuses the cache
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [out.name]  # no temp left behind


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt", "C:/evil.txt"])
def test_zip_path_traversal_rejected(tmp_path, name):
    arc = tmp_path / "t.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), "x")
    with pytest.raises(DataError, match="refusing"):
        safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_rejected(tmp_path):
    arc = tmp_path / "t.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        safe_extract(arc, tmp_path / "out")


def test_zip_bomb_ratio_rejected(tmp_path):
    arc = tmp_path / "bomb.zip"
    with zipfile.ZipFile(arc, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (20 * 1024**2))  # ~1000:1
    with pytest.raises(DataError, match="compression ratio"):
        safe_extract(arc, tmp_path / "out")


def test_zip_total_size_and_file_count_limits(tmp_path):
    arc = tmp_path / "t.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for i in range(5):
            zf.writestr(f"f{i}.bin", bytes(range(256)) * 8)
    with pytest.raises(DataError, match="more than 3 files"):
        safe_extract(arc, tmp_path / "a", Limits(max_files=3))
    with pytest.raises(DataError, match="bytes"):
        safe_extract(arc, tmp_path / "b", Limits(max_total_bytes=4000))
    safe_extract(arc, tmp_path / "c")
    assert len(list((tmp_path / "c").iterdir())) == 5


def test_zip_lying_header_is_caught_while_copying(tmp_path):
    """A member whose central-directory size lies is rejected (size/CRC checks or the byte budget)."""
    arc = tmp_path / "t.zip"
    with zipfile.ZipFile(arc, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.bin", b"\0" * (3 * 1024**2))
    raw = bytearray(arc.read_bytes())
    # patch the central directory's uncompressed size field (offset 24 in the entry) to 10 bytes
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (10).to_bytes(4, "little")
    arc.write_bytes(bytes(raw))
    with pytest.raises(DataError):
        safe_extract(arc, tmp_path / "out", Limits(max_total_bytes=1024**2))


@pytest.mark.parametrize(("name", "kind", "linkname", "data", "message"), [
    ("link", tarfile.SYMTYPE, "/etc/passwd", None, "link"),
    ("hard", tarfile.LNKTYPE, "x", None, "link"),
    ("dev", tarfile.CHRTYPE, "", None, "not a regular file"),
    ("../../evil.txt", tarfile.REGTYPE, "", b"x", "climbs out"),
])
def test_tar_links_devices_and_traversal_rejected(tmp_path, name, kind, linkname, data, message):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data or b"")
    _tar(tmp_path / "a.tar.gz", [(info, data)])
    with pytest.raises(DataError, match=message):
        safe_extract(tmp_path / "a.tar.gz", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_bomb_rejected(tmp_path):
    info = tarfile.TarInfo("zeros.bin")
    data = b"\0" * (20 * 1024**2)
    info.size = len(data)
    _tar(tmp_path / "bomb.tar.gz", [(info, data)])
    with pytest.raises(DataError, match="compression ratio"):
        safe_extract(tmp_path / "bomb.tar.gz", tmp_path / "out")


def test_garbage_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(DataError, match="not a readable zip"):
        safe_extract(tmp_path / "x.zip", tmp_path / "o")
