"""Per-task statistics whose column sums determine a metric, so one bootstrap resample is a
weighted sum (counts @ stats) instead of a new call of the metric.

A metric that is a mean of per-instance values sums [value, counted]; corpus metrics sum their
sufficient statistics (TP/FP/FN for micro F1, clipped n-gram matches and lengths for corpus
BLEU, per-class hits for balanced accuracy). stats/methods.yaml says which metric uses which
estimator; docs/statistics.md describes each one and its assumptions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

Combine = Callable[[np.ndarray], np.ndarray]
"""(B, k) column sums of a resample -> (B,) raw metric values."""


@dataclass
class Estimator:
    """Per-instance statistics (n, k) and how their column sums give the metric's raw value."""

    method: str
    stats: np.ndarray
    combine: Combine

    def value(self) -> float:
        """The metric on the full sample (must equal the reported raw value)."""
        return float(self.combine(self.stats.sum(0, keepdims=True))[0])


@lru_cache(maxsize=1)
def methods() -> dict[str, Any]:
    text = resources.files("generalbench.stats").joinpath("methods.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def method_of(metric: str) -> str:
    """The resampling method stats/methods.yaml names for a canonical metric."""
    data = methods()
    return str(data.get("metrics", {}).get(metric, data.get("default", "mean")))


NEEDS_INPUTS = frozenset({"counts_f1", "class_accuracy", "class_f1", "bleu_counts", "recompute"})
"""Methods that need the parsed predictions and the references (a run folder or --data)."""


# --- from per-instance scores -------------------------------------------------------------------
def _ratio(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums[:, 1] > 0, sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], 1), np.nan)


def mean_estimator(scores: Sequence[float | None]) -> Estimator:
    """Mean of the per-instance values; a None value is an instance the metric does not count."""
    s = np.array([np.nan if v is None else float(v) for v in scores], dtype=float)
    counted = ~np.isnan(s)
    return Estimator("mean", np.column_stack([np.where(counted, s, 0.0), counted.astype(float)]),
                     _ratio)


def rms_estimator(errors: Sequence[float | None]) -> Estimator:
    """Root mean square of per-instance errors (RMSE)."""
    e = np.array([np.nan if v is None else float(v) for v in errors], dtype=float)
    counted = ~np.isnan(e)
    stats = np.column_stack([np.where(counted, e * e, 0.0), counted.astype(float)])
    return Estimator("rms", stats, lambda sums: np.sqrt(_ratio(sums)))


def scaled_estimator(scores: Sequence[float | None], raw: float) -> Estimator | None:
    """The reported value times (resampled mean / full mean) of per-instance scores.

    For a corpus metric whose inputs are not available: it assumes the metric moves in
    proportion to the mean of its per-instance analogue (docs/statistics.md). None when the
    per-instance mean is 0 (no proportion to scale by).
    """
    base = mean_estimator(scores)
    full = base.value()
    if not np.isfinite(full) or full == 0:
        return None
    factor = raw / full
    return Estimator("scaled", base.stats, lambda sums: _ratio(sums) * factor)


# --- from parsed predictions and references -----------------------------------------------------
def _f1_array(tp: np.ndarray, n_pred: np.ndarray, n_ref: np.ndarray) -> np.ndarray:
    """metrics.text._f1 elementwise (percent)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 200.0 * tp / (n_pred + n_ref)
    empty = (n_pred == 0) | (n_ref == 0)
    return np.where(empty, np.where(n_pred == n_ref, 100.0, 0.0), np.where(tp == 0, 0.0, f))


def counts_f1_estimator(preds: Sequence[Any], refs: Sequence[Any]) -> Estimator:
    from generalbench.metrics.text import label_set

    rows = []
    for p, r in zip(preds, refs, strict=True):
        ps, rs = label_set(p), label_set(r)
        t = len(ps & rs)
        rows.append((t, len(ps) - t, len(rs) - t))
    stats = np.array(rows, dtype=float).reshape(-1, 3)

    def combine(s: np.ndarray) -> np.ndarray:
        tp, fp, fn = s[:, 0], s[:, 1], s[:, 2]
        return _f1_array(tp, tp + fp, tp + fn)

    return Estimator("counts_f1", stats, combine)


def _gold_and_pred(preds: Sequence[Any], refs: Sequence[Any]) -> tuple[list[str], list[str | None]]:
    from generalbench.metrics.text import _refs, normalize_label

    gold = [normalize_label(_refs(r)[0]) for r in refs]
    pred = [None if p is None else normalize_label(str(p)) for p in preds]
    return gold, pred


def class_accuracy_estimator(preds: Sequence[Any], refs: Sequence[Any]) -> Estimator:
    """Balanced accuracy: per class [hits, count]; classes absent from a resample do not count."""
    gold, pred = _gold_and_pred(preds, refs)
    classes = sorted(set(gold))
    c = len(classes)
    pos = {k: i for i, k in enumerate(classes)}
    stats = np.zeros((len(gold), 2 * c))
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        stats[i, pos[g]] = float(p == g)
        stats[i, c + pos[g]] = 1.0

    def combine(s: np.ndarray) -> np.ndarray:
        hits, n = s[:, :c], s[:, c:]
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(n > 0, hits / np.where(n > 0, n, 1), 0.0)
        present = (n > 0).sum(1)
        return np.where(present > 0, 100.0 * acc.sum(1) / np.maximum(present, 1), 0.0)

    return Estimator("class_accuracy", stats, combine)


def class_f1_estimator(preds: Sequence[Any], refs: Sequence[Any]) -> Estimator:
    """metrics.text.f_score: F1 of the positive class (two classes) or the macro F1 over the
    gold classes of each resample, from per-class [tp, predicted, gold]."""
    from generalbench.metrics.text import POSITIVE_LABELS, normalize_label

    gold, pred = _gold_and_pred(preds, refs)
    classes = sorted(set(gold))
    positive = next((c for c in POSITIVE_LABELS if c in classes), None) if len(classes) <= 2 else None
    targets = [normalize_label(positive)] if positive is not None else classes
    c = len(targets)
    stats = np.zeros((len(gold), 3 * c))
    for j, cls in enumerate(targets):
        for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
            stats[i, j] = float(p == cls and g == cls)
            stats[i, c + j] = float(p == cls)
            stats[i, 2 * c + j] = float(g == cls)
    binary = positive is not None

    def combine(s: np.ndarray) -> np.ndarray:
        tp, n_pred, n_gold = s[:, :c], s[:, c:2 * c], s[:, 2 * c:]
        f = np.where((n_pred > 0) | (n_gold > 0), _f1_array(tp, n_pred, n_gold), 0.0)
        if binary:
            return f[:, 0]
        present = n_gold > 0  # f_score's classes are the gold classes of the (re)sample
        return np.where(present.any(1), (f * present).sum(1) / np.maximum(present.sum(1), 1), 0.0)

    return Estimator("class_f1", stats, combine)


def bleu_counts_estimator(preds: Sequence[Any], refs: Sequence[Any], max_n: int = 4) -> Estimator:
    """Corpus BLEU-4 from per-sentence [matches_1..4, totals_1..4, hyp_len, ref_len]."""
    from generalbench.metrics.text import _caption_tokens, _ngrams, _refs

    rows = []
    for p, r in zip(preds, refs, strict=True):
        hyp = [] if p is None else _caption_tokens(str(p))
        rs = [_caption_tokens(x) for x in _refs(r)]
        num, den = [0] * max_n, [0] * max_n
        for n in range(1, max_n + 1):
            hc = _ngrams(hyp, n)
            if not hc:
                continue
            den[n - 1] = sum(hc.values())
            best: Any = None
            for x in rs:
                best = _ngrams(x, n) if best is None else best | _ngrams(x, n)
            num[n - 1] = sum(min(k, best[g]) for g, k in hc.items()) if best else 0
        ref_len = min((len(x) for x in rs), key=lambda k: (abs(k - len(hyp)), k), default=0)
        rows.append([*num, *den, len(hyp), ref_len])
    stats = np.array(rows, dtype=float).reshape(-1, 2 * max_n + 2)

    def combine(s: np.ndarray) -> np.ndarray:
        num, den = s[:, :max_n], s[:, max_n:2 * max_n]
        hyp_len, ref_len = s[:, 2 * max_n], s[:, 2 * max_n + 1]
        ok = (num > 0).all(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            log_p = np.where(ok[:, None], np.log(np.where(num > 0, num, 1) / np.where(den > 0, den, 1)),
                             0.0).sum(1) / max_n
            bp = np.where(hyp_len > ref_len, 1.0,
                          np.where(hyp_len > 0, np.exp(1 - ref_len / np.where(hyp_len > 0, hyp_len, 1)), 0.0))
        return np.where(ok, 100.0 * bp * np.exp(log_p), 0.0)

    return Estimator("bleu_counts", stats, combine)


FROM_INPUTS: dict[str, Callable[[Sequence[Any], Sequence[Any]], Estimator]] = {
    "counts_f1": counts_f1_estimator,
    "class_accuracy": class_accuracy_estimator,
    "class_f1": class_f1_estimator,
    "bleu_counts": bleu_counts_estimator,
}
