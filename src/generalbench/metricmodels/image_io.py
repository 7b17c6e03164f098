"""Bringing images to what a metric model expects: H x W x 3 uint8 arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError


def rgb_images(items: Sequence[Any]) -> list[np.ndarray]:
    """Each image as a contiguous H x W x 3 uint8 array (grey is repeated, alpha dropped)."""
    out = []
    for im in items:
        arr = np.asarray(im)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise MetricError(f"expected an H x W x 3 image, got an array of shape {arr.shape}")
        out.append(np.ascontiguousarray(arr[:, :, :3].astype(np.uint8)))
    return out
