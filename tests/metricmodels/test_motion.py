"""Model-free video dimensions: flow estimate, dynamic degree rule, temporal flicker, renders."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from generalbench.metricmodels import motion
from generalbench.metricmodels.render import render_pointcloud_views


def texture(h: int = 96, w: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.uniform(0, 255, size=(h, w)), 2.0)
    img = (img - img.min()) / np.ptp(img) * 255
    return np.repeat(img[:, :, None], 3, axis=2)


@pytest.mark.parametrize("dx,dy", [(3, -2), (-1, 4), (0, 0)])
def test_lucas_kanade_recovers_a_translation(dx: int, dy: int) -> None:
    f0 = texture()
    f1 = np.roll(f0, shift=(dy, dx), axis=(0, 1))  # content moves by (+dx, +dy)
    flow = motion.lucas_kanade_flow(f0, f1)
    inner = flow[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(dx, abs=0.25)
    assert np.median(inner[..., 1]) == pytest.approx(dy, abs=0.25)


def test_dynamic_degree_rule() -> None:
    base = texture(128, 128)
    static = np.stack([base] * 16).astype(np.uint8)
    moving = np.stack([np.roll(base, 5 * t, axis=1) for t in range(16)]).astype(np.uint8)
    assert not motion.is_dynamic(static)
    assert motion.is_dynamic(moving)


def test_temporal_flicker_matches_vbench_formula() -> None:
    v = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    v[1] = 51  # |diff| = 51 then 51 -> mean 51 -> (255 - 51) / 255 = 0.8
    assert motion.temporal_flicker(v) == pytest.approx(0.8)
    assert motion.temporal_flicker(np.stack([texture()] * 4)) == pytest.approx(1.0)


def test_pointcloud_renders_differ_by_view() -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(2000, 3)) * np.array([1.0, 0.2, 0.5])  # a flat, elongated blob
    views = render_pointcloud_views(pts, size=64)
    assert views.shape == (4, 64, 64, 3) and views.dtype == np.uint8
    assert (views < 255).any(axis=-1).sum() > 100  # points drawn
    assert not np.array_equal(views[0], views[1])
