"""The metric registry: canonical metric name -> implementation, resolved lazily per family.

Family modules (text.py, numbers.py, boxes.py, ...) register their functions with `@register`.
Only the family a metric belongs to is imported, so scoring text tasks never imports the code
(or the heavy libraries) of image or model-based metrics.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.base import MeanAccumulator, MetricResult, Provenance, library_versions
from generalbench.metrics.failure import (
    WORST_SUBSTITUTES,
    empty_prediction,
    realign_details,
    screen,
    subset_options,
)
from generalbench.metrics.specs import MetricSpec, get_spec

__all__ = ["MetricResult", "NothingScoredError", "Provenance", "accumulator", "compute", "compute_detailed",
           "implementation", "register"]

FAMILY_MODULES: dict[str, str] = {
    "text": "generalbench.metrics.text",
    "numbers": "generalbench.metrics.numbers",
    "boxes": "generalbench.metrics.boxes",
    "masks": "generalbench.metrics.masks",
    "dense": "generalbench.metrics.dense",
    "tracks": "generalbench.metrics.tracks",
    "pointclouds": "generalbench.metrics.pointclouds",
    "image_quality": "generalbench.metrics.image_quality",
    "audio": "generalbench.metrics.audio",
    "image_models": "generalbench.metrics.image_models",
    "video_models": "generalbench.metrics.video_models",
    "audio_models": "generalbench.metrics.audio_models",
    "motion_models": "generalbench.metrics.motion_models",
    "judge": "generalbench.metrics.judge",
}


class NothingScoredError(MetricError):
    """No instance could be scored (no instances, or no reference with anything to compare)."""


MetricFn = Callable[..., "MetricResult | float"]
_IMPLS: dict[str, MetricFn] = {}


def register(*names: str) -> Callable[[MetricFn], MetricFn]:
    """Register an implementation under one or more canonical metric names."""

    def deco(fn: MetricFn) -> MetricFn:
        for name in names:
            _IMPLS[name] = fn
        return fn

    return deco


def implementation(metric: str) -> tuple[MetricSpec, MetricFn]:
    spec = get_spec(metric)
    if spec.name not in _IMPLS:
        module = FAMILY_MODULES.get(spec.family)
        if module is None:
            raise MetricError(f"metric {spec.name!r}: unknown family {spec.family!r}")
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise MetricError(f"metric {spec.name!r} needs the module {exc.name!r}; "
                              "install the matching generalbench extra") from None
    if spec.name not in _IMPLS:
        raise MetricError(f"metric {spec.name!r} has no implementation in {FAMILY_MODULES[spec.family]}")
    return spec, _IMPLS[spec.name]


def compute_detailed(metric: str, predictions: Sequence[Any], references: Sequence[Any],
                     **options: Any) -> MetricResult:
    """Compute `metric` (canonical name or official spelling) over aligned prediction/reference lists.

    A None prediction is a failed instance (missing or unparseable); one holding NaN/inf, or of
    the wrong shape for a `shape: same` metric, is made one here. Failed instances follow the
    metric's `on_failure` policy (metrics/failure.py). No instances at all, or none that could be
    scored, is a MetricError: never the metric's best value.
    """
    if len(predictions) != len(references):
        raise MetricError(f"metric {metric!r}: {len(predictions)} predictions but "
                          f"{len(references)} references")
    spec, fn = implementation(metric)
    if not references:
        raise NothingScoredError(f"metric {spec.name!r}: no instances to score")
    preds, rejected = screen(spec, predictions, references)
    failed = [i for i, p in enumerate(preds) if p is None]
    result = _apply_policy(spec, fn, preds, references, failed, options)
    per = result.per_instance
    if spec.aggregate == "mean" and per is not None and all(v is None for v in per):
        raise NothingScoredError(f"metric {spec.name!r}: no instance could be scored")
    if math.isnan(result.value):
        raise MetricError(f"metric {spec.name!r} produced NaN")
    result.failed = len(failed)
    if rejected:
        result.details["rejected"] = rejected
    result.provenance = provenance(spec, fn, result.details)
    return result


def _apply_policy(spec: MetricSpec, fn: MetricFn, preds: list[Any], refs: Sequence[Any],
                  failed: list[int], options: dict[str, Any]) -> MetricResult:
    """Call the metric with its failure policy applied to the failed instances."""
    n = len(preds)
    if failed and len(failed) == n and spec.unit == "percent" and spec.direction == "higher" \
            and spec.on_failure in ("zero", "empty"):
        return MetricResult(0.0, [0.0] * n, {"all_failed": True})  # nothing to compare: the floor
    if spec.on_failure == "zero" and failed:
        bad = set(failed)
        keep = [i for i in range(n) if i not in bad]
        if not keep:
            return MetricResult(0.0, [0.0] * n, {"all_failed": True})
        sub = _as_result(fn([preds[i] for i in keep], [refs[i] for i in keep],
                            **subset_options(options, keep, n)))
        sub_per = sub.per_instance or sub.details.get("instance_scores")
        if sub_per is None or len(sub_per) != len(keep):
            raise MetricError(f"metric {spec.name!r} (on_failure: zero) gives no per-instance values")
        per: list[float | None] = [0.0] * n
        for i, v in zip(keep, sub_per, strict=True):
            per[i] = v
        vals = [v for v in per if v is not None]
        details = {k: v for k, v in sub.details.items() if k != "instance_scores"}
        return MetricResult(math.fsum(vals) / len(vals) if vals else math.nan, per, details)
    if spec.on_failure == "worst" and isinstance(spec.worst, float) and failed:
        return _worst_value(spec, fn, preds, refs, failed, options, spec.worst)
    if spec.on_failure == "worst" and isinstance(spec.worst, str) and failed:
        preds = list(preds)
        for i, p in WORST_SUBSTITUTES[spec.worst](refs, failed).items():
            preds[i] = p
    if spec.on_failure == "empty" and failed:
        preds = list(preds)
        for i in failed:
            preds[i] = empty_prediction(spec, refs[i])
    if spec.on_failure == "drop" and failed:
        if len(failed) == n:
            raise MetricError(f"metric {spec.name!r}: every prediction is missing (policy: drop)")
        # a distribution distance compares the generated set with the whole reference set
        bad = set(failed)
        result = _as_result(fn([p for i, p in enumerate(preds) if i not in bad], refs, **options))
        result.dropped = len(failed)
        _count_missing(result, len(failed))
        return result
    return _as_result(fn(preds, refs, **options))


def _count_missing(result: MetricResult, n_failed: int) -> None:
    """A metric that reports `n_missing` in its details counts the instances the policy kept
    from it too."""
    if isinstance(result.details.get("n_missing"), int):
        result.details["n_missing"] += n_failed


def _worst_value(spec: MetricSpec, fn: MetricFn, preds: list[Any], refs: Sequence[Any],
                 failed: list[int], options: dict[str, Any], worst: float) -> MetricResult:
    """`worst: <value>`: the metric scores the other instances; each failed one scores `worst`.

    A metric whose value is the mean of its per-instance values gets the mean over all of them
    (instances without a value, e.g. an invalid video, stay out of it); another aggregate (VBench's
    own) is weighted by the number of instances it covers.
    """
    n = len(preds)
    bad = set(failed)
    keep = [i for i in range(n) if i not in bad]
    if not keep:
        return MetricResult(worst, [worst] * n, {"all_failed": True, "n_missing": n})
    sub = _as_result(fn([preds[i] for i in keep], [refs[i] for i in keep],
                        **subset_options(options, keep, n)))
    sub_per = sub.per_instance if sub.per_instance is not None else sub.details.get("instance_scores")
    if sub_per is None or len(sub_per) != len(keep):
        raise MetricError(f"metric {spec.name!r} (worst: {worst:g}) gives no per-instance values")
    per: list[float | None] = [worst] * n
    for i, v in zip(keep, sub_per, strict=True):
        per[i] = v

    def scored(values: Sequence[float | None]) -> list[float]:
        return [float(v) for v in values if v is not None and math.isfinite(v)]

    kept = scored(sub_per)
    if kept and math.isclose(sub.value, float(np.mean(kept)), rel_tol=1e-12, abs_tol=1e-12):
        value = float(np.mean(scored(per)))
    else:
        value = (len(kept) * sub.value + len(failed) * worst) / (len(kept) + len(failed))
    if sub.per_instance is None:  # a corpus value with instance scores in its details
        sub.details["instance_scores"] = per
    _count_missing(sub, len(failed))
    realign_details(sub.details, keep, n)
    return MetricResult(value, per if sub.per_instance is not None else None, sub.details)


def _as_result(out: MetricResult | float) -> MetricResult:
    return out if isinstance(out, MetricResult) else MetricResult(float(out))


def weights_hash(model: str) -> tuple[str | None, str | None]:
    """(sha256 of the model's weights lock, None) or (None, why there is none).

    The lock is models.yaml's `sha256:` mapping (file -> sha256) of a declared metric model; a
    model given as a local path, or declared without a lock, has none, and the provenance says
    which; so does a missing models.yaml (a stripped install). Anything else (a malformed
    models.yaml) is a bug and propagates.
    """
    from generalbench.metricmodels.registry import all_models

    try:
        entry = all_models().get(model)
    except FileNotFoundError as exc:
        return None, f"the weights lock cannot be read: {exc}"
    if entry is None:
        return None, f"{model!r} is not declared in metricmodels/models.yaml (no weights lock)"
    if not entry.sha256:
        return None, f"{model!r} has no sha256 lock entry in metricmodels/models.yaml"
    return hashlib.sha256(json.dumps(entry.sha256, sort_keys=True).encode()).hexdigest(), None


def provenance(spec: MetricSpec, fn: MetricFn, details: dict[str, Any]) -> Provenance:
    """The record of what produced a value: implementation, library versions, metric model and
    weights sha256 (from the weights lock), judge model and rubric sha256."""
    model = details.get("model") if isinstance(details.get("model"), str) else None
    weights_sha, missing = weights_hash(model) if model is not None else (None, None)
    judge = details.get("judge")
    rubric = details.get("rubric")
    return Provenance(
        implementation=f"{fn.__module__}:{getattr(fn, '__qualname__', repr(fn))}",
        libraries=library_versions(spec.family),
        metric_model=model,
        weights_sha256=weights_sha,
        weights_sha256_missing=missing,
        judge_model=(json.dumps(judge, sort_keys=True) if isinstance(judge, dict)
                     else None if judge is None else str(judge)),
        rubric_sha256=rubric.get("sha256") if isinstance(rubric, dict) else None,
        tiny_random_weights=bool(details.get("tiny_random_weights")),
    )


def accumulator(metric: str, **options: Any) -> MeanAccumulator:
    """An accumulator that scores an `aggregate: mean` metric one instance at a time (the scorer
    uses it for file-valued predictions, so each decoded array is dropped once scored)."""
    spec = get_spec(metric)
    if spec.aggregate != "mean":
        raise MetricError(f"metric {spec.name!r} is a corpus metric: it needs the whole list")
    if spec.worst == "range_end":  # the substitute comes from the range of every reference
        raise MetricError(f"metric {spec.name!r} scores a failed instance from the range of all "
                          "references (worst: range_end): it needs the whole list")

    def one(prediction: Any, reference: Any) -> MetricResult:
        try:
            return compute_detailed(spec.name, [prediction], [reference], **options)
        except NothingScoredError:  # a reference with nothing to score: left out of the mean
            return MetricResult(math.nan, [None])

    return MeanAccumulator(spec.name, one)


def compute(metric: str, predictions: Sequence[Any], references: Sequence[Any],
            **options: Any) -> float:
    """One metric value in the catalog's unit (percent for accuracy-like metrics, raw otherwise)."""
    return compute_detailed(metric, predictions, references, **options).value
