"""Chamfer distance against a brute-force scipy cdist computation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist

from generalbench.errors import MetricError
from generalbench.metrics import registry


def _brute(p, r, squared=True, reduction="sum"):
    d = cdist(p, r)
    if squared:
        d = d**2
    a, b = d.min(1).mean(), d.min(0).mean()
    return a + b if reduction == "sum" else (a + b) / 2


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("squared", "reduction"), [(True, "sum"), (False, "mean"), (False, "sum")])
def test_chamfer_matches_brute_force(seed, squared, reduction):
    rng = np.random.default_rng(seed)
    preds = [rng.normal(size=(rng.integers(50, 200), 3)) for _ in range(3)]
    refs = [rng.normal(size=(rng.integers(50, 200), 3)) for _ in range(3)]
    res = registry.compute_detailed("chamfer", preds, refs, squared=squared, reduction=reduction)
    expected = [_brute(p, r, squared, reduction) for p, r in zip(preds, refs, strict=True)]
    assert res.per_instance == pytest.approx(expected)
    assert res.value == pytest.approx(np.mean(expected))


points = arrays(np.float64, st.tuples(st.integers(1, 20), st.just(3)),
                elements=st.floats(-10, 10, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(points, points)
def test_chamfer_symmetric_nonnegative_zero_on_self(a, b):
    ab = registry.compute("chamfer", [a], [b])
    assert ab == pytest.approx(registry.compute("chamfer", [b], [a]))
    assert ab >= 0
    assert registry.compute("chamfer", [a], [a]) == 0.0


def test_chamfer_missing_prediction_is_the_centroid():
    ref = np.array([[0.0, 0, 0], [2, 0, 0]])
    res = registry.compute_detailed("chamfer", [None], [ref])
    # centroid (1,0,0): P->R = 1, R->P = mean(1, 1) = 1 -> 2
    assert res.value == pytest.approx(2.0)
    assert res.failed == 1  # the registry's `empty` policy: one point at the reference centroid
    with pytest.raises(MetricError):
        registry.compute("chamfer", [np.zeros((3, 2))], [ref])


def test_chamfer_on_meshes_samples_the_surface():
    from generalbench.data.media import Mesh
    from generalbench.metrics.pointclouds import sample_surface

    # Unit square in the z=0 plane as two triangles; samples must lie on it, uniformly.
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    f = np.array([[0, 1, 2], [0, 2, 3]])
    pts = sample_surface(v, f, 4000)
    assert np.all((pts >= -1e-12) & (pts <= 1 + 1e-12)) and np.all(pts[:, 2] == 0)
    assert pts[:, :2].mean(0) == pytest.approx([0.5, 0.5], abs=0.03)
    mesh = Mesh(v, f)
    assert registry.compute("chamfer", [mesh], [mesh]) == 0.0
    lifted = Mesh(v + [0, 0, 0.1], f)
    # Parallel planes 0.1 apart: squared distance 0.01 each way (plus a little edge effect).
    assert registry.compute("chamfer", [lifted], [mesh]) == pytest.approx(0.02, rel=0.05)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 300), st.floats(-8, 8),
       st.floats(-8, 4), st.booleans(), st.sampled_from(["sum", "mean"]))
def test_pairwise_chamfer_is_bit_identical_to_the_kd_trees(seed, n, m, log_offset, log_scale,
                                                           squared, reduction):
    """Small clouds take cdist instead of two k-d trees: the same floats, ties and duplicated
    points included (offsets up to 1e8 against spreads down to 1e-8)."""
    from generalbench.metrics.pointclouds import chamfer_pair, chamfer_single

    rng = np.random.default_rng(seed)
    p = 10**log_offset + 10**log_scale * rng.normal(size=(n, 3))
    r = 10**log_offset + 10**log_scale * rng.normal(size=(m, 3))
    if rng.random() < 0.3:  # exact duplicates and ties
        r[: min(n, m) // 2] = p[: min(n, m) // 2]
        p = np.round(p, 1)
    assert chamfer_pair(p, r, squared, reduction) == chamfer_single(p, r, squared, reduction)
