"""Chamfer distance between point clouds (scipy cKDTree nearest neighbours).

The General-Bench 3-D generation tasks come from sources that state CD differently (squared or
not, sum or mean of the two directions, x1000 or not); the default here is the most common one
(PCN / PoinTr "CD-L2": mean squared nearest-neighbour distance, summed over both directions, raw),
and the options reproduce the others. docs/metrics.md lists what each task's SoTA value implies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register


def _points(x: Any, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 3:
        raise MetricError(f"Chamfer: {what} must be an (N, 3) point array, got shape {a.shape}")
    a = a[:, :3]
    a = a[np.isfinite(a).all(axis=1)]
    if len(a) == 0:
        raise MetricError(f"Chamfer: {what} has no finite points")
    return a


def chamfer_single(p: np.ndarray, r: np.ndarray, squared: bool = True,
                   reduction: str = "sum") -> float:
    """Chamfer distance of two (N, 3) arrays.

    d(P->R) = mean over p of min_r ||p - r|| (squared if `squared`), and d(R->P) likewise;
    reduction "sum" gives d(P->R) + d(R->P), "mean" gives their average.
    """
    d_pr, _ = cKDTree(r).query(p, k=1)
    d_rp, _ = cKDTree(p).query(r, k=1)
    if squared:
        d_pr, d_rp = d_pr**2, d_rp**2
    a, b = float(d_pr.mean()), float(d_rp.mean())
    if reduction == "sum":
        return a + b
    if reduction == "mean":
        return (a + b) / 2
    raise MetricError(f"Chamfer: reduction must be 'sum' or 'mean', got {reduction!r}")


@register("chamfer")
def chamfer(predictions: Sequence[Any], references: Sequence[Any], squared: bool = True,
            reduction: str = "sum", scale: float = 1.0, **_: Any) -> MetricResult:
    """Mean Chamfer distance over instances (raw units, times `scale`).

    A missing or empty prediction is scored as the trivial prediction, one point at the
    reference's centroid (a finite, poor value), and counted in `details["missing"]`.
    """
    per = []
    missing = 0
    for pred, ref in zip(predictions, references, strict=True):
        r = _points(ref, "reference")
        if pred is None or np.asarray(pred).size == 0:
            p = r.mean(axis=0, keepdims=True)
            missing += 1
        else:
            p = _points(pred, "prediction")
        per.append(scale * chamfer_single(p, r, squared, reduction))
    return MetricResult(float(np.mean(per)) if per else 0.0, per,
                        {"squared": squared, "reduction": reduction, "scale": scale,
                         "missing": missing})
