"""The scoring benchmark's baseline for dense tasks: what a competent engineer would write without
generalbench, reading the same files from disk (PIL for PNG masks, numpy for .npy/.npz, a
Middlebury .flo reader) and scoring one instance at a time with numpy and scipy:

- `miou` / `point_miou`: mmsegmentation's `intersect_and_union` (per image: drop ignore-255
  reference pixels, histogram the intersection, the predicted and the reference areas over the
  dataset's classes), summed over the dataset, then the nan-mean of IoU over classes;
- `dice`: 2|P & G| / (|P| + |G|) on the foreground per image (both empty: 1), mean;
- `video_miou`: the DAVIS-style J of each video from the summed frame counts, mean over videos;
- `rms_depth`: per map RMSE over pixels with a depth, mean over maps (Eigen et al.);
- `absrel`: Video Depth Anything's evaluation: least-squares scale and shift of the predicted
  disparity over the valid pixels of the video, depth clipped to [1e-3, 80], mean |d - d*| / d*;
- `epe`: per flow field the mean end-point error, mean over fields;
- `chamfer`: scipy cKDTree nearest neighbours both ways, squared distances, mean per direction,
  summed (PCN / PoinTr CD-L2);
- `success_auc`: the OTB / pytracking success plot: per sequence the share of frames (where the
  target is visible) whose IoU exceeds each of 21 thresholds in [0, 1], its mean, mean over
  sequences.
A missing prediction is scored as an empty one (background mask, zero map or flow, one point at
the reference's centroid, no box), which is generalbench's policy for these metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import numpy as np

IGNORE = 255
THRESHOLDS = np.linspace(0.0, 1.0, 21)


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.array(img)


def _flo(path: Path) -> np.ndarray:
    """Middlebury flow_io.readFlow."""
    with open(path, "rb") as fh:
        magic = np.fromfile(fh, np.float32, 1)[0]
        if magic != np.float32(202021.25):
            raise ValueError(f"{path}: not a .flo file")
        w, h = (int(v) for v in np.fromfile(fh, np.int32, 2))
        return np.fromfile(fh, np.float32, 2 * w * h).reshape(h, w, 2)


def _load(metric: str, value: Any, base: Path) -> Any:
    if metric in ("miou", "dice"):
        return _png(base / value)
    if metric == "video_miou":
        return [_png(base / v) for v in value]
    if metric == "absrel":
        with np.load(base / value) as z:
            return z["disparity"]
    if metric == "epe":
        return _flo(base / value)
    if metric == "success_auc":
        return json.loads(value) if isinstance(value, str) else value
    return np.load(base / value)  # point labels, depth, point clouds


class _Miou:
    """mmsegmentation's total_intersect_and_union, streamed."""

    def __init__(self, num_classes: int) -> None:
        self.k = num_classes
        self.inter = np.zeros(num_classes, np.int64)
        self.union = np.zeros(num_classes, np.int64)

    def add(self, pred: np.ndarray, label: np.ndarray) -> float:
        mask = label != IGNORE
        pred, label = pred[mask].astype(np.int64), label[mask].astype(np.int64)
        hit = pred[pred == label]
        inter = np.bincount(hit, minlength=self.k)[:self.k]
        area_pred = np.bincount(pred[(pred >= 0) & (pred < self.k)], minlength=self.k)
        area_label = np.bincount(label, minlength=self.k)[:self.k]
        union = area_pred + area_label - inter
        self.inter += inter
        self.union += union
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.nanmean(inter / union) * 100) if union.any() else float("nan")

    def value(self) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.nanmean(self.inter / self.union) * 100)


def _dice(p: np.ndarray, g: np.ndarray) -> float:
    p, g = p != 0, g != 0
    den = int(p.sum() + g.sum())
    return 100.0 if den == 0 else 200.0 * int((p & g).sum()) / den


def _video_j(pred: list[np.ndarray], ref: list[np.ndarray]) -> float:
    inter = union = 0
    for t, g in enumerate(ref):
        gm = g != 0
        pm = pred[t] != 0 if t < len(pred) else np.zeros_like(gm)
        inter += int((gm & pm).sum())
        union += int((gm | pm).sum())
    return 100.0 * inter / union if union else 100.0


def _rmse(p: np.ndarray, r: np.ndarray) -> float:
    p, r = p.astype(np.float64), r.astype(np.float64)
    valid = r > 0
    return float(np.sqrt(np.mean((p[valid] - r[valid]) ** 2)))


def _absrel(pred: np.ndarray, disp: np.ndarray, lo: float = 1e-3, hi: float = 80.0) -> float:
    pred, disp = pred.astype(np.float64), disp.astype(np.float64)
    gt = np.full(disp.shape, np.inf)
    np.divide(1.0, disp, out=gt, where=disp > 0)
    valid = (gt > lo) & (gt < hi)
    x, y = pred[valid], disp[valid]
    (s, t), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)
    aligned = np.clip(s * pred + t, 1.0 / hi, 1.0 / lo)
    depth = np.clip(1.0 / aligned, lo, hi)
    return float(np.mean(np.abs(depth[valid] - gt[valid]) / gt[valid]))


def _epe(p: np.ndarray, r: np.ndarray) -> float:
    p, r = p.astype(np.float64), r.astype(np.float64)
    valid = np.isfinite(r).all(-1)
    return float(np.sqrt(((p[valid] - r[valid]) ** 2).sum(-1)).mean())


def _chamfer(p: np.ndarray, r: np.ndarray) -> float:
    from scipy.spatial import cKDTree

    p, r = p.astype(np.float64), r.astype(np.float64)
    d_pr, _ = cKDTree(r).query(p, k=1)
    d_rp, _ = cKDTree(p).query(r, k=1)
    return float((d_pr**2).mean() + (d_rp**2).mean())


def _success_auc(pred: list | None, ref: list) -> float | None:
    ious = []
    for t, g in enumerate(ref):
        if g is None or g[2] <= 0 or g[3] <= 0:
            continue  # target not visible: the frame is not scored
        b = pred[t] if pred is not None and t < len(pred) else None
        if b is None or b[2] <= 0 or b[3] <= 0:
            ious.append(0.0)
            continue
        iw = max(0.0, min(b[0] + b[2], g[0] + g[2]) - max(b[0], g[0]))
        ih = max(0.0, min(b[1] + b[3], g[1] + g[3]) - max(b[1], g[1]))
        inter = iw * ih
        ious.append(min(1.0, inter / (b[2] * b[3] + g[2] * g[3] - inter)))
    if not ious:
        return None
    iou = np.asarray(ious)
    return float(np.mean([(iou > th).mean() for th in THRESHOLDS]) * 100)


def _empty(metric: str, ref: Any) -> Any:
    """What a missing prediction is scored as (generalbench's `empty` / `worst` policy)."""
    if metric == "video_miou":
        return []
    if metric == "chamfer":
        return ref.astype(np.float64).mean(axis=0, keepdims=True)
    if metric == "success_auc":
        return None
    return np.zeros_like(ref)


PER_INSTANCE = {"dice": _dice, "video_miou": _video_j, "rms_depth": _rmse, "absrel": _absrel,
                "epe": _epe, "chamfer": _chamfer, "success_auc": _success_auc}


def score_task(metric: str, doc: dict, task_folder: Path, preds: dict[str, Any], pred_root: Path,
               rows: IO[str], task_id: str, num_classes: int = 6) -> float:
    """One dense task from its annotation document and {id: prediction JSON value}; writes one
    row per instance to `rows` and returns the task's value."""
    miou = _Miou(num_classes) if metric in ("miou", "point_miou") else None
    per: list[float] = []
    for rec in doc["data"]:
        iid = str(rec["id"])
        ref = _load(metric, rec["output"]["answer"], task_folder)
        raw = preds.get(iid)
        pred = _empty(metric, ref) if raw is None else _load(metric, raw, pred_root)
        v = miou.add(pred, ref) if miou is not None else PER_INSTANCE[metric](pred, ref)
        if v is not None and miou is None:
            per.append(v)
        rows.write(json.dumps({"task": task_id, "id": iid, "score": v}) + "\n")
    return miou.value() if miou is not None else float(np.mean(per))
