"""Tracking / grounding / MOT / odometry metrics: worked examples, independent loops, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics import registry
from generalbench.metrics.boxes import box_iou_xywh
from generalbench.metrics.tracks import success_auc


def _success_oracle(pred, ref):
    ious = []
    for p, r in zip(pred, ref, strict=True):
        if r is None:
            continue
        ious.append(0.0 if p is None else box_iou_xywh(p, r)[0, 0])
    thr = [i * 0.05 for i in range(21)]
    return 100 * np.mean([np.mean([x > t for x in ious]) for t in thr])


def _random_track(rng, n=30):
    ref, pred = [], []
    for _ in range(n):
        if rng.random() < 0.1:
            ref.append(None)
        else:
            ref.append([*rng.uniform(0, 50, 2), *rng.uniform(5, 20, 2)])
        if rng.random() < 0.1 or ref[-1] is None:
            pred.append(None if rng.random() < 0.5 else [*rng.uniform(0, 50, 2), 10.0, 10.0])
        else:
            pred.append(list(np.array(ref[-1]) + rng.normal(0, 3, 4) * [1, 1, 0.3, 0.3]))
    return pred, ref


@pytest.mark.parametrize("seed", range(5))
def test_success_auc_matches_loop_oracle(seed):
    rng = np.random.default_rng(seed)
    pairs = [_random_track(rng) for _ in range(3)]
    res = registry.compute_detailed("success_auc", [p for p, _ in pairs], [r for _, r in pairs])
    assert res.per_instance == pytest.approx([_success_oracle(p, r) for p, r in pairs])


def test_success_auc_worked_example_and_ceiling():
    ref = [[0, 0, 10, 10]] * 4
    half = [[0, 0, 10, 5]] * 4  # IoU exactly 0.5 -> above thresholds 0 .. 0.45: 10 of 21
    assert registry.compute("success_auc", [half], [ref]) == pytest.approx(100 * 10 / 21)
    assert registry.compute("success_auc", [ref], [ref]) == pytest.approx(100 * 20 / 21)
    assert registry.compute("success_auc", [[None] * 4], [ref]) == 0.0


def test_m_viou_worked_example():
    ref = [None, [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], None]
    pred = [None, [0, 0, 10, 5], [0, 0, 10, 10], None, [5, 5, 5, 5]]
    # union of frames with a box: 1, 2, 3, 4 -> 4; IoU sum on intersection: .5 + 1
    assert registry.compute("m_viou", [pred], [ref]) == pytest.approx(100 * 1.5 / 4)
    assert registry.compute("m_viou", [ref], [ref]) == 100.0
    assert registry.compute("m_viou", [[None] * 3], [[None] * 3]) == 100.0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_m_viou_bounded_and_symmetric(seed):
    pred, ref = _random_track(np.random.default_rng(seed), 12)
    v = registry.compute("m_viou", [pred], [ref])
    assert 0 <= v <= 100
    assert v == pytest.approx(registry.compute("m_viou", [ref], [pred]))


def _scene(track_ids, positions, label="car", score=1.0):
    return [[{"translation": [x, 0, 0], "track_id": tid, "label": label, "score": score}
             for tid, x in zip(ids, xs, strict=True)]
            for ids, xs in zip(track_ids, positions, strict=True)]


def test_amota_perfect_switch_and_misses():
    ref = _scene([[1, 2]] * 4, [[0, 10]] * 4)
    assert registry.compute("amota", [ref], [ref]) == pytest.approx(100.0)
    # Object 1 changes predicted track id at frame 2 -> 1 ID switch over 8 matches.
    switched = _scene([[7, 8], [7, 8], [9, 8], [9, 8]], [[0.5, 10]] * 4)
    assert registry.compute("amota", [switched], [ref]) == pytest.approx(100 * (1 - 1 / 8))
    # Only 4 of 8 objects predicted: recalls <= .5 reached with MOTAR 1, others 0 -> 18 of 40.
    half = _scene([[1], [1], [1], [1]], [[0]] * 4)
    assert registry.compute("amota", [half], [ref]) == pytest.approx(100 * 18 / 40)
    # A low-score false positive far away is cut by the score threshold.
    noisy = [f + [{"translation": [100, 0, 0], "track_id": 5, "label": "car", "score": 0.1}]
             for f in ref]
    assert registry.compute("amota", [noisy], [ref]) == pytest.approx(100.0)
    # Beyond the 2 m gate nothing matches.
    far = _scene([[1, 2]] * 4, [[3, 13]] * 4)
    assert registry.compute("amota", [far], [ref]) == 0.0


def _line(n=1001, step=1.0):
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 0, 3] = np.arange(n) * step
    return poses


def test_rte_kitti_worked_example():
    ref = _line()
    pred = ref.copy()
    pred[:, 0, 3] *= 1.01  # 1% scale drift
    expected = []
    for first in range(0, 1001, 10):
        for length in range(100, 900, 100):
            # the devkit's last frame is the first with distance > length: length + 1 metres on
            if first + length + 1 <= 1000:
                expected.append(0.01 * (length + 1) / length)
    assert registry.compute("rte", [pred], [ref]) == pytest.approx(100 * np.mean(expected))
    assert registry.compute("rte", [ref], [ref]) == pytest.approx(0.0, abs=1e-9)


def test_rte_invariant_to_global_rigid_transform():
    rng = np.random.default_rng(0)
    ref = _line(400, 1.0)
    ref[:, 1, 3] = np.cumsum(rng.normal(0, 0.2, 400))
    yaw = 0.7
    g = np.eye(4)
    g[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    g[:3, 3] = [5, -3, 2]
    assert registry.compute("rte", [g @ ref], [ref]) == pytest.approx(0.0, abs=1e-8)
    # KITTI 12-value rows and (N, 3) positions are accepted.
    assert registry.compute("rte", [ref[:, :3].reshape(-1, 12)], [ref[:, :3, 3]]) == pytest.approx(
        0.0, abs=1e-8)


def test_rte_short_sequence_fallback():
    ref = _line(11, 1.0)  # 10 m: shorter than every KITTI segment
    pred = ref.copy()
    pred[:, 0, 3] *= 1.1
    res = registry.compute_detailed("rte", [pred], [ref])
    assert res.details["short_sequences"] == 1
    assert res.value == pytest.approx(10.0)


def test_amota_reads_the_flat_tracks3d_form():
    ref = [{"box": [x, 0, 0, 1, 1, 1, 0], "frame": t, "track_id": tid, "label": "car"}
           for t in range(3) for tid, x in ((1, 0.0), (2, 10.0))]
    pred = [dict(o, score=0.9) for o in ref]
    assert registry.compute("amota", [pred], [ref]) == pytest.approx(100.0)
    assert registry.compute("amota", [pred[:2]], [ref]) == pytest.approx(
        registry.compute("amota", [[o for o in pred if o["frame"] == 0]], [ref]))


def _random_scene(rng, n_frames=12, n_obj=5):
    pos = rng.uniform(0, 12, (n_obj, 2))
    vel = rng.normal(0, 0.4, (n_obj, 2))
    ref, pred = [], []
    ids = list(range(100, 100 + n_obj))
    for t in range(n_frames):
        p = pos + t * vel
        ref.append([{"translation": [*p[k], 0], "track_id": k, "label": "car"}
                    for k in range(n_obj) if rng.random() > 0.1])
        if rng.random() < 0.15:  # the tracker swaps two identities from here on
            a, b = rng.choice(n_obj, 2, replace=False)
            ids[a], ids[b] = ids[b], ids[a]
        frame = [{"translation": [*(p[k] + rng.normal(0, 0.7, 2)), 0], "track_id": ids[k],
                  "label": "car", "score": float(rng.random())}
                 for k in range(n_obj) if rng.random() > 0.15]
        frame += [{"translation": [*rng.uniform(0, 12, 2), 0], "track_id": 900 + t,
                   "label": "car", "score": float(rng.random())} for _ in range(rng.integers(0, 2))]
        pred.append(frame)
    return pred, ref


@pytest.mark.parametrize("seed", range(6))
def test_clear_mot_counts_match_py_motmetrics(seed):
    mm = pytest.importorskip("motmetrics")
    from generalbench.metrics.tracks import _mot_scene

    pred, ref = _random_scene(np.random.default_rng(seed))
    acc = mm.MOTAccumulator(auto_id=True)
    for rf, pf in zip(ref, pred, strict=True):
        rc = np.array([o["translation"] for o in rf]).reshape(-1, 3)
        pc = np.array([o["translation"] for o in pf]).reshape(-1, 3)
        d = np.linalg.norm(rc[:, None] - pc[None], axis=-1)
        d[d > 2.0] = np.nan
        acc.update([o["track_id"] for o in rf], [o["track_id"] for o in pf], d)
    # motmetrics' num_detections = matches + switches, i.e. all true positives.
    s = mm.metrics.create().compute(acc, metrics=["num_detections", "num_false_positives",
                                                  "num_misses", "num_switches"])
    tp, fp, fn, ids, _ = _mot_scene(pred, ref, -np.inf, 2.0)
    assert ids > 0
    assert (tp, fp, fn, ids) == (int(s["num_detections"].iloc[0]),
                                 int(s["num_false_positives"].iloc[0]),
                                 int(s["num_misses"].iloc[0]), int(s["num_switches"].iloc[0]))


def test_success_auc_iou_clipped_at_one():
    # (x + w) - x rounds above w here: unclipped IoU is 1.0000000000000004, which passed the
    # threshold 1 and lifted a perfect tracker to 100 instead of the ceiling 100 * 20/21.
    box = [86.3, 54.1, 30.0, 42.3]
    assert box_iou_xywh([box], [box])[0, 0] == 1.0
    res = registry.compute_detailed("success_auc", [[box] * 3], [[box] * 3])
    assert res.value == pytest.approx(100 * 20 / 21)
    assert res.value <= res.details["best_possible"]


@pytest.mark.parametrize("track", [
    [[1, 2, 3, 4], None, [0.5, 1.5, 0, 2], [1, 2, float("nan"), 4], [1e9, 2, 3, 4.5]],
    [[1, 2, 3, 4], [[1, 2], [3, 4]], None],  # a nested box: the per-frame rule
    [[1, 2, 3], [1, 2, 3, 4]],  # a short box: absent
    [np.array([1.0, 2, 3, 4]), (5, 6, 7, 8), None],
    [["1", "2", "3", "4"]],
    [],
    None,
])
@pytest.mark.parametrize("n", [None, 2, 7])
def test_track_array_fast_path_is_the_per_frame_rule(track, n):
    from generalbench.metrics.tracks import _track_array, _track_array_slow

    frames = list(track) if track is not None else []
    if n is not None:
        frames = frames[:n] + [None] * max(0, n - len(frames))
    boxes, present = _track_array(track, n)
    want_boxes, want_present = _track_array_slow(frames)
    assert boxes.dtype == want_boxes.dtype and np.array_equal(boxes, want_boxes)
    assert np.array_equal(present, want_present)


_frame = st.one_of(
    st.none(), st.just([]), st.just([1.0, 2.0, 0.0, 3.0]),
    st.lists(st.floats(-20, 60, allow_nan=False) | st.sampled_from([float("nan"), float("inf")]),
             min_size=4, max_size=4))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(_frame, max_size=25), st.lists(_frame, max_size=25)),
                max_size=6), st.integers(0, 2**32 - 1))
def test_success_auc_over_stacked_frames_equals_the_per_sequence_loop(pairs, seed):
    rng = np.random.default_rng(seed)
    # half of the predictions are the reference jittered, so that IoUs spread over (0, 1]
    pairs = [(p if rng.random() < 0.5 else
              [None if b is None or len(b) != 4 else list(np.add(b, rng.normal(0, 2, 4)))
               for b in r], r) for p, r in pairs]
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    from generalbench.metrics.tracks import _success_per_sequence

    assert success_auc(preds, refs).per_instance == _success_per_sequence(preds, refs)
    with pytest.raises(ValueError):
        success_auc([*preds, []], refs)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 40), min_size=1, max_size=8))
def test_stacked_success_auc_is_bit_identical_on_plain_tracks(seed, lengths):
    from generalbench.metrics.tracks import _success_all, _success_per_sequence

    rng = np.random.default_rng(seed)
    pairs = [_random_track(rng, n) for n in lengths]
    preds = [p[:int(rng.integers(0, len(p) + 3))] for p, _ in pairs]  # short and long ones
    preds = [p + [[1.0, 1.0, 5.0, 5.0]] * int(rng.integers(0, 3)) for p in preds]
    refs = [r for _, r in pairs]
    stacked = _success_all(preds, refs)
    assert stacked is not None and stacked == _success_per_sequence(preds, refs)
