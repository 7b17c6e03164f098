"""The metric registry: canonical metric name -> implementation, resolved lazily per family.

Family modules (text.py, numbers.py, boxes.py, ...) register their functions with `@register`.
Only the family a metric belongs to is imported, so scoring text tasks never imports the code
(or the heavy libraries) of image or model-based metrics.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from generalbench.errors import MetricError
from generalbench.metrics.specs import MetricSpec, get_spec

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
    "features": "generalbench.metrics.features",
    "judge": "generalbench.metrics.judge",
}


@dataclass
class MetricResult:
    """A metric value in the catalog's unit, plus per-instance values where it is a mean of them."""

    value: float
    per_instance: list[float] | None = None
    details: dict[str, Any] = field(default_factory=dict)


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
    """Compute `metric` (canonical name or official spelling) over aligned prediction/reference lists."""
    if len(predictions) != len(references):
        raise MetricError(f"metric {metric!r}: {len(predictions)} predictions but "
                          f"{len(references)} references")
    spec, fn = implementation(metric)
    out = fn(predictions, references, **options)
    result = out if isinstance(out, MetricResult) else MetricResult(float(out))
    if math.isnan(result.value):
        raise MetricError(f"metric {spec.name!r} produced NaN")
    return result


def compute(metric: str, predictions: Sequence[Any], references: Sequence[Any],
            **options: Any) -> float:
    """One metric value in the catalog's unit (percent for accuracy-like metrics, raw otherwise)."""
    return compute_detailed(metric, predictions, references, **options).value
