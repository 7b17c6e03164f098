"""Shared pieces of the mini-bench generators: a per-task context with a seeded RNG and writers.

Every writer produces the same bytes for the same input (no timestamps, fixed zip dates,
fixed PNG settings) so that `make-mini` is byte-for-byte deterministic; the tests check it.
"""

from __future__ import annotations

import io
import json
import struct
import wave
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FIXED_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass
class TaskContext:
    """What a generator needs: where to write, how many instances, a task-private RNG, options."""

    task_dir: Path
    n: int
    rng: np.random.Generator
    options: dict[str, Any] = field(default_factory=dict)

    def path(self, rel: str) -> Path:
        out = self.task_dir / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    # --- writers: each returns the path relative to the task folder -------------------------
    def png(self, rel: str, array: np.ndarray) -> str:
        write_png(self.path(rel), array)
        return rel

    def wav(self, rel: str, samples: np.ndarray, rate: int) -> str:
        write_wav(self.path(rel), samples, rate)
        return rel

    def npy(self, rel: str, array: np.ndarray) -> str:
        write_npy(self.path(rel), array)
        return rel

    def npz(self, rel: str, **arrays: np.ndarray) -> str:
        write_npz(self.path(rel), **arrays)
        return rel

    def flo(self, rel: str, flow: np.ndarray) -> str:
        write_flo(self.path(rel), flow)
        return rel

    def obj(self, rel: str, vertices: np.ndarray, faces: np.ndarray) -> str:
        write_obj(self.path(rel), vertices, faces)
        return rel

    def ply(self, rel: str, points: np.ndarray) -> str:
        write_ply(self.path(rel), points)
        return rel

    def frames(self, rel_dir: str, frames: np.ndarray) -> str:
        """A T x H x W x 3 video as a folder of frame PNGs (00000.png, ...)."""
        for t, frame in enumerate(frames):
            self.png(f"{rel_dir}/{t:05d}.png", frame)
        return rel_dir


def task_seed(seed: int, task_name: str) -> np.random.Generator:
    """A generator private to (seed, task): adding or reordering tasks changes no other task."""
    return np.random.default_rng([seed, zlib.crc32(task_name.encode("utf-8"))])


def write_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    arr = np.asarray(array)
    if arr.dtype == np.uint16:
        img = Image.fromarray(arr)  # 16-bit grayscale (I;16)
    else:
        img = Image.fromarray(arr.astype(np.uint8))
    img.save(path, format="PNG", optimize=False, compress_level=6)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """16-bit PCM mono WAV via the standard library (no metadata chunks, so bytes are stable)."""
    pcm = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    data = (pcm * 32767.0).round().astype("<i2").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(data)


def write_npy(path: Path, array: np.ndarray) -> None:
    np.save(path, np.asarray(array), allow_pickle=False)


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like numpy.savez but with fixed member dates, so the archive bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def write_flo(path: Path, flow: np.ndarray) -> None:
    """Middlebury .flo: magic 202021.25, width, height, then row-major (u, v) float32 pairs."""
    flow = np.asarray(flow, dtype="<f4")
    h, w, _ = flow.shape
    with open(path, "wb") as fh:
        fh.write(struct.pack("<fii", 202021.25, w, h))
        fh.write(flow.tobytes())


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(vertices, dtype=float)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(faces, dtype=int)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def write_ply(path: Path, points: np.ndarray) -> None:
    """ASCII PLY point cloud (readable by any PLY reader, diff-friendly)."""
    pts = np.asarray(points, dtype=float)
    head = ["ply", "format ascii 1.0", f"element vertex {len(pts)}",
            "property float x", "property float y", "property float z", "end_header"]
    body = [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in pts]
    path.write_text("\n".join(head + body) + "\n", encoding="ascii")


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
