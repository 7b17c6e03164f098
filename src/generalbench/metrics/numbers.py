"""Number metrics: MAE, MSE, RMSE, Pearson correlation, pixel-level ROC AUC.

All vectorised with numpy. A failed prediction must still count as wrong, but an error metric
has no natural "wrong" value: the failure policy (specs.yaml `worst: range_end`, applied in
metrics/failure.py before these functions run) puts the worst prediction inside the reference
range in its place (the range end farthest from the reference), so a failed answer is never
better than a constant mid-range guess and the error stays bounded. See docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.failure import range_end_predictions
from generalbench.metrics.registry import MetricResult, register


def _scalar(value: Any) -> float:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise MetricError(f"expected one number, got {len(value)} values")
        value = value[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MetricError(f"reference {value!r} is not a number") from None


def number_arrays(predictions: Sequence[Any], references: Sequence[Any]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, ref, failed) float arrays; a prediction that is not one finite number (the
    registry replaced failed ones already) gets the worst in-range value."""
    ref = np.array([_scalar(r) for r in references], dtype=np.float64)
    failed = np.array([not _finite(p) for p in predictions], dtype=bool)
    pred = np.array([np.nan if f else _scalar(p) for p, f in zip(predictions, failed, strict=True)],
                    dtype=np.float64)
    if failed.any() and ref.size:  # the registry's `range_end` rule, for direct callers too
        for i, worst in range_end_predictions(ref.tolist(), np.flatnonzero(failed).tolist()).items():
            pred[i] = worst
    return pred, ref, failed


def _finite(p: Any) -> bool:
    try:
        return math.isfinite(_scalar(p))
    except MetricError:
        return False


def _errors(predictions: Sequence[Any], references: Sequence[Any]) -> np.ndarray:
    pred, ref, _ = number_arrays(predictions, references)
    if ref.size == 0:
        raise MetricError("no instances to score")
    return pred - ref


@register("mae")
def mae(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean absolute error, raw units."""
    per = np.abs(_errors(predictions, references))
    return MetricResult(float(per.mean()), per.tolist())


@register("mse")
def mse(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean squared error, raw units."""
    err = _errors(predictions, references)
    per = err * err
    return MetricResult(float(per.mean()), per.tolist())


@register("rmse")
def rmse(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Root mean squared error over instances (sqrt of MSE; not a mean, so no per-instance)."""
    err = _errors(predictions, references)
    sq = err * err
    return MetricResult(float(math.sqrt(sq.mean())), None, {"instance_scores": np.abs(err).tolist()})


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; 0 when either side is constant (no linear relation can be measured)."""
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    x = x - x.mean()
    y = y - y.mean()
    den = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    if den == 0:
        return 0.0
    return max(-1.0, min(1.0, float((x * y).sum()) / den))


@register("pcc")
def pcc(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Pearson correlation x100.

    Number series (each instance a list): r per instance (a wrong-length prediction scores 0;
    a failed one arrives as an all-zero series, which scores 0 too), mean. Scalars: r over all
    (prediction, reference) pairs, failed predictions at their worst in-range value.
    """
    if references and isinstance(references[0], (list, tuple, np.ndarray)) and len(references[0]) != 1:
        per = []
        for p, r in zip(predictions, references, strict=True):
            ra = np.asarray(r, dtype=np.float64)
            try:
                pa = np.asarray(p, dtype=np.float64)
            except (TypeError, ValueError):
                pa = None
            ok = pa is not None and pa.shape == ra.shape and np.isfinite(pa).all()
            per.append(100.0 * pearson(pa, ra) if ok else 0.0)
        return MetricResult(math.fsum(per) / len(per), per, {})
    pred, ref, _ = number_arrays(predictions, references)
    return MetricResult(100.0 * pearson(pred, ref), None)


def roc_auc_binary(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic with mid-ranks for ties (= sklearn's trapezoid)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise MetricError("ROC AUC needs both positive and negative pixels in the references")
    from scipy.stats import rankdata

    ranks = rankdata(scores, method="average")
    u = float(ranks[labels].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def _map(value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 3:  # H x W x C image: use the mean intensity as the score
        arr = arr.mean(axis=2)
    return arr


@register("roc_auc")
def roc_auc(predictions: Sequence[Any], references: Sequence[Any], *, threshold: float = 0.5,
            **_: Any) -> MetricResult:
    """Pixel-level ROC AUC x100 over all pixels of all instances (infection-map generation).

    Predictions are score maps (any monotone scale; RGB images are averaged to intensity),
    references are binary maps (values scaled to [0, 1] when stored as 0-255, then > threshold).
    A missing prediction is an all-zero map (uninformative: its pixels tie with each other).
    """
    scores, labels = [], []
    for p, r in zip(predictions, references, strict=True):
        ref = _map(r)
        if ref.max(initial=0) > 1:
            ref = ref / 255.0
        pred = _map(p)  # a failed one arrives as an all-zero map (on_failure: empty)
        if pred.shape != ref.shape:
            raise MetricError(f"prediction map of shape {pred.shape} but reference {ref.shape}; "
                              "resize the prediction to the reference size")
        scores.append(pred.ravel())
        labels.append(ref.ravel() > threshold)
    if not scores:
        raise MetricError("no instances to score")
    return MetricResult(100.0 * roc_auc_binary(np.concatenate(scores), np.concatenate(labels)),
                        None, {"aggregate": "pixels"})
