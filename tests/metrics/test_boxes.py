"""Box metrics against an independent COCO AP computation, worked examples and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics import registry
from generalbench.metrics.boxes import box3d_iou, box_iou_xywh, instances_from_ids, voc_ap


def _coco_ap_oracle(preds, refs, thrs):
    """Straight re-implementation of COCO AP (101-point, greedy by score, area 'all')."""
    labels = sorted({b["label"] for bs in (*preds, *refs) for b in bs})
    aps = []
    for t in thrs:
        for lab in labels:
            npos = sum(1 for bs in refs for b in bs if b["label"] == lab)
            if npos == 0:
                continue
            scored = []  # (score, is_tp)
            for pb, rb in zip(preds, refs, strict=True):
                g = [b["bbox"] for b in rb if b["label"] == lab]
                d = sorted([b for b in pb if b["label"] == lab], key=lambda b: -b["score"])[:100]
                used = [False] * len(g)
                for det in d:
                    best, bj = min(t, 1 - 1e-10), -1
                    for j, gb in enumerate(g):
                        if used[j]:
                            continue
                        iou = box_iou_xywh(det["bbox"], gb)[0, 0]
                        if iou >= best:
                            best, bj = iou, j
                    if bj >= 0:
                        used[bj] = True
                    scored.append((det["score"], bj >= 0))
            scored.sort(key=lambda x: -x[0])
            tp = np.cumsum([s[1] for s in scored])
            fp = np.cumsum([not s[1] for s in scored])
            rc = tp / npos if len(scored) else np.array([])
            pr = tp / np.maximum(tp + fp, 1e-12) if len(scored) else np.array([])
            pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
            q = np.zeros(101)
            inds = np.searchsorted(rc, np.linspace(0, 1, 101), side="left")
            for ri, pi in enumerate(inds):
                if pi < len(pr):
                    q[ri] = pr[pi]
            aps.append(q.mean())
    return 100 * float(np.mean(aps))


def _random_set(rng, n_img=6, labels=("a", "b", "c")):
    refs, preds = [], []
    for _ in range(n_img):
        r = []
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 80, 2)
            w, h = rng.uniform(5, 30, 2)
            r.append({"bbox": [x, y, w, h], "label": str(rng.choice(labels))})
        p = []
        for b in r:
            if rng.random() < 0.8:
                jit = rng.normal(0, 3, 4)
                p.append({"bbox": list(np.array(b["bbox"]) + jit * [1, 1, 0.5, 0.5]),
                          "label": b["label"] if rng.random() < 0.9 else str(rng.choice(labels)),
                          "score": float(rng.random())})
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 80, 2)
            p.append({"bbox": [x, y, 20.0, 15.0], "label": str(rng.choice(labels)),
                      "score": float(rng.random())})
        refs.append(r)
        preds.append(p)
    return preds, refs


@pytest.mark.parametrize("seed", range(8))
def test_coco_ap_matches_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    preds, refs = _random_set(rng)
    thr_all = np.linspace(0.5, 0.95, 10)
    assert registry.compute("ap", preds, refs) == pytest.approx(
        _coco_ap_oracle(preds, refs, thr_all), abs=1e-9)
    assert registry.compute("ap50", preds, refs) == pytest.approx(
        _coco_ap_oracle(preds, refs, [0.5]), abs=1e-9)
    assert registry.compute("ap75", preds, refs) == pytest.approx(
        _coco_ap_oracle(preds, refs, [0.75]), abs=1e-9)
    assert registry.compute("ap10", preds, refs) == pytest.approx(
        _coco_ap_oracle(preds, refs, [0.1]), abs=1e-9)


def test_ap_worked_example():
    # One image, two references; one exact hit (score .9), one false positive (score .8),
    # the second reference missed: precision envelope 1 up to recall .5, then nothing -> AP 51/101.
    ref = [[{"bbox": [0, 0, 10, 10], "label": "x"}, {"bbox": [50, 50, 10, 10], "label": "x"}]]
    pred = [[{"bbox": [0, 0, 10, 10], "label": "x", "score": 0.9},
             {"bbox": [20, 20, 10, 10], "label": "x", "score": 0.8}]]
    assert registry.compute("ap50", pred, ref) == pytest.approx(100 * 51 / 101)


def test_ap_oracle_and_empty_cases():
    rng = np.random.default_rng(1)
    _, refs = _random_set(rng)
    oracle = [[dict(b, score=1.0) for b in r] for r in refs]
    for m in ("ap", "ap50", "ap75", "ap10"):
        assert registry.compute(m, oracle, refs) == pytest.approx(100.0)
        assert registry.compute(m, [[] for _ in refs], refs) == 0.0
    assert registry.compute("ap", [[]], [[]]) == 100.0
    assert registry.compute("ap", [[{"bbox": [0, 0, 1, 1], "label": "a"}]], [[]]) == 0.0


def test_box_iou_against_manual():
    assert box_iou_xywh([0, 0, 2, 2], [1, 1, 2, 2])[0, 0] == pytest.approx(1 / 7)
    assert box_iou_xywh([0, 0, 2, 2], [5, 5, 1, 1])[0, 0] == 0.0


box_st = st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(0.5, 30), st.floats(0.5, 30))


@settings(max_examples=60, deadline=None)
@given(box_st, box_st)
def test_box_iou_symmetric_and_bounded(a, b):
    i1, i2 = box_iou_xywh(a, b)[0, 0], box_iou_xywh(b, a)[0, 0]
    assert i1 == pytest.approx(i2)
    assert 0 <= i1 <= 1 + 1e-12
    assert box_iou_xywh(a, a)[0, 0] == pytest.approx(1.0)


def test_recall_at_50():
    refs = [[("man", "on", "horse"), ("horse", "near", "tree")], [("cup", "on", "table")], []]
    preds = [["Man on  horse", ("dog", "on", "grass")] + [("x", "y", "z")] * 60 + [("horse", "near", "tree")],
             [{"subject": "cup", "predicate": "on", "object": "table"}], []]
    res = registry.compute_detailed("recall_at_50", preds, refs)
    # image 1: "man on horse" hit, "horse near tree" is rank 63 > 50 -> 50%; image 2: 100%;
    # image 3 has no reference triplets and is not counted.
    assert res.per_instance == [50.0, 100.0, None]  # aligned with the inputs
    assert res.value == 75.0
    assert registry.compute("recall_at_50", refs, refs) == 100.0


def test_recall_at_50_boxes_need_overlap():
    ref = [[{"subject": {"label": "a", "bbox": [0, 0, 10, 10]}, "predicate": "left of",
             "object": {"label": "b", "bbox": [20, 0, 10, 10]}}]]
    far = [[{"subject": {"label": "a", "bbox": [50, 50, 10, 10]}, "predicate": "left of",
             "object": {"label": "b", "bbox": [20, 0, 10, 10]}}]]
    assert registry.compute("recall_at_50", far, ref) == 0.0
    assert registry.compute("recall_at_50", ref, ref) == 100.0


def test_voc_ap_worked_example():
    # TP, FP, TP with 2 positives: envelope 1 on [0, .5], 2/3 on (.5, 1] -> 0.5 + 1/3.
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1, 0.5, 2 / 3])) == pytest.approx(0.5 + 1 / 3)


def test_box3d_iou_axis_aligned_and_rotated():
    a = np.array([0, 0, 0, 2, 2, 2, 0.0])
    b = np.array([1, 0, 0, 2, 2, 2, 0.0])
    assert box3d_iou(a, b) == pytest.approx(4 / 12)
    # A square rotated by 90 degrees is the same box.
    assert box3d_iou(a, np.array([0, 0, 0, 2, 2, 2, np.pi / 2])) == pytest.approx(1.0)
    # Rotated by 45 degrees: intersection of a square and its rotated copy = regular octagon.
    r = np.array([0, 0, 0, 2, 2, 2, np.pi / 4])
    octagon = 8 * (np.sqrt(2) - 1)  # area of the octagon for a square of side 2
    assert box3d_iou(a, r) == pytest.approx(octagon * 2 / (16 - octagon * 2))


def test_map_3d_oracle_and_partial():
    refs = [[{"bbox3d": [0, 0, 0, 1, 1, 1, 0.3], "label": "chair"},
             {"bbox3d": [3, 3, 0, 2, 1, 1, 0.0], "label": "table"}],
            [{"bbox3d": [1, 1, 1, 1, 2, 1, 1.0], "label": "chair"}]]
    oracle = [[dict(b, score=1.0) for b in r] for r in refs]
    assert registry.compute("map_3d", oracle, refs) == pytest.approx(100.0)
    one = [[dict(refs[0][0], score=0.9)], []]
    # chair: 1 of 2 found at precision 1 -> AP .5; table: 0 -> mAP 25.
    assert registry.compute("map_3d", one, refs) == pytest.approx(25.0)


def test_map50_3d_from_instance_ids():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, 500)
    sem = np.where(ids % 2 == 0, 1, 2)
    ref = instances_from_ids(ids, sem)
    pred = [dict(i, score=1.0) for i in ref]
    assert registry.compute("map50_3d", [pred], [ref]) == pytest.approx(100.0)
    # Eroding every predicted mask to 40% of its points drops IoU below 0.5 -> AP 0.
    eroded = []
    for inst in pred:
        m = inst["mask"].copy()
        idx = np.flatnonzero(m)
        m[idx[int(0.4 * len(idx)):]] = False
        eroded.append(dict(inst, mask=m))
    assert registry.compute("map50_3d", [eroded], [ref]) == 0.0


def test_map_3d_reads_the_boxes3d_key_and_map50_instance_arrays():
    ref = [[{"box": [0, 0, 0, 1, 1, 1, 0.0], "label": "bed"}]]
    assert registry.compute("map_3d", [[dict(ref[0][0], score=0.5)]], ref) == pytest.approx(100.0)
    ids = np.array([0, 1, 1, 1, 2, 2, 0, 3])
    assert registry.compute("map50_3d", [ids], [ids]) == pytest.approx(100.0)
    assert registry.compute("map50_3d", [np.zeros_like(ids)], [ids]) == 0.0


def test_recall_at_50_single_string_reference_is_one_triplet():
    assert registry.compute("recall_at_50", [["cup on table"]], ["cup on table"]) == 100.0
    assert registry.compute("recall_at_50", ["cup under table"], [["cup on table"]]) == 0.0


def _inside(pts, b):
    c, s = np.cos(b[6]), np.sin(b[6])
    d = pts - b[:2]
    u = d[:, 0] * c + d[:, 1] * s
    v = -d[:, 0] * s + d[:, 1] * c
    return (np.abs(u) <= b[3] / 2) & (np.abs(v) <= b[4] / 2)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=2), st.floats(0.5, 2), st.floats(0.5, 2),
       st.floats(-3.2, 3.2), st.floats(-3.2, 3.2), st.floats(-0.5, 0.5))
def test_box3d_iou_against_grid_rasterisation(shift, dx, dy, yaw_a, yaw_b, dz):
    a = np.array([0, 0, 0, 1.5, 1.0, 1.0, yaw_a])
    b = np.array([shift[0], shift[1], dz, dx, dy, 1.0, yaw_b])
    step = 0.01
    g = np.arange(-3 + step / 2, 3, step)  # cell centres, never on an axis-aligned edge
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx.ravel(), yy.ravel()], 1)
    cell = step**2
    inter_bev = np.count_nonzero(_inside(pts, a) & _inside(pts, b)) * cell
    inter = inter_bev * max(0.0, 1.0 - abs(dz))
    expected = inter / (1.5 + dx * dy - inter)
    assert box3d_iou(a, b) == pytest.approx(expected, abs=0.01)
    assert box3d_iou(a, b) == pytest.approx(box3d_iou(b, a), abs=1e-9)


def test_single_class_tasks_are_class_agnostic_by_default():
    ref = [[{"bbox": [0, 0, 10, 10], "label": "face"}]]
    unlabelled = [[{"bbox": [0, 0, 10, 10], "score": 0.9}]]
    assert registry.compute("ap50", unlabelled, ref) == pytest.approx(100.0)
    assert registry.compute("ap50", unlabelled, ref, class_agnostic=False) == 0.0
    # With several reference classes, labels must agree (case and spacing do not matter).
    refs = [[{"bbox": [0, 0, 10, 10], "label": "cat"}, {"bbox": [20, 20, 10, 10], "label": "dog"}]]
    preds = [[{"bbox": [0, 0, 10, 10], "label": " Cat", "score": 0.9},
              {"bbox": [20, 20, 10, 10], "label": "cat", "score": 0.8}]]
    assert registry.compute("ap50", preds, refs) == pytest.approx(50.0)


def test_ap_a_non_finite_box_fails_the_whole_prediction():
    """NaN anywhere in a prediction is never silently dropped (issue 11, point 2): the image's
    prediction is a failed instance, scored as no boxes under the `empty` policy."""
    ref = [[{"bbox": [0, 0, 10, 10], "label": "x"}]]
    pred = [[{"bbox": [0, 0, 10, 10], "label": "x", "score": 0.9},
             {"bbox": [float("nan"), 0, 1, 1], "label": "x", "score": 0.95}]]
    res = registry.compute_detailed("ap50", pred, ref)
    assert res.value == pytest.approx(0.0)
    assert res.failed == 1 and "NaN" in res.details["rejected"][0]
