"""The numpy COCO box AP (metrics/coco_ap.py) against pycocotools' COCOeval, the reference.

pycocotools is the oracle only: production no longer calls it for boxes. Inputs are random and
adversarial: crowd references, more detections than max_dets, empty images, score ties across and
within images, IoU ties between references, degenerate and huge boxes, labels with no reference.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generalbench.metrics import registry
from generalbench.metrics.boxes import _coco_ap, _labeller


def pycocotools_ap(predictions, references, iou_thresholds, max_dets=100, class_agnostic=None):
    """The pre-numpy implementation: COCOeval on COCO objects built in memory."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    lab = _labeller(references, class_agnostic)
    labels = sorted({lab(b) for boxes in (*references, *predictions) for b in (boxes or [])})
    cat_id = {x: i + 1 for i, x in enumerate(labels)}
    images, gts, dts = [], [], []
    for img_id, (pred, ref) in enumerate(zip(predictions, references, strict=True), start=1):
        images.append({"id": img_id})
        for b in ref or []:
            x, y, w, h = (float(v) for v in b["bbox"])
            gts.append({"id": len(gts) + 1, "image_id": img_id, "bbox": [x, y, w, h],
                        "area": w * h, "iscrowd": int(b.get("iscrowd", 0)),
                        "category_id": cat_id[lab(b)]})
        for b in pred or []:
            x, y, w, h = (float(v) for v in b["bbox"])
            score = float(b.get("score", 1.0))
            if not all(np.isfinite([x, y, w, h, score])):
                continue
            dts.append({"image_id": img_id, "bbox": [x, y, max(w, 0.0), max(h, 0.0)],
                        "score": score, "category_id": cat_id[lab(b)]})
    if not gts:
        return 100.0 if not dts else 0.0
    if not dts:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": gts,
                      "categories": [{"id": i} for i in cat_id.values()]}
        gt.createIndex()
        dt = gt.loadRes(dts)
        ev = COCOeval(gt, dt, "bbox")
        if iou_thresholds is not None:
            ev.params.iouThrs = np.asarray(iou_thresholds, dtype=float)
        ev.params.maxDets = [max_dets]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, -1]
    valid = prec > -1
    return float(prec[valid].mean() * 100.0) if valid.any() else 0.0


# coordinates on a coarse grid so that IoU ties, exact threshold hits and duplicates are common
coord = st.integers(0, 12).map(lambda v: v * 2.5)
size = st.one_of(st.integers(0, 8).map(lambda v: v * 2.5), st.just(2e5), st.just(-2.5))
score = st.one_of(st.sampled_from([0.1, 0.5, 0.5, 0.9, 1.0]), st.floats(0, 1))
label = st.sampled_from(["a", "b", "c"])
ref_box = st.fixed_dictionaries({"bbox": st.tuples(coord, coord, size, size).map(list),
                                 "label": label}, optional={"iscrowd": st.sampled_from([0, 1])})
pred_box = st.fixed_dictionaries({"bbox": st.tuples(coord, coord, size, size).map(list),
                                  "label": label, "score": score})
image = st.tuples(st.lists(pred_box, max_size=7), st.lists(ref_box, max_size=5))
dataset = st.lists(image, min_size=1, max_size=6)
THRESHOLDS = [None, [0.5], [0.75], [0.1], [0.0, 0.3, 1.0]]


def _both(data, thrs, max_dets, class_agnostic):
    preds = [p for p, _ in data]
    refs = [r for _, r in data]
    mine = _coco_ap(preds, refs, thrs, max_dets, class_agnostic).value
    return mine, pycocotools_ap(preds, refs, thrs, max_dets, class_agnostic)


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(data=dataset, thrs=st.sampled_from(THRESHOLDS), max_dets=st.sampled_from([1, 2, 3, 100]),
       class_agnostic=st.sampled_from([None, False, True]))
def test_agrees_with_pycocotools(data, thrs, max_dets, class_agnostic):
    mine, ref = _both(data, thrs, max_dets, class_agnostic)
    assert mine == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_agrees_on_larger_random_sets(seed):
    """Many images and boxes per image, continuous coordinates: exercises the size buckets."""
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(120):
        n_ref = int(rng.choice([0, 1, 1, 2, 5, 20, 40]))
        refs = [{"bbox": [*rng.uniform(0, 200, 2), *rng.uniform(1, 60, 2)],
                 "label": str(rng.choice(list("abcde"))), "iscrowd": int(rng.random() < 0.05)}
                for _ in range(n_ref)]
        preds = [{"bbox": list(np.asarray(r["bbox"]) + rng.normal(0, 4, 4)), "label": r["label"],
                  "score": float(rng.random())} for r in refs if rng.random() < 0.8]
        preds += [{"bbox": [*rng.uniform(0, 200, 2), *rng.uniform(1, 60, 2)],
                   "label": str(rng.choice(list("abcdef"))), "score": float(rng.random())}
                  for _ in range(int(rng.integers(0, 30)))]
        data.append((preds, refs))
    for thrs, max_dets in ((None, 100), ([0.5], 10), ([0.1], 100)):
        mine, ref = _both(data, thrs, max_dets, None)
        assert mine == pytest.approx(ref, abs=1e-9)


def test_crowd_reference_absorbs_many_detections():
    ref = [[{"bbox": [0, 0, 100, 100], "label": "a", "iscrowd": 1},
            {"bbox": [0, 0, 10, 10], "label": "a"}]]
    pred = [[{"bbox": [0, 0, 10, 10], "label": "a", "score": 0.5}] +
            [{"bbox": [50, 50, 10, 10], "label": "a", "score": 0.9}] * 5]
    assert registry.compute("ap50", pred, ref) == pytest.approx(pycocotools_ap(pred, ref, [0.5]))
    assert registry.compute("ap50", pred, ref) == pytest.approx(100.0)


def test_iou_tie_goes_to_the_last_reference():
    """pycocotools keeps the last of equally overlapping references; the next detection then
    finds the first one free (AP 100), where first-wins would leave it a false positive."""
    ref = [[{"bbox": [0, 0, 10, 10], "label": "a"}, {"bbox": [5, 0, 10, 10], "label": "a"}]]
    pred = [[{"bbox": [2.5, 0, 10, 10], "label": "a", "score": 0.9},
             {"bbox": [0, 0, 10, 10], "label": "a", "score": 0.8}]]
    assert registry.compute("ap50", pred, ref) == pytest.approx(pycocotools_ap(pred, ref, [0.5]))
    assert registry.compute("ap50", pred, ref) == pytest.approx(100.0)
