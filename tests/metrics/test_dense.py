"""Dense metrics against scikit-learn / numpy oracles and worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_squared_error

from generalbench.metrics import registry


def test_rms_depth_matches_sklearn_and_skips_invalid():
    rng = np.random.default_rng(0)
    refs = [rng.uniform(0.5, 10, (12, 16)) for _ in range(3)]
    preds = [r + rng.normal(0, 0.3, r.shape) for r in refs]
    refs[0][0, :5] = 0.0  # invalid (no depth)
    expected = []
    for p, r in zip(preds, refs, strict=True):
        v = r > 0
        expected.append(np.sqrt(mean_squared_error(r[v], p[v])))
    res = registry.compute_detailed("rms_depth", preds, refs)
    assert res.per_instance == pytest.approx(expected)
    assert registry.compute("rms_depth", preds, refs, scale=100) == pytest.approx(100 * np.mean(expected))
    assert registry.compute("rms_depth", refs, refs) == 0.0


def _absrel_oracle(p, r, lo=1e-3, hi=80.0):
    d = np.where(r > 0, 1 / np.where(r > 0, r, 1), np.inf)
    v = (d > lo) & (d < hi)
    s, t = np.polyfit(p[v], r[v], 1)
    a = np.clip(s * p + t, 1 / hi, 1 / lo)
    dep = np.clip(1 / a, lo, hi)
    return np.mean(np.abs(dep[v] - d[v]) / d[v])


@pytest.mark.parametrize("seed", range(3))
def test_absrel_matches_polyfit_oracle(seed):
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0.05, 2.0, (4, 1, 10, 12))  # disparity, official (T, 1, H, W) layout
    ref[0, 0, 0, :3] = 0.0  # no depth
    ref[1, 0, 0, :2] = 1e-4  # depth 1e4 > 80: invalid
    pred = 3.0 * ref + 0.2 + rng.normal(0, 0.1, ref.shape)
    assert registry.compute("absrel", [pred], [ref]) == pytest.approx(_absrel_oracle(pred, ref))


@settings(max_examples=25, deadline=None)
@given(st.floats(0.1, 10), st.floats(-0.5, 0.5))
def test_absrel_is_scale_shift_invariant(s, t):
    rng = np.random.default_rng(1)
    ref = rng.uniform(0.1, 1.0, (3, 8, 8))
    assert registry.compute("absrel", [s * ref + t], [ref]) == pytest.approx(0.0, abs=1e-8)


def test_epe_worked_example_and_invalid():
    ref = np.zeros((2, 2, 2))
    pred = np.zeros((2, 2, 2))
    pred[0, 0] = [3, 4]  # error 5
    ref[1, 1] = np.nan  # invalid pixel, excluded
    pred[1, 1] = [100, 100]
    assert registry.compute("epe", [pred], [ref]) == pytest.approx(5 / 3)
    assert registry.compute("epe", [ref], [ref]) == 0.0


def test_normal_rmse_degrees():
    ang = np.radians([10.0, 20.0])
    ref = np.array([[0, 0, 1.0], [0, 0, 1.0], [1.0, 0, 0]])
    pred = np.array([[np.sin(ang[0]), 0, np.cos(ang[0])], [0, np.sin(ang[1]), np.cos(ang[1])],
                     [-2.0, 0, 0]])  # flipped (and not unit length)
    assert registry.compute("normal_rmse", [pred], [ref]) == pytest.approx(
        np.sqrt((100 + 400 + 0) / 3))
    assert registry.compute("normal_rmse", [pred], [ref], oriented=True) == pytest.approx(
        np.sqrt((100 + 400 + 180**2) / 3))
    assert registry.compute("normal_rmse", [ref], [ref]) == pytest.approx(0.0, abs=1e-6)


def test_per_instance_stays_aligned_when_an_instance_has_no_valid_pixel():
    good = np.ones((2, 2))
    res = registry.compute_detailed("rms_depth", [good * 2, good], [good, np.zeros((2, 2))])
    assert res.per_instance == [1.0, None]
    assert res.value == 1.0
