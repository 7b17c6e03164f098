"""The shortcuts taken for the common case give the very same floats as the general code:
EPE with every reference pixel valid, video mIoU with every frame present and of one shape; and
absRel's closed-form scale/shift fit agrees with np.linalg.lstsq (and is never less accurate)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics.dense import absrel, epe, fit_scale_shift
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
    p32, r32 = p.astype(np.float32), r.astype(np.float32)  # flow files hold float32
    assert epe([p32], [r32]).per_instance[0] == _epe_general(p32.astype(float), r32.astype(float))


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


def _lstsq_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    (s, t), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)
    return s * x + t


def _exact_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The least-squares fitted values in exact rational arithmetic (rounded once at the end)."""
    from fractions import Fraction

    xs, ys = [Fraction(v) for v in x.tolist()], [Fraction(v) for v in y.tolist()]
    xm, ym = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((a - xm) ** 2 for a in xs)
    if sxx == 0:
        return None
    s = sum((a - xm) * (b - ym) for a, b in zip(xs, ys, strict=True)) / sxx
    return np.array([float(s * (a - xm) + ym) for a in xs])


_fit_inputs = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 400), st.floats(-6, 6),
                        st.floats(-9, 3), st.floats(-6, 1), st.booleans())


def _draw_fit(seed, n, log_offset, log_spread, log_noise, negative):
    """x: an offset plus a spread (the design is ill-conditioned when the spread is small
    against the offset: condition numbers up to ~1e15); y: a noisy affine function of x."""
    rng = np.random.default_rng(seed)
    x = (-1 if negative else 1) * 10**log_offset + 10**log_spread * rng.normal(size=n)
    y = rng.uniform(-3, 3) * x + rng.uniform(-5, 5) + 10**log_noise * rng.normal(size=n)
    return x, y


@settings(deadline=None, max_examples=300)
@given(_fit_inputs)
def test_closed_form_scale_shift_agrees_with_lstsq(args):
    x, y = _draw_fit(*args)
    ours = fit_scale_shift(x, y)
    fitted, theirs = ours[0] * x + ours[1], _lstsq_fit(x, y)
    scale = np.max(np.abs(theirs))
    cond = (abs(x.mean()) + x.std() + 1) / max(x.std(), 1e-300)  # ~ the design's conditioning
    assert np.max(np.abs(fitted - theirs)) <= 1e-13 * max(cond, 10) * scale


@settings(deadline=None, max_examples=60)
@given(_fit_inputs.filter(lambda a: a[1] <= 60))
def test_closed_form_scale_shift_is_never_less_accurate_than_lstsq(args):
    x, y = _draw_fit(*args)
    exact = _exact_fit(x, y)
    if exact is None:
        return
    s, t = fit_scale_shift(x, y)
    scale = np.max(np.abs(exact))
    ours = np.max(np.abs(s * x + t - exact)) / scale
    theirs = np.max(np.abs(_lstsq_fit(x, y) - exact)) / scale
    assert ours <= 4 * theirs + 1e-15


@pytest.mark.parametrize("c", [0.0, 2.5, -1e6])
def test_constant_prediction_is_solved_by_lstsq_itself(c):
    """A failed prediction is the all-zero map: rank-deficient, lstsq's minimum-norm answer."""
    x = np.full(50, c)
    y = np.linspace(0.1, 2.0, 50)
    s, t = fit_scale_shift(x, y)
    (s2, t2), *_ = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)
    assert (s, t) == (float(s2), float(t2))


def _absrel_lstsq(p, r, lo=1e-3, hi=80.0):
    """absRel as it was computed with np.linalg.lstsq on whole maps (the oracle)."""
    d = np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0), np.inf)
    v = np.isfinite(d) & (d > lo) & (d < hi)
    if v.sum() < 2:
        return None
    (s, t), *_ = np.linalg.lstsq(np.stack([p[v], np.ones(v.sum())], axis=1), r[v], rcond=None)
    dep = np.clip(1.0 / np.clip(s * p + t, 1 / hi, 1 / lo), lo, hi)
    return float(np.mean(np.abs(dep[v] - d[v]) / d[v]))


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 12))
def test_absrel_agrees_with_the_lstsq_computation(seed, frames, side):
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0.005, 2.0, (frames, side, side))
    ref[rng.random(ref.shape) < 0.1] = rng.choice([0.0, -1.0, np.nan, np.inf, 1e-5, 2000.0])
    pred = rng.uniform(0.1, 3) * ref + rng.normal(0, 0.05, ref.shape)
    pred = np.nan_to_num(pred, nan=0.5, posinf=1.0, neginf=0.0)
    got, want = absrel([pred], [ref]).per_instance[0], _absrel_lstsq(pred, ref)
    assert (got is None) == (want is None)
    if want is not None:
        assert got == pytest.approx(want, rel=1e-11, abs=1e-15)
