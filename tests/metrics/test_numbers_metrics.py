"""Number metrics against scikit-learn and scipy, plus the unparsed-answer rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.errors import MetricError
from generalbench.metrics import compute, compute_detailed

floats = st.floats(-1e4, 1e4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=1, max_size=30))
def test_error_metrics_match_sklearn(pairs):
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    pred = [p for p, _ in pairs]
    ref = [r for _, r in pairs]
    assert compute("MAE", pred, ref) == pytest.approx(mean_absolute_error(ref, pred), rel=1e-9, abs=1e-9)
    assert compute("mse", pred, ref) == pytest.approx(mean_squared_error(ref, pred), rel=1e-9, abs=1e-9)
    assert compute("RMSE", pred, ref) == pytest.approx(
        math.sqrt(mean_squared_error(ref, pred)), rel=1e-9, abs=1e-9)


def test_unparsed_number_takes_the_worst_in_range_value():
    # refs span [2, 10]; the failed answer for ref 3 is scored as 10 (farthest end): error 7
    r = compute_detailed("mae", [2.0, None, 10.0], [2.0, 3.0, 10.0])
    assert r.per_instance == [0.0, 7.0, 0.0]
    assert r.failed == 1  # counted by the registry, which applied the policy
    # never better than guessing the middle of the range for every instance
    refs = [2.0, 3.0, 10.0]
    assert compute("mae", [None] * 3, refs) >= compute("mae", [6.0] * 3, refs)
    assert compute("mae", ["not a number"], [1.0]) == 0.0  # a one-point range has no error


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=3, max_size=30))
def test_pcc_matches_scipy(pairs):
    from scipy.stats import pearsonr

    pred = np.array([p for p, _ in pairs])
    ref = np.array([r for _, r in pairs])
    if np.ptp(pred) == 0 or np.ptp(ref) == 0:
        assert compute("PCC", list(pred), list(ref)) == 0.0  # undefined: no relation measurable
        return
    if np.ptp(pred) < 1e-6 or np.ptp(ref) < 1e-6:
        return  # ill-conditioned: both implementations are dominated by rounding
    assert compute("PCC", list(pred), list(ref)) == pytest.approx(100 * pearsonr(pred, ref)[0], abs=1e-6)


def test_pcc_per_series_mean():
    from scipy.stats import pearsonr

    rng = np.random.default_rng(0)
    refs = [rng.normal(size=20).tolist() for _ in range(5)]
    preds = [(np.array(r) + rng.normal(scale=0.5, size=20)).tolist() for r in refs]
    preds[4] = None  # unparsed: 0
    expected = [100 * pearsonr(p, r)[0] for p, r in zip(preds[:4], refs[:4], strict=True)] + [0.0]
    r = compute_detailed("pcc", preds, refs)
    assert r.per_instance == pytest.approx(expected)
    assert compute("pcc", refs, refs) == pytest.approx(100.0)


def test_roc_auc_matches_sklearn_on_pixel_maps():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    refs = [(rng.random((16, 12)) > 0.7).astype(np.uint8) * 255 for _ in range(3)]
    preds = [np.clip(r / 255.0 * 0.4 + rng.random(r.shape) * 0.6, 0, 1) for r in refs]
    preds[0] = np.round(preds[0], 1)  # ties
    expected = roc_auc_score(np.concatenate([r.ravel() > 127 for r in refs]),
                             np.concatenate([p.ravel() for p in preds]))
    assert compute("AUC", preds, refs, ) == pytest.approx(100 * expected)
    assert compute("roc_auc", [r / 255.0 for r in refs], refs) == pytest.approx(100.0)
    # a wrong-shaped map is a failed instance (specs.yaml shape: same), scored as an all-zero map
    res = compute_detailed("roc_auc", [np.zeros((2, 2))], [refs[0]])
    assert res.failed == 1 and "shape" in res.details["rejected"][0]
    with pytest.raises(MetricError, match="positive and negative"):
        compute("roc_auc", [np.zeros((2, 2))], [np.zeros((2, 2))])


@pytest.mark.parametrize("metric", ["mae", "mse", "rmse"])
def test_oracle_numbers_zero_error(metric):
    refs = [0.0, 3.5, -2.0, 1e3]
    assert compute(metric, refs, refs) == 0.0


def test_every_text_and_number_spec_has_an_implementation():
    from generalbench.metrics.registry import implementation
    from generalbench.metrics.specs import load_specs

    names = [s.name for s in load_specs().values() if s.family in ("text", "numbers")]
    assert len(names) >= 20
    for name in names:
        spec, fn = implementation(name)
        assert callable(fn) and spec.name == name
