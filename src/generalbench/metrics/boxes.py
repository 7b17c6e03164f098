"""Detection, grounding and scene-graph metrics over boxes: COCO AP family, R@50, 3D mAP.

2-D AP is COCO's (pycocotools' COCOeval arithmetic, reproduced in vectorised numpy by
metrics/coco_ap.py and tested against pycocotools to 1e-9). The 3-D metrics
(oriented-box mAP@0.25 and point-mask mAP@50) have no light well-kept library, so they are short
numpy code following the VoteNet / ScanNet evaluation scripts; docs/metrics.md says how.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.coco_ap import coco_box_ap
from generalbench.metrics.registry import MetricResult, register

Box = dict[str, Any]

# --------------------------------------------------------------------------------------------
# COCO AP (2-D boxes)


def _label(b: dict) -> str:
    """Labels compare case- and whitespace-insensitively ("Person " == "person")."""
    return " ".join(str(b.get("label", "") or "").lower().split())


def _labeller(references: Sequence[Sequence[dict] | None],
              class_agnostic: bool | None) -> Callable[[dict], str]:
    """Label function: class-agnostic when asked, or by default when the references use at most
    one distinct label (a single-class task must not score 0 because a model named the class
    differently or not at all)."""
    if class_agnostic is None:
        class_agnostic = len({_label(b) for boxes in references for b in (boxes or [])}) <= 1
    return (lambda b: "") if class_agnostic else _memo_label()


def _memo_label() -> Callable[[dict], str]:
    """_label with each distinct label string folded once (a task has a few labels and many
    boxes)."""
    folded: dict[str, str] = {}

    def lab(b: dict) -> str:
        v = b.get("label", "")
        if type(v) is not str:
            return _label(b)
        key = folded.get(v)
        if key is None:
            key = folded[v] = " ".join(v.lower().split())
        return key

    return lab


Flat = tuple[list[int], list[int], Any, Any, list[int], list[int], Any, list[bool], int]
"""(dt_img, dt_cat, dt_box, dt_score, gt_img, gt_cat, gt_box, gt_crowd, invalid): the boxes of
every image as COCOeval's flat lists, categories numbered in order of first appearance."""


def _flatten(predictions: Sequence[Sequence[Box] | None], references: Sequence[Sequence[Box]],
             lab: Callable[[dict], str]) -> Flat:
    """The boxes as flat lists, box by box: a predicted box or score that is not finite is left
    out and counted (`invalid`)."""
    cat_id: dict[str, int] = {}
    gt_img: list[int] = []
    gt_cat: list[int] = []
    gt_box: list[tuple[float, ...]] = []
    gt_crowd: list[bool] = []
    dt_img: list[int] = []
    dt_cat: list[int] = []
    dt_box: list[tuple[float, float, float, float]] = []
    dt_score: list[float] = []
    invalid = 0
    isfinite = math.isfinite
    for img_id, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        for b in ref or []:
            gt_img.append(img_id)
            gt_cat.append(cat_id.setdefault(lab(b), len(cat_id)))
            gt_box.append(tuple(map(float, b["bbox"])))
            gt_crowd.append(bool(int(b.get("iscrowd", 0))))
        for b in pred or []:
            x, y, w, h = map(float, b["bbox"])
            score = float(b.get("score", 1.0))
            if not (isfinite(x) and isfinite(y) and isfinite(w) and isfinite(h)
                    and isfinite(score)):
                invalid += 1  # a malformed box can only be wrong
                continue
            dt_img.append(img_id)
            dt_cat.append(cat_id.setdefault(lab(b), len(cat_id)))
            dt_box.append((x, y, max(w, 0.0), max(h, 0.0)))
            dt_score.append(score)
    return dt_img, dt_cat, dt_box, dt_score, gt_img, gt_cat, gt_box, gt_crowd, invalid


def _flatten_fast(predictions: Sequence[Sequence[Box] | None],
                  references: Sequence[Sequence[Box]], lab: Callable[[dict], str]) -> Flat | None:
    """What `_flatten` gives, with the boxes converted and checked as whole arrays (the
    per-number Python loop was most of a detection task's scoring), or None when a predicted box
    or score is not finite or the boxes do not convert (then `_flatten` counts or words it)."""
    cat_id: dict[str, int] = {}

    def cat(b: Box) -> int:
        return cat_id.setdefault(lab(b), len(cat_id))

    gt_img: list[int] = []
    gt_cat: list[int] = []
    gt_raw: list[Any] = []
    gt_crowd: list[bool] = []
    dt_img: list[int] = []
    dt_cat: list[int] = []
    dt_raw: list[Any] = []
    dt_score: list[Any] = []
    for img_id, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        for b in ref or ():
            gt_img.append(img_id)
            gt_cat.append(cat(b))
            gt_raw.append(b["bbox"])
            gt_crowd.append(bool(int(b.get("iscrowd", 0))))
        for b in pred or ():
            dt_img.append(img_id)
            dt_cat.append(cat(b))
            dt_raw.append(b["bbox"])
            dt_score.append(b.get("score", 1.0))
    try:
        gt_box = np.array(gt_raw, dtype=float).reshape(-1, 4)
        dt_box = np.array(dt_raw, dtype=float).reshape(-1, 4)
        scores = np.array(dt_score, dtype=float)
    except (TypeError, ValueError):
        return None
    if dt_raw and not (np.isfinite(dt_box).all() and np.isfinite(scores).all()):
        return None
    np.maximum(dt_box[:, 2:], 0.0, out=dt_box[:, 2:])
    return dt_img, dt_cat, dt_box, scores, gt_img, gt_cat, gt_box, gt_crowd, 0


def _coco_ap(predictions: Sequence[Sequence[Box] | None], references: Sequence[Sequence[Box]],
             iou_thresholds: Sequence[float] | None, max_dets: int = 100,
             class_agnostic: bool | None = None) -> MetricResult:
    """COCO box AP (x100) averaged over `iou_thresholds` (None = COCO's .50:.05:.95).

    Categories are the distinct labels; a category with no reference box is ignored (COCO rule).
    A dataset with no reference box at all scores 100 when nothing is predicted, else 0.
    Computed by metrics/coco_ap.py, which reproduces pycocotools' COCOeval to 1e-9.
    """
    lab = _labeller(references, class_agnostic)
    flat = _flatten_fast(predictions, references, lab)
    if flat is None:  # a non-finite predicted box or score: the loop that counts them
        flat = _flatten(predictions, references, lab)
    dt_img, dt_cat, dt_box, dt_score, gt_img, gt_cat, gt_box, gt_crowd, invalid = flat
    thr_desc = "0.50:0.95" if iou_thresholds is None else ",".join(f"{t:g}" for t in iou_thresholds)
    details: dict[str, Any] = {"iou_thresholds": thr_desc, "n_references": len(gt_box),
                               "n_predictions": len(dt_box), "max_dets": max_dets,
                               "invalid_predictions": invalid}
    if not len(gt_box):
        return MetricResult(100.0 if not len(dt_box) else 0.0, None, details)
    if not len(dt_box):
        return MetricResult(0.0, None, details)
    thrs = (np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
            if iou_thresholds is None else np.asarray(iou_thresholds, dtype=float))
    value = coco_box_ap(np.asarray(dt_img, np.int64), np.asarray(dt_cat, np.int64),
                        np.asarray(dt_box, float).reshape(-1, 4), np.asarray(dt_score, float),
                        np.asarray(gt_img, np.int64), np.asarray(gt_cat, np.int64),
                        np.asarray(gt_box, float).reshape(-1, 4), np.asarray(gt_crowd, bool),
                        thrs, max_dets)
    return MetricResult(0.0 if value is None else value, None, details)


@register("ap")
def ap(predictions: Sequence[Sequence[Box]], references: Sequence[Sequence[Box]],
       max_dets: int = 100, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """COCO AP@[.50:.95] (x100), the primary COCO box metric."""
    return _coco_ap(predictions, references, None, max_dets, class_agnostic)


@register("ap50")
def ap50(predictions: Sequence[Sequence[Box]], references: Sequence[Sequence[Box]],
         max_dets: int = 100, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """COCO AP at IoU 0.50 (x100)."""
    return _coco_ap(predictions, references, [0.5], max_dets, class_agnostic)


@register("ap75")
def ap75(predictions: Sequence[Sequence[Box]], references: Sequence[Sequence[Box]],
         max_dets: int = 100, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """COCO AP at IoU 0.75 (x100)."""
    return _coco_ap(predictions, references, [0.75], max_dets, class_agnostic)


@register("ap10")
def ap10(predictions: Sequence[Sequence[Box]], references: Sequence[Sequence[Box]],
         max_dets: int = 100, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """COCO-style AP at IoU 0.10 (x100): the loose-overlap grounding metric of two VG tasks."""
    return _coco_ap(predictions, references, [0.1], max_dets, class_agnostic)


# --------------------------------------------------------------------------------------------
# R@50 for scene graphs / spatial relationships


def _norm_text(s: Any) -> str:
    return re.sub(r"\s+", " ", str(s).strip().lower())


def _triplet(t: Any) -> tuple[tuple[str, str, str], Any, Any]:
    """(subject, predicate, object) text plus optional subject/object boxes."""
    if isinstance(t, dict):
        subj, obj = t.get("subject"), t.get("object")
        sb = subj.get("bbox") if isinstance(subj, dict) else None
        ob = obj.get("bbox") if isinstance(obj, dict) else None
        sl = subj.get("label") if isinstance(subj, dict) else subj
        ol = obj.get("label") if isinstance(obj, dict) else obj
        pred = t.get("predicate", t.get("relation", ""))
        return (_norm_text(sl), _norm_text(pred), _norm_text(ol)), sb, ob
    if isinstance(t, str):
        parts = [p for p in re.split(r"\s*[,;|]\s*", t.strip()) if p]
        if len(parts) != 3:
            parts = t.split()
            if len(parts) < 3:
                return (_norm_text(t), "", ""), None, None
            parts = [parts[0], " ".join(parts[1:-1]), parts[-1]]
        return tuple(_norm_text(p) for p in parts), None, None  # type: ignore[return-value]
    items = list(t)
    if len(items) != 3:
        raise MetricError(f"R@50: a triplet must have 3 parts (subject, predicate, object), got {t!r}")
    return tuple(_norm_text(p) for p in items), None, None  # type: ignore[return-value]


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of [x, y, w, h] boxes: (N, 4) x (M, 4) -> (N, M), clipped to [0, 1] (float
    rounding of (x + w) - x can put identical boxes a hair above 1)."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0), 0.0, 1.0)


@register("recall_at_50")
def recall_at_50(predictions: Sequence[Sequence[Any] | None], references: Sequence[Sequence[Any]],
                 k: int = 50, iou: float = 0.5, **_: Any) -> MetricResult:
    """Triplet recall within the top-k predictions (x100), mean over images with reference triplets.

    A prediction (already ranked, best first) matches an unmatched reference triplet when subject,
    predicate and object agree after lower-casing and whitespace folding and, where both sides give
    subject/object boxes, both boxes overlap with IoU >= `iou` (the scene-graph-detection rule).
    """
    per: list[float | None] = []
    for pred, ref in zip(predictions, references, strict=True):
        ref = [ref] if isinstance(ref, (str, dict)) else ref
        pred = [pred] if isinstance(pred, (str, dict)) else pred
        gts = [_triplet(t) for t in (ref or [])]
        if not gts:
            per.append(None)  # nothing to recall: not counted
            continue
        used = [False] * len(gts)
        hits = 0
        for p in list(pred or [])[:k]:
            (ptxt, psb, pob) = _triplet(p)
            for j, (gtxt, gsb, gob) in enumerate(gts):
                if used[j] or gtxt != ptxt:
                    continue
                if psb is not None and gsb is not None and box_iou_xywh(psb, gsb)[0, 0] < iou:
                    continue
                if pob is not None and gob is not None and box_iou_xywh(pob, gob)[0, 0] < iou:
                    continue
                used[j] = True
                hits += 1
                break
        per.append(100.0 * hits / len(gts))
    counted = [v for v in per if v is not None]
    value = float(np.mean(counted)) if counted else 100.0
    return MetricResult(value, per, {"k": k, "images_with_references": len(counted)})


# --------------------------------------------------------------------------------------------
# 3-D detection mAP@0.25 (VoteNet / ScanNet / SUN RGB-D protocol) and 3-D instance mAP@50


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the monotone precision envelope (VOC 2010+ / VoteNet `voc_ap`, all points)."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _class_ap(preds: list[tuple[int, float, Any]], gts: dict[int, list[Any]],
              iou_fn: Callable[[Any, Any], float], thr: float) -> float:
    """AP of one class: detections by score, each to its best-overlap reference if IoU > thr (VoteNet)."""
    npos = sum(len(v) for v in gts.values())
    if npos == 0:
        return float("nan")
    order = sorted(range(len(preds)), key=lambda i: -preds[i][1])
    used = {img: np.zeros(len(v), bool) for img, v in gts.items()}
    tp = np.zeros(len(order))
    for rank, i in enumerate(order):
        img, _, obj = preds[i]
        cands = gts.get(img, [])
        if not cands:
            continue
        ious = np.array([iou_fn(obj, g) for g in cands])
        j = int(np.argmax(ious))
        if ious[j] > thr and not used[img][j]:
            used[img][j] = True
            tp[rank] = 1
    ctp = np.cumsum(tp)
    recall = ctp / npos
    precision = ctp / np.arange(1, len(order) + 1)
    return voc_ap(recall, precision) if len(order) else 0.0


def _map(predictions: Sequence[Sequence[dict]], references: Sequence[Sequence[dict]],
         key: Callable[[dict], Any], iou_fn: Callable[[Any, Any], float], thr: float,
         name: str, class_agnostic: bool | None = None) -> MetricResult:
    lab = _labeller(references, class_agnostic)
    preds: dict[str, list[tuple[int, float, Any]]] = {}
    gts: dict[str, dict[int, list[Any]]] = {}
    for img, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        for r in ref or []:
            gts.setdefault(lab(r), {}).setdefault(img, []).append(key(r))
        for p in pred or []:
            preds.setdefault(lab(p), []).append(
                (img, float(p.get("score", 1.0)), key(p)))
    if not gts:
        return MetricResult(100.0 if not preds else 0.0, None, {"classes": 0})
    per_class = {c: _class_ap(preds.get(c, []), g, iou_fn, thr) for c, g in gts.items()}
    value = float(np.mean(list(per_class.values())) * 100.0)
    return MetricResult(value, None, {"iou_threshold": thr,
                                      "per_class_ap": {c: v * 100 for c, v in per_class.items()},
                                      "metric": name})


def _box3d(b: dict) -> np.ndarray:
    raw = b.get("box", b.get("bbox3d", b.get("bbox")))
    arr = np.asarray(raw, dtype=float).ravel()
    if arr.size == 6:
        arr = np.append(arr, 0.0)
    if arr.size != 7:
        raise MetricError(f"3-D box must be [x, y, z, dx, dy, dz, yaw] (or 6 values), got {raw!r}")
    return arr


def _corners_bev(b: np.ndarray) -> np.ndarray:
    x, y, _, dx, dy, _, yaw = b
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.array([[dx, dy], [-dx, dy], [-dx, -dy], [dx, -dy]]) / 2.0
    return local @ np.array([[c, s], [-s, c]]) + np.array([x, y])


def _clip_polygon(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clipping of a polygon by a convex counter-clockwise polygon."""
    out = subject
    for i in range(len(clip)):
        if len(out) == 0:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        edge = b - a

        def inside(p: np.ndarray, a: np.ndarray = a, edge: np.ndarray = edge) -> bool:
            return edge[0] * (p[1] - a[1]) - edge[1] * (p[0] - a[0]) >= -1e-12

        def cross(p: np.ndarray, q: np.ndarray, a: np.ndarray = a, edge: np.ndarray = edge) -> np.ndarray:
            d = q - p
            den = edge[0] * d[1] - edge[1] * d[0]
            t = (edge[1] * (p[0] - a[0]) - edge[0] * (p[1] - a[1])) / den
            return p + t * d

        pts = out
        out_list = []
        for j in range(len(pts)):
            cur, prev = pts[j], pts[j - 1]
            if inside(cur):
                if not inside(prev):
                    out_list.append(cross(prev, cur))
                out_list.append(cur)
            elif inside(prev):
                out_list.append(cross(prev, cur))
        out = np.array(out_list)
    return out


def _poly_area(p: np.ndarray) -> float:
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def box3d_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two yaw-rotated 3-D boxes [x, y, z, dx, dy, dz, yaw] (z is the box centre)."""
    inter_bev = _poly_area(_clip_polygon(_corners_bev(a), _corners_bev(b)))
    zmax = min(a[2] + a[5] / 2, b[2] + b[5] / 2)
    zmin = max(a[2] - a[5] / 2, b[2] - b[5] / 2)
    inter = inter_bev * max(0.0, zmax - zmin)
    union = a[3] * a[4] * a[5] + b[3] * b[4] * b[5] - inter
    return float(inter / union) if union > 0 else 0.0


@register("map_3d")
def map_3d(predictions: Sequence[Sequence[dict]], references: Sequence[Sequence[dict]],
           iou: float = 0.25, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """3-D detection mAP@0.25 (x100) over yaw-rotated boxes, VoteNet ScanNet/SUN RGB-D protocol."""
    return _map(predictions, references, _box3d, box3d_iou, iou, "map_3d", class_agnostic)


def _point_mask(inst: dict) -> np.ndarray:
    m = np.asarray(inst["mask"])
    if m.dtype != bool:
        if "n_points" in inst:
            full = np.zeros(int(inst["n_points"]), bool)
            full[m.astype(int)] = True
            return full
        m = m.astype(bool)
    return m


def instances_from_ids(instance_ids: np.ndarray, semantic: np.ndarray,
                       ignore: Sequence[int] = (0,)) -> list[dict]:
    """Per-point instance ids + semantic labels -> the instance list `map50_3d` expects."""
    ids = np.asarray(instance_ids).ravel()
    sem = np.asarray(semantic).ravel()
    out = []
    for i in np.unique(ids):
        if i in ignore:
            continue
        m = ids == i
        labels, counts = np.unique(sem[m], return_counts=True)
        out.append({"mask": m, "label": str(labels[np.argmax(counts)])})
    return out


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise MetricError(f"mAP@50: point masks of different sizes {a.shape} vs {b.shape}")
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def _as_instances(x: Any) -> list[dict]:
    """Instance list from a list of {"mask", "label", "score"?}, a {"instance", "semantic"} dict,
    or a bare per-point instance-id array (0 = no instance; class-agnostic label "object")."""
    if x is None:
        return []
    if isinstance(x, dict):
        return instances_from_ids(x["instance"], x.get("semantic", np.ones_like(x["instance"])))
    if isinstance(x, np.ndarray) and x.dtype != object:
        inst = instances_from_ids(x, np.zeros_like(x))
        return [dict(i, label="object") for i in inst]
    return list(x)


@register("map50_3d")
def map50_3d(predictions: Sequence[Any], references: Sequence[Any],
             iou: float = 0.5, class_agnostic: bool | None = None, **_: Any) -> MetricResult:
    """3-D instance segmentation AP@50 (x100) over per-point instance masks (ScanNet AP50 rule)."""
    return _map([_as_instances(p) for p in predictions], [_as_instances(r) for r in references],
                _point_mask, _mask_iou, iou, "map50_3d", class_agnostic)
