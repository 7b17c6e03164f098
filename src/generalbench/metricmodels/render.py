"""Rendering point clouds (and mesh vertices) to images so CLIP can score 3D generations.

Text/image-to-3D papers compute CLIP scores on renders of the generated shape from several views.
This renderer is deliberately simple and deterministic: orthographic projection from four
azimuths at 20 degrees elevation, points splatted with a z-buffer and shaded by depth, on white.
"""

from __future__ import annotations

import numpy as np

from generalbench.errors import MetricError


def _rotation(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    a, e = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    return rx @ ry


def render_pointcloud_views(points: np.ndarray, *, size: int = 224,
                            azimuths: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0),
                            elevation: float = 20.0) -> np.ndarray:
    """Views x size x size x 3 uint8 renders of an (N, 3) point cloud (y up)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise MetricError(f"expected an (N, 3) point cloud, got shape {pts.shape}")
    pts = pts - pts.mean(axis=0)
    scale = np.abs(pts).max() or 1.0
    pts = pts / scale
    radius = max(1, size // 128)
    views = []
    for az in azimuths:
        p = pts @ _rotation(az, elevation).T
        x = np.clip(((p[:, 0] + 1) / 2 * (size - 1)).round().astype(int), 0, size - 1)
        y = np.clip(((1 - (p[:, 1] + 1) / 2) * (size - 1)).round().astype(int), 0, size - 1)
        depth = p[:, 2]
        img = np.full((size, size, 3), 255, dtype=np.uint8)
        shade = (60 + 150 * (depth - depth.min()) / (np.ptp(depth) or 1.0)).astype(np.uint8)
        order = np.argsort(-depth, kind="stable")  # far first: nearer points are written last
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                yy, xx = np.clip(y + dy, 0, size - 1), np.clip(x + dx, 0, size - 1)
                flat = np.full(size * size, -1, dtype=np.int64)
                flat[(yy * size + xx)[order]] = order  # last write (nearest point) wins
                hit = flat >= 0
                img.reshape(-1, 3)[hit] = shade[flat[hit]][:, None]
        views.append(img)
    return np.stack(views)
