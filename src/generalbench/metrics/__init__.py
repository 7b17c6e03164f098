"""Metrics: specs as data (specs.yaml), a lazy registry, one module per output family.

Public API: `compute(metric, predictions, references, **options) -> float` and
`compute_detailed(...) -> MetricResult` (value plus per-instance values).

The names are resolved on first use (PEP 562): the catalog reads `generalbench.metrics.specs`
on every CLI start-up, and importing the registry here would pull numpy into `level`, `tasks`
and `run`, none of which computes a metric.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MetricResult": "generalbench.metrics.base",
    "Provenance": "generalbench.metrics.base",
    "compute": "generalbench.metrics.registry",
    "compute_detailed": "generalbench.metrics.registry",
    "register": "generalbench.metrics.registry",
    "MetricSpec": "generalbench.metrics.specs",
    "get_spec": "generalbench.metrics.specs",
    "load_specs": "generalbench.metrics.specs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value
