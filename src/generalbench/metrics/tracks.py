"""Video and 3-D sequence metrics: single-object tracking success AUC, spatio-temporal grounding
m_vIoU, nuScenes-style AMOTA and KITTI odometry relative translation error.

Boxes are [x, y, w, h] per frame, None (or a zero-area box) where the object is absent.
docs/metrics.md gives each definition, its source and where it departs from the official
General-Bench code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)


_ABSENT = (math.nan,) * 4


def _track_array(track: Any, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, 4) float boxes and a (T,) presence mask; missing frames / None / zero area = absent.

    One np.array call for the whole track when every frame is None or four numbers (the JSON
    form); any other frame (a nested or odd-sized box, text) goes through the per-frame rule."""
    frames = list(track) if track is not None else []
    if n is not None:
        frames = frames[:n] + [None] * max(0, n - len(frames))
    try:
        arr = np.array([_ABSENT if b is None else b for b in frames], dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.shape == (len(frames), 4):
        finite = np.isfinite(arr).all(axis=1)
        boxes = np.where(finite[:, None], arr, 0.0)
        return boxes, finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    return _track_array_slow(frames)


def _track_array_slow(frames: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    boxes = np.zeros((len(frames), 4))
    present = np.zeros(len(frames), bool)
    for i, b in enumerate(frames):
        if b is None:
            continue
        arr = np.asarray(b, dtype=np.float64).ravel()
        if arr.size != 4 or not np.isfinite(arr).all():
            continue
        boxes[i] = arr
        present[i] = arr[2] > 0 and arr[3] > 0
    return boxes, present


def _frame_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of (T, 4) xywh boxes, clipped to [0, 1]: for identical boxes the float
    rounding of (x + w) - x can make the intersection exceed the union (1.0000000000000004 for
    [86.3, 54.1, 30.0, 42.3]), which would count above the success plot's threshold 1."""
    iw = np.clip(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0), 0.0, 1.0)


def _stacked_tracks(tracks: Sequence[Any], lengths: Sequence[int] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """`_track_array` of every track at once: their (sum T, 4) boxes and presence one after the
    other, and each track's frame count (its reference's when `lengths` is given); None when a
    frame is anything but None or four numbers (each track then takes `_track_array` alone)."""
    rows: list[Any] = []
    sizes = []
    for i, track in enumerate(tracks):
        frames = list(track) if track is not None else []
        if lengths is not None:
            n = lengths[i]
            frames = frames[:n] + [None] * max(0, n - len(frames))
        rows += [_ABSENT if b is None else b for b in frames]
        sizes.append(len(frames))
    try:
        arr = np.array(rows, dtype=np.float64) if rows else np.zeros((0, 4))
    except (TypeError, ValueError):
        return None
    if arr.shape != (len(rows), 4):
        return None
    finite = np.isfinite(arr).all(axis=1)
    boxes = np.where(finite[:, None], arr, 0.0)
    return boxes, finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0), sizes


def _success_all(predictions: Sequence[Any], references: Sequence[Any]
                 ) -> list[float | None] | None:
    """success_auc's per-sequence values with every sequence's frames in one set of arrays (a
    dozen numpy calls per task instead of per sequence). Each frame's IoU is the same
    arithmetic, each sequence's curve the same count / frames, and its mean the same np.mean
    along a row; None when a track is not plain JSON boxes (the per-sequence loop then runs)."""
    ref = _stacked_tracks(references)
    if ref is None:
        return None
    rb, rp, sizes = ref
    pred = _stacked_tracks(predictions, sizes)
    if pred is None:
        return None
    pb, pp, _ = pred
    owner = np.repeat(np.arange(len(sizes)), sizes)[rp]  # the sequence of each scored frame
    iou = np.where(pp, _frame_iou(pb, rb), 0.0)[rp]
    above = (iou[:, None] > SUCCESS_THRESHOLDS[None, :]).sum(axis=1)  # thresholds each exceeds
    k = len(SUCCESS_THRESHOLDS)
    hist = np.bincount(owner * (k + 1) + above, minlength=len(sizes) * (k + 1))
    hist = hist.reshape(len(sizes), k + 1)
    frames = hist.sum(axis=1)
    # frames above threshold j = frames exceeding more than j thresholds
    counts = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
    scored = frames > 0
    curves = counts[scored] / frames[scored, None]
    values = iter((curves.mean(axis=1) * 100.0).tolist())
    return [next(values) if ok else None for ok in scored.tolist()]


def _success_per_sequence(predictions: Sequence[Any], references: Sequence[Any]
                          ) -> list[float | None]:
    """success_auc's per-sequence values one sequence at a time (any track `_track_array`
    reads; `_success_all` gives the same for plain JSON boxes, faster)."""
    per: list[float | None] = []
    for pred, ref in zip(predictions, references, strict=True):
        rb, rp = _track_array(ref)
        pb, pp = _track_array(pred, len(rb))
        iou = np.where(pp, _frame_iou(pb, rb), 0.0)[rp]
        if iou.size == 0:
            per.append(None)  # the target never appears: nothing to score
            continue
        curve = (iou[None, :] > SUCCESS_THRESHOLDS[:, None]).mean(axis=1)
        per.append(float(curve.mean() * 100.0))
    return per


@register("success_auc")
def success_auc(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """OTB/LaSOT success-plot AUC (x100): per sequence, the share of frames whose IoU exceeds
    each threshold in 0, 0.05, ..., 1 (strictly, as the OTB toolkit and pytracking), averaged over
    the 21 thresholds; mean over sequences. Frames where the reference is absent are skipped; a
    missing predicted box has IoU 0. A perfect tracker scores 100 * 20/21 = 95.24, since no IoU
    exceeds 1 (the published toolkits share this ceiling, so SoTA values are comparable)."""
    n = len(references)
    per = (_success_all(predictions, references) if n and len(predictions) == n
           else None if n or len(predictions) else [])
    if per is None:
        per = _success_per_sequence(predictions, references)
    counted = [v for v in per if v is not None]
    return MetricResult(float(np.mean(counted)) if counted else 0.0, per,
                        {"best_possible": 100.0 * 20 / 21})


@register("m_viou")
def m_viou(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Spatio-temporal grounding m_vIoU (x100): per video, vIoU = sum of box IoU over frames
    where both have a box / number of frames where either has one (HC-STVG / VidSTG); mean
    over videos. A video where neither ever has a box scores 100."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        rb, rp = _track_array(ref)
        pb, pp = _track_array(pred, len(rb))
        either = rp | pp
        if not either.any():
            per.append(100.0)
            continue
        both = rp & pp
        per.append(float(_frame_iou(pb[both], rb[both]).sum() / either.sum() * 100.0))
    return MetricResult(float(np.mean(per)) if per else 0.0, per)


# --------------------------------------------------------------------------------------------
# AMOTA (nuScenes tracking, simplified)


def _center(obj: dict) -> np.ndarray:
    if "translation" in obj:
        c = obj["translation"]
    elif "box" in obj:
        c = obj["box"][:3]
    elif "center" in obj:
        c = obj["center"]
    elif "bbox3d" in obj:
        c = obj["bbox3d"][:3]
    else:
        raise MetricError("AMOTA: each object needs 'box', 'translation', 'center' or 'bbox3d'")
    return np.asarray(c, dtype=np.float64).ravel()[:3]


def _frame_match(refs: list[dict], preds: list[dict], last: dict[Any, Any],
                 dist: float) -> list[tuple[int, int]]:
    """CLEAR-MOT matching of one frame: a reference keeps its previous track while that pair is
    within `dist`; the rest are paired by Hungarian assignment on centre distance, gated."""
    if not refs or not preds:
        return []
    d = np.linalg.norm(np.stack([_center(r) for r in refs])[:, None]
                       - np.stack([_center(p) for p in preds])[None], axis=-1)
    pid_index = {p.get("track_id"): j for j, p in enumerate(preds)}
    pairs: list[tuple[int, int]] = []
    used_p: set[int] = set()
    for i, r in enumerate(refs):
        j = pid_index.get(last.get(r.get("track_id"), object()))
        if j is not None and j not in used_p and d[i, j] <= dist:
            pairs.append((i, j))
            used_p.add(j)
    free_r = [i for i in range(len(refs)) if i not in {a for a, _ in pairs}]
    free_p = [j for j in range(len(preds)) if j not in used_p]
    if free_r and free_p:
        from scipy.optimize import linear_sum_assignment  # 0.15 s to import: when needed

        sub = np.where(d[np.ix_(free_r, free_p)] <= dist, d[np.ix_(free_r, free_p)], 1e9)
        for a, b in zip(*linear_sum_assignment(sub), strict=True):
            if sub[a, b] < 1e9:
                pairs.append((free_r[a], free_p[b]))
    return pairs


def _mot_scene(pred_seq: Sequence[Sequence[dict]], ref_seq: Sequence[Sequence[dict]],
               thr: float, dist: float) -> tuple[int, int, int, int, list[float]]:
    """(TP, FP, FN, IDS, scores of matched predictions) of one scene at score threshold `thr`."""
    tp = fp = fn = ids = 0
    scores: list[float] = []
    last: dict[Any, Any] = {}
    for t, refs in enumerate(ref_seq):
        refs = list(refs or [])
        preds = [p for p in (pred_seq[t] if t < len(pred_seq) and pred_seq[t] else [])
                 if float(p.get("score", 1.0)) >= thr]
        pairs = _frame_match(refs, preds, last, dist)
        for i, j in pairs:
            rid, pid = refs[i].get("track_id"), preds[j].get("track_id")
            if rid in last and last[rid] != pid:
                ids += 1
            last[rid] = pid
            scores.append(float(preds[j].get("score", 1.0)))
        tp += len(pairs)
        fn += len(refs) - len(pairs)
        fp += len(preds) - len(pairs)
    return tp, fp, fn, ids, scores


def _as_frames(seq: Any) -> list[list[dict]]:
    """A scene as a list of frames: either already nested, or the flat `tracks3d` form (objects
    with a "frame" index, docs/data-format.md)."""
    items = list(seq or [])
    if items and all(isinstance(o, dict) for o in items):
        n = max(int(o.get("frame", 0)) for o in items) + 1
        frames: list[list[dict]] = [[] for _ in range(n)]
        for o in items:
            frames[int(o.get("frame", 0))].append(o)
        return frames
    return [list(f or []) for f in items]


def _by_label(seqs: Sequence[Any], label: str) -> list[list[list[dict]]]:
    return [[[o for o in frame if str(o.get("label", "")) == label] for frame in seq]
            for seq in seqs]


@register("amota")
def amota(predictions: Sequence[Any], references: Sequence[Any], dist: float = 2.0,
          num_thresholds: int = 40, min_recall: float = 0.1, **_: Any) -> MetricResult:
    """nuScenes-style AMOTA (x100), simplified.

    Each instance is a scene: a list of frames, each a list of objects {"translation" (or
    "center"/"bbox3d"), "track_id", "label", "score"}. Per class: a first pass with every
    prediction gives the scores of true positives; for each recall r in linspace(min_recall, 1,
    num_thresholds) the score threshold is the score at which recall r is first reached; at that
    threshold MOTAR = max(0, 1 - (IDS + FP + FN - (1 - r') * P) / (r' * P)), with P the reference
    objects and r' the recall actually reached there (nuScenes); unreached recalls give 0. AMOTA = mean MOTAR over r, then mean over classes with references.
    """
    predictions = [_as_frames(s) for s in predictions]
    references = [_as_frames(s) for s in references]
    labels = sorted({str(o.get("label", "")) for seq in references for frame in seq for o in frame})
    if not labels:
        return MetricResult(100.0, None, {"classes": 0})
    recalls = np.linspace(min_recall, 1.0, num_thresholds)
    per_class: dict[str, float] = {}
    for lab in labels:
        ps, rs = _by_label(predictions, lab), _by_label(references, lab)
        npos = sum(len(f) for seq in rs for f in seq)
        tp_scores: list[float] = []
        for p, r in zip(ps, rs, strict=True):
            tp_scores += _mot_scene(p, r, -np.inf, dist)[4]
        tp_scores.sort(reverse=True)
        motars = []
        for rec in recalls:
            k = int(np.ceil(rec * npos - 1e-9))
            if k > len(tp_scores):
                motars.append(0.0)  # recall never reached: worst value, as nuScenes
                continue
            thr = tp_scores[k - 1]
            tp = fp = fn = ids = 0
            for p, r in zip(ps, rs, strict=True):
                a, b, c, d, _ = _mot_scene(p, r, thr, dist)
                tp, fp, fn, ids = tp + a, fp + b, fn + c, ids + d
            if tp == 0:
                motars.append(0.0)
                continue
            actual = tp / npos  # nuScenes uses the recall reached at the threshold
            motar = 1.0 - (ids + fp + fn - (1.0 - actual) * npos) / (actual * npos)
            motars.append(max(0.0, motar))
        per_class[lab] = float(np.mean(motars) * 100.0)
    return MetricResult(float(np.mean(list(per_class.values()))), None,
                        {"per_class_amota": per_class, "dist": dist})


# --------------------------------------------------------------------------------------------
# KITTI odometry relative translation error

KITTI_LENGTHS = (100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0)


def _poses(x: Any) -> np.ndarray:
    """(N, 4, 4) poses from 4x4, 3x4, 12-value KITTI rows, or (N, 3) positions (no rotation)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 3:
        out = np.tile(np.eye(4), (len(a), 1, 1))
        out[:, :3, 3] = a
        return out
    if a.ndim == 2 and a.shape[1] == 12:
        a = a.reshape(-1, 3, 4)
    if a.ndim == 3 and a.shape[1:] == (3, 4):
        out = np.tile(np.eye(4), (len(a), 1, 1))
        out[:, :3] = a
        return out
    if a.ndim == 3 and a.shape[1:] == (4, 4):
        return a
    raise MetricError(f"RTE: poses must be (N, 4, 4), (N, 3, 4), (N, 12) or (N, 3); got {a.shape}")


def kitti_segment_errors(pred: np.ndarray, ref: np.ndarray,
                         lengths: Sequence[float] = KITTI_LENGTHS, step: int = 10) -> list[float]:
    """Translation error / length of every KITTI devkit segment (first frame every `step`)."""
    steps = np.linalg.norm(np.diff(ref[:, :3, 3], axis=0), axis=1)
    dist = np.concatenate([[0.0], np.cumsum(steps)])
    errs = []
    for first in range(0, len(ref), step):
        for length in lengths:
            after = np.flatnonzero(dist > dist[first] + length)
            if after.size == 0:
                continue
            last = int(after[0])
            delta_ref = np.linalg.inv(ref[first]) @ ref[last]
            delta_pred = np.linalg.inv(pred[first]) @ pred[last]
            err = np.linalg.inv(delta_pred) @ delta_ref
            errs.append(float(np.linalg.norm(err[:3, 3]) / length))
    return errs


@register("rte")
def rte(predictions: Sequence[Any], references: Sequence[Any],
        lengths: Sequence[float] = KITTI_LENGTHS, **_: Any) -> MetricResult:
    """KITTI odometry translational error t_rel in percent (0.55 = LOAM's KITTI figure): mean
    over all segments of 100-800 m of ||translation of the relative pose error|| / length.

    A sequence shorter than the shortest length is scored on one segment spanning it (first to
    last frame) and counted in `details["short_sequences"]`. A failed prediction arrives as a
    vehicle that never moves (identity poses: specs.yaml `worst: still`).
    """
    all_errs: list[float] = []
    per: list[float | None] = []
    short = 0
    for pred, ref in zip(predictions, references, strict=True):
        r = _poses(ref)
        p = _poses(pred)
        if len(p) != len(r):
            raise MetricError(f"RTE: {len(p)} predicted poses but {len(r)} reference poses")
        errs = kitti_segment_errors(p, r, lengths)
        if not errs:
            total = float(np.linalg.norm(np.diff(r[:, :3, 3], axis=0), axis=1).sum())
            if total <= 0:
                per.append(None)  # a vehicle that never moves has no translation to get wrong
                continue
            short += 1
            err = np.linalg.inv(np.linalg.inv(p[0]) @ p[-1]) @ (np.linalg.inv(r[0]) @ r[-1])
            errs = [float(np.linalg.norm(err[:3, 3]) / total)]
        all_errs += errs
        per.append(100.0 * float(np.mean(errs)))
    value = 100.0 * float(np.mean(all_errs)) if all_errs else 0.0
    return MetricResult(value, per, {"segments": len(all_errs), "short_sequences": short})
