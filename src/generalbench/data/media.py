"""Media file I/O: decode (and, for fixtures and the mini-bench, encode) every media kind.

Media stay on disk and are referenced by path; these functions decode them lazily, only when a
metric or a model actually needs the pixels or samples. Each loader returns the native Python
value of docs/contracts.md and raises DataError naming the file when it cannot.
"""

from __future__ import annotations

import functools
import math
import os
import re
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from generalbench.errors import DataError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
FLO_MAGIC = 202021.25


class Mesh(NamedTuple):
    """A triangle mesh: (V, 3) float vertices and (F, 3) int faces."""

    vertices: np.ndarray
    faces: np.ndarray


def _fail(path: Path | str, what: str, exc: BaseException | None = None) -> DataError:
    detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return DataError(f"{path}: cannot decode {what}{detail}; check the file or re-download it")


def _natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


# --- images ------------------------------------------------------------------------------------
_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: Path | str) -> bytes:
    """The whole file in one read (Pillow and np.load read a small file in a dozen small reads,
    which cost more than the decoding of a 64 x 64 map; a Python file object adds its own)."""
    fd = os.open(path, _O_READ)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one byte more: a file larger than it said is read on
        if len(data) == size:
            return data
        parts = [data]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def _read_writable(path: Path | str) -> bytearray:
    """The file's first st_size bytes in a writable buffer (arrays viewed on it stay writable,
    as np.load's are); fewer when it shrank meanwhile."""
    fd = os.open(path, _O_READ)
    try:
        buf = bytearray(os.fstat(fd).st_size)
        got = os.readv(fd, [buf]) if buf else 0
    finally:
        os.close(fd)
    return buf if got == len(buf) else buf[:got]


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SPNG_SAFE = frozenset({(0, 8), (0, 16), (2, 8), (6, 8)})
"""(colour type, bit depth) of the PNGs that libspng decodes to the very array Pillow's native
mode gives: 8/16-bit grey, 8-bit RGB and RGBA. Palette images (whose indices are the labels of
VOC-style masks), 1/2/4-bit grey, grey + alpha, 16-bit colour and images with a tRNS chunk go
through Pillow (tests/data/test_media.py compares both on every colour type)."""


@functools.cache
def _spng() -> Any:
    try:
        import pyspng
    except ImportError:  # an optional speed-up: Pillow decodes every PNG too
        return None
    return pyspng


@functools.cache
def _max_pixels() -> float:
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS or float("inf")


def _png_fast(raw: bytes) -> np.ndarray | None:
    """The array of a PNG through libspng when its colour type allows (see _SPNG_SAFE), else None."""
    if len(raw) < 33 or not raw.startswith(PNG_SIGNATURE) or raw[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", raw[16:26])
    if (colour, depth) not in _SPNG_SAFE or b"tRNS" in raw:
        return None
    if width * height > _max_pixels():
        return None  # Pillow's decompression-bomb warning or error applies
    spng = _spng()
    if spng is None:
        return None
    try:
        arr = spng.load(raw)
    except Exception:  # noqa: BLE001 - Pillow decodes it again and names the problem
        return None
    if colour == 0 and depth == 16:
        arr = np.ascontiguousarray(arr[..., 0])  # libspng adds an opaque alpha channel
    return arr


def image_array(raw: bytes) -> np.ndarray:
    """An image file's pixels in Pillow's native mode, as np.asarray(Image.open(file)) gives them
    (palette indices kept, 16-bit grey as uint16), decoded from its bytes."""
    arr = _png_fast(raw)
    if arr is not None:
        return arr
    import io

    from PIL import Image

    with Image.open(io.BytesIO(raw)) as img:
        return np.asarray(img)


def load_image(path: Path | str) -> np.ndarray:
    """An image as an H x W x 3 uint8 RGB array (alpha dropped, palettes expanded)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a data error
        raise _fail(path, "image", exc) from None


def save_image(path: Path | str, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def load_frames(folder: Path | str) -> np.ndarray:
    """A folder of frame images (natural sort order) as a T x H x W x 3 uint8 array."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: frame folder not found")
    files = _frame_files(folder)
    frames = [load_image(f) for f in files]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise DataError(f"{folder}: frames differ in size {sorted(shapes)}")
    return np.stack(frames)


# --- audio -------------------------------------------------------------------------------------
def load_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Audio as (float32 mono samples in [-1, 1], sample rate); channels are averaged."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "audio", exc) from None
    return data.mean(axis=1).astype(np.float32), int(rate)


def save_audio(path: Path | str, samples: np.ndarray, rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.asarray(samples, dtype=np.float32), rate, subtype="PCM_16")


# --- video -------------------------------------------------------------------------------------
def _require_av():
    try:
        import av
    except ImportError:
        raise DataError("decoding video files needs PyAV: pip install 'generalbench[video]'") from None
    return av


def video_stream_info(path: Path | str) -> tuple[float | None, int]:
    """A video file's frame rate and the frame count its container states, without decoding.

    The rate is the stream's average rate, else its base or guessed rate (what OpenCV's
    CAP_PROP_FPS and decord's get_avg_fps report for such files); None when none is stated.
    The count is 0 when the container does not state it.
    """
    av = _require_av()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
            return (float(rate) if rate else None), int(stream.frames or 0)
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "video", exc) from None


def decode_video(path: Path | str, keep: Callable[[int], bool] | None = None
                 ) -> tuple[dict[int, np.ndarray], int]:
    """Decode every frame of a video file; convert to RGB and hold only the frames whose index
    `keep` accepts (all when None), so sampling a long video costs only the kept frames.
    Returns {index: H x W x 3 uint8 frame} and the number of frames decoded."""
    av = _require_av()
    kept: dict[int, np.ndarray] = {}
    count = 0
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if keep is None or keep(i):
                    kept[i] = frame.to_ndarray(format="rgb24")
                count += 1
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "video", exc) from None
    return kept, count


def load_video(path: Path | str, max_frames: int | None = None) -> np.ndarray:
    """A video file as a T x H x W x 3 uint8 RGB array (at most `max_frames`, uniformly kept).

    With `max_frames`, only the kept frames are converted and held, so a long video costs
    `max_frames` frames of memory when the container knows its frame count.
    """
    keep = None
    if max_frames is not None:
        _, total = video_stream_info(path)
        if total > max_frames:
            keep = set(np.linspace(0, total - 1, max_frames).round().astype(int).tolist())
    kept, _ = decode_video(path, None if keep is None else keep.__contains__)
    frames = list(kept.values())
    if not frames:
        raise DataError(f"{path}: video holds no frames")
    if max_frames is not None and len(frames) > max_frames:
        idx = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        frames = [frames[i] for i in idx]
    return np.stack(frames)


def probe_video(path: Path | str) -> int:
    """Decode every frame of a video without keeping any; the frame count (validation)."""
    av = _require_av()
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "video", exc) from None
    if not count:
        raise DataError(f"{path}: video holds no frames")
    return count


def probe_frames(folder: Path | str) -> int:
    """Decode every frame image of a folder one at a time (validation); the frame count."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: frame folder not found")
    files = _frame_files(folder)
    sizes: dict[tuple[int, ...], str] = {}
    for f in files:
        sizes.setdefault(load_image(f).shape, f.name)
    if len(sizes) > 1:
        shown = ", ".join(f"{name} is {w}x{h}" for (h, w, _), name in sizes.items())
        raise DataError(f"{folder}: frames differ in size ({shown}); a frame folder is one video")
    return len(files)


def _frame_files(folder: Path) -> list[Path]:
    """The frame images of a folder in natural order, each a regular file inside the folder."""
    from generalbench.data.safepath import check_inside

    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: _natural_key(p.name))
    if not files:
        raise DataError(f"{folder}: frame folder holds no images")
    for f in files:
        check_inside(f, folder, what="frame")
    return files


def save_video(path: Path | str, frames: np.ndarray, fps: int = 8) -> None:
    """Write T x H x W x 3 uint8 frames as an H.264 (mp4) or MPEG-4 video."""
    av = _require_av()
    frames = np.asarray(frames, dtype=np.uint8)
    codec = "libx264" if str(path).endswith(".mp4") else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


# --- point clouds and meshes -------------------------------------------------------------------
_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2",
              "int16": "i2", "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4",
              "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
              "float64": "f8"}


def _read_ply(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Vertices (N, 3) and faces (F, 3) or None of an ASCII or binary PLY file."""
    raw = path.read_bytes()
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise DataError(f"{path}: not a PLY file (no 'ply' magic or 'end_header')")
    header = raw[:end].decode("ascii", "replace").splitlines()
    body_start = raw.index(b"\n", end) + 1
    fmt = ""
    elements: list[tuple[str, int, list[tuple[str, ...]]]] = []
    for line in header:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property" and elements:
            elements[-1][2].append(tuple(parts[1:]))
    vertices: np.ndarray | None = None
    faces: list[list[int]] | None = None
    if fmt == "ascii":
        tokens = raw[body_start:].split()
        pos = 0
        for name, count, props in elements:
            rows = []
            for _ in range(count):
                row: list[float] = []
                for prop in props:
                    if prop[0] == "list":
                        n = int(tokens[pos])
                        row.append([float(t) for t in tokens[pos + 1:pos + 1 + n]])  # type: ignore[arg-type]
                        pos += 1 + n
                    else:
                        row.append(float(tokens[pos]))
                        pos += 1
                rows.append(row)
            if name == "vertex":
                names = [p[-1] for p in props]
                idx = [names.index(a) for a in ("x", "y", "z")]
                vertices = np.array([[r[i] for i in idx] for r in rows], dtype=np.float64).reshape(-1, 3)
            elif name == "face":
                faces = [[int(v) for v in r[0]] for r in rows]  # type: ignore[union-attr]
    elif fmt in {"binary_little_endian", "binary_big_endian"}:
        order = "<" if fmt == "binary_little_endian" else ">"
        pos = body_start
        for name, count, props in elements:
            if any(p[0] == "list" for p in props):
                (prop,) = props  # faces: one list property
                cnt_t, idx_t = _PLY_TYPES[prop[1]], _PLY_TYPES[prop[2]]
                cnt_size, idx_size = np.dtype(cnt_t).itemsize, np.dtype(idx_t).itemsize
                rows = []
                for _ in range(count):
                    n = int(np.frombuffer(raw, order + cnt_t, 1, pos)[0])
                    pos += cnt_size
                    rows.append(np.frombuffer(raw, order + idx_t, n, pos).astype(int).tolist())
                    pos += n * idx_size
                if name == "face":
                    faces = rows
            else:
                dtype = np.dtype([(p[-1], order + _PLY_TYPES[p[0]]) for p in props])
                arr = np.frombuffer(raw, dtype, count, pos)
                pos += count * dtype.itemsize
                if name == "vertex":
                    vertices = np.stack([arr["x"], arr["y"], arr["z"]], axis=1).astype(np.float64)
    else:
        raise DataError(f"{path}: unsupported PLY format {fmt!r}")
    if vertices is None:
        raise DataError(f"{path}: PLY file has no vertex element with x, y, z")
    face_arr = None
    if faces:
        tris = [[f[0], f[i], f[i + 1]] for f in faces for i in range(1, len(f) - 1)]
        face_arr = np.array(tris, dtype=np.int64).reshape(-1, 3)
    return vertices, face_arr


def _read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    verts, faces = [], []
    for line in path.read_text("utf-8", "replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            idx = [int(p.split("/")[0]) for p in parts[1:]]
            idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
            faces.extend([idx[0], idx[i], idx[i + 1]] for i in range(1, len(idx) - 1))
    return (np.array(verts, dtype=np.float64).reshape(-1, 3),
            np.array(faces, dtype=np.int64).reshape(-1, 3))


def load_pointcloud(path: Path | str) -> np.ndarray:
    """A point cloud as an (N, 3) float64 array (from .npy, .npz, .ply, .obj, .xyz/.txt/.pts).

    Extra columns (colours, normals) are dropped: metrics compare geometry.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = load_npy(path)
        elif suffix == ".npz":
            arr = load_npz(path, ("points", "xyz", "pointcloud"))
        elif suffix == ".ply":
            arr = _read_ply(path)[0]
        elif suffix == ".obj":
            arr = _read_obj(path)[0]
        elif suffix in {".xyz", ".txt", ".pts", ".csv"}:
            arr = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=2)
        else:
            raise DataError(f"{path}: unknown point-cloud format {suffix!r} "
                            "(use .npy, .npz, .ply, .obj, .xyz)")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "point cloud", exc) from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise DataError(f"{path}: point cloud must be N x 3 (got shape {arr.shape})")
    return arr[:, :3]


def load_mesh(path: Path | str) -> Mesh:
    """A triangle mesh from .ply or .obj (polygons are fanned into triangles)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".ply":
            verts, faces = _read_ply(path)
        elif suffix == ".obj":
            verts, faces = _read_obj(path)
        else:
            raise DataError(f"{path}: unknown mesh format {suffix!r} (use .ply or .obj)")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "mesh", exc) from None
    if faces is None or len(faces) == 0:
        raise DataError(f"{path}: mesh has no faces")
    if faces.max() >= len(verts) or faces.min() < 0:
        raise DataError(f"{path}: mesh face index out of range ({len(verts)} vertices)")
    return Mesh(verts, faces)


def save_ply(path: Path | str, vertices: np.ndarray, faces: np.ndarray | None = None) -> None:
    """Write an ASCII PLY point cloud (or triangle mesh when `faces` is given)."""
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    lines = ["ply", "format ascii 1.0", f"element vertex {len(vertices)}",
             "property float x", "property float y", "property float z"]
    if faces is not None:
        lines += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
    lines.append("end_header")
    lines += [" ".join(f"{v:.6g}" for v in row) for row in vertices]
    if faces is not None:
        lines += ["3 " + " ".join(str(int(i)) for i in f) for f in np.asarray(faces).reshape(-1, 3)]
    Path(path).write_text("\n".join(lines) + "\n", "ascii")


def save_obj(path: Path | str, vertices: np.ndarray, faces: np.ndarray) -> None:
    lines = [f"v {x:.6g} {y:.6g} {z:.6g}" for x, y, z in np.asarray(vertices).reshape(-1, 3)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(faces).reshape(-1, 3)]
    Path(path).write_text("\n".join(lines) + "\n", "ascii")


_NPY_MAGIC = b"\x93NUMPY"
_npy_headers: dict[bytes, tuple[np.dtype, tuple[int, ...], bool] | None] = {}
"""Parsed .npy headers (dtype, shape, Fortran order), by their text: the files of one task share
a handful of headers, and parsing one costs more than reading a 64 x 64 map."""


def _npy_header(text: bytes) -> tuple[np.dtype, tuple[int, ...], bool] | None:
    """A .npy header's (dtype, shape, fortran_order), or None for anything but a plain numeric
    array (object dtypes, structured dtypes, a header numpy would reject)."""
    if text in _npy_headers:
        return _npy_headers[text]
    import ast

    parsed = None
    try:
        d = ast.literal_eval(text.decode("latin1"))
        dtype = np.dtype(d["descr"]) if isinstance(d["descr"], str) else None
        shape = tuple(d["shape"])
        if (dtype is not None and not dtype.hasobject and dtype.kind in "biufc"
                and all(isinstance(n, int) and n >= 0 for n in shape)
                and isinstance(d["fortran_order"], bool) and set(d) == {"descr", "shape", "fortran_order"}):
            parsed = (dtype, shape, d["fortran_order"])
    except Exception:  # noqa: BLE001 - np.load reads it again and names the problem
        parsed = None
    if len(_npy_headers) < 1024:
        _npy_headers[text] = parsed
    return parsed


def _npy_from_buffer(buf: bytearray) -> np.ndarray | None:
    """The array of a whole .npy file held in `buf`, viewed on it (writable); None for anything
    but a plain numeric array of exactly the size its header states."""
    size = len(buf)
    if buf[:6] != _NPY_MAGIC or size < 10 or buf[6] not in (1, 2, 3):
        return None
    start = 10 if buf[6] == 1 else 12
    if size < start:
        return None
    hlen = struct.unpack_from("<H" if buf[6] == 1 else "<I", buf, 8)[0]
    head = _npy_header(bytes(buf[start:start + hlen])) if hlen <= 10000 else None
    if head is None:
        return None
    dtype, shape, fortran = head
    count = math.prod(shape)
    if size - start - hlen != count * dtype.itemsize:
        return None
    arr = np.frombuffer(buf, dtype, count, start + hlen)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def load_npy(path: Path | str) -> np.ndarray:
    """A .npy file as np.load(path, allow_pickle=False) returns it (writable, same dtype and
    shape), in one read: the header is parsed once per distinct header and the data is viewed,
    not copied. Anything unusual (object arrays, a truncated file) is np.load's, with its errors."""
    arr = _npy_from_buffer(_read_writable(path))
    return arr if arr is not None else np.load(path, allow_pickle=False)


def load_npz(path: Path | str, keys: Sequence[str] = ()) -> np.ndarray:
    """np.load(path)[key] of an .npz for the first of `keys` it holds, else its first array.

    The archive is read in one go and its member parsed as load_npy does (np.load's NpzFile
    reads a member in many small reads); anything unusual (a member that is no plain .npy,
    ambiguous names, a damaged archive) is np.load's, with its errors."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(read_bytes(path))) as zf:
            members = zf.namelist()
            files = [m[:-4] if m.endswith(".npy") else m for m in members]
            if files and len(set(files)) == len(files) == len(set(members)):
                key = next((k for k in keys if k in files), files[0])
                arr = _npy_from_buffer(bytearray(zf.read(members[files.index(key)])))
                if arr is not None:
                    return arr
    except Exception:  # noqa: BLE001 - np.load reads it again and names the problem
        pass
    with np.load(path, allow_pickle=False) as z:
        key = next((k for k in keys if k in z.files), z.files[0])
        return z[key]


def load_array(path: Path | str) -> np.ndarray:
    """A numpy array file as stored (.npy, or the first array of an .npz); no pickles."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            return load_npz(path)
        return load_npy(path)
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "array", exc) from None


# --- dense maps: depth and optical flow --------------------------------------------------------
def load_depth(path: Path | str) -> np.ndarray:
    """A depth / disparity map (or a stack of them) as a float64 array.

    .npz: key `depth`, `disparity` or the first array; .npy as stored; .png/.tif: raw pixel values
    (16-bit PNGs are not rescaled: the dataset's unit convention is the task's business).
    Singleton axes of stacks shaped (T, 1, H, W), as the official VDE files are, are squeezed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            arr = load_npz(path, ("depth", "disparity", "arr_0"))
        elif suffix == ".npy":
            arr = load_npy(path)
        elif suffix in IMAGE_SUFFIXES:
            arr = image_array(read_bytes(path))
            if arr.ndim == 3:
                arr = arr[..., 0]
        else:
            raise DataError(f"{path}: unknown depth format {suffix!r} (use .npz, .npy or .png)")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "depth map", exc) from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (2, 3):
        raise DataError(f"{path}: depth must be H x W or T x H x W (got shape {arr.shape})")
    return arr


def load_flow(path: Path | str, with_valid: bool = False):
    """Optical flow as an H x W x 2 float32 array (u, v); optionally also the H x W valid mask.

    .flo is Middlebury (magic 202021.25, width, height, then interleaved float32 u, v);
    a 16-bit PNG is the KITTI encoding u = (R - 32768) / 64, v = (G - 32768) / 64, B = valid.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".flo":
            raw = read_bytes(path)
            magic, = struct.unpack("<f", raw[:4])
            if abs(magic - FLO_MAGIC) > 1e-3:
                raise DataError(f"{path}: not a .flo file (magic {magic}, expected {FLO_MAGIC})")
            w, h = struct.unpack("<ii", raw[4:12])
            if len(raw) < 12 + 8 * w * h:
                raise DataError(f"{path}: .flo file truncated ({w}x{h} needs {12 + 8 * w * h} bytes)")
            flow = np.frombuffer(raw, "<f4", 2 * w * h, 12).reshape(h, w, 2).astype(np.float32)
            valid = None  # computed below, only when asked for
        elif suffix == ".png":
            flow, valid = _read_flow_png(path)
        elif suffix == ".npy":
            flow = load_npy(path).astype(np.float32)
            valid = np.ones(flow.shape[:2], bool)
        else:
            raise DataError(f"{path}: unknown flow format {suffix!r} (use .flo, 16-bit .png, .npy)")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(path, "optical flow", exc) from None
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise DataError(f"{path}: flow must be H x W x 2 (got shape {flow.shape})")
    if not with_valid:
        return flow
    if valid is None:  # .flo: both components finite and below 1e9 (NaN and inf compare False)
        small = np.abs(flow) < 1e9
        valid = small[..., 0] & small[..., 1]
    return flow, valid


def _read_flow_png(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = _read_png16_rgb(path)
    flow = (rgb[..., :2].astype(np.float32) - 32768.0) / 64.0
    return flow, rgb[..., 2] > 0


def _read_png16_rgb(path: Path) -> np.ndarray:
    """An RGB PNG at its full bit depth (Pillow reduces 16-bit RGB to 8 bits, so decode directly)."""
    import zlib

    raw = path.read_bytes()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise DataError(f"{path}: not a PNG file")
    pos, idat, width = 8, [], 0
    height = depth = colour = interlace = 0
    while pos < len(raw):
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        chunk = raw[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"IDAT":
            idat.append(chunk)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if channels is None or depth not in (8, 16) or interlace:
        raise DataError(f"{path}: flow PNG must be non-interlaced 8/16-bit RGB (colour type {colour}, "
                        f"depth {depth})")
    bpp = channels * depth // 8
    stride = width * bpp
    data = zlib.decompress(b"".join(idat))
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        f = data[y * (stride + 1)]
        line = np.frombuffer(data, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = _unfilter(f, line, prev, bpp)
        out[y] = cur
        prev = cur
    dtype = ">u2" if depth == 16 else "u1"
    arr = out.view(dtype).reshape(height, width, channels).astype(np.int64)
    if channels < 3:
        raise DataError(f"{path}: flow PNG must have 3 channels (R=u, G=v, B=valid)")
    return arr[..., :3]


def _unfilter(f: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    if f == 0:
        return line
    if f == 2:
        return (line + prev) & 0xFF
    if f == 1:  # Sub: a running sum per byte lane
        lanes = np.zeros(-(-len(line) // bpp) * bpp, np.int64)
        lanes[:len(line)] = line
        return (np.cumsum(lanes.reshape(-1, bpp), axis=0).reshape(-1)[:len(line)] & 0xFF).astype(np.int32)
    cur = line.copy()
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            cur[i] = (cur[i] + a) & 0xFF
        elif f == 3:
            cur[i] = (cur[i] + ((a + b) >> 1)) & 0xFF
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (cur[i] + pred) & 0xFF
        else:
            raise DataError(f"bad PNG filter type {f}")
    return cur


def save_flow(path: Path | str, flow: np.ndarray, valid: np.ndarray | None = None) -> None:
    """Write flow as .flo (Middlebury) or 16-bit KITTI PNG, chosen by the suffix."""
    path = Path(path)
    flow = np.asarray(flow, dtype=np.float32)
    h, w = flow.shape[:2]
    if path.suffix.lower() == ".flo":
        path.write_bytes(struct.pack("<fii", FLO_MAGIC, w, h) + flow.astype("<f4").tobytes())
        return
    import zlib

    enc = np.zeros((h, w, 3), np.int64)
    enc[..., :2] = np.clip(np.round(flow * 64.0 + 32768.0), 0, 65535)
    enc[..., 2] = 1 if valid is None else np.asarray(valid, bool)
    rows = enc.astype(">u2").reshape(h, w * 3).view(np.uint8)
    body = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


# --- masks -------------------------------------------------------------------------------------
def is_rle(value: Any) -> bool:
    """True for a COCO run-length encoding: {"size": [h, w], "counts": str | list[int]}."""
    return isinstance(value, dict) and "size" in value and "counts" in value


def _rle_string_counts(counts: str) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string (pycocotools' rleFrString), or None when
    the string is not one (a character out of range or a value cut off)."""
    out: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                return None
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                return None
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def check_rle(rle: dict) -> str | None:
    """None when `rle` is a well-formed COCO RLE, else what is wrong.

    pycocotools decodes garbage counts without complaint (a mask of whatever the bytes say), so
    the runs are checked here: non-negative, summing to exactly height x width.
    """
    size = rle.get("size")
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1 << 16 for v in size)):
        return "RLE size must be [height, width] (non-negative integers)"
    counts = rle.get("counts")
    if isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            return "RLE counts must be a string or a list of integers"
        runs: list[int] | None = counts
    elif isinstance(counts, str):
        runs = _rle_string_counts(counts)
        if runs is None:
            return "RLE counts is not a COCO compressed string"
    else:
        return "RLE counts must be a string or a list of integers"
    if any(v < 0 for v in runs):
        return "RLE counts has a negative run length"
    total, area = sum(runs), size[0] * size[1]
    if total != area:
        return f"RLE runs cover {total} pixels, but size {size[0]}x{size[1]} has {area}"
    return None


def decode_rle(rle: dict) -> np.ndarray:
    """A COCO RLE (compressed string or uncompressed count list) as an H x W uint8 0/1 mask."""
    from pycocotools import mask as mask_utils

    problem = check_rle(rle)
    if problem:
        raise DataError(f"invalid COCO RLE mask: {problem}")
    try:
        h, w = (int(x) for x in rle["size"])
        counts = rle["counts"]
        if isinstance(counts, list):
            coded = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        else:
            coded = {"size": [h, w], "counts": counts.encode() if isinstance(counts, str) else counts}
        return np.asarray(mask_utils.decode(coded), dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"invalid COCO RLE mask ({type(exc).__name__}: {exc})") from None


def encode_rle(mask: np.ndarray) -> dict:
    """A binary mask as a JSON-ready compressed COCO RLE {"size": [h, w], "counts": str}."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(x) for x in rle["size"]], "counts": rle["counts"].decode("ascii")}


def load_mask(path: Path | str) -> np.ndarray:
    """A mask PNG as an H x W int64 array of class or instance ids.

    Palette and grey images keep their indices; an RGB mask is reduced to its first channel when
    all channels agree, otherwise to an id per distinct colour (in sorted colour order, 0 = black).
    """
    try:
        raw = read_bytes(path)
    except Exception as exc:  # noqa: BLE001 - any read failure is a data error
        raise _fail(path, "mask", exc) from None
    return mask_from_bytes(raw, path)


def mask_from_bytes(raw: bytes, path: Path | str) -> np.ndarray:
    """`load_mask` of a file already read (`safepath.read_plain`); `path` names it in errors."""
    return np.asarray(mask_ids(raw, path), dtype=np.int64)


def mask_ids(raw: bytes, path: Path | str) -> np.ndarray:
    """`mask_from_bytes` in the integer dtype the ids come in: uint8 or uint16 as a grey or
    palette PNG stores them, int64 otherwise (the same values). The scorer keeps the bytes: an
    int64 copy of every map is 8x the memory the metrics then read, for no different count."""
    try:
        arr = image_array(raw)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a data error
        raise _fail(path, "mask", exc) from None
    if arr.ndim == 3:
        rgb = arr[..., :3]
        if (rgb == rgb[..., :1]).all():
            arr = rgb[..., 0]
        else:
            packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
            _, arr = np.unique(packed, return_inverse=True)
            arr = arr.reshape(rgb.shape[:2])
    return arr if arr.dtype in _COMPACT_IDS else np.asarray(arr, dtype=np.int64)


_COMPACT_IDS = (np.dtype(np.uint8), np.dtype(np.uint16))


def save_mask(path: Path | str, mask: np.ndarray) -> None:
    """Write an id mask as an 8-bit (ids < 256) or 16-bit grey PNG."""
    from PIL import Image

    mask = np.asarray(mask)
    if mask.max(initial=0) < 256:
        Image.fromarray(mask.astype(np.uint8), mode="L").save(path)
    else:
        Image.fromarray(mask.astype(np.uint16)).save(path)


def as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else [value]
