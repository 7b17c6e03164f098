"""The shortcuts taken for the common case give the very same floats as the general code:
EPE with every reference pixel valid, video mIoU with every frame present and of one shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics.dense import epe
from generalbench.metrics.masks import VideoMiouStream


def _epe_general(p: np.ndarray, r: np.ndarray) -> float:
    valid = np.isfinite(r).all(axis=-1)
    return float(np.linalg.norm(p[valid] - r[valid], axis=-1).mean())


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40), st.booleans())
def test_epe_all_valid_is_bit_identical(seed, h, w, fortran):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(h, w, 2)) * 10 ** rng.uniform(-3, 3)
    p = r + rng.normal(size=(h, w, 2))
    if fortran:
        p, r = np.asfortranarray(p), np.asfortranarray(r)
    assert epe([p], [r]).per_instance[0] == _epe_general(p, r)


def _video_general(ref, pred, ignore):
    inter = union = 0
    for t, g in enumerate(ref):
        valid = g != ignore
        gm = (g != 0) & valid
        pm = (pred[t] != 0) & valid if t < len(pred) else np.zeros_like(gm)
        inter += int(np.count_nonzero(gm & pm))
        union += int(np.count_nonzero(gm | pm))
    return 100.0 * inter / union if union else 100.0


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(0, 2))
def test_video_miou_stacked_frames_match_the_per_frame_sums(seed, frames, extra):
    rng = np.random.default_rng(seed)
    ref = [rng.choice([0, 1, 2, 255], size=(7, 9)).astype(np.int64) for _ in range(frames)]
    pred = [rng.choice([0, 1, 255], size=(7, 9)).astype(np.int64) for _ in range(frames + extra)]
    assert VideoMiouStream(255).add(pred, ref) == _video_general(ref, pred, 255)
    short = pred[:frames - 1]  # a missing frame: the per-frame path
    assert VideoMiouStream(255).add(short, ref) == _video_general(ref, short, 255)
