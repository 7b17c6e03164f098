"""The failure policy as data (specs.yaml) applied in one place (metrics/failure.py, registry)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from generalbench.errors import MetricError
from generalbench.metrics import compute, compute_detailed, get_spec, load_specs
from generalbench.metrics.registry import NothingScoredError, accumulator, implementation
from generalbench.metrics.specs import MODEL_FAMILIES


@pytest.mark.parametrize("metric", ["chamfer", "absrel", "epe", "ap10", "pq", "rms_depth", "accuracy"])
def test_zero_instances_is_an_error_never_the_best_value(metric):
    with pytest.raises(NothingScoredError):
        compute(metric, [], [])


def test_no_reference_with_anything_to_score_is_an_error():
    ref = np.zeros((4, 4))  # no valid depth pixel anywhere
    with pytest.raises(NothingScoredError):
        compute("rms_depth", [np.ones((4, 4))], [ref])


def test_nan_depth_pixels_fail_the_prediction_instead_of_being_left_out():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.2, 1.0, (2, 8, 8))
    pred = np.full_like(ref, np.nan)
    pred[0, 0, 0] = ref[0, 0, 0]  # all NaN but one pixel: used to score a perfect 0
    res = compute_detailed("absrel", [pred, ref], [ref, ref])
    assert res.failed == 1 and "NaN" in res.details["rejected"][0]
    blank = compute_detailed("absrel", [np.zeros_like(ref), ref], [ref, ref])
    assert res.value == pytest.approx(blank.value) and res.value > 0


def test_nan_points_fail_a_chamfer_prediction():
    ref = np.array([[0.0, 0, 0], [2, 0, 0]])
    pred = np.array([[0.0, 0, 0], [2, 0, 0], [np.nan, 0, 0]])
    res = compute_detailed("chamfer", [pred], [ref])
    assert res.failed == 1
    assert res.value == pytest.approx(compute("chamfer", [None], [ref]))  # the centroid


def test_inf_in_a_number_or_box_list_fails_the_instance():
    assert compute_detailed("mae", [float("inf"), 1.0], [0.0, 1.0]).failed == 1
    boxes = [[{"bbox": [0, 0, float("inf"), 1], "label": "a", "score": 1.0}]]
    assert compute_detailed("ap", boxes, [[{"bbox": [0, 0, 1, 1], "label": "a"}]]).failed == 1


def test_wrong_shape_is_a_failed_instance_not_a_task_error():
    ref = np.ones((4, 4))
    res = compute_detailed("rms_depth", [np.ones((3, 3)), ref], [ref, ref])
    assert res.failed == 1 and "shape" in res.details["rejected"][0]
    assert res.per_instance[1] == 0.0 and res.per_instance[0] == pytest.approx(1.0)


def test_zero_policy_scores_failed_instances_zero():
    res = compute_detailed("accuracy", ["a", None, "c"], ["a", "b", "c"])
    assert res.per_instance == [100.0, 0.0, 100.0] and res.failed == 1
    assert res.value == pytest.approx(200 / 3)


def test_codebleu_with_every_prediction_missing_is_zero():
    assert compute("codebleu", [None, None], ["def f(): pass", "x = 1"]) == 0.0


def test_mean_accumulator_equals_the_list_call():
    rng = np.random.default_rng(1)
    refs = [rng.uniform(0.5, 2, (6, 6)) for _ in range(5)]
    preds = [r + rng.normal(0, 0.1, r.shape) for r in refs]
    preds[2] = None
    preds[3] = np.full((6, 6), np.nan)
    acc = accumulator("rms_depth")
    for p, r in zip(preds, refs, strict=True):
        acc.update(p, r)
    one_by_one = acc.result()
    whole = compute_detailed("rms_depth", preds, refs)
    assert one_by_one.value == pytest.approx(whole.value)
    assert one_by_one.failed == whole.failed == 2
    with pytest.raises(MetricError):
        accumulator("cider")


def test_provenance_names_the_implementation_and_libraries():
    res = compute_detailed("ap50", [[]], [[{"bbox": [0, 0, 1, 1], "label": "a"}]])
    assert res.provenance.implementation == "generalbench.metrics.boxes:ap50"
    assert "numpy" in res.provenance.libraries


def test_negative_values_are_data():
    assert get_spec("ms_ssim").can_be_negative and get_spec("pcc").can_be_negative
    assert not get_spec("psnr").can_be_negative


def test_spec_options_are_the_options_each_metric_takes():
    for name, spec in load_specs().items():
        if spec.family in MODEL_FAMILIES:
            continue  # model-based metrics take the task's prompts as options (**options)
        _, fn = implementation(name)
        params = list(inspect.signature(fn).parameters.values())[2:]
        named = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
        assert named == set(spec.options), name


def test_zero_policy_needs_a_mean_metric():
    for spec in load_specs().values():
        if spec.on_failure == "zero":
            assert spec.aggregate == "mean", spec.name


def test_result_files_accept_negative_ms_ssim_but_not_negative_psnr():
    """Point 12: whether a raw value may be negative is specs.yaml data, read by report/scorefiles."""
    from generalbench.catalog import load_catalog
    from generalbench.errors import GeneralBenchError
    from generalbench.report.scorefiles import parse_value

    catalog = load_catalog()
    ms_ssim = next(t for t in catalog if t.metric == "ms_ssim")
    assert parse_value(-0.15, ms_ssim, "sheet") == -0.15
    psnr = next(t for t in catalog if t.metric == "psnr")
    with pytest.raises(GeneralBenchError, match="cannot be negative"):
        parse_value(-1.0, psnr, "sheet")
