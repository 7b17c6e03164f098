"""Pure numeric cores of feature-based metrics: Gaussian statistics, Frechet distance, cosines.

Frechet distance between N(mu1, S1) and N(mu2, S2):
    |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
The trace term is never computed through scipy.linalg.sqrtm of the non-symmetric product S1 S2
(complex parts, singular-matrix failures on rank-deficient covariances, and D^3 work several
times over). For PSD S1, S2 the eigenvalues of S1 S2 are real and non-negative, and the trace is
the sum of their square roots, taken from a symmetric matrix with the same non-zero eigenvalues:
- few samples (N < D, the usual case of a task's generated set): S1 = A^T A with A the centred
  features / sqrt(N1 - 1) (N1 x D), likewise S2 = B^T B, so S1 S2 has the non-zero eigenvalues of
  (A B^T)(A B^T)^T and the trace is the nuclear norm of the N1 x N2 matrix A B^T: N1 N2 D work
  instead of D^3 (2048-D Inception features: milliseconds instead of tens of seconds). With one
  factor only (reference statistics from an old cache), eigvalsh(A S2 A^T), N1 x N1.
- otherwise, with C = S1^(1/2) from an eigendecomposition, S1 S2 is similar to C S2 C, which is
  symmetric PSD: sum(sqrt(eigvalsh(C S2 C))).
Each agrees with the sqrtm result where that is well-defined (tests/metricmodels/test_featmath.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generalbench.errors import MetricError


@dataclass(frozen=True)
class GaussianStats:
    """Mean and covariance of a feature set (covariance with ddof=1, as pytorch-fid)."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    factor: np.ndarray | None = None
    """A with sigma = A^T A (the centred features / sqrt(n - 1), n x D), kept when n < D: the
    Frechet distance then works on n x n matrices (see the module docstring)."""


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Statistics of an N x D feature matrix (N >= 2)."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise MetricError(f"Frechet statistics need at least 2 feature vectors, got shape {feats.shape}")
    n, d = feats.shape
    mu = feats.mean(axis=0)
    factor = (feats - mu) / np.sqrt(n - 1) if n < d else None
    return GaussianStats(mu, np.cov(feats, rowvar=False), n, factor)


def _psd_sqrt(mat: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((mat + mat.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((sigma1 sigma2)^(1/2)) for symmetric PSD matrices, via a symmetric eigenproblem."""
    a = _psd_sqrt(np.asarray(sigma1, dtype=np.float64))
    m = a @ np.asarray(sigma2, dtype=np.float64) @ a
    return _sqrt_sum(np.linalg.eigvalsh((m + m.T) / 2))


def _sqrt_sum(eigenvalues: np.ndarray) -> float:
    """Sum of square roots of a PSD matrix's eigenvalues (rounding's tiny negatives count 0)."""
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def trace_sqrt_stats(s1: GaussianStats, s2: GaussianStats) -> float:
    """tr((sigma1 sigma2)^(1/2)) by the cheapest exact route the statistics allow (module docstring)."""
    a, b = s1.factor, s2.factor
    if a is not None and b is not None:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    if a is None and b is not None:
        a, other = b, s1.sigma  # the trace is symmetric in the two covariances
    elif a is not None:
        other = s2.sigma
    else:
        return trace_sqrt_product(s1.sigma, s2.sigma)
    m = a @ np.asarray(other, dtype=np.float64) @ a.T
    return _sqrt_sum(np.linalg.eigvalsh((m + m.T) / 2))


def frechet_distance(s1: GaussianStats, s2: GaussianStats) -> float:
    """Frechet distance between two Gaussians fitted to feature sets (>= 0)."""
    if s1.mu.shape != s2.mu.shape:
        raise MetricError(f"feature dimensions differ: {s1.mu.shape} vs {s2.mu.shape}")
    diff = s1.mu - s2.mu
    value = float(diff @ diff + np.trace(s1.sigma) + np.trace(s2.sigma)
                  - 2.0 * trace_sqrt_stats(s1, s2))
    return max(value, 0.0)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two N x D arrays (inputs need not be normalised)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=-1)
    nb = np.linalg.norm(b, axis=-1)
    return (a * b).sum(axis=-1) / np.maximum(na * nb, 1e-12)


def cosine_score(a: np.ndarray, b: np.ndarray, *, w: float | None = None) -> np.ndarray:
    """Similarity in percent.

    w=None: plain 100 * cos (torchmetrics-style CLIP score without clamping); this is what the
    catalog's reference values imply (text-image CLIP scores of 19-26, image-image 65-85).
    w=2.5: CLIPScore of Hessel et al. 2021, 100 * w * max(cos, 0).
    """
    cos = cosine_rows(a, b)
    if w is None:
        return 100.0 * cos
    return 100.0 * w * np.maximum(cos, 0.0)


def temporal_consistency(frame_embeddings: np.ndarray) -> float:
    """VBench subject/background consistency of one video, in [0, 1].

    For frames 2..T: mean of max(0, cos(f_t, f_1)) and max(0, cos(f_t, f_{t-1})), averaged.
    """
    f = np.asarray(frame_embeddings, dtype=np.float64)
    if f.shape[0] < 2:
        raise MetricError("temporal consistency needs a video of at least 2 frames")
    to_first = np.maximum(cosine_rows(f[1:], np.repeat(f[:1], f.shape[0] - 1, axis=0)), 0.0)
    to_prev = np.maximum(cosine_rows(f[1:], f[:-1]), 0.0)
    return float(np.mean((to_first + to_prev) / 2.0))
