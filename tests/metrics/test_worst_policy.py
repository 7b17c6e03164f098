"""`worst` and `drop` applied by the registry before the metric runs (specs.yaml `worst:`,
metrics/failure.py): the metric function never sees a failed (None) prediction, per-instance
options lose the same entries, and the values equal what the modules used to compute."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from generalbench.errors import UnknownMetricError
from generalbench.metrics import compute_detailed, load_specs, registry
from generalbench.metrics.base import MetricResult
from generalbench.metrics.failure import range_end_predictions, subset_options
from generalbench.metrics.specs import _parse_worst

MOVED_FAMILIES = {"numbers", "tracks", "image_models", "video_models", "audio_models", "motion_models",
                  "judge"}
STILL_IN_MODULE = {"speech_cider", "user_preference"}
"""`worst` metrics of those families whose worst is not yet data: speech_cider scores an empty
transcript (corpus CIDEr's IDF needs every reference), user_preference cannot be computed."""


def _spy(monkeypatch: pytest.MonkeyPatch, metric: str, value: Any) -> list[tuple[list, list, dict]]:
    """Replace a metric's implementation by one that records its calls and refuses None."""
    calls: list[tuple[list, list, dict]] = []

    def fake(predictions: Any, references: Any, **options: Any) -> MetricResult:
        assert all(p is not None for p in predictions), "the metric saw a failed prediction"
        calls.append((list(predictions), list(references), options))
        return value(predictions) if callable(value) else value

    monkeypatch.setitem(registry._IMPLS, metric, fake)
    return calls


def test_every_moved_worst_metric_declares_its_worst_value():
    for spec in load_specs().values():
        if spec.family in MOVED_FAMILIES and spec.on_failure == "worst" and spec.name not in STILL_IN_MODULE:
            assert spec.worst is not None, spec.name
    assert load_specs()["mos"].worst == 1.0 and load_specs()["mae"].worst == "range_end"
    assert load_specs()["wer"].worst == 100.0  # "" against a non-empty reference: all deletions


def test_worst_must_be_a_number_or_a_named_rule():
    assert _parse_worst({"on_failure": "worst", "worst": 0}, "m") == 0.0
    with pytest.raises(UnknownMetricError, match="range_end"):
        _parse_worst({"on_failure": "worst", "worst": "lowest"}, "m")
    with pytest.raises(UnknownMetricError, match="on_failure: worst"):
        _parse_worst({"on_failure": "drop", "worst": 0}, "m")


def test_worst_value_scores_failed_instances_and_the_metric_sees_only_the_rest(monkeypatch):
    calls = _spy(monkeypatch, "clip_score",
                 lambda preds: MetricResult(float(np.mean([float(p) for p in preds])),
                                            [float(p) for p in preds], {"n_missing": 0}))
    res = compute_detailed("clip_score", ["30", None, "60"], ["a", "b", "c"],
                           prompts=["pa", "pb", "pc"], task="t")
    (preds, refs, options), = calls
    assert preds == ["30", "60"] and refs == ["a", "c"]
    assert options["prompts"] == ["pa", "pc"] and options["task"] == "t"  # aligned options follow
    assert res.per_instance == [30.0, 0.0, 60.0] and res.value == pytest.approx(30.0)
    assert res.failed == 1 and res.details["n_missing"] == 1


def test_worst_value_equals_the_module_mean_exactly(monkeypatch):
    """A mean metric: the mean over all instances, in instance order (np.mean as mean_result)."""
    values = [0.1, 0.2, 0.7, 0.3]
    _spy(monkeypatch, "musiq", lambda preds: MetricResult(float(np.mean([values[int(p)] for p in preds])),
                                                        [values[int(p)] for p in preds]))
    res = compute_detailed("musiq", ["0", None, "2", "3"], [None] * 4)
    assert res.value == float(np.mean([0.1, 0.0, 0.7, 0.3]))


def test_worst_value_leaves_instances_without_a_value_out_of_the_mean(monkeypatch):
    """An invalid video (NaN per-instance, video QA) stays out; a failed one counts as 0."""
    _spy(monkeypatch, "success_rate", MetricResult(100.0, [100.0, float("nan")]))
    res = compute_detailed("success_rate", ["a", None, "b"], [None] * 3)
    assert res.value == pytest.approx(50.0) and res.per_instance[1] == 0.0


def test_worst_value_weights_a_metric_with_its_own_aggregate_by_instances(monkeypatch):
    """VBench's own mean over the present videos, weighted by their share (as _vbench did)."""
    _spy(monkeypatch, "success_rate", MetricResult(90.0, [100.0, 100.0]))  # not the mean
    res = compute_detailed("success_rate", ["a", None, "b"], [None] * 3)
    assert res.value == 90.0 * 2 / 3


def test_all_failed_is_the_worst_value_without_calling_the_metric(monkeypatch):
    calls = _spy(monkeypatch, "mos", MetricResult(3.0, [3.0]))
    res = compute_detailed("mos", [None, None], [None, None])
    assert not calls and res.value == 1.0 and res.per_instance == [1.0, 1.0]


def test_drop_gives_the_metric_the_kept_predictions_and_every_reference(monkeypatch):
    calls = _spy(monkeypatch, "fid", MetricResult(12.0, None, {"n_missing": 0}))
    res = compute_detailed("fid", ["x", None, "y"], ["r1", "r2", "r3"])
    (preds, refs, _), = calls
    assert preds == ["x", "y"] and refs == ["r1", "r2", "r3"]
    assert res.dropped == 1 and res.details["n_missing"] == 1 and res.value == 12.0


def test_range_end_is_the_farthest_end_of_the_reference_range():
    subs = range_end_predictions([2.0, 3.0, [10.0], 9.0], [1, 3])
    assert subs == {1: 10.0, 3: 2.0}
    series = range_end_predictions([[1.0, 2.0, 3.0]], [0])[0]
    assert np.array_equal(series, np.zeros(3))


def test_pcc_series_failed_prediction_scores_zero_as_before():
    ref = [1.0, 2.0, 4.0]
    res = compute_detailed("pcc", [None, [1.0, 2.0, 4.0]], [ref, ref])
    assert res.per_instance == [0.0, 100.0] and res.value == pytest.approx(50.0)


def test_rmse_failed_prediction_takes_the_farthest_end():
    res = compute_detailed("rmse", [2.0, None, 10.0], [2.0, 3.0, 10.0])
    assert res.value == pytest.approx(np.sqrt(49 / 3)) and res.failed == 1


def test_subset_options_cuts_only_aligned_lists():
    opts = {"prompts": ["a", "b", "c"], "video_paths": ["x", None, "z"], "labels": ["l1", "l2", "l3"],
            "questions": ["q"], "task": "t"}
    out = subset_options(opts, [0, 2], 3)
    assert out["prompts"] == ["a", "c"] and out["video_paths"] == ["x", "z"]
    assert out["labels"] == ["l1", "l2", "l3"]  # not per instance: a candidate set
    assert out["questions"] == ["q"] and out["task"] == "t"  # wrong length: the metric rejects it


def test_rte_failed_prediction_is_a_vehicle_that_never_moves():
    rng = np.random.default_rng(0)
    ref = np.cumsum(rng.normal(0, 1, (30, 3)), axis=0)  # (N, 3) positions
    still = np.tile(np.eye(4), (30, 1, 1))
    assert compute_detailed("rte", [None], [ref]).value == compute_detailed("rte", [still], [ref]).value
    assert compute_detailed("rte", [None], [ref]).failed == 1


@pytest.mark.parametrize("metric, ref", [
    ("success_auc", [[0, 0, 4, 4], [1, 1, 4, 4], None]),
    ("m_viou", [[0, 0, 4, 4], None, [2, 2, 4, 4]]),
    ("amota", [[{"translation": [0, 0, 0], "track_id": 1, "label": "car", "score": 1.0}]] * 2),
])
def test_a_failed_track_is_the_empty_track(metric, ref):
    """Tracks: `empty` (no box in any frame), what the module used to score None as."""
    good = compute_detailed(metric, [ref, ref], [ref, ref])
    failed = compute_detailed(metric, [ref, None], [ref, ref])
    empty = compute_detailed(metric, [ref, []], [ref, ref])
    assert failed.value == empty.value < good.value and failed.failed == 1


def test_the_empty_text_is_blank_also_with_several_references():
    """`empty` for a text metric whose reference is a list of texts: "" (it used to be [],
    which CodeBLEU read as the code "[]")."""
    from generalbench.metrics import get_spec
    from generalbench.metrics.failure import empty_prediction

    assert empty_prediction(get_spec("codebleu"), ["x = 1", "x=1"]) == ""
    assert empty_prediction(get_spec("cider"), ["a cat", "the cat"]) == ""


def test_range_end_metrics_are_never_fed_one_at_a_time():
    """One reference at a time, the farthest range end would be the reference itself (error 0)."""
    from generalbench.errors import MetricError
    from generalbench.metrics.registry import accumulator

    with pytest.raises(MetricError, match="range_end"):
        accumulator("mae")


def test_mae_called_directly_gives_a_non_number_the_range_end():
    """Outside the registry, numbers' own screen applies the same range_end rule."""
    from generalbench.metrics.numbers import mae

    # refs 2..9: "x" (ref 2) is given 9, the far end: errors 7 and 4
    assert mae(["x", 5.0], [2.0, 9.0]).value == pytest.approx(5.5)
