"""Properties of the media generators for any seed: shapes stay in frame and apart, moving
objects stay inside the video, primitives lie on their surfaces."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.data.minibench.images import SIZE, scene
from generalbench.data.minibench.points import PRIMITIVES, sample_surface
from generalbench.data.minibench.video import FRAMES, _moving_square
from generalbench.data.minibench.video import SIZE as VSIZE

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, count=st.integers(1, 4))
def test_scene_objects_are_disjoint_and_boxed(seed, count):
    image, objs = scene(np.random.default_rng(seed), count)
    assert image.shape == (SIZE, SIZE, 3)
    assert 1 <= len(objs) <= count
    union = np.zeros((SIZE, SIZE), dtype=int)
    for o in objs:
        union += o["mask"]
        x, y, w, h = o["bbox"]
        assert 0 <= x and 0 <= y and x + w <= SIZE and y + h <= SIZE
        ys, xs = np.nonzero(o["mask"])
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)
    assert union.max() == 1


@settings(max_examples=40, deadline=None)
@given(seed=seeds, static=st.booleans())
def test_moving_square_stays_in_frame(seed, static):
    video, masks, boxes, (vx, vy) = _moving_square(np.random.default_rng(seed), static=static)
    assert video.shape == (FRAMES, VSIZE, VSIZE, 3)
    assert (vx, vy) == (0, 0) if static else (vx, vy) != (0, 0)
    side = boxes[0][2]
    for t, (x, y, w, h) in enumerate(boxes):
        assert 0 <= x and 0 <= y and x + w <= VSIZE and y + h <= VSIZE
        assert masks[t].sum() == side * side
        assert (x, y) == (boxes[0][0] + vx * t, boxes[0][1] + vy * t)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, kind=st.sampled_from(PRIMITIVES))
def test_primitives_lie_on_their_surface(seed, kind):
    p = sample_surface(kind, 256, np.random.default_rng(seed))
    if kind == "sphere":
        assert np.allclose(np.linalg.norm(p, axis=1), 0.5)
    elif kind == "cube":
        assert np.allclose(np.abs(p).max(axis=1), 0.5)
    else:
        r = np.hypot(p[:, 0], p[:, 1])
        expected = 0.4 if kind == "cylinder" else 0.4 * (0.5 - p[:, 2])
        assert np.allclose(r, expected) and np.all(np.abs(p[:, 2]) <= 0.5)
