"""Model-free video dimensions: a dense optical-flow estimate, dynamic degree, temporal flicker.

VBench's dynamic degree runs RAFT (metricmodels/raft.py, the default of flow_score). The pyramidal
Lucas-Kanade estimate here (numpy/scipy) is a model-free approximation that flow_score uses only
when asked for (flow="lucas-kanade"); the decision rule on top of it is VBench's
(metricmodels/dynamic_degree.py). LK underestimates large motions compared with RAFT.
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


def pair_flows(frames: np.ndarray) -> list[np.ndarray]:
    """Lucas-Kanade flow of each consecutive pair, 2 x H x W ((dx, dy) first, as RAFT's)."""
    return [lucas_kanade_flow(a, b).transpose(2, 0, 1) for a, b in zip(frames[:-1], frames[1:], strict=True)]


def is_dynamic(video: np.ndarray) -> bool:
    """VBench's dynamic-degree decision for one video (T x H x W x C, every frame kept) on LK flow."""
    from generalbench.metricmodels.dynamic_degree import dynamic_degree

    v = np.asarray(video)
    if v.ndim < 3 or v.shape[0] < 2:
        raise MetricError(f"dynamic degree needs a video of at least 2 frames, got shape {v.shape}")
    return dynamic_degree(v, pair_flows).dynamic


def temporal_flicker(video: np.ndarray) -> float:
    """VBench temporal flickering of one video in [0, 1] (1 = no change between frames)."""
    v = np.asarray(video, dtype=np.float64)
    if v.ndim < 3 or v.shape[0] < 2:
        raise MetricError(f"temporal flicker needs a video of at least 2 frames, got shape {v.shape}")
    diffs = np.abs(np.diff(v, axis=0)).reshape(v.shape[0] - 1, -1).mean(axis=1)
    return float((255.0 - diffs.mean()) / 255.0)
