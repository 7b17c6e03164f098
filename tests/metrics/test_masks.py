"""Mask metrics against scikit-learn, PySODMetrics and worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, jaccard_score

from generalbench.metrics import registry
from generalbench.metrics.masks import s_measure_single


def _random_masks(rng, n=4, shape=(17, 23), k=4):
    refs = [rng.integers(0, k, shape) for _ in range(n)]
    preds = [np.where(rng.random(shape) < 0.7, r, rng.integers(0, k, shape)) for r in refs]
    refs[0][:3, :3] = 255  # ignored pixels
    return preds, refs


@pytest.mark.parametrize("seed", range(5))
def test_miou_matches_sklearn_jaccard(seed):
    rng = np.random.default_rng(seed)
    preds, refs = _random_masks(rng)
    r = np.concatenate([x.ravel() for x in refs])
    p = np.concatenate([x.ravel() for x in preds])
    keep = r != 255
    labels = np.union1d(np.unique(r[keep]), np.unique(p[keep]))
    expected = 100 * jaccard_score(r[keep], p[keep], labels=labels, average="macro")
    res = registry.compute_detailed("miou", preds, refs)
    assert res.value == pytest.approx(expected)
    # Per-instance values are each image's own mIoU.
    k1 = refs[1] != 255
    lab1 = np.union1d(np.unique(refs[1]), np.unique(preds[1]))
    assert res.per_instance[1] == pytest.approx(
        100 * jaccard_score(refs[1][k1], preds[1][k1], labels=lab1, average="macro"))
    assert registry.compute("point_miou", [x.ravel() for x in preds],
                            [x.ravel() for x in refs]) == pytest.approx(expected)


def test_miou_oracle_and_ignored_prediction_is_wrong():
    rng = np.random.default_rng(0)
    _, refs = _random_masks(rng)
    assert registry.compute("miou", refs, refs) == pytest.approx(100.0)
    ref = np.array([[0, 1], [1, 1]])
    pred = np.array([[0, 255], [1, 1]])
    # class 0: 1/1; class 1: 2/3 (the 255 prediction is wrong, not ignored)
    assert registry.compute("miou", [pred], [ref]) == pytest.approx(100 * (1 + 2 / 3) / 2)


def test_video_miou_official_recipe():
    g = [np.array([[1, 1], [0, 0]]), np.array([[0, 0], [0, 0]])]
    p = [np.array([[1, 0], [0, 0]]), np.array([[0, 0], [0, 3]])]
    # sum inter = 1, sum union = 2 + 1 = 3
    assert registry.compute_detailed("video_miou", [p], [g]).per_instance == [pytest.approx(100 / 3)]
    assert registry.compute("video_miou", [g], [g]) == 100.0
    assert registry.compute("video_miou", [None], [g]) == 0.0


def test_instance_miou_shapenet_rule():
    ref = {"labels": np.array([0, 0, 1, 1]), "parts": [0, 1, 2]}
    pred = np.array([0, 1, 1, 1])
    # part 0: 1/2, part 1: 2/3, part 2 absent in both: 1
    assert registry.compute("instance_miou", [pred], [ref]) == pytest.approx(100 * (0.5 + 2 / 3 + 1) / 3)
    rng = np.random.default_rng(3)
    refs = [rng.integers(0, 4, 100) for _ in range(3)]
    assert registry.compute("instance_miou", refs, refs) == 100.0
    preds = [np.where(rng.random(100) < 0.6, r, rng.integers(0, 4, 100)) for r in refs]
    expected = np.mean([jaccard_score(r, p, labels=np.union1d(r, p), average="macro")
                        for p, r in zip(preds, refs, strict=True)]) * 100
    assert registry.compute("instance_miou", preds, refs) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(4))
def test_dice_matches_sklearn_f1(seed):
    rng = np.random.default_rng(seed)
    refs = [(rng.random((12, 9)) < 0.3).astype(np.uint8) * 255 for _ in range(3)]
    preds = [np.where(rng.random(r.shape) < 0.8, r, 255 - r) for r in refs]
    expected = np.mean([f1_score(r.ravel() > 0, p.ravel() > 0) for p, r in zip(preds, refs, strict=True)])
    assert registry.compute("dice", preds, refs) == pytest.approx(100 * expected)
    assert registry.compute("dice", refs, refs) == 100.0
    assert registry.compute("dice", [np.zeros((3, 3))], [np.zeros((3, 3))]) == 100.0


@settings(max_examples=40, deadline=None)
@given(arrays(np.int8, (6, 5), elements=st.integers(0, 1)),
       arrays(np.int8, (6, 5), elements=st.integers(0, 1)))
def test_dice_and_iou_are_symmetric(a, b):
    assert registry.compute("dice", [a], [b]) == pytest.approx(registry.compute("dice", [b], [a]))
    assert registry.compute("video_miou", [[a]], [[b]]) == pytest.approx(
        registry.compute("video_miou", [[b]], [[a]]))


def test_pq_worked_example():
    # Reference: two "person" (class 1) instances and "sky" stuff (class 2); 10x10 image.
    sem = np.full((10, 10), 2)
    inst = np.zeros((10, 10), int)
    sem[0:5, 0:4], inst[0:5, 0:4] = 1, 1      # person 1, area 20
    sem[5:10, 6:10], inst[5:10, 6:10] = 1, 2  # person 2, area 20
    ref = {"semantic": sem, "instance": inst}
    # Prediction: person 1 shifted by one column (IoU 15/25 = .6 -> TP), person 2 missed
    # (labelled sky), plus a false-positive person of area 4 in the sky.
    ps, pi = np.full((10, 10), 2), np.zeros((10, 10), int)
    ps[0:5, 1:5], pi[0:5, 1:5] = 1, 1
    ps[8:10, 0:2], pi[8:10, 0:2] = 1, 7
    pred = {"semantic": ps, "instance": pi}
    # person: TP 1 (IoU .6), FP 1, FN 1 -> .6 / 2 = .3
    # sky: ref area 60, pred area 100-20-4 = 76, intersection 60-5-4... computed below.
    g_sky, p_sky = sem == 2, ps == 2
    sky_iou = (g_sky & p_sky).sum() / (g_sky | p_sky).sum()
    expected = 100 * (0.3 + sky_iou) / 2
    assert sky_iou > 0.5
    assert registry.compute("pq", [pred], [ref]) == pytest.approx(expected)
    assert registry.compute("pq", [ref], [ref]) == 100.0
    # The class*1000+instance encoding gives the same answer.
    enc = lambda d: d["semantic"] * 1000 + d["instance"]  # noqa: E731
    assert registry.compute("pq", [enc(pred)], [enc(ref)]) == pytest.approx(expected)


def test_pq_void_rules():
    sem = np.full((4, 4), 255)
    sem[:, :2] = 1
    inst = np.zeros((4, 4), int)
    ref = {"semantic": sem, "instance": inst}
    # Prediction covers the object plus the whole void area: the void part leaves the union,
    # so IoU = 8 / (16 - 8) = 1 -> PQ 100.
    pred = {"semantic": np.ones((4, 4), int), "instance": inst}
    assert registry.compute("pq", [pred], [ref]) == pytest.approx(100.0)


def test_sad_and_mse_matting():
    rng = np.random.default_rng(0)
    r = rng.random((30, 40))
    p = np.clip(r + rng.normal(0, 0.1, r.shape), 0, 1)
    assert registry.compute("sad", [p], [r]) == pytest.approx(np.abs(p - r).sum() / 1000)
    assert registry.compute("matting_mse", [p], [r]) == pytest.approx(((p - r) ** 2).mean() * 1e3)
    r8 = (r * 255).astype(np.uint8)
    assert registry.compute("sad", [r8], [r8]) == 0.0
    assert registry.compute("matting_mse", [r8], [r8]) == 0.0


def test_s_measure_worked_examples():
    gt = np.zeros((8, 8), bool)
    assert s_measure_single(np.full((8, 8), 0.25), gt) == pytest.approx(0.75)
    assert s_measure_single(np.full((8, 8), 0.25), ~gt) == pytest.approx(0.25)
    gt[2:6, 3:7] = True
    assert s_measure_single(gt.astype(float), gt) == pytest.approx(1.0)
    assert s_measure_single((~gt).astype(float), gt) < 0.2


@pytest.mark.parametrize("seed", range(4))
def test_s_measure_matches_pysodmetrics(seed):
    sod = pytest.importorskip("py_sod_metrics")
    rng = np.random.default_rng(seed)
    frames_g, frames_p = [], []
    for _ in range(3):
        g = np.zeros((40, 50), np.uint8)
        y, x = rng.integers(0, 30), rng.integers(0, 40)
        g[y:y + rng.integers(3, 15), x:x + rng.integers(3, 15)] = 255
        p = np.clip(g.astype(float) * rng.uniform(0.3, 1) + rng.normal(0, 40, g.shape), 0, 255)
        frames_g.append(g)
        frames_p.append(p.astype(np.uint8))
    sm = sod.Smeasure()
    for p, g in zip(frames_p, frames_g, strict=True):
        sm.step(p, g)
    expected = 100 * sm.get_results()["sm"]
    assert registry.compute("s_measure", [frames_p], [frames_g]) == pytest.approx(expected)
    assert registry.compute("s_measure", [frames_g], [frames_g]) == pytest.approx(100.0)


def test_matting_reads_8bit_float_mattes():
    r = np.array([[0.0, 255.0], [128.0, 255.0]])  # a PNG matte as the data layer loads it
    p = np.array([[0.0, 1.0], [0.5, 1.0]])
    assert registry.compute("sad", [p], [r]) == pytest.approx(abs(0.5 - 128 / 255) / 1000)


def _random_panoptic(rng, shape=(24, 30)):
    """Things 1, 2 (several instances), stuff 3, 4 (instance 0), void 255."""
    sem = np.full(shape, 4)
    sem[:, : shape[1] // 2] = 3
    inst = np.zeros(shape, int)
    for k in range(rng.integers(1, 5)):
        y, x = rng.integers(0, shape[0] - 6), rng.integers(0, shape[1] - 6)
        h, w = rng.integers(3, 8), rng.integers(3, 8)
        sem[y:y + h, x:x + w] = rng.choice([1, 2])
        inst[y:y + h, x:x + w] = k + 1
    sem[rng.random(shape) < 0.03] = 255
    inst[sem == 255] = 0
    return sem, inst


def _perturb(rng, sem, inst):
    s, i = sem.copy(), inst.copy()
    shift = rng.integers(-1, 2, 2)
    s = np.roll(s, shift, axis=(0, 1))
    i = np.roll(i, shift, axis=(0, 1))
    flip = rng.random(s.shape) < 0.02
    s[flip] = rng.choice([1, 2, 3, 4], size=flip.sum())
    i[flip & (s >= 3)] = 0
    s[s == 255] = 3
    return s, i


@pytest.mark.parametrize("seed", range(5))
def test_pq_matches_torchmetrics(seed):
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.detection")
    rng = np.random.default_rng(seed)
    refs, preds = [], []
    for _ in range(3):
        sem, inst = _random_panoptic(rng)
        refs.append({"semantic": sem, "instance": inst})
        ps, pi = _perturb(rng, sem, inst)
        preds.append({"semantic": ps, "instance": pi})
    metric = tm.PanopticQuality(things={1, 2}, stuffs={3, 4}, allow_unknown_preds_category=True)
    stack = lambda xs: torch.from_numpy(  # noqa: E731
        np.stack([np.stack([x["semantic"], x["instance"]], -1) for x in xs]))
    expected = 100 * float(metric(stack(preds), stack(refs)))
    assert registry.compute("pq", preds, refs) == pytest.approx(expected, abs=1e-4)


def test_miou_stray_large_label_costs_no_memory():
    ref = np.array([[0, 1], [1, 1]])
    pred = np.array([[0, 10**9], [1, 1]])
    # classes 0: 1/1, 1: 2/3, 10**9: 0/1 (predicted, never right)
    assert registry.compute("miou", [pred], [ref]) == pytest.approx(100 * (1 + 2 / 3 + 0) / 3)
    assert registry.compute("miou", [pred], [ref], num_classes=2) == pytest.approx(100 * (1 + 2 / 3) / 2)


def test_pq_cityscapes_ids_keep_stuff_classes_apart():
    # Cityscapes id maps: road (7) and sky (23) are stuff and carry the bare class id; cars are
    # 26 * 1000 + instance. Worked example on a 4x6 image: the reference has road (rows 0-1),
    # sky (rows 2-3, cols 0-3) and one car (rows 2-3, cols 4-5). The prediction swaps road and
    # sky labels on the stuff regions but gets the car right. Per class: road TP 0, FP 1, FN 1
    # -> 0; sky the same -> 0; car IoU 1 -> 100. PQ = 100 / 3.
    ref = np.full((4, 6), 7)
    ref[2:, :4] = 23
    ref[2:, 4:] = 26001
    pred = np.where(ref == 7, 23, np.where(ref == 23, 7, ref))
    res = registry.compute_detailed("pq", [pred], [ref])
    assert set(res.details["per_class_pq"]) == {7, 23, 26}
    assert res.value == pytest.approx(100 / 3)
    # Reading the bare ids as class * 1000 + instance put road and sky in one class 0, where the
    # swapped prediction matched perfectly and scored 100.
    assert registry.compute("pq", [ref], [ref]) == 100.0
    # The same image given as {"semantic", "instance"} maps gives the same answer.
    as_dict = lambda a: {"semantic": np.where(a < 1000, a, a // 1000),  # noqa: E731
                         "instance": np.where(a < 1000, 0, a % 1000)}
    assert registry.compute("pq", [as_dict(pred)], [as_dict(ref)]) == pytest.approx(100 / 3)
