"""Model-free video dimensions: a dense optical-flow estimate, dynamic degree, temporal flicker.

VBench's dynamic degree runs RAFT; RAFT weights are not available here, so the flow comes from a
pyramidal Lucas-Kanade estimate (numpy/scipy). The decision rule on top of the flow is VBench's:
per frame pair, the mean of the top 5% flow magnitudes; a video is dynamic when at least
round(4 * T / 16) pairs exceed 6 * min(H, W) / 256 pixels (the last two pairs are not counted).
Because LK underestimates large motions compared with RAFT, flow_score is documented as an
approximation of VBench dynamic degree (docs/metrics.md).
Temporal flicker is exactly VBench's: (255 - mean |frame_t+1 - frame_t|) / 255.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from generalbench.errors import MetricError


def to_gray(frame: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as float64 in [0, 255]."""
    f = np.asarray(frame, dtype=np.float64)
    if f.ndim == 2:
        return f
    return f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114


def _pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    pyr = [img]
    for _ in range(levels - 1):
        if min(pyr[-1].shape) < 16:
            break
        pyr.append(ndimage.gaussian_filter(pyr[-1], 1.0)[::2, ::2])
    return pyr[::-1]  # coarsest first


def lucas_kanade_flow(frame0: np.ndarray, frame1: np.ndarray, *, levels: int = 4,
                      window: int = 9, iterations: int = 3) -> np.ndarray:
    """Dense flow H x W x 2 (dx, dy) such that frame1(x + flow) ~ frame0(x)."""
    g0 = ndimage.gaussian_filter(to_gray(frame0), 0.8)
    g1 = ndimage.gaussian_filter(to_gray(frame1), 0.8)
    if g0.shape != g1.shape:
        raise MetricError(f"frames differ in size: {g0.shape} vs {g1.shape}")
    p0, p1 = _pyramid(g0, levels), _pyramid(g1, levels)
    u = np.zeros_like(p0[0])
    v = np.zeros_like(p0[0])
    for level, (i0, i1) in enumerate(zip(p0, p1, strict=True)):
        if level:
            zy, zx = i0.shape[0] / u.shape[0], i0.shape[1] / u.shape[1]
            u = ndimage.zoom(u, (zy, zx), order=1)[: i0.shape[0], : i0.shape[1]] * zx
            v = ndimage.zoom(v, (zy, zx), order=1)[: i0.shape[0], : i0.shape[1]] * zy
        yy, xx = np.mgrid[0:i0.shape[0], 0:i0.shape[1]].astype(np.float64)
        for _ in range(iterations):
            warped = ndimage.map_coordinates(i1, [yy + v, xx + u], order=1, mode="nearest")
            iy, ix = np.gradient((i0 + warped) / 2.0)
            it = warped - i0
            sxx = ndimage.uniform_filter(ix * ix, window)
            syy = ndimage.uniform_filter(iy * iy, window)
            sxy = ndimage.uniform_filter(ix * iy, window)
            sxt = ndimage.uniform_filter(ix * it, window)
            syt = ndimage.uniform_filter(iy * it, window)
            det = sxx * syy - sxy * sxy
            ok = det > 1e-6
            safe = np.where(ok, det, 1.0)
            u = u + np.where(ok, (-sxt * syy + syt * sxy) / safe, 0.0)
            v = v + np.where(ok, (-syt * sxx + sxt * sxy) / safe, 0.0)
    return np.stack([u, v], axis=-1)


def pair_motion(frame0: np.ndarray, frame1: np.ndarray) -> float:
    """VBench's per-pair motion: mean of the top 5% flow magnitudes."""
    flow = lucas_kanade_flow(frame0, frame1)
    mag = np.hypot(flow[..., 0], flow[..., 1]).ravel()
    k = max(1, int(mag.size * 0.05))
    return float(np.mean(np.partition(mag, -k)[-k:]))


def is_dynamic(video: np.ndarray) -> bool:
    """VBench dynamic-degree decision for one video (T x H x W x C)."""
    v = np.asarray(video)
    if v.ndim < 3 or v.shape[0] < 2:
        raise MetricError(f"dynamic degree needs a video of at least 2 frames, got shape {v.shape}")
    scores = [pair_motion(v[t], v[t + 1]) for t in range(v.shape[0] - 1)]
    threshold = 6.0 * min(v.shape[1], v.shape[2]) / 256.0
    needed = max(1, round(4 * v.shape[0] / 16.0))
    return sum(s > threshold for s in scores[:-2] or scores) >= needed


def temporal_flicker(video: np.ndarray) -> float:
    """VBench temporal flickering of one video in [0, 1] (1 = no change between frames)."""
    v = np.asarray(video, dtype=np.float64)
    if v.ndim < 3 or v.shape[0] < 2:
        raise MetricError(f"temporal flicker needs a video of at least 2 frames, got shape {v.shape}")
    diffs = np.abs(np.diff(v, axis=0)).reshape(v.shape[0] - 1, -1).mean(axis=1)
    return float((255.0 - diffs.mean()) / 255.0)
