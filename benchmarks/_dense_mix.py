"""The dense part of the scoring benchmark's synthetic General-Bench set: masks, mask videos,
point labels, depth maps and videos, optical flow, point clouds and tracks, written to disk as a
model run and an annotated dataset would hold them.

Used by bench_scoring.py (the catalog mix; `_dense_baseline.py` is its baseline side) and by
bench_memory.py (one large task). Sizes of one instance, at the default `side` of 64:
- `miou` / `dice`: a 64 x 64 uint8 PNG class map (6 classes, a few ignore-255 reference pixels)
  or a binary one;
- `video_miou`: 3 frames of 64 x 64 binary PNGs;
- `point_miou`: 1,024 point labels (.npy, int32);
- `rms_depth`: a 64 x 64 float32 depth map in metres (.npy, a few invalid 0 pixels);
- `absrel`: a 3 x 64 x 64 float32 disparity video (.npz, key `disparity`);
- `epe`: a 64 x 64 x 2 Middlebury .flo flow field;
- `chamfer`: 512 points (.npy, float32);
- `success_auc`: a 20-frame track (inline JSON, [x, y, w, h] or null per frame).
Predictions are the references perturbed (shifted masks, scaled depth, noisy flow and points,
jittered boxes); 0.5% of the instances have no prediction, as in the rest of the mix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from generalbench.catalog import Catalog, Task

DENSE_METRICS: dict[str, str] = {"miou": "mask", "dice": "mask", "video_miou": "mask_series",
                                 "point_miou": "point_labels", "rms_depth": "dense",
                                 "absrel": "dense_series", "epe": "flow",
                                 "chamfer": "pointcloud", "success_auc": "track"}
"""metric -> output type of the catalog tasks in the dense mix."""

CLASSES = 6
"""Class ids 0..5 in the synthetic semantic masks and point labels (255: ignore)."""
FRAMES = 3
POINTS = 1024
CLOUD_POINTS = 512
TRACK_FRAMES = 20
MISSING = 0.005


def dense_tasks(catalog: Catalog) -> list[Task]:
    """The catalog's tasks of the dense mix, in catalog order."""
    return [t for t in catalog if DENSE_METRICS.get(t.metric) == t.output]


# --- one instance: (reference, prediction) arrays ---------------------------------------------
def _blob(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A circle (centre, radius) drawn on a side x side grid and the grid's coordinates."""
    yy, xx = np.mgrid[0:side, 0:side]
    cx, cy = rng.uniform(0.2, 0.8, 2) * side
    r = rng.uniform(0.1, 0.3) * side
    return (xx - cx) ** 2 + (yy - cy) ** 2 < r * r, np.stack([yy, xx])


def _shift(a: np.ndarray, rng: np.random.Generator, side: int) -> np.ndarray:
    d = max(1, side // 32)
    return np.roll(a, tuple(rng.integers(-d, d + 1, 2)), axis=(0, 1))


def semantic_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    ref = np.zeros((side, side), np.uint8)
    for _ in range(rng.integers(1, 4)):
        y, x = rng.integers(0, side, 2)
        h, w = rng.integers(side // 8, side // 2, 2)
        ref[y:y + h, x:x + w] = rng.integers(1, CLASSES)
    pred = _shift(ref, rng, side)
    noise = rng.random(ref.shape) < 0.02
    pred[noise] = rng.integers(0, CLASSES, int(noise.sum()))
    pred[rng.random(ref.shape) < 0.002] = 255  # an ignore value predicted: always wrong
    ref[:, :2] = 255  # an ignored border
    return ref, pred


def binary_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    ref, _ = _blob(rng, side)
    return ref.astype(np.uint8), _shift(ref, rng, side).astype(np.uint8)


def video_pair(rng: np.random.Generator, side: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    frames = [binary_pair(rng, side) for _ in range(FRAMES)]
    return [r for r, _ in frames], [p for _, p in frames]


def point_label_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    ref = rng.integers(0, CLASSES, POINTS).astype(np.int32)
    pred = np.where(rng.random(POINTS) < 0.8, ref, rng.integers(0, CLASSES, POINTS)).astype(np.int32)
    return ref, pred


def depth_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:side, 0:side]
    ref = (1.0 + 8.0 * (xx + yy) / (2 * side) + rng.uniform(0, 1)).astype(np.float32)
    ref[rng.random(ref.shape) < 0.01] = 0.0  # no depth measured there
    pred = (ref * rng.uniform(0.9, 1.1) + rng.normal(0, 0.05, ref.shape)).astype(np.float32)
    return ref, np.abs(pred)


def disparity_video_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    depth = np.stack([depth_pair(rng, side)[0] for _ in range(FRAMES)])
    ref = np.where(depth > 0, 1.0 / np.where(depth > 0, depth, 1.0), 0.0).astype(np.float32)
    pred = (rng.uniform(0.5, 2.0) * ref + rng.uniform(0, 0.1)
            + rng.normal(0, 0.01, ref.shape)).astype(np.float32)
    return ref, np.abs(pred)


def flow_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:side, 0:side] / side
    ref = np.stack([3 * xx + rng.normal(0, 1), -2 * yy + rng.normal(0, 1)], -1).astype(np.float32)
    return ref, (ref + rng.normal(0, 0.3, ref.shape)).astype(np.float32)


def cloud_pair(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    v = rng.normal(size=(CLOUD_POINTS, 3))
    ref = (v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.5, 1.5)).astype(np.float32)
    n = int(CLOUD_POINTS * rng.uniform(0.7, 1.0))
    pred = ref[rng.permutation(CLOUD_POINTS)[:n]] + rng.normal(0, 0.02, (n, 3))
    return ref, pred.astype(np.float32)


def track_pair(rng: np.random.Generator, side: int) -> tuple[list, list]:
    x, y = rng.uniform(0, 400, 2)
    w, h = rng.uniform(20, 120, 2)
    vx, vy = rng.normal(0, 4, 2)
    ref: list[list[float] | None] = []
    pred: list[list[float] | None] = []
    for t in range(TRACK_FRAMES):
        box = [round(x + vx * t, 1), round(y + vy * t, 1), round(w, 1), round(h, 1)]
        ref.append(None if rng.random() < 0.05 else box)  # target out of view
        pred.append(None if rng.random() < 0.05 else
                    [round(v + rng.normal(0, 6), 2) for v in box[:2]]
                    + [round(max(1.0, v * rng.uniform(0.8, 1.2)), 2) for v in box[2:]])
    return ref, pred


PAIRS: dict[str, Callable[[np.random.Generator, int], tuple[Any, Any]]] = {
    "miou": semantic_pair, "dice": binary_pair, "video_miou": video_pair,
    "point_miou": point_label_pair, "rms_depth": depth_pair, "absrel": disparity_video_pair,
    "epe": flow_pair, "chamfer": cloud_pair, "success_auc": track_pair}


# --- files ------------------------------------------------------------------------------------
def _save(path: Path, metric: str, value: Any) -> None:
    """One map in its task's file format."""
    if metric in ("miou", "dice", "video_miou"):
        from PIL import Image

        Image.fromarray(value, mode="L").save(path, compress_level=1)
    elif metric == "absrel":
        np.savez(path, disparity=value)
    elif metric == "epe":
        from generalbench.data.media import save_flow

        save_flow(path, value)
    else:
        np.save(path, value)


SUFFIX = {"miou": ".png", "dice": ".png", "video_miou": ".png", "point_miou": ".npy",
          "rms_depth": ".npy", "absrel": ".npz", "epe": ".flo", "chamfer": ".npy"}


def _write(metric: str, value: Any, path_for: Callable[[str, str], tuple[Path, str]],
           stem: str) -> Any:
    """Write a value's file(s); the JSON value that points at them (inline for tracks)."""
    if metric == "success_auc":
        return value
    if metric == "video_miou":
        out = []
        for t, frame in enumerate(value):
            path, rel = path_for(f"{stem}-{t}", SUFFIX[metric])
            _save(path, metric, frame)
            out.append(rel)
        return out
    path, rel = path_for(stem, SUFFIX[metric])
    _save(path, metric, value)
    return rel


def write_dense_tasks(tasks: Sequence[Task], counts: Sequence[int], data_root: Path,
                      pred_root: Path, task_dir: Callable[[Path, Task], Path], seed: int = 0,
                      side: int = 64) -> int:
    """Write each task's references (annotation.json + files) and predictions (through
    PredictionWriter, as `generalbench run` writes them); returns the number of instances."""
    from generalbench.data.predictions import PredictionWriter

    rng = np.random.default_rng(seed)
    total = 0
    with PredictionWriter(pred_root, model="bench", fsync=False) as writer:
        for task, n in zip(tasks, counts, strict=True):
            folder = task_dir(data_root, task)
            (folder / "refs").mkdir(parents=True, exist_ok=True)

            def ref_path(stem: str, suffix: str, folder: Path = folder) -> tuple[Path, str]:
                return folder / "refs" / f"{stem}{suffix}", f"refs/{stem}{suffix}"

            def pred_path(stem: str, suffix: str, task: Task = task) -> tuple[Path, str]:
                return writer.artifact_path(task.id, stem, suffix)

            records = []
            for i in range(n):
                iid = f"{i:06d}"
                ref, pred = PAIRS[task.metric](rng, side)
                records.append({"id": iid, "input": {"prompt": "..."},
                                "output": {"answer": _write(task.metric, ref, ref_path, iid)}})
                if rng.random() > MISSING:
                    value = _write(task.metric, pred, pred_path, iid)
                    writer.add(task.id, iid, json.dumps(value) if task.metric == "success_auc"
                               else value)
            (folder / "annotation.json").write_text(json.dumps(
                {"task": task.task_name, "type": task.output, "version": "bench",
                 "data": records}), "utf-8")
            total += n
    return total
