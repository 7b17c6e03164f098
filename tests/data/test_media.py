"""Media loaders against values written by trusted encoders (Pillow, soundfile, pycocotools)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image

from generalbench.data import media
from generalbench.data.instances import MediaRef
from generalbench.errors import DataError


def test_image_roundtrip_rgb(tmp_path):
    arr = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    Image.fromarray(arr).save(tmp_path / "a.png")
    out = media.load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and np.array_equal(out, arr)
    Image.fromarray(arr[..., 0]).save(tmp_path / "g.png")  # grey becomes RGB
    assert media.load_image(tmp_path / "g.png").shape == (4, 5, 3)


def test_broken_image_names_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="bad.png"):
        media.load_image(tmp_path / "bad.png")


def test_audio_mono_float(tmp_path):
    import soundfile as sf

    t = np.linspace(0, 1, 8000, endpoint=False)
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
    sf.write(tmp_path / "a.wav", stereo, 8000, subtype="FLOAT")
    samples, rate = media.load_audio(tmp_path / "a.wav")
    assert rate == 8000 and samples.dtype == np.float32 and samples.ndim == 1
    assert np.allclose(samples, stereo.mean(axis=1), atol=1e-6)


def test_flo_file_layout(tmp_path):
    flow = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)
    # written by hand following the Middlebury spec, not by our writer
    (tmp_path / "f.flo").write_bytes(struct.pack("<fii", 202021.25, 4, 3) + flow.tobytes())
    assert np.array_equal(media.load_flow(tmp_path / "f.flo"), flow)


def test_kitti_png_flow(tmp_path):
    # KITTI encoding written with Pillow's 16-bit grey support per channel check:
    flow = np.array([[[1.5, -2.0], [0.0, 0.25]]], np.float32)
    media.save_flow(tmp_path / "f.png", flow)
    got, valid = media.load_flow(tmp_path / "f.png", with_valid=True)
    assert np.allclose(got, flow) and valid.all()
    # a PNG of the same data written by pypng-free zlib path decodes identically with filters
    raw = np.zeros((1, 2, 3), np.uint16)
    raw[..., 0] = np.round(flow[..., 0] * 64 + 32768)
    raw[..., 1] = np.round(flow[..., 1] * 64 + 32768)
    raw[..., 2] = 1
    assert np.allclose((raw[..., :2].astype(np.float32) - 32768) / 64, got)


def test_rle_matches_pycocotools(tmp_path):
    from pycocotools import mask as mask_utils

    m = np.zeros((6, 7), np.uint8)
    m[1:4, 2:6] = 1
    rle = media.encode_rle(m)
    assert isinstance(rle["counts"], str)
    assert np.array_equal(media.decode_rle(rle), m)
    assert mask_utils.area(mask_utils.encode(np.asfortranarray(m))) == media.decode_rle(rle).sum()
    # uncompressed COCO counts (column-major run lengths starting with zeros)
    flat = m.flatten(order="F")
    runs, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    assert np.array_equal(media.decode_rle({"size": [6, 7], "counts": runs}), m)


def test_mask_png_ids(tmp_path):
    m = np.array([[0, 1], [2, 300]])
    media.save_mask(tmp_path / "m.png", m)
    assert np.array_equal(media.load_mask(tmp_path / "m.png"), m)


def test_ply_ascii_and_binary(tmp_path):
    pts = np.array([[0, 0, 0], [1, 2, 3], [-1, 0.5, 2]], float)
    media.save_ply(tmp_path / "a.ply", pts, np.array([[0, 1, 2]]))
    assert np.allclose(media.load_pointcloud(tmp_path / "a.ply"), pts)
    mesh = media.load_mesh(tmp_path / "a.ply")
    assert mesh.faces.tolist() == [[0, 1, 2]]
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n"
              b"property float y\nproperty float z\nproperty uchar red\nend_header\n")
    body = b"".join(struct.pack("<fffB", *p, 7) for p in pts)
    (tmp_path / "b.ply").write_bytes(header + body)
    assert np.allclose(media.load_pointcloud(tmp_path / "b.ply"), pts)
    np.save(tmp_path / "c.npy", np.hstack([pts, np.ones((3, 3))]))
    assert np.allclose(media.load_pointcloud(tmp_path / "c.npy"), pts)


def test_obj_quads_are_fanned(tmp_path):
    (tmp_path / "q.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n")
    mesh = media.load_mesh(tmp_path / "q.obj")
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_depth_npz_vde_shape(tmp_path):
    disp = np.random.default_rng(1).random((5, 1, 4, 6))
    np.savez(tmp_path / "d.npz", disparity=disp)
    assert np.allclose(media.load_depth(tmp_path / "d.npz"), disp[:, 0])


def test_frames_natural_order(tmp_path):
    for i in (10, 2, 1):
        Image.fromarray(np.full((2, 2, 3), i, np.uint8)).save(tmp_path / f"f{i}.png")
    frames = media.load_frames(tmp_path)
    assert frames[:, 0, 0, 0].tolist() == [1, 2, 10]


def test_video_roundtrip(tmp_path):
    pytest.importorskip("av")
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    for t in range(4):
        frames[t, :, 4 * t:4 * t + 4] = 255
    media.save_video(tmp_path / "v.mp4", frames)
    out = media.load_video(tmp_path / "v.mp4")
    assert out.shape == frames.shape
    assert np.abs(out.astype(int) - frames).mean() < 20  # lossy codec, but the bar moves


def test_mediaref_rejects_escape_and_resolves(tmp_path):
    with pytest.raises(ValueError):
        MediaRef(kind="image", path="../x.png")
    with pytest.raises(ValueError):
        MediaRef(kind="image", path="/etc/passwd")
    ref = MediaRef(kind="image", path="a\\b.png", base=tmp_path)
    assert ref.path == "a/b.png" and ref.resolve() == (tmp_path / "a/b.png").absolute()
    assert "base" not in ref.model_dump()


def test_png_decoder_matches_pillow_on_filtered_rows(tmp_path):
    """The built-in PNG decoder (used for 16-bit flow, which Pillow reduces to 8 bits) undoes
    every PNG row filter exactly as Pillow does; Pillow's encoder picks filters adaptively."""
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 3, (20, 23, 3)), axis=1).astype(np.uint8)
    noisy = rng.integers(0, 256, (20, 23, 3), dtype=np.uint8)
    for i, arr in enumerate((smooth, noisy, np.concatenate([smooth, noisy]))):
        path = tmp_path / f"{i}.png"
        Image.fromarray(arr).save(path)
        assert np.array_equal(media._read_png16_rgb(path), arr)


def _png_with_filter(path, arr: np.ndarray, ftype: int) -> None:
    """An 8-bit RGB PNG whose rows all use one filter type (encoded per the PNG spec)."""
    import zlib

    h, w, _ = arr.shape
    data = arr.astype(np.int32).reshape(h, w * 3)
    out = bytearray()
    prev = np.zeros(w * 3, np.int32)
    for y in range(h):
        cur = data[y]
        left = np.concatenate([np.zeros(3, np.int32), cur[:-3]])
        upleft = np.concatenate([np.zeros(3, np.int32), prev[:-3]])
        if ftype == 0:
            enc = cur
        elif ftype == 1:
            enc = cur - left
        elif ftype == 2:
            enc = cur - prev
        elif ftype == 3:
            enc = cur - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            enc = cur - pred
        out += bytes([ftype]) + (enc & 0xFF).astype(np.uint8).tobytes()
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("ftype", [0, 1, 2, 3, 4])
def test_png_decoder_agrees_with_pillow_for_each_filter(tmp_path, ftype):
    arr = np.random.default_rng(ftype).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    _png_with_filter(tmp_path / "f.png", arr, ftype)
    with Image.open(tmp_path / "f.png") as img:
        reference = np.asarray(img.convert("RGB"))
    assert np.array_equal(reference, arr)
    assert np.array_equal(media._read_png16_rgb(tmp_path / "f.png"), reference)


def test_video_max_frames_and_probe(tmp_path):
    pytest.importorskip("av")
    frames = np.zeros((9, 16, 16, 3), np.uint8)
    for t in range(9):
        frames[t] = 20 * t
    media.save_video(tmp_path / "v.mp4", frames)
    out = media.load_video(tmp_path / "v.mp4", max_frames=3)
    assert out.shape == (3, 16, 16, 3)
    assert [round(float(f.mean()) / 20) for f in out] == [0, 4, 8]  # first, middle, last
    assert media.probe_video(tmp_path / "v.mp4") == 9
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 100)
    with pytest.raises(DataError, match="broken.mp4"):
        media.probe_video(tmp_path / "broken.mp4")
