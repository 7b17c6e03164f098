"""Dense prediction: depth RMS, video-depth absRel (scale+shift aligned), optical-flow EPE and
surface-normal angular RMSE.

Each is a per-instance mean over valid pixels (or points), then a mean over instances; which
pixels are valid and why is written in docs/metrics.md. Validity is a property of the reference
only: a prediction holding NaN or infinity never gets here (the registry's failure policy,
metrics/failure.py, scores it as the all-zero map of the `empty` policy), so no predicted pixel
is ever left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register


def _shape_check(p: np.ndarray, r: np.ndarray, metric: str) -> None:
    if p.shape != r.shape:
        raise MetricError(f"{metric}: prediction shape {p.shape} differs from reference {r.shape}")


def _mean(per: list[float | None]) -> float:
    """Mean over the instances that count; `per_instance` keeps None for the others so that it
    stays aligned with the inputs. None counting is NaN: the registry reports "no instance could be
    scored", never a perfect 0."""
    vals = [v for v in per if v is not None]
    return float(np.mean(vals)) if vals else math.nan


@register("rms_depth")
def rms_depth(predictions: Sequence[Any], references: Sequence[Any], scale: float = 1.0,
              min_depth: float = 0.0, max_depth: float = float("inf"), **_: Any) -> MetricResult:
    """Per image sqrt(mean (d_pred - d_ref)^2) over reference pixels with min < d < max and finite,
    times `scale`, mean over images (Eigen et al. protocol). The unit is the references' unit
    times `scale` (the catalog's indoor SoTA 36.4 is NYU-v2 RMS in centimetres)."""
    per: list[float | None] = []
    for pred, ref in zip(predictions, references, strict=True):
        r = np.asarray(ref, dtype=np.float64)
        p = np.asarray(pred, dtype=np.float64)
        _shape_check(p, r, "RMS")
        valid = np.isfinite(r) & (r > min_depth) & (r < max_depth)
        if not valid.any():
            per.append(None)
            continue
        per.append(float(np.sqrt(np.mean((p[valid] - r[valid]) ** 2)) * scale))
    return MetricResult(_mean(per), per)


def align_scale_shift(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Least-squares s, t minimising sum over mask (s * pred + t - target)^2; returns s*pred + t."""
    s, t = fit_scale_shift(pred[mask], target[mask])
    return s * pred + t


_LSTSQ_MARGIN = 1e3
"""How far above lstsq's rank cutoff the closed form is used (see fit_scale_shift)."""


def fit_scale_shift(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares (s, t) of y ~ s * x + t over 1-D arrays: what np.linalg.lstsq([x, 1], y)
    solves, in closed form on mean-removed data (s = sum dx dy / sum dx^2, t = mean y - s mean x).

    Centring keeps the sums free of the cancellation the raw normal equations suffer, so the two
    agree to ~1e-12 relative (tests/metrics/test_dense_fast_paths.py, ill-conditioned inputs
    included) at a tenth of lstsq's cost (an SVD and its workspace per video). Where lstsq would
    call the design rank-deficient (x constant, or constant to ~12 digits: a failed prediction's
    all-zero map), or near that cutoff, lstsq itself answers, with its minimum-norm solution.
    """
    n = x.size
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    sxx = float(np.add.reduce(dx * dx))  # pairwise sums, not BLAS: no thread start-up per video
    # Singular values of [x, 1]: their squares are the eigenvalues of [[sxx + n xm^2, n xm],
    # [n xm, n]], whose product is n * sxx and whose sum is the trace.
    trace = sxx + n * xm * xm + n
    big = trace / 2 + math.sqrt(max(trace * trace / 4 - n * sxx, 0.0))
    cutoff = np.finfo(np.float64).eps * max(n, 2) * _LSTSQ_MARGIN
    if not (sxx > 0 and math.isfinite(big) and n * sxx / big > (cutoff * cutoff) * big):
        a = np.stack([x, np.ones_like(x)], axis=1)
        (s, t), *_ = np.linalg.lstsq(a, y, rcond=None)
        return float(s), float(t)
    s = float(np.add.reduce(dx * (y - ym))) / sxx
    return s, ym - s * xm


@register("absrel")
def absrel(predictions: Sequence[Any], references: Sequence[Any], min_depth: float = 1e-3,
           max_depth: float = 80.0, **_: Any) -> MetricResult:
    """Video depth absRel after per-video least-squares scale+shift alignment in disparity.

    Predictions and references are disparity videos (T x H x W, or T x 1 x H x W as the official
    .npz files). Valid pixels: reference depth (1 / disparity) in (min_depth, max_depth). The
    predicted disparity is aligned to the reference disparity on the valid pixels of the whole
    video, turned into depth, clipped to [min_depth, max_depth]; absRel = mean |d - d*| / d*
    over valid pixels; mean over videos (raw, not x100). Only the valid pixels are ever
    aligned and compared (each one's value is what the whole-map arithmetic gives it).
    """
    per: list[float | None] = []
    lo, hi = 1.0 / max_depth, 1.0 / min_depth
    for pred, ref in zip(predictions, references, strict=True):
        r = np.squeeze(np.asarray(ref, dtype=np.float64))
        # A failed prediction arrives as the registry's all-zero map (a constant one: after
        # alignment it predicts the mean disparity).
        p = np.squeeze(np.asarray(pred, dtype=np.float64))
        _shape_check(p, r, "absRel")
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / r  # the reference depth where r > 0 (NaN compares False below)
        valid = r > 0
        valid &= inv > min_depth
        valid &= inv < max_depth
        y = r[valid]
        if y.size < 2:
            per.append(None)
            continue
        x, gt_depth = p[valid], inv[valid]
        s, t = fit_scale_shift(x, y)
        aligned = np.clip(s * x + t, lo, hi)
        depth = np.clip(1.0 / aligned, min_depth, max_depth)
        per.append(float(np.mean(np.abs(depth - gt_depth) / gt_depth)))
    return MetricResult(_mean(per), per)


@register("epe")
def epe(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean end-point error: per pixel ||f_pred - f_ref||_2 over pixels with a finite reference
    flow (H x W x 2), mean per instance, then over instances. A failed prediction is zero flow
    (the `empty` policy)."""
    per: list[float | None] = []
    for pred, ref in zip(predictions, references, strict=True):
        r, p = np.asarray(ref), np.asarray(pred)
        if r.dtype.kind not in "fiu" or p.dtype.kind not in "fiu":
            r, p = np.asarray(r, dtype=np.float64), np.asarray(p, dtype=np.float64)
        _shape_check(p, r, "EPE")
        if r.shape[-1] != 2:
            raise MetricError(f"EPE: flow must be H x W x 2, got {r.shape}")
        if np.isfinite(r).all():
            # The common case, with no reduction along the length-2 axis (numpy's slowest
            # shape): sqrt(du^2 + dv^2) is what np.linalg.norm(axis=-1) computes, in the same
            # order, and float32 flow is widened inside the subtraction (the same values).
            d = np.subtract(p, r, dtype=np.float64)
            du, dv = d[..., 0], d[..., 1]
            per.append(float(np.sqrt(du * du + dv * dv).ravel().mean()))
            continue
        r = np.asarray(r, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        valid = np.isfinite(r).all(axis=-1)
        if not valid.any():
            per.append(None)
            continue
        per.append(float(np.linalg.norm(p[valid] - r[valid], axis=-1).mean()))
    return MetricResult(_mean(per), per)


@register("normal_rmse")
def normal_rmse(predictions: Sequence[Any], references: Sequence[Any], oriented: bool = False,
                **_: Any) -> MetricResult:
    """Angular RMSE in degrees of unit normals ((N, 3) or H x W x 3), per shape then mean (PCPNet).

    Unoriented by default, as PCPNet reports it: the angle uses |cos|, so a flipped normal is
    not an error. Zero-length reference normals are skipped; a zero-length prediction is 90 deg.
    """
    per: list[float | None] = []
    for pred, ref in zip(predictions, references, strict=True):
        r = np.asarray(ref, dtype=np.float64).reshape(-1, 3)
        p = np.asarray(pred, dtype=np.float64).reshape(-1, 3)
        _shape_check(p, r, "normal RMSE")
        rn = np.linalg.norm(r, axis=1)
        pn = np.linalg.norm(p, axis=1)
        valid = rn > 0
        if not valid.any():
            per.append(None)
            continue
        cos = np.zeros(valid.sum())
        ok = pn[valid] > 0
        cos[ok] = (np.einsum("ij,ij->i", p[valid][ok], r[valid][ok])
                   / (pn[valid][ok] * rn[valid][ok]))
        if not oriented:
            cos = np.abs(cos)
        ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        per.append(float(np.sqrt(np.mean(ang**2))))
    return MetricResult(_mean(per), per)
