"""Metrics: specs as data (specs.yaml), a lazy registry, one module per output family.

Public API: `compute(metric, predictions, references, **options) -> float` and
`compute_detailed(...) -> MetricResult` (value plus per-instance values).
"""

from generalbench.metrics.base import MetricResult, Provenance
from generalbench.metrics.registry import compute, compute_detailed, register
from generalbench.metrics.specs import MetricSpec, get_spec, load_specs

__all__ = ["MetricResult", "MetricSpec", "Provenance", "compute", "compute_detailed", "get_spec", "load_specs",
           "register"]
