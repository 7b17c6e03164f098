"""Model-based metrics of generated images: FID, CLIP score (text alignment, or VBench
background consistency; point clouds and meshes rendered to views first), CLIP image-image
similarity and zero-shot CLIP classification accuracy. Shared plumbing: model_common.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.model_common import (
    clip_like_alignment,
    consistency,
    frames_vs_texts,
    frechet,
    metric_model,
    task_setting,
)
from generalbench.metrics.registry import MetricResult, register


@register("fid")
def fid(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FID between generated and reference images (pytorch-fid Inception pool3 features)."""
    model = metric_model("fid", options)
    return frechet("fid", predictions, references, model.embed_images, options, model)


@register("clip_score")
def clip_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLIP score x100 (plain cosine; see featmath.cosine_score), or VBench background consistency."""
    if task_setting(options, "variant") == "background_consistency":
        return consistency("clip_score", predictions, options)
    preds = [_renderable(p, options) for p in predictions]
    return clip_like_alignment("clip_score", preds, references, options, "images", text_first=True)


def _renderable(pred: Any, options: dict[str, Any]) -> Any:
    arr = np.asarray(pred) if not isinstance(pred, (str, dict)) else None
    if arr is not None and arr.ndim == 2 and arr.shape[1] == 3 and arr.dtype.kind == "f":
        from generalbench.metricmodels.render import render_pointcloud_views

        return render_pointcloud_views(arr, size=int(options.get("render_size", 224)))
    if isinstance(pred, dict) and "vertices" in pred:
        from generalbench.metricmodels.render import render_pointcloud_views

        return render_pointcloud_views(np.asarray(pred["vertices"], dtype=np.float64),
                                       size=int(options.get("render_size", 224)))
    return pred


@register("clip_image_score")
def clip_image_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLIP image-image similarity x100 between the generated and the target image."""
    return clip_like_alignment("clip_image_score", predictions, references, options, "images")


@register("classifier_acc")
def classifier_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Zero-shot CLIP classification accuracy of generated images against their class labels.

    Candidate labels: options['labels'] or the distinct references (of the scored instances:
    pass labels= to fix the set when predictions fail); prompt 'a photo of a {label}'.
    """
    model = metric_model("classifier_acc", options)
    labels = list(options.get("labels") or sorted({str(r) for r in references}))
    if len(labels) < 2:
        raise MetricError("classifier_acc needs at least two candidate labels (options['labels'])")
    template = str(options.get("label_template", "a photo of a {}"))
    prompts = [template.format(lab) for lab in labels]

    def correct(frames: np.ndarray, text: np.ndarray, ref: Any) -> float:
        return float(labels[int(np.argmax(text @ frames.mean(axis=0)))] == str(ref))

    return frames_vs_texts(model, predictions, references, lambda _: prompts, correct,
                           {"labels": len(labels)})
