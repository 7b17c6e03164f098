"""COCO box AP in vectorised numpy, step for step the arithmetic of pycocotools' COCOeval.

pycocotools spends most of its time in Python loops over images, categories and detections
(`COCOeval.evaluateImg`, `accumulate`): on a full-size General-Bench run that was half the scoring
time for a seventh of the instances. This module reproduces its bbox evaluation for the "all" area
range and one max-detections setting exactly, including its corners, so that results agree with
pycocotools to 1e-9 (tests/metrics/test_coco_ap.py uses pycocotools itself as the oracle):

- IoU as its C `bbIou`: intersection over the detection's area for crowd references;
- a reference is ignored when crowd or its area is outside [0, 1e10]; a detection left unmatched
  is ignored when its area is outside that range;
- per image and category the top `max_dets` detections by score (stable for ties), matched greedily
  in score order at each threshold min(t, 1 - 1e-10) to the unmatched (or crowd) reference of
  highest IoU, the last such reference on IoU ties, non-ignored references first;
- per category, detections of all images merged by score (stable: image order, then rank), the
  101-point interpolated precision, and categories with no non-ignored reference left out.

The greedy matching is sequential only within one image, so it runs rank by rank over all
(image, category) groups at once, with groups bucketed by their padded size.
"""

from __future__ import annotations

import numpy as np

AREA_MAX = 1e5 ** 2
"""Upper bound of COCO's "all" area range ([0 ** 2, 1e5 ** 2])."""
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
"""COCO's 101 recall thresholds, computed with pycocotools' own expression."""
_CHUNK_ELEMENTS = 1 << 22


def _iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of detections (..., D, 4) with references (..., G, 4) in pycocotools' bbIou arithmetic."""
    d = dt[..., :, None, :]
    g = gt[..., None, :, :]
    w = np.fmin(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.fmax(d[..., 0], g[..., 0])
    h = np.fmin(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.fmax(d[..., 1], g[..., 1])
    inter = w * h
    da = d[..., 2] * d[..., 3]
    ga = g[..., 2] * g[..., 3]
    union = np.where(crowd[..., None, :], da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / union
    return np.where((w > 0) & (h > 0), out, 0.0)


def _pow2(n: np.ndarray) -> np.ndarray:
    return (1 << np.ceil(np.log2(np.maximum(n, 1))).astype(np.int64)).astype(np.int64)


def _match(dt_order: np.ndarray, dt_start: np.ndarray, dt_count: np.ndarray,
           gt_order: np.ndarray, gt_start: np.ndarray, gt_count: np.ndarray,
           dt_box: np.ndarray, gt_box: np.ndarray, gt_crowd: np.ndarray, gt_ig: np.ndarray,
           thr: np.ndarray, dtm: np.ndarray, dtig: np.ndarray) -> None:
    """Greedy matching of every (image, category) group that has detections and references.

    Group b's detections are dt_order[dt_start[b]:+dt_count[b]] (best first) and its references
    gt_order[gt_start[b]:+gt_count[b]] (non-ignored first). Writes, per detection and threshold,
    whether it matched (dtm) and whether its match is an ignored reference (dtig).
    """
    n_thr = len(thr)
    gp, dp = _pow2(gt_count), _pow2(dt_count)
    key = gp * (1 << 32) + dp
    for k in np.unique(key):
        groups = np.flatnonzero(key == k)
        g_pad, d_pad = int(k >> 32), int(k & ((1 << 32) - 1))
        step = max(1, _CHUNK_ELEMENTS // (g_pad * max(d_pad, n_thr)))
        for lo in range(0, len(groups), step):
            b = groups[lo:lo + step]
            nb = len(b)
            d_valid = np.arange(d_pad)[None, :] < dt_count[b][:, None]
            g_valid = np.arange(g_pad)[None, :] < gt_count[b][:, None]
            d_idx = np.where(d_valid, dt_order[np.minimum(dt_start[b][:, None] + np.arange(d_pad),
                                                          len(dt_order) - 1)], 0)
            g_idx = np.where(g_valid, gt_order[np.minimum(gt_start[b][:, None] + np.arange(g_pad),
                                                          len(gt_order) - 1)], 0)
            crowd = gt_crowd[g_idx] & g_valid
            ig = gt_ig[g_idx]
            ious = _iou(dt_box[d_idx], gt_box[g_idx], crowd)
            ious = np.where(g_valid[:, None, :], ious, -np.inf)
            taken = np.zeros((nb, n_thr, g_pad), bool)
            rows = np.arange(nb)
            for r in range(int(dt_count[b].max())):
                active = d_valid[:, r]
                iou_r = ious[:, r, :][:, None, :]
                ok = (iou_r >= thr[None, :, None]) & (~taken | crowd[:, None, :])
                ok &= active[:, None, None]
                ok_kept = ok & ~ig[:, None, :]
                sel = np.where(ok_kept.any(-1, keepdims=True), ok_kept, ok)
                matched = sel.any(-1)
                score = np.where(sel, iou_r, -np.inf)[..., ::-1]
                m = g_pad - 1 - np.argmax(score, axis=-1)
                bi, ti = np.nonzero(matched)
                taken[bi, ti, m[bi, ti]] = True
                det = d_idx[rows, r][active]
                dtm[det] = matched[active]
                dtig[det] = matched[active] & np.take_along_axis(ig, m, axis=1)[active]


def coco_box_ap(dt_img: np.ndarray, dt_cat: np.ndarray, dt_box: np.ndarray, dt_score: np.ndarray,
                gt_img: np.ndarray, gt_cat: np.ndarray, gt_box: np.ndarray, gt_crowd: np.ndarray,
                iou_thresholds: np.ndarray, max_dets: int) -> float | None:
    """Mean COCO precision (x100) over thresholds, recall points and categories.

    Inputs are flat arrays, one entry per detection / reference, in the order pycocotools would
    receive them (image by image). Image and category ids are non-negative ints. Returns None when
    no category has a non-ignored reference (pycocotools' all -1 precision array).
    """
    thr = np.minimum(np.asarray(iou_thresholds, dtype=float), 1 - 1e-10)
    n_thr = len(thr)
    dt_box = np.asarray(dt_box, dtype=float).reshape(-1, 4)
    gt_box = np.asarray(gt_box, dtype=float).reshape(-1, 4)
    dt_score = np.asarray(dt_score, dtype=float)
    gt_crowd = np.asarray(gt_crowd, dtype=bool)
    n_img = int(max(dt_img.max(initial=-1), gt_img.max(initial=-1))) + 1
    dt_group = np.asarray(dt_cat, np.int64) * n_img + np.asarray(dt_img, np.int64)
    gt_group = np.asarray(gt_cat, np.int64) * n_img + np.asarray(gt_img, np.int64)

    gt_area = gt_box[:, 2] * gt_box[:, 3]
    gt_ig = gt_crowd | (gt_area < 0) | (gt_area > AREA_MAX)
    dt_area = dt_box[:, 2] * dt_box[:, 3]
    dt_out = (dt_area < 0) | (dt_area > AREA_MAX)

    # detections per group, best first (stable), the top max_dets kept
    n_dt = len(dt_score)
    order = np.lexsort((np.arange(n_dt), -dt_score, dt_group))
    groups_d, start_d, count_d = np.unique(dt_group[order], return_index=True, return_counts=True)
    rank = np.arange(n_dt) - np.repeat(start_d, count_d)
    keep = np.zeros(n_dt, bool)
    keep[order[rank < max_dets]] = True
    count_d = np.minimum(count_d, max_dets)
    # references per group, non-ignored first (stable)
    gorder = np.lexsort((np.arange(len(gt_ig)), gt_ig, gt_group))
    groups_g, start_g, count_g = np.unique(gt_group[gorder], return_index=True, return_counts=True)

    dtm = np.zeros((n_dt, n_thr), bool)
    dtig = np.zeros((n_dt, n_thr), bool)
    both, i_d, i_g = np.intersect1d(groups_d, groups_g, assume_unique=True, return_indices=True)
    if len(both):
        _match(order, start_d[i_d], count_d[i_d], gorder, start_g[i_g], count_g[i_g],
               dt_box, gt_box, gt_crowd, gt_ig, thr, dtm, dtig)
    dtig |= ~dtm & dt_out[:, None]

    # accumulate per category: detections of all images by score (ties: image order, then rank,
    # i.e. input order), 101-point interpolated precision
    cats = np.unique(np.asarray(gt_cat, np.int64)[~gt_ig])
    if not len(cats):
        return None
    npig_all = np.bincount(np.asarray(gt_cat, np.int64)[~gt_ig])
    kept = np.flatnonzero(keep)
    kcat = np.asarray(dt_cat, np.int64)[kept]
    korder = kept[np.lexsort((kept, -dt_score[kept], kcat))]
    kcat_sorted = np.asarray(dt_cat, np.int64)[korder]
    precision = -np.ones((n_thr, len(REC_THRS), len(cats)))
    lo_all = np.searchsorted(kcat_sorted, cats, side="left")
    hi_all = np.searchsorted(kcat_sorted, cats, side="right")
    for k, (cat, lo, hi) in enumerate(zip(cats, lo_all, hi_all, strict=True)):
        idx = korder[lo:hi]
        npig = npig_all[cat]
        m = dtm[idx].T
        ign = dtig[idx].T
        tps = m & ~ign
        fps = ~m & ~ign
        tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
        fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
        nd = tp_sum.shape[1]
        q = np.zeros((n_thr, len(REC_THRS)))
        if nd:
            rc = tp_sum / npig
            pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
            pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
            for t in range(n_thr):
                inds = np.searchsorted(rc[t], REC_THRS, side="left")
                q[t] = np.where(inds < nd, pr[t][np.minimum(inds, nd - 1)], 0.0)
        precision[:, :, k] = q
    return float(precision.mean() * 100.0)
