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

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` points uniformly on a triangle mesh's surface (area-weighted, fixed seed), the usual way
    mesh reconstructions are compared by Chamfer distance (ONet / ConvONet)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(f) == 0:
        return v
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if area.sum() <= 0:
        return v
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(f), size=n, p=area / area.sum())
    u, w = rng.random((2, n))
    flip = u + w > 1
    u[flip], w[flip] = 1 - u[flip], 1 - w[flip]
    t = tri[idx]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + w[:, None] * (t[:, 2] - t[:, 0])


def _points(x: Any, what: str, n_samples: int = 10000) -> np.ndarray:
    if hasattr(x, "vertices") and hasattr(x, "faces"):
        x = sample_surface(x.vertices, x.faces, n_samples)
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 3:
        raise MetricError(f"Chamfer: {what} must be an (N, 3) point array, got shape {a.shape}")
    a = a[:, :3]
    # Reference clouds may hold non-finite points (unmeasured): they are left out. A predicted one
    # never does (the registry fails such a prediction: metrics/failure.py).
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
    from scipy.spatial import cKDTree  # 0.5 s to import: paid by the tasks that use it only

    d_pr, _ = cKDTree(r).query(p, k=1)
    d_rp, _ = cKDTree(p).query(r, k=1)
    return _combine(d_pr, d_rp, squared, reduction)


def _combine(d_pr: np.ndarray, d_rp: np.ndarray, squared: bool, reduction: str) -> float:
    """The Chamfer distance from both directions' nearest-neighbour distances."""
    if squared:
        d_pr, d_rp = d_pr**2, d_rp**2
    a, b = float(d_pr.mean()), float(d_rp.mean())
    if reduction == "sum":
        return a + b
    if reduction == "mean":
        return (a + b) / 2
    raise MetricError(f"Chamfer: reduction must be 'sum' or 'mean', got {reduction!r}")


_BRUTE_PAIRS = 300_000
"""Up to this many point pairs (a 2.4 MB matrix) every distance is computed: about twice as fast
as building and querying two k-d trees for the few hundred points of a typical cloud."""


def chamfer_pair(p: np.ndarray, r: np.ndarray, squared: bool = True,
                 reduction: str = "sum") -> float:
    """`chamfer_single`, with small clouds compared pair by pair (scipy's cdist): the same
    squared distances, summed over the axes in the same order as cKDTree sums them, so the same
    nearest distances to the last bit (tests/metrics/test_pointclouds.py)."""
    if len(p) * len(r) > _BRUTE_PAIRS:
        return chamfer_single(p, r, squared, reduction)
    from scipy.spatial.distance import cdist

    d = cdist(p, r, "sqeuclidean")
    return _combine(np.sqrt(d.min(axis=1)), np.sqrt(d.min(axis=0)), squared, reduction)


@register("chamfer")
def chamfer(predictions: Sequence[Any], references: Sequence[Any], squared: bool = True,
            reduction: str = "sum", scale: float = 1.0, n_samples: int = 10000,
            **_: Any) -> MetricResult:
    """Mean Chamfer distance over instances (raw units, times `scale`).

    Meshes (objects with `vertices` and `faces`, as data.media.Mesh) are compared through
    `n_samples` points sampled uniformly on their surface with a fixed seed.

    A failed prediction never reaches this function: the registry's `empty` policy
    (specs.yaml) scores it as one point at the reference's centroid (a finite, poor value); an
    empty point list is scored the same way and counted in `details["empty"]`.
    """
    per = []
    empty = 0
    for pred, ref in zip(predictions, references, strict=True):
        r = _points(ref, "reference", n_samples)
        if not hasattr(pred, "faces") and np.asarray(pred).size == 0:
            p = r.mean(axis=0, keepdims=True)
            empty += 1
        else:
            p = _points(pred, "prediction", n_samples)
        per.append(scale * chamfer_pair(p, r, squared, reduction))
    return MetricResult(float(np.mean(per)), per,
                        {"squared": squared, "reduction": reduction, "scale": scale,
                         "empty": empty})
