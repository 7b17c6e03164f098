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
from generalbench.metrics.base import (
    Accumulator,
    MeanAccumulator,
    MetricResult,
    MetricStream,
    Provenance,
    library_versions,
)
from generalbench.metrics.failure import (
    WORST_SUBSTITUTES,
    empty_prediction,
    realign_details,
    screen,
    subset_options,
)
from generalbench.metrics.specs import MetricSpec, get_spec

__all__ = ["MetricResult", "NothingScoredError", "Provenance", "accumulator", "compute", "compute_detailed",
           "implementation", "register", "register_stream", "streams"]

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
_STREAMS: dict[str, Callable[..., MetricStream]] = {}


def register(*names: str) -> Callable[[MetricFn], MetricFn]:
    """Register an implementation under one or more canonical metric names."""

    def deco(fn: MetricFn) -> MetricFn:
        for name in names:
            _IMPLS[name] = fn
        return fn

    return deco


def register_stream(*names: str) -> Callable[[Any], Any]:
    """Register a streaming form (a MetricStream class, built with the metric's options) of a
    corpus metric, so that the scorer feeds it one instance at a time (metrics/base.py)."""

    def deco(cls: Any) -> Any:
        for name in names:
            _STREAMS[name] = cls
        return cls

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
    return _detailed(spec, fn, predictions, references, options, with_provenance=True)


def _detailed(spec: MetricSpec, fn: MetricFn, predictions: Sequence[Any],
              references: Sequence[Any], options: dict[str, Any], *,
              with_provenance: bool) -> MetricResult:
    """compute_detailed's body; `with_provenance=False` leaves the provenance out (a
    MeanAccumulator takes it from its first instance only, so later ones skip it)."""
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
    if with_provenance:
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
        scored = _score_the_rest(spec, fn, preds, refs, failed, options, 0.0, "on_failure: zero")
        if scored is None:
            return MetricResult(0.0, [0.0] * n, {"all_failed": True})
        _, sub, _, per = scored
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


def _score_the_rest(spec: MetricSpec, fn: MetricFn, preds: list[Any], refs: Sequence[Any],
                    failed: list[int], options: dict[str, Any], fill: float, policy: str
                    ) -> tuple[list[int], MetricResult, Sequence[float | None], list[float | None]] | None:
    """The metric on the instances that did not fail: (their indices, its result, its
    per-instance values, every instance's value with `fill` for the failed ones); None when
    every instance failed. The 'zero' and 'worst: <value>' policies both score this way."""
    n = len(preds)
    bad = set(failed)
    keep = [i for i in range(n) if i not in bad]
    if not keep:
        return None
    sub = _as_result(fn([preds[i] for i in keep], [refs[i] for i in keep],
                        **subset_options(options, keep, n)))
    sub_per = sub.per_instance if sub.per_instance is not None else sub.details.get("instance_scores")
    if sub_per is None or len(sub_per) != len(keep):
        raise MetricError(f"metric {spec.name!r} ({policy}) gives no per-instance values")
    per: list[float | None] = [fill] * n
    for i, v in zip(keep, sub_per, strict=True):
        per[i] = v
    return keep, sub, sub_per, per


def _worst_value(spec: MetricSpec, fn: MetricFn, preds: list[Any], refs: Sequence[Any],
                 failed: list[int], options: dict[str, Any], worst: float) -> MetricResult:
    """`worst: <value>`: the metric scores the other instances; each failed one scores `worst`.

    A metric whose value is the mean of its per-instance values gets the mean over all of them
    (instances without a value, e.g. an invalid video, stay out of it); another aggregate (VBench's
    own) is weighted by the number of instances it covers.
    """
    n = len(preds)
    got = _score_the_rest(spec, fn, preds, refs, failed, options, worst, f"worst: {worst:g}")
    if got is None:
        return MetricResult(worst, [worst] * n, {"all_failed": True, "n_missing": n})
    keep, sub, sub_per, per = got

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


def streams(metric: str) -> bool:
    """Whether `metric` can be fed one instance at a time: `aggregate: mean`, or a corpus metric
    whose module registers a MetricStream (imports the family module to know)."""
    spec, _ = implementation(metric)
    return spec.aggregate == "mean" or spec.name in _STREAMS


def accumulator(metric: str, **options: Any) -> Accumulator:
    """An accumulator that scores a metric one instance at a time (the scorer uses it for
    file-valued predictions, so each decoded array is dropped once scored): a MeanAccumulator
    for `aggregate: mean` metrics, a StreamAccumulator for corpus metrics with a registered
    stream. Either gives what compute_detailed gives on the whole list."""
    spec, fn = implementation(metric)
    if spec.name in _STREAMS:
        return StreamAccumulator(spec, fn, _STREAMS[spec.name](**options))
    if spec.aggregate != "mean":
        raise MetricError(f"metric {spec.name!r} is a corpus metric: it needs the whole list")
    if spec.worst == "range_end":  # the substitute comes from the range of every reference
        raise MetricError(f"metric {spec.name!r} scores a failed instance from the range of all "
                          "references (worst: range_end): it needs the whole list")

    def one(prediction: Any, reference: Any) -> MetricResult:
        try:  # the provenance only until one is recorded (MeanAccumulator keeps the first)
            return _detailed(spec, fn, [prediction], [reference], options,
                             with_provenance=mean.provenance is None)
        except NothingScoredError:  # a reference with nothing to score: left out of the mean
            return MetricResult(math.nan, [None])

    mean = MeanAccumulator(spec.name, one)
    return mean


class StreamAccumulator:
    """A corpus metric's MetricStream with the failure policy applied per instance, exactly as
    compute_detailed applies it to the whole list (screen, then empty / worst / drop)."""

    def __init__(self, spec: MetricSpec, fn: MetricFn, stream: MetricStream) -> None:
        if spec.on_failure not in ("empty", "drop"):  # zero / worst need the whole list's values
            raise MetricError(f"metric {spec.name!r} streams, so its on_failure must be empty or "
                              f"drop (specs.yaml says {spec.on_failure!r})")
        self.metric = spec.name
        self._spec = spec
        self._fn = fn
        self._stream = stream
        self.per_instance: list[float | None] = []
        self.failed = 0
        self.dropped = 0
        self.rejected: dict[int, str] = {}

    def update(self, prediction: Any, reference: Any) -> float | None:
        (p,), reasons = screen(self._spec, [prediction], [reference])
        if reasons:
            self.rejected[len(self.per_instance)] = reasons[0]
        v: float | None = None
        if p is None:
            self.failed += 1
        if p is None and self._spec.on_failure == "drop":
            self.dropped += 1
        else:
            if p is None and self._spec.on_failure == "empty":
                p = empty_prediction(self._spec, reference)
            v = self._stream.add(p, reference)
        self.per_instance.append(v)
        return v

    def result(self) -> MetricResult:
        spec, n = self._spec, len(self.per_instance)
        if n == 0:
            raise NothingScoredError(f"metric {spec.name!r}: no instances to score")
        if self.failed == n and spec.on_failure == "drop":
            raise MetricError(f"metric {spec.name!r}: every prediction is missing (policy: drop)")
        if self.failed == n and spec.unit == "percent" and spec.direction == "higher" \
                and spec.on_failure in ("zero", "empty"):
            result = MetricResult(0.0, [0.0] * n, {"all_failed": True})  # as _apply_policy
        else:
            result = self._stream.result()
        if math.isnan(result.value):
            raise MetricError(f"metric {spec.name!r} produced NaN")
        result.failed, result.dropped = self.failed, self.dropped
        if self.rejected:
            result.details["rejected"] = dict(self.rejected)
        result.provenance = provenance(spec, self._fn, result.details)
        return result


def compute(metric: str, predictions: Sequence[Any], references: Sequence[Any],
            **options: Any) -> float:
    """One metric value in the catalog's unit (percent for accuracy-like metrics, raw otherwise)."""
    return compute_detailed(metric, predictions, references, **options).value
