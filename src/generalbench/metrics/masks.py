"""Segmentation and matting metrics: mIoU (image, video, point), instance mIoU, DICE, PQ,
SAD, matting MSE and the S-measure.

All of them are a few lines of numpy over confusion counts (np.bincount), so they need no
library; the tests check them against scikit-learn and PySODMetrics. Conventions (ignore index,
empty masks, scaling) are written in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.base import run_stream
from generalbench.metrics.registry import MetricResult, register, register_stream

IGNORE_INDEX = 255


def _same_shape(p: np.ndarray, r: np.ndarray, metric: str) -> None:
    if p.shape != r.shape:
        raise MetricError(f"{metric}: prediction shape {p.shape} differs from reference {r.shape}")


# --------------------------------------------------------------------------------------------
# Semantic mIoU (images and points)


def _small_int(dtype: np.dtype) -> bool:
    """Signed integers, or unsigned ones narrower than int64 (they add to int64 exactly)."""
    return dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)


def confusion(pred: np.ndarray, ref: np.ndarray, n: int, ignore_index: int | None) -> np.ndarray:
    """n x (n + 1) confusion counts: rows reference class, columns predicted class; the extra last
    column counts predictions outside 0..n-1 (e.g. the ignore value), which are always wrong.
    Reference pixels equal to `ignore_index` (or outside 0..n-1) are dropped."""
    p, r = pred.ravel(), ref.ravel()  # integer maps are compared in their own dtype
    if not _small_int(p.dtype):
        p = p.astype(np.int64)  # float or bool labels: truncated first, as always
    if not _small_int(r.dtype):
        r = r.astype(np.int64)
    keep = (r >= 0) & (r < n)
    wrong = (p < 0) | (p >= n)
    if ignore_index is not None:
        keep &= r != ignore_index
        wrong |= p == ignore_index
    cell = r.astype(np.int64) * (n + 1)
    cell += np.where(wrong, np.int64(n), p)  # np.int64: n must not wrap in p's dtype
    return np.bincount(cell[keep], minlength=n * (n + 1)).reshape(n, n + 1)


def _iou_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = cm.shape[0]
    inter = np.diag(cm[:, :n]).astype(float)
    union = cm.sum(1) + cm[:, :n].sum(0) - inter
    return inter, union


def _byte_ids(a: np.ndarray) -> bool:
    """Integer ids all in 0..255 (uint8 masks as decoded, or any integer map that fits), the
    case `MiouStream._byte_confusion` counts through a 256-entry lookup table."""
    if a.dtype == np.uint8:
        return True
    if a.dtype.kind not in "iu":
        return False
    return a.size == 0 or (int(a.min()) >= 0 and int(a.max()) < 256)


_DIRECT_MAX = 1024
"""Class ids below this are counted directly (row = id); a larger id switches the stream to the
sorted ids actually seen, so a stray id (say 10**9) costs no memory."""
_SMALL = 32
"""Up to this many classes a map's own mIoU is summed up in Python (a dozen numpy calls on a
6 x 7 matrix cost more than the arithmetic)."""


@register_stream("miou", "point_miou")
class MiouStream:
    """Running n x (n + 1) confusion counts over the dataset; each map is dropped once counted.

    Classes are the non-negative ids other than `ignore_index` seen in a reference or a
    prediction (or 0..num_classes-1 when given). Ids seen so far are `labels` (sorted); the
    matrix grows when a new id appears, keeping the last column for predictions that are no
    class (negative or the ignore value). Which ids count and their order do not depend on the
    order the maps come in, so the value is that of one confusion matrix over all maps.
    """

    def __init__(self, ignore_index: int | None = IGNORE_INDEX, num_classes: int | None = None
                 ) -> None:
        self.ignore_index = ignore_index
        self.fixed = num_classes is not None
        self.labels = np.arange(num_classes or 0)
        self.direct = True
        """labels == arange(len(labels)): maps are counted without remapping."""
        self.total = np.zeros((len(self.labels), len(self.labels) + 1), np.int64)
        self.per: list[float | None] = []
        self._lut: tuple[int, np.ndarray] | None = None
        """(n, the lookup table of `_byte_confusion` for n labels)."""

    def _grow(self, labels: np.ndarray) -> None:
        """Re-index the running counts onto a larger sorted label set."""
        n = len(labels)
        pos = np.searchsorted(labels, self.labels)
        total = np.zeros((n, n + 1), np.int64)
        total[np.ix_(pos, np.append(pos, n))] = self.total
        self.labels, self.total = labels, total

    def _byte_confusion(self, p: np.ndarray, r: np.ndarray) -> np.ndarray | None:
        """`confusion` of two maps of byte ids (_byte_ids) against the current labels, counted
        through one lookup table and one bincount (a 64 x 64 map: about 20 numpy calls fewer);
        None when a map holds an id the labels lack (the general path grows them).

        The table sends a class id to itself, the ignore value to slot n and any other id to
        slot n + 1, so the (n + 2)^2 counts hold the confusion: reference rows n and n + 1 are
        the dropped pixels, prediction columns n and n + 1 the always-wrong ones. Slot n + 1 is
        a new class unless the classes are fixed; then it is an id to drop or count wrong."""
        n = len(self.labels)
        if self._lut is None or self._lut[0] != n:
            lut = np.where(np.arange(256) < n, np.arange(256), n + 1)
            ign = self.ignore_index
            if ign is not None and 0 <= ign < 256:
                lut[ign] = n
            self._lut = (n, lut.astype(np.intp))
        lut = self._lut[1]
        k = n + 2
        cell = lut.take(r.ravel())
        cell *= k
        cell += lut.take(p.ravel())
        t = np.bincount(cell, minlength=k * k).reshape(k, k)
        if not self.fixed and (t[n + 1].any() or t[:, n + 1].any()):
            return None
        cm = t[:n, :n + 1].copy()
        cm[:, n] += t[:n, n + 1]
        return cm

    def add(self, prediction: Any, reference: Any) -> float | None:
        r, p = np.asarray(reference), np.asarray(prediction)
        _same_shape(p, r, "mIoU")
        cm = (self._byte_confusion(p, r)
              if self.direct and len(self.labels) and _byte_ids(r) and _byte_ids(p) else None)
        if cm is not None:
            return self._count(cm)
        ignore = self.ignore_index
        if not self.fixed:
            ign = ignore if ignore is not None else -1
            top = max(int(a.max(initial=0, where=a != ign)) for a in (r, p))
            if self.direct and top < _DIRECT_MAX:
                if top >= len(self.labels):
                    self._grow(np.arange(top + 1))
            else:
                seen = np.union1d(np.unique(r), np.unique(p))
                seen = seen[(seen >= 0) & (seen != ign)]
                self.direct = False
                if not np.isin(seen, self.labels, assume_unique=True).all():
                    self._grow(np.union1d(self.labels, seen))
                labels, n = self.labels, len(self.labels)

                def remap(a: np.ndarray, missing: int) -> np.ndarray:
                    idx = np.clip(np.searchsorted(labels, a), 0, max(n - 1, 0))
                    ok = (labels[idx] == a) & (a != ign) if n else np.zeros(a.shape, bool)
                    return np.where(ok, idx, missing)

                r, p, ignore = remap(r, -1), remap(p, n), None
        return self._count(confusion(p, r, len(self.labels), ignore))

    def _count(self, cm: np.ndarray) -> float | None:
        """Add one map's confusion counts; its own mIoU over the classes present in it."""
        self.total += cm
        if len(cm) <= _SMALL:  # in Python: the same ints, the same quotients, one np.mean
            rows = cm.tolist()
            cols = [sum(c) for c in zip(*rows, strict=True)]
            ious = [row[i] / u for i, row in enumerate(rows) if (u := sum(row) + cols[i] - row[i]) > 0]
            v = float(np.mean(np.array(ious)) * 100) if ious else None
        else:
            inter, union = _iou_from_confusion(cm)
            present = union > 0
            v = float(np.mean(inter[present] / union[present]) * 100) if present.any() else None
        self.per.append(v)
        return v

    def result(self) -> MetricResult:
        inter, union = _iou_from_confusion(self.total)
        present = union > 0
        value = float(np.mean(inter[present] / union[present]) * 100) if present.any() else 100.0
        per_class = {int(self.labels[c]): float(inter[c] / union[c] * 100)
                     for c in np.flatnonzero(present)}
        return MetricResult(value, list(self.per), {"classes": int(present.sum()),
                                                    "ignore_index": self.ignore_index,
                                                    "per_class_iou": per_class})


@register("miou", "point_miou")
def miou(predictions: Sequence[Any], references: Sequence[Any],
         ignore_index: int | None = IGNORE_INDEX, num_classes: int | None = None,
         **_: Any) -> MetricResult:
    """Dataset-level semantic mIoU (x100): intersections and unions summed over all images (or
    point clouds), IoU per class, mean over classes present in the reference or the prediction.

    Reference pixels equal to `ignore_index` (255) are excluded; predictions there are ignored
    too. `per_instance` holds each image's own mIoU over the classes present in it. The scorer
    feeds the same MiouStream one map at a time.
    """
    return run_stream(MiouStream(ignore_index, num_classes), predictions, references)


# --------------------------------------------------------------------------------------------
# Video object segmentation J (official recipe: per video sum |G & P| / sum |G | P|)


def _frames(x: Any) -> list[np.ndarray]:
    if isinstance(x, np.ndarray):
        return [x] if x.ndim == 2 else list(x)
    return [np.asarray(f) for f in x]


class _MeanOfInstances:
    """A stream whose value is the mean of per-instance values (0.0 for no instance)."""

    def __init__(self) -> None:
        self.per: list[float] = []

    def _keep(self, v: float) -> float:
        self.per.append(v)
        return v

    def result(self) -> MetricResult:
        return MetricResult(float(np.mean(self.per)) if self.per else 0.0, list(self.per))


@register_stream("video_miou")
class VideoMiouStream(_MeanOfInstances):
    """Per video IoU from summed frame counts; mean over videos."""

    def __init__(self, ignore_index: int | None = IGNORE_INDEX) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def add(self, prediction: Any, reference: Any) -> float:
        rf, pf = _frames(reference), _frames(prediction)
        if rf and len(pf) >= len(rf):
            g = rf[0]
            if all(f.shape == g.shape and f.dtype == g.dtype for f in rf) and all(
                    f.shape == g.shape and f.dtype == g.dtype for f in pf[:len(rf)]):
                # Every frame present, of one shape and dtype: the counts summed over frames are
                # the counts of the stacked video (one pass instead of one per frame, same ints).
                return self._add_frames(np.stack(rf), np.stack(pf[:len(rf)]))
        inter = union = 0
        for t, g in enumerate(rf):
            g = np.asarray(g)
            valid = g != self.ignore_index if self.ignore_index is not None else np.ones(g.shape, bool)
            gm = (g != 0) & valid
            if t < len(pf):
                p = np.asarray(pf[t])
                _same_shape(p, g, "video mIoU")
                pm = (p != 0) & valid
            else:
                pm = np.zeros_like(gm)
            inter += int(np.count_nonzero(gm & pm))
            union += int(np.count_nonzero(gm | pm))
        return self._keep(100.0 * inter / union if union else 100.0)

    def _add_frames(self, g: np.ndarray, p: np.ndarray) -> float:
        """`add` for a (T, H, W) reference and prediction of one shape."""
        gm = g != 0
        pm = p != 0
        if self.ignore_index is not None:
            valid = g != self.ignore_index
            gm &= valid
            pm &= valid
        inter = int(np.count_nonzero(gm & pm))
        union = int(np.count_nonzero(gm | pm))
        return self._keep(100.0 * inter / union if union else 100.0)


@register("video_miou")
def video_miou(predictions: Sequence[Any], references: Sequence[Any],
               ignore_index: int | None = IGNORE_INDEX, **_: Any) -> MetricResult:
    """Per video IoU = sum over frames |G & P| / sum over frames |G | P| on the foreground
    (non-zero) masks; mean over videos, x100. A video empty in both scores 100; a short
    prediction counts its missing frames as empty (and a failed one, by the `empty` policy, is
    an empty list of frames)."""
    return run_stream(VideoMiouStream(ignore_index), predictions, references)


# --------------------------------------------------------------------------------------------
# ShapeNet-part instance mIoU


@register_stream("instance_miou")
class InstanceMiouStream(_MeanOfInstances):
    """Per shape part IoU mean; mean over shapes."""

    def add(self, prediction: Any, reference: Any) -> float:
        if isinstance(reference, dict):
            r = np.asarray(reference["labels"]).ravel()
            parts = reference.get("parts")
        else:
            r, parts = np.asarray(reference).ravel(), None
        p = np.asarray(prediction).ravel()  # a failed one labels no point (specs.yaml empty_fill)
        _same_shape(p, r, "Instance mIoU")
        if parts is None:
            parts = np.union1d(np.unique(r), np.unique(p[p >= 0]))
        ious = []
        for part in parts:
            pm, rm = p == part, r == part
            union = np.count_nonzero(pm | rm)
            ious.append(1.0 if union == 0 else np.count_nonzero(pm & rm) / union)
        return self._keep(100.0 * float(np.mean(ious)) if ious else 100.0)


@register("instance_miou")
def instance_miou(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Per shape: IoU of every part of the shape's category (absent in both = IoU 1), mean;
    then mean over shapes (x100), as PointNet/PointNet++ report ShapeNet-part "instance mIoU".

    A reference is an int array of part labels, or {"labels": array, "parts": [part ids of the
    category]}. Without "parts", the parts are those present in the reference or the prediction.
    """
    return run_stream(InstanceMiouStream(), predictions, references)


# --------------------------------------------------------------------------------------------
# DICE


@register("dice")
def dice(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Per image Dice = 2|P & G| / (|P| + |G|) on the foreground (non-zero) masks, mean x100.
    Both empty = 100 (a correct "nothing here")."""
    per: list[float] = []
    for pred, ref in zip(predictions, references, strict=True):
        g = np.asarray(ref) != 0
        p = np.asarray(pred) != 0
        _same_shape(p, g, "DICE")
        den = np.count_nonzero(p) + np.count_nonzero(g)
        per.append(100.0 if den == 0 else 200.0 * np.count_nonzero(p & g) / den)
    return MetricResult(float(np.mean(per)), per)


# --------------------------------------------------------------------------------------------
# Panoptic quality (COCO panoptic definition)


def _panoptic(x: Any, label_divisor: int) -> tuple[np.ndarray, np.ndarray]:
    """(class map, instance map) from {"semantic", "instance"} or a Cityscapes-style id map.

    In the id map a thing instance is class * divisor + instance, and a pixel without an instance
    (stuff, a crowd region of a thing class, void 255) carries its bare class id (< divisor), as
    cityscapesScripts' createPanopticImgs reads it (`semanticId = segmentId if segmentId < 1000
    else segmentId // 1000`). Dividing bare ids too would put every stuff class in class 0.
    """
    if isinstance(x, dict):
        return np.asarray(x["semantic"]).astype(np.int64), np.asarray(x["instance"]).astype(np.int64)
    a = np.asarray(x).astype(np.int64)
    bare = a < label_divisor
    return np.where(bare, a, a // label_divisor), np.where(bare, 0, a % label_divisor)


@register_stream("pq")
class PqStream:
    """Per-class running [iou_sum, tp, fp, fn] (COCO panopticapi's PQStat); each map is matched
    and dropped."""

    def __init__(self, label_divisor: int = 1000, void_label: int = IGNORE_INDEX) -> None:
        self.label_divisor, self.void_label = label_divisor, void_label
        self.stats: dict[int, list[float]] = {}  # class -> [iou_sum, tp, fp, fn]

    def add(self, prediction: Any, reference: Any) -> None:
        stats, void_label = self.stats, self.void_label
        gc, gi = _panoptic(reference, self.label_divisor)
        pc, pi = _panoptic(prediction, self.label_divisor)  # failed: all void (empty_fill)
        _same_shape(pc, gc, "PQ")
        big = int(max(gi.max(initial=0), pi.max(initial=0))) + 1
        g_seg = np.where(gc == void_label, -1, gc * big + gi).ravel()
        p_seg = np.where(pc == void_label, -1, pc * big + pi).ravel()
        g_ids, g_inv = np.unique(g_seg, return_inverse=True)
        p_ids, p_inv = np.unique(p_seg, return_inverse=True)
        g_area = np.bincount(g_inv, minlength=len(g_ids))
        p_area = np.bincount(p_inv, minlength=len(p_ids))
        inter = np.bincount(g_inv * len(p_ids) + p_inv,
                            minlength=len(g_ids) * len(p_ids)).reshape(len(g_ids), len(p_ids))
        g_void = np.flatnonzero(g_ids == -1)
        p_void_overlap = inter[g_void[0]] if len(g_void) else np.zeros(len(p_ids), np.int64)
        g_matched = np.zeros(len(g_ids), bool)
        p_matched = np.zeros(len(p_ids), bool)
        for gi_, gid in enumerate(g_ids):
            if gid < 0:
                continue
            for pj in np.flatnonzero(inter[gi_]):
                pid = p_ids[pj]
                if pid < 0 or pid // big != gid // big:
                    continue
                union = p_area[pj] + g_area[gi_] - inter[gi_, pj] - p_void_overlap[pj]
                iou = inter[gi_, pj] / union
                if iou > 0.5:
                    s = stats.setdefault(int(gid // big), [0.0, 0, 0, 0])
                    s[0] += iou
                    s[1] += 1
                    g_matched[gi_] = p_matched[pj] = True
        for gi_, gid in enumerate(g_ids):
            if gid >= 0 and not g_matched[gi_]:
                stats.setdefault(int(gid // big), [0.0, 0, 0, 0])[3] += 1
        for pj, pid in enumerate(p_ids):
            if pid < 0 or p_matched[pj]:
                continue
            if p_void_overlap[pj] / p_area[pj] > 0.5:
                continue
            stats.setdefault(int(pid // big), [0.0, 0, 0, 0])[2] += 1
        return None

    def result(self) -> MetricResult:
        per_class = {c: s[0] / (s[1] + 0.5 * s[2] + 0.5 * s[3]) * 100
                     for c, s in self.stats.items() if s[1] + s[2] + s[3] > 0}
        value = float(np.mean(list(per_class.values()))) if per_class else 100.0
        return MetricResult(value, None, {"per_class_pq": per_class})


@register("pq")
def pq(predictions: Sequence[Any], references: Sequence[Any], label_divisor: int = 1000,
       void_label: int = IGNORE_INDEX, **_: Any) -> MetricResult:
    """Panoptic quality (x100), COCO panopticapi rules, accumulated over the dataset.

    Segments are (class, instance) pairs; stuff has one segment per class (instance 0). A
    predicted and a reference segment of the same class match when IoU > 0.5, where the union
    leaves out the part of the prediction lying on void reference pixels. Unmatched predicted
    segments that are more than half void are not false positives. PQ per class =
    sum IoU(TP) / (TP + FP/2 + FN/2), averaged over classes with TP + FP + FN > 0. The scorer
    feeds the same PqStream one map at a time.
    """
    return run_stream(PqStream(label_divisor, void_label), predictions, references)


# --------------------------------------------------------------------------------------------
# Matting: SAD and MSE


def _alpha(x: Any) -> np.ndarray:
    """Alpha matte in [0, 1]. Integer mattes, and float mattes with values above 1 (8-bit PNGs
    read as raw floats by the data layer), are 0-255 and divided by 255."""
    a = np.asarray(x)
    if a.ndim == 3:
        a = a[..., 0]
    if np.issubdtype(a.dtype, np.integer) or (a.size and float(np.nanmax(a)) > 1.0):
        return a.astype(np.float64) / 255.0
    return a.astype(np.float64)


@register("sad")
def sad(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Sum of absolute alpha differences over the whole image, divided by 1000, mean over images."""
    per: list[float] = []
    for pred, ref in zip(predictions, references, strict=True):
        r = _alpha(ref)
        p = _alpha(pred)
        _same_shape(p, r, "SAD")
        per.append(float(np.abs(p - r).sum() / 1000.0))
    return MetricResult(float(np.mean(per)), per)


@register("matting_mse")
def matting_mse(predictions: Sequence[Any], references: Sequence[Any], scale: float = 1e3,
                **_: Any) -> MetricResult:
    """Mean squared alpha error over the image (alpha in [0, 1]) x `scale` (1e3), mean over images."""
    per: list[float] = []
    for pred, ref in zip(predictions, references, strict=True):
        r = _alpha(ref)
        p = _alpha(pred)
        _same_shape(p, r, "MSE")
        per.append(float(np.mean((p - r) ** 2) * scale))
    return MetricResult(float(np.mean(per)), per)


# --------------------------------------------------------------------------------------------
# S-measure (Fan et al., ICCV 2017)

_EPS = np.finfo(np.float64).eps


def _prepare_sod(pred: Any, ref: Any) -> tuple[np.ndarray, np.ndarray]:
    """GT > 128 (or > 0.5 for float/bool masks); prediction scaled to [0, 1] then min-max."""
    g = np.asarray(ref)
    if g.ndim == 3:
        g = g[..., 0]
    if g.dtype == bool:
        gt = g
    elif np.issubdtype(g.dtype, np.integer):
        gt = g > 128 if g.max(initial=0) > 1 else g > 0
    else:
        gt = g > 0.5
    p = np.asarray(pred)
    if p.ndim == 3:
        p = p[..., 0]
    if p.dtype == bool:
        p = p.astype(np.float64)
    elif np.issubdtype(p.dtype, np.integer):
        p = p.astype(np.float64) / (255.0 if p.max(initial=0) > 1 else 1.0)
    else:
        p = p.astype(np.float64)
    if p.max() != p.min():
        p = (p - p.min()) / (p.max() - p.min())
    _same_shape(p, gt, "S-measure")
    return p, gt


def _s_object(x: np.ndarray, gt: np.ndarray) -> float:
    v = x[gt]
    if v.size == 0:
        return 0.0
    mu = v.mean()
    sigma = v.std(ddof=1) if v.size > 1 else 0.0
    return float(2 * mu / (mu * mu + 1 + sigma + _EPS))


def _ssim_region(p: np.ndarray, g: np.ndarray) -> float:
    n = p.size
    if n == 0:
        return 0.0
    x, y = p.mean(), g.mean()
    d = max(n - 1, 1)
    sx = ((p - x) ** 2).sum() / d
    sy = ((g - y) ** 2).sum() / d
    sxy = ((p - x) * (g - y)).sum() / d
    alpha = 4 * x * y * sxy
    beta = (x * x + y * y) * (sx + sy)
    if alpha != 0:
        return float(alpha / (beta + _EPS))
    return 1.0 if beta == 0 else 0.0


def s_measure_single(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """S-measure in [0, 1] of one prediction in [0, 1] against one boolean mask."""
    y = gt.mean()
    if y == 0:
        return float(1 - pred.mean())
    if y == 1:
        return float(pred.mean())
    g = gt.astype(np.float64)
    obj = y * _s_object(pred * g, gt) + (1 - y) * _s_object((1 - pred) * (1 - g), ~gt)
    h, w = gt.shape
    cy, cx = np.argwhere(gt).mean(axis=0).round()
    x, yy = int(cx) + 1, int(cy) + 1
    area = h * w
    w1 = x * yy / area
    w2 = yy * (w - x) / area
    w3 = (h - yy) * x / area
    w4 = 1 - w1 - w2 - w3
    region = (w1 * _ssim_region(pred[:yy, :x], g[:yy, :x])
              + w2 * _ssim_region(pred[:yy, x:], g[:yy, x:])
              + w3 * _ssim_region(pred[yy:, :x], g[yy:, :x])
              + w4 * _ssim_region(pred[yy:, x:], g[yy:, x:]))
    return max(0.0, float(alpha * obj + (1 - alpha) * region))


@register_stream("s_measure")
class SMeasureStream:
    """Frame values of every video so far (floats only) and each video's frame mean."""

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = alpha
        self.frames_all: list[float] = []
        self.per: list[float] = []

    def add(self, prediction: Any, reference: Any) -> float:
        rf, pf = _frames(reference), _frames(prediction)
        vals = []
        for t, g in enumerate(rf):
            # A short prediction (or a failed one: the `empty` policy's no frames) counts its
            # missing frames as all-background maps.
            p = pf[t] if t < len(pf) else np.zeros(np.shape(g)[:2])
            p, gt = _prepare_sod(p, g)
            vals.append(100.0 * s_measure_single(p, gt, self.alpha))
        self.frames_all.extend(vals)
        self.per.append(float(np.mean(vals)) if vals else 100.0)
        return self.per[-1]

    def result(self) -> MetricResult:
        return MetricResult(float(np.mean(self.frames_all)) if self.frames_all else 0.0,
                            list(self.per), {"frames": len(self.frames_all)})


@register("s_measure")
def s_measure(predictions: Sequence[Any], references: Sequence[Any], alpha: float = 0.5,
              **_: Any) -> MetricResult:
    """Structure measure (x100), alpha = 0.5; each instance is a video (list of frames) or one map.

    As the official recipe, the value is the mean over all frames of all videos; `per_instance`
    holds each video's frame mean.
    """
    return run_stream(SMeasureStream(alpha), predictions, references)
