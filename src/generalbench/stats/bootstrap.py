"""Bootstrap statistics of General-Level results: per-task intervals and win probabilities,
per-model intervals of S2-S5 and level probabilities, and paired comparisons of two models.

Method (docs/statistics.md): each task's instances are resampled with replacement, B times, from
one (B, n) matrix of indices drawn by a generator seeded with (seed, task id). The same seed
therefore draws the same indices for the same task in every model, which makes two models'
resamples paired on shared instances. Each resample's raw metric comes from an Estimator
(stats/estimators.py) as counts @ per-instance statistics, is normalised, and the (B, T) matrix of
normalised scores goes through General-Level on the resample axis (stats/glevel.py): wins,
supported counts and levels are recomputed in every resample. Specialist (SoTA) scores are fixed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generalbench.catalog import Task
from generalbench.levels import LEVEL_KEYS, LevelResult
from generalbench.stats import estimators as est
from generalbench.stats.glevel import LevelArrays, evaluate_arrays, normalise_task, sota_normalised

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95
_CHUNK = 20_000_000
"""Largest (resamples x instances) count matrix built at once (160 MB of float64)."""


@dataclass
class TaskSample:
    """One task's observed data: what the bootstrap resamples.

    `scores` are the per-instance values of instances.jsonl (None where the metric gives none),
    `preds`/`refs` the parsed predictions and references (None when not available), all in the
    order of `ids`. `raw` is the reported value (None: unsupported).
    """

    task: Task
    raw: float | None
    ids: list[str] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    preds: list[Any] | None = None
    refs: list[Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def sorted(self) -> TaskSample:
        """The same sample with instances in id order (so two models' instances line up)."""
        order = sorted(range(len(self.ids)), key=lambda i: self.ids[i])

        def pick(xs: list[Any] | None) -> list[Any] | None:
            return None if xs is None else [xs[i] for i in order]

        return TaskSample(self.task, self.raw, [self.ids[i] for i in order],
                          [self.scores[i] for i in order] if self.scores else [],
                          pick(self.preds), pick(self.refs), self.options)


def resample_indices(task_id: str, n: int, resamples: int, seed: int) -> np.ndarray:
    """The (resamples, n) index matrix of one task: the same for every model with this seed."""
    rng = np.random.default_rng([seed, zlib.crc32(task_id.encode("utf-8"))])
    return rng.integers(0, n, size=(resamples, n), dtype=np.int64 if n > 2**31 - 1 else np.int32)


def _resampled_sums(stats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Column sums of `stats` over each row of resample indices: counts @ stats, chunked."""
    b, n = idx.shape
    out = np.empty((b, stats.shape[1]))
    step = max(1, _CHUNK // max(n, 1))
    for lo in range(0, b, step):
        part = idx[lo:lo + step]
        k = part.shape[0]
        flat = (part + (np.arange(k) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=k * n).reshape(k, n).astype(float)
        out[lo:lo + k] = counts @ stats
    return out


def _close(a: float, b: float) -> bool:
    return bool(np.isfinite(a)) and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def choose_estimator(sample: TaskSample) -> tuple[str, est.Estimator | None, str | None]:
    """The estimator this task's resamples use, with a note when it fell back.

    The method methods.yaml names must reproduce the reported value on the full sample; else
    the task uses `scaled` (per-instance scores available) or `fixed` (no interval).
    """
    raw = sample.raw
    if raw is None:
        return "unsupported", None, None
    method = est.method_of(sample.task.metric)
    if method == "fixed":
        return "fixed", None, "not resampled (a distribution or corpus metric without " \
            "per-instance values): the value is treated as known"
    note = None
    have_inputs = sample.preds is not None and sample.refs is not None
    if method in est.FROM_INPUTS and have_inputs:
        e = est.FROM_INPUTS[method](sample.preds, sample.refs)  # type: ignore[arg-type]
        if _close(e.value(), raw):
            return method, e, None
        note = f"{method} did not reproduce the reported value ({e.value():.4g} vs {raw:.4g})"
    elif method == "recompute" and have_inputs:
        return "recompute", None, None
    elif method in est.NEEDS_INPUTS:
        note = f"{method} needs the parsed predictions and --data"
    has_scores = any(s is not None for s in sample.scores)
    if method in ("mean", "rms") and has_scores:
        e = (est.mean_estimator if method == "mean" else est.rms_estimator)(sample.scores)
        if _close(e.value(), raw):
            return method, e, None
        note = f"the mean of per-instance scores ({e.value():.4g}) is not the reported value"
    if has_scores:
        e2 = est.scaled_estimator(sample.scores, raw)
        if e2 is not None:
            return "scaled", e2, note
    return "fixed", None, note or "no per-instance data: the value is treated as known"


RECOMPUTE_BUDGET_S = 20.0
"""Time one task's `recompute` may take; beyond it fewer distinct resamples are computed."""
MIN_RECOMPUTE = 100


def _recompute(sample: TaskSample, idx: np.ndarray, budget_s: float | None = None
               ) -> tuple[np.ndarray, str | None]:
    """The metric itself on each resample (exact, a Python loop).

    When the first resamples show that all of them would take longer than `budget_s`, only the
    first R (at least MIN_RECOMPUTE) are computed and repeated cyclically to fill the B rows:
    the same marginal distribution with fewer distinct values (tasks are resampled
    independently, so no joint structure is lost). The note says so.
    """
    import time

    from generalbench.metrics.registry import compute_detailed

    budget_s = RECOMPUTE_BUDGET_S if budget_s is None else budget_s
    preds, refs = sample.preds or [], sample.refs or []
    b = idx.shape[0]
    out = np.empty(b)
    start = time.perf_counter()
    limit = b
    for i, row in enumerate(idx):
        if i == 5 and i < limit:
            per = (time.perf_counter() - start) / 5
            if per * b > budget_s:
                limit = max(MIN_RECOMPUTE, int(budget_s / max(per, 1e-9)))
        if i >= limit:
            break
        try:
            out[i] = compute_detailed(sample.task.metric, [preds[k] for k in row],
                                      [refs[k] for k in row], **sample.options).value
        except Exception:  # noqa: BLE001 - an undefined resample (e.g. one class only)
            out[i] = np.nan
    if limit < b:
        out[limit:] = np.resize(out[:limit], b - limit)
        return out, f"recomputed on {limit} distinct resamples (time budget), repeated to {b}"
    return out, None


@dataclass
class TaskBoot:
    """One task's bootstrap: raw values per resample and how they were obtained."""

    task: Task
    raw: float | None
    method: str
    samples: np.ndarray
    """(B,) raw values; constant for fixed and unsupported tasks."""
    n: int = 0
    note: str | None = None
    ids: tuple[str, ...] = ()


def bootstrap_task(sample: TaskSample, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> TaskBoot:
    """Resample one task's instances and recompute its raw metric in every resample."""
    sample = sample.sorted()
    n = len(sample.ids)
    method, e, note = choose_estimator(sample)
    if method == "unsupported":
        return TaskBoot(sample.task, None, method, np.full(resamples, np.nan), n)
    assert sample.raw is not None
    if method == "fixed" or n == 0:
        return TaskBoot(sample.task, sample.raw, "fixed", np.full(resamples, sample.raw), n, note)
    idx = resample_indices(sample.task.id, n, resamples, seed)
    if method == "recompute":
        values, note = _recompute(sample, idx)
    else:
        assert e is not None
        values = e.combine(_resampled_sums(e.stats, idx))
    values = np.where(np.isfinite(values), values, sample.raw)  # an undefined resample: point value
    return TaskBoot(sample.task, sample.raw, method, values, n, note, tuple(sample.ids))


def interval(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of bootstrap values."""
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(x, [a, 1.0 - a])
    return float(lo), float(hi)


@dataclass
class ModelBoot:
    """A model's bootstrap: per-task resamples and General-Level on the resample axis."""

    model: str
    point: LevelResult
    tasks: list[Task]
    boots: list[TaskBoot]
    arrays: LevelArrays
    resamples: int
    seed: int
    confidence: float = CONFIDENCE

    def level_probability(self) -> dict[str, float]:
        lv = self.arrays.level
        return {"none": float(np.mean(lv == 0)),
                **{str(k): float(np.mean(lv == k)) for k in (2, 3, 4, 5)}}

    def score_interval(self, key: str) -> dict[str, float]:
        lo, hi = interval(self.arrays.scores[key], self.confidence)
        return {"value": float(self.point.scores[key]), "low": lo, "high": hi}

    def modality_interval(self, modality: str, key: str) -> dict[str, float]:
        lo, hi = interval(self.arrays.modalities[modality][key], self.confidence)
        return {"value": float(getattr(self.point.modalities[modality], key)), "low": lo, "high": hi}

    def task_rows(self) -> list[dict[str, Any]]:
        """Per task: raw and normalised value with intervals, win probability, method."""
        sota = sota_normalised(self.tasks)
        by_id = {t.id: t for t in self.point.tasks or []}
        rows = []
        for j, (task, tb) in enumerate(zip(self.tasks, self.boots, strict=True)):
            ts = by_id.get(task.id)
            supported = tb.raw is not None
            lo, hi = interval(tb.samples, self.confidence) if supported else (None, None)
            nlo, nhi = interval(self.arrays.normalised[:, j], self.confidence)
            rows.append({
                "id": task.id, "name": task.name, "modality": task.modality,
                "paradigm": task.paradigm, "skill": task.skill, "metric": task.metric_name,
                "raw": tb.raw, "low": lo, "high": hi,
                "normalised": ts.normalised if ts else 0.0, "normalised_low": nlo,
                "normalised_high": nhi, "sota": task.sota, "sota_normalised": float(sota[j]),
                "win": bool(ts.win) if ts else False,
                "win_probability": float(self.arrays.wins[:, j].mean()),
                "instances": tb.n if supported else (ts.instances if ts else 0),
                "parsed": ts.parsed if ts else None, "failed": ts.failed if ts else None,
                "method": tb.method, "note": "; ".join(x for x in (ts.note if ts else None, tb.note)
                                                        if x) or None,
            })
        return rows

    def summary(self) -> dict[str, Any]:
        """The `report --format json` object of one model (issue 15's contract, plus detail)."""
        return {
            "model": self.model, "level": self.point.level,
            "scores": {k: self.score_interval(k) for k in LEVEL_KEYS},
            "level_probability": self.level_probability(),
            "modalities": {m: {k: self.modality_interval(m, k) for k in ("level2", "level3", "level4")}
                           for m in self.point.modalities},
            "resamples": self.resamples, "seed": self.seed, "confidence": self.confidence,
            "tasks": self.task_rows(),
        }


def bootstrap_model(model: str, point: LevelResult, tasks: Sequence[Task],
                    samples: Mapping[str, TaskSample], resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0, confidence: float = CONFIDENCE,
                    progress: Callable[[int, int], None] | None = None) -> ModelBoot:
    """Bootstrap every task of `tasks` (catalog order) and propagate through General-Level.

    A task absent from `samples` takes its point value from `point` and no interval.
    """
    by_id = {t.id: t for t in point.tasks or []}
    boots = []
    norm = np.zeros((resamples, len(tasks)))
    raw = np.full((resamples, len(tasks)), np.nan)  # breaks ties with the specialist (levels.wins)
    for j, task in enumerate(tasks):
        sample = samples.get(task.id)
        if sample is None:
            ts = by_id.get(task.id)
            sample = TaskSample(task, ts.raw if ts else None)
        tb = bootstrap_task(sample, resamples, seed)
        boots.append(tb)
        if tb.raw is not None:
            norm[:, j] = normalise_task(task, tb.samples)
            raw[:, j] = tb.samples
        if progress:
            progress(j + 1, len(tasks))
    arrays = evaluate_arrays(tasks, norm, raw=raw)
    return ModelBoot(model, point, list(tasks), boots, arrays, resamples, seed, confidence)
