"""Mask metrics fed one map at a time (metrics/masks.py streams, registry.accumulator) give the
values of the all-at-once computation: mIoU against the list implementation it replaced (kept
here as the oracle), and every mask stream against the registry's list call, failure policy
included (missing, NaN and wrong-shaped predictions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics import compute_detailed
from generalbench.metrics.masks import confusion
from generalbench.metrics.registry import accumulator, streams


def _oracle_miou(preds: list[np.ndarray], refs: list[np.ndarray], ignore_index: int | None = 255,
                 num_classes: int | None = None) -> tuple[float, list[float | None], dict]:
    """The all-at-once mIoU as masks.py computed it before streaming (every map in memory)."""
    refs = [np.asarray(r) for r in refs]
    preds = [np.asarray(p) for p in preds]
    if num_classes is None:
        ign = ignore_index if ignore_index is not None else -1
        top = max((int(a.max(initial=0, where=a != ign)) for a in (*refs, *preds)), default=0)
        if top < 1024:
            labels, n, ignore = np.arange(top + 1), top + 1, ignore_index
        else:
            labels = np.unique(np.concatenate([np.unique(a) for a in (*refs, *preds)]))
            labels = labels[(labels >= 0) & (labels != ign)]
            n = len(labels)

            def remap(a: np.ndarray, missing: int) -> np.ndarray:
                idx = np.clip(np.searchsorted(labels, a), 0, max(n - 1, 0))
                ok = (labels[idx] == a) & (a != ign) if n else np.zeros(a.shape, bool)
                return np.where(ok, idx, missing)

            refs = [remap(r, -1) for r in refs]
            preds = [remap(p, n) for p in preds]
            ignore = None
    else:
        labels, n, ignore = np.arange(num_classes), num_classes, ignore_index
    total = np.zeros((n, n + 1), np.int64)
    per: list[float | None] = []

    def iou(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inter = np.diag(cm[:, :n]).astype(float)
        return inter, cm.sum(1) + cm[:, :n].sum(0) - inter

    for p, r in zip(preds, refs, strict=True):
        cm = confusion(p, r, n, ignore)
        total += cm
        inter, union = iou(cm)
        present = union > 0
        per.append(float(np.mean(inter[present] / union[present]) * 100) if present.any() else None)
    inter, union = iou(total)
    present = union > 0
    value = float(np.mean(inter[present] / union[present]) * 100) if present.any() else 100.0
    return value, per, {int(labels[c]): float(inter[c] / union[c] * 100)
                        for c in np.flatnonzero(present)}


# Labels: mostly small ids, sometimes the ignore value, a negative prediction or a large id
# (which switches the stream from direct counting to the sorted ids it has seen).
_label = st.sampled_from([0, 1, 2, 3, 4, 7, 255, -1, 1500, 10**6])


@st.composite
def _mask_pairs(draw: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    n = draw(st.integers(1, 5))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    seed = draw(st.integers(0, 2**32 - 1))
    pool = np.array(draw(st.lists(_label, min_size=1, max_size=6)))
    rng = np.random.default_rng(seed)
    refs = [np.abs(rng.choice(pool, shape)) for _ in range(n)]  # references hold no negative ids
    preds = [np.where(rng.random(shape) < 0.6, r, rng.choice(pool, shape)) for r in refs]
    return preds, refs


@settings(max_examples=150, deadline=None)
@given(_mask_pairs(), st.sampled_from([None, 3, 8]), st.sampled_from([255, None, 0]))
def test_miou_stream_equals_the_all_at_once_value(pairs, num_classes, ignore_index):
    preds, refs = pairs
    value, per, per_class = _oracle_miou(preds, refs, ignore_index, num_classes)
    opts = {"num_classes": num_classes, "ignore_index": ignore_index}
    whole = compute_detailed("miou", preds, refs, **opts)
    assert whole.value == value
    assert whole.per_instance == per
    assert whole.details["per_class_iou"] == per_class
    acc = accumulator("miou", **opts)
    for p, r in zip(preds, refs, strict=True):
        acc.update(p, r)
    streamed = acc.result()
    assert streamed.value == value and streamed.per_instance == per
    assert streamed.details["per_class_iou"] == per_class


def _fed(metric: str, preds: list[Any], refs: list[Any], **opts: Any):
    acc = accumulator(metric, **opts)
    for p, r in zip(preds, refs, strict=True):
        acc.update(p, r)
    return acc.result(), acc


def _panoptic_pair(rng: np.random.Generator, shape=(12, 14)) -> tuple[np.ndarray, np.ndarray]:
    ref = np.where(rng.random(shape) < 0.5, 7, 23)
    for k in range(rng.integers(0, 4)):
        y, x = rng.integers(0, shape[0] - 3), rng.integers(0, shape[1] - 3)
        ref[y:y + 4, x:x + 4] = 26000 + k + 1
    ref[rng.random(shape) < 0.05] = 255
    pred = np.roll(ref, rng.integers(-1, 2), axis=1)
    pred[rng.random(shape) < 0.05] = 7
    return pred, ref


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_every_mask_stream_equals_the_list_call_with_failures(seed, n):
    """Missing, NaN and wrong-shaped predictions go through the same policy either way."""
    rng = np.random.default_rng(seed)
    masks_r = [rng.integers(0, 4, (5, 6)) for _ in range(n)]
    masks_p: list[Any] = [np.where(rng.random(r.shape) < 0.7, r, 0) for r in masks_r]
    videos_r = [[rng.integers(0, 2, (4, 5)) for _ in range(rng.integers(1, 4))] for _ in range(n)]
    videos_p: list[Any] = [[np.where(rng.random(f.shape) < 0.8, f, 1 - f) for f in v[:2]]
                           for v in videos_r]
    pan = [_panoptic_pair(rng) for _ in range(n)]
    pan_p: list[Any] = [p for p, _ in pan]
    parts_r = [rng.integers(0, 4, 30) for _ in range(n)]
    parts_p: list[Any] = [np.where(rng.random(30) < 0.7, r, 3) for r in parts_r]
    # Failures at random positions: missing (None), NaN, wrong shape.
    for i in range(n):
        kind = rng.integers(0, 4)
        if kind == 1:
            masks_p[i] = videos_p[i] = parts_p[i] = pan_p[i] = None
        elif kind == 2:
            masks_p[i] = np.full((5, 6), np.nan)
            parts_p[i] = np.full(30, np.nan)
        elif kind == 3:
            masks_p[i] = np.zeros((2, 2), int)
    cases = [("miou", masks_p, masks_r), ("point_miou", [None if p is None else p.ravel()
                                                         for p in masks_p],
                                          [r.ravel() for r in masks_r]),
             ("video_miou", videos_p, videos_r), ("s_measure", videos_p, videos_r),
             ("instance_miou", parts_p, parts_r),
             ("pq", pan_p, [r for _, r in pan])]
    for metric, preds, refs in cases:
        assert streams(metric)
        whole = compute_detailed(metric, preds, refs)
        streamed, acc = _fed(metric, preds, refs)
        assert streamed.value == whole.value, metric
        assert streamed.per_instance == whole.per_instance, metric
        assert streamed.failed == whole.failed, metric
        assert acc.rejected == whole.details.get("rejected", {}), metric
        assert streamed.provenance == whole.provenance, metric


def test_a_stream_holds_counts_not_maps():
    """1,000 maps through the mIoU stream keep one small matrix and 1,000 floats."""
    acc = accumulator("miou")
    rng = np.random.default_rng(0)
    for _ in range(1000):
        r = rng.integers(0, 5, (8, 8), dtype=np.uint8)
        acc.update(r, r)
    stream = acc._stream
    assert stream.total.shape == (5, 6) and len(stream.per) == 1000
    assert acc.result().value == 100.0


def test_all_failed_streams_to_the_floor_like_the_list_call():
    ref = [np.ones((3, 3), int)]
    assert _fed("miou", [None], ref)[0].value == compute_detailed("miou", [None], ref).value == 0.0
    with pytest.raises(Exception, match="no instances"):
        accumulator("miou").result()


def test_failed_panoptic_and_part_predictions_are_the_empty_fill_not_module_code():
    """PQ's failed prediction is all void (255) and instance mIoU's labels no point (-1):
    specs.yaml `empty_fill`, applied by the failure policy, as the modules did by hand."""
    rng = np.random.default_rng(5)
    pred, ref = _panoptic_pair(rng)
    as_void = compute_detailed("pq", [np.full_like(ref, 255), pred], [ref, ref])
    failed = compute_detailed("pq", [None, pred], [ref, ref])
    assert failed.value == as_void.value and failed.failed == 1
    parts = {"labels": np.array([0, 0, 1, 2]), "parts": [0, 1, 2, 3]}
    good = np.array([0, 0, 1, 1])
    unlabelled = compute_detailed("instance_miou", [np.full(4, -1), good], [parts, parts])
    failed = compute_detailed("instance_miou", [None, good], [parts, parts])
    assert failed.per_instance == unlabelled.per_instance and failed.failed == 1
    assert unlabelled.per_instance[0] == 25.0  # only part 3, absent from both, scores 1


_byte_label = st.sampled_from([0, 1, 2, 3, 4, 7, 200, 254, 255])


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.lists(_byte_label, min_size=1, max_size=6),
       st.sampled_from([None, 3, 8, 300]), st.sampled_from([255, None, 0, 7, 1000]))
def test_miou_of_uint8_maps_equals_the_int64_computation(seed, n, pool, num_classes,
                                                         ignore_index):
    """Masks decode to uint8 (the lookup-table lane of MiouStream); the same ids as int64 maps
    (the general lane, checked against the oracle above) give the very same floats."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
    refs = [rng.choice(pool, shape) for _ in range(n)]
    preds = [np.where(rng.random(shape) < 0.6, r, rng.choice(pool, shape)) for r in refs]
    opts = {"num_classes": num_classes, "ignore_index": ignore_index}
    value, per, per_class = _oracle_miou(preds, refs, ignore_index, num_classes)
    small, _ = _fed("miou", [p.astype(np.uint8) for p in preds],
                    [r.astype(np.uint8) for r in refs], **opts)
    assert small.value == value and small.per_instance == per
    assert small.details["per_class_iou"] == per_class
