"""Model-based metrics of generated 3-D motion: Motion FID on the HumanML3D evaluator's embeddings.
Shared plumbing: model_common.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from generalbench.metrics.model_common import (
    frechet,
    metric_model,
)
from generalbench.metrics.registry import MetricResult, register


@register("motion_fid")
def motion_fid(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Motion FID (Text to 3D Motion Generation): Frechet distance of the HumanML3D evaluator's
    512-d motion embeddings (Guo et al. 2022) of generated vs reference motions, each a T x 263
    array of HumanML3D features (metricmodels/t2m_evaluator.py)."""
    model = metric_model("motion_fid", options)
    return frechet("motion_fid", predictions, references, model.embed_motions, options, model)
