"""Numeric cores: Frechet distance against scipy's sqrtm, cosine conventions, VBench consistency."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.errors import MetricError
from generalbench.metricmodels.featmath import (
    GaussianStats,
    cosine_rows,
    cosine_score,
    frechet_distance,
    gaussian_stats,
    temporal_consistency,
    trace_sqrt_product,
    trace_sqrt_stats,
)


def scipy_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook computation (pytorch-fid): sqrtm of the non-symmetric product."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("seed,n,d", [(0, 200, 16), (1, 500, 64), (2, 300, 8), (3, 1000, 128)])
def test_frechet_matches_scipy_sqrtm(seed: int, n: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    y = rng.normal(loc=0.3, size=(n, d)) @ rng.normal(size=(d, d)) + 1.0
    ours = frechet_distance(gaussian_stats(x), gaussian_stats(y))
    ref = scipy_frechet(x, y)
    assert ours == pytest.approx(ref, rel=1e-6)


def _pair(seed: int, n1: int, n2: int, d: int) -> tuple[GaussianStats, GaussianStats]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n1, d)) @ rng.normal(size=(d, d))
    y = rng.normal(loc=0.3, size=(n2, d)) @ rng.normal(size=(d, d)) + 1.0
    return gaussian_stats(x), gaussian_stats(y)


@pytest.mark.parametrize("seed,n1,n2,d", [
    (10, 12, 9, 64),   # fewer samples than dims on both sides: nuclear norm of A B^T
    (11, 40, 3, 48),   # very unequal sizes
    (12, 63, 50, 64),  # just below D
    (13, 200, 150, 32),  # more samples than dims: the D x D eigen route
    (14, 20, 300, 32),  # one side each
])
def test_trace_sqrt_routes_match_scipy_sqrtm(seed: int, n1: int, n2: int, d: int) -> None:
    s1, s2 = _pair(seed, n1, n2, d)
    assert (s1.factor is not None, s2.factor is not None) == (n1 < d, n2 < d)
    ref = float(np.trace(scipy.linalg.sqrtm(s1.sigma @ s2.sigma).real))
    assert trace_sqrt_stats(s1, s2) == pytest.approx(ref, rel=1e-6)
    assert trace_sqrt_stats(s2, s1) == pytest.approx(ref, rel=1e-6)
    # one factor only (reference statistics from a cache file written before factors existed)
    bare1 = GaussianStats(s1.mu, s1.sigma, s1.n)
    assert trace_sqrt_stats(bare1, s2) == pytest.approx(ref, rel=1e-6)
    assert trace_sqrt_stats(s2, bare1) == pytest.approx(ref, rel=1e-6)
    assert trace_sqrt_product(s1.sigma, s2.sigma) == pytest.approx(ref, rel=1e-6)


def test_few_samples_of_many_dims_take_the_small_route() -> None:
    # like a dozen images' 2048-D Inception features (there the D x D route took ~18 s of CPU,
    # the N x N one a millisecond); 512 dims keep the D x D comparison quick
    s1, s2 = _pair(15, 12, 10, 512)
    assert s1.factor is not None and s1.factor.shape == (12, 512)
    fast = frechet_distance(s1, s2)
    slow = frechet_distance(GaussianStats(s1.mu, s1.sigma, s1.n), GaussianStats(s2.mu, s2.sigma, s2.n))
    assert fast == pytest.approx(slow, rel=1e-6)


def test_trace_sqrt_of_commuting_diagonals() -> None:
    # tr(sqrt(diag(a) diag(b))) = sum sqrt(a_i b_i): a worked example
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    assert trace_sqrt_product(np.diag(a), np.diag(b)) == pytest.approx(2 + 2 + 3)


def test_frechet_of_known_gaussians() -> None:
    # N(0, I) vs N(m, 4I) in d dims: |m|^2 + d + 4d - 2 * 2d = |m|^2 + d
    s1 = GaussianStats(np.zeros(3), np.eye(3), 10)
    s2 = GaussianStats(np.array([1.0, 2.0, 2.0]), 4 * np.eye(3), 10)
    assert frechet_distance(s1, s2) == pytest.approx(9 + 3)


def test_frechet_rank_deficient_is_finite_and_non_negative() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(12, 64))  # fewer samples than dims
    value = frechet_distance(gaussian_stats(x), gaussian_stats(y))
    assert np.isfinite(value) and value >= 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 12))
def test_frechet_properties(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(4 * d, d)), rng.normal(size=(4 * d, d)) * 2 + 1
    sx, sy = gaussian_stats(x), gaussian_stats(y)
    assert frechet_distance(sx, sx) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(sx, sy) == pytest.approx(frechet_distance(sy, sx), rel=1e-9)


def test_gaussian_stats_needs_two_rows() -> None:
    with pytest.raises(MetricError):
        gaussian_stats(np.ones((1, 4)))


def test_cosine_conventions() -> None:
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 1.0], [-1.0, 0.0], [3.0, 0.0]])
    assert cosine_rows(a, b) == pytest.approx([np.sqrt(0.5), -1.0, 1.0])
    assert cosine_score(a, b) == pytest.approx([100 * np.sqrt(0.5), -100.0, 100.0])
    # CLIPScore (Hessel et al.): 100 * 2.5 * max(cos, 0)
    assert cosine_score(a, b, w=2.5) == pytest.approx([250 * np.sqrt(0.5), 0.0, 250.0])


def test_temporal_consistency_worked_example() -> None:
    f = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # t=2: first 1, prev 1 -> 1; t=3: first 0, prev 0 -> 0; mean 0.5
    assert temporal_consistency(f) == pytest.approx(0.5)
    with pytest.raises(MetricError):
        temporal_consistency(f[:1])
