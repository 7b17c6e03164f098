"""The fast decoders (libspng for PNGs, a one-read .npy reader) against the reference readers.

`media.image_array` must give exactly np.asarray(Image.open(file)) for every PNG colour type
(libspng only where it agrees; palette indices, 1-bit and grey + alpha through Pillow), and
`media.load_npy` exactly np.load(file, allow_pickle=False), errors included.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from generalbench.data import media
from generalbench.errors import DataError


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _images() -> dict[str, Image.Image]:
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 256, (13, 17), dtype=np.uint8)
    rgb = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    labels = rng.integers(0, 21, (13, 17), dtype=np.uint8)
    rgb_t = Image.fromarray(rgb, "RGB")
    rgb_t.info["transparency"] = (1, 2, 3)
    return {
        "L": Image.fromarray(grey, "L"),
        "I;16": Image.fromarray(rng.integers(0, 65536, (13, 17)).astype(np.uint16)),
        "RGB": Image.fromarray(rgb, "RGB"),
        "RGBA": Image.fromarray(rng.integers(0, 256, (13, 17, 4), dtype=np.uint8), "RGBA"),
        "LA": Image.fromarray(rng.integers(0, 256, (13, 17, 2), dtype=np.uint8), "LA"),
        "P": Image.fromarray(labels, "L").convert("P"),  # VOC-style: the indices are the labels
        "1": Image.fromarray((grey > 127).astype(np.uint8) * 255, "L").convert("1"),
        "RGB+tRNS": rgb_t,
    }


@pytest.mark.parametrize("mode", list(_images()))
@pytest.mark.parametrize("optimize", [False, True])
def test_image_array_is_pillows_native_array(mode, optimize):
    img = _images()[mode]
    kw = {"optimize": optimize}
    if mode == "RGB+tRNS":
        kw["transparency"] = (1, 2, 3)
    raw = _png(img, **kw)
    want = np.asarray(Image.open(io.BytesIO(raw)))
    got = media.image_array(raw)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_fast_path_is_taken_only_for_safe_colour_types():
    imgs = _images()
    for mode in ("L", "I;16", "RGB", "RGBA"):
        assert media._png_fast(_png(imgs[mode])) is not None, mode
    for mode in ("LA", "P", "1"):
        assert media._png_fast(_png(imgs[mode])) is None, mode


def test_palette_mask_keeps_indices(tmp_path):
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    img = Image.fromarray(labels, "L").convert("P")
    img.putpalette([v for i in range(256) for v in (255 - i, i, (7 * i) % 256)])
    img.save(tmp_path / "voc.png")
    out = media.load_mask(tmp_path / "voc.png")
    assert out.dtype == np.int64 and np.array_equal(out, labels)


def test_sixteen_bit_mask_and_depth(tmp_path):
    ids = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000)
    media.save_mask(tmp_path / "m.png", ids)
    assert np.array_equal(media.load_mask(tmp_path / "m.png"), ids.astype(np.int64))
    depth = media.load_depth(tmp_path / "m.png")
    assert depth.dtype == np.float64 and np.array_equal(depth, ids)


def test_corrupt_png_is_a_data_error_naming_the_file(tmp_path):
    raw = _png(_images()["L"])
    (tmp_path / "cut.png").write_bytes(raw[:60])
    with pytest.raises(DataError, match="cut.png"):
        media.load_mask(tmp_path / "cut.png")


@pytest.mark.parametrize("arr", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.arange(6, dtype=">f8").reshape(2, 3),
    np.asfortranarray(np.arange(15, dtype=np.int64).reshape(5, 3)),
    np.zeros((0, 3)),
    np.array(2.5),
    np.array([True, False]),
    np.array([1 + 2j]),
], ids=["f4", "f8be", "fortran", "empty", "scalar", "bool", "complex"])
def test_load_npy_is_np_load(tmp_path, arr):
    np.save(tmp_path / "a.npy", arr)
    got, want = media.load_npy(tmp_path / "a.npy"), np.load(tmp_path / "a.npy")
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
    assert got.flags.writeable and got.flags.f_contiguous == want.flags.f_contiguous


def test_load_npy_refuses_pickles_and_truncation_as_np_load(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        media.load_npy(tmp_path / "obj.npy")
    np.save(tmp_path / "t.npy", np.arange(100, dtype=np.float64))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:-8])
    with pytest.raises(DataError, match="t.npy"):
        media.load_array(tmp_path / "t.npy")


def test_without_pyspng_pillow_decodes_everything(monkeypatch):
    monkeypatch.setattr(media, "_spng", lambda: None)
    raw = _png(_images()["RGB"])
    assert media._png_fast(raw) is None
    assert np.array_equal(media.image_array(raw), np.asarray(Image.open(io.BytesIO(raw))))


def test_flo_valid_mask_is_finite_and_below_1e9(tmp_path):
    flow = np.random.default_rng(0).normal(size=(5, 6, 2)).astype(np.float32)
    flow[0, 0, 0], flow[1, 1, 1], flow[2, 2, 0], flow[3, 3, 1] = np.nan, np.inf, 2e9, -np.inf
    media.save_flow(tmp_path / "a.flo", flow)
    got, valid = media.load_flow(tmp_path / "a.flo", with_valid=True)
    want = np.isfinite(got).all(axis=2) & (np.abs(got) < 1e9).all(axis=2)
    assert np.array_equal(valid, want) and int(valid.sum()) == 26
    assert np.array_equal(media.load_flow(tmp_path / "a.flo"), got, equal_nan=True)


@pytest.mark.parametrize("compressed", [False, True])
def test_load_npz_is_np_load(tmp_path, compressed):
    rng = np.random.default_rng(3)
    save = np.savez_compressed if compressed else np.savez
    arrays = {"other": np.arange(3), "disparity": rng.random((2, 1, 4, 5)).astype(np.float32),
              "depth": np.asfortranarray(rng.random((4, 5)))}
    save(tmp_path / "a.npz", **arrays)
    for keys in [("depth", "disparity"), ("disparity",), ("missing",), ()]:
        got = media.load_npz(tmp_path / "a.npz", keys)
        with np.load(tmp_path / "a.npz") as z:
            want = z[next((k for k in keys if k in z.files), z.files[0])]
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
        assert got.flags.writeable


def test_load_npz_unusual_members_are_np_loads(tmp_path):
    import zipfile

    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        media.load_npz(tmp_path / "obj.npz")
    with zipfile.ZipFile(tmp_path / "raw.npz", "w") as zf:
        zf.writestr("notes.txt", b"hello")
    with np.load(tmp_path / "raw.npz") as z:
        want = z["notes.txt"]
    assert media.load_npz(tmp_path / "raw.npz") == want
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataError, match="bad.npz"):
        media.load_depth(tmp_path / "bad.npz")
