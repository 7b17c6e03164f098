"""Plumbing shared by the model-based metric modules (image_models, video_models, audio_models,
motion_models, camera_motion, video_qa): per-task settings, loading a metric model, prompts, frames,
the Frechet distance and embedding-similarity recipes, and VBench file handling.

Every model-based metric takes the contract's `fn(predictions, references, **options)`; the options
shared by all of them are:
  task        catalog task id (or Task) - selects per-task variants from metricmodels/tasks.yaml
  model       a models.yaml id replacing the metric's default model
  weights     a path (file or folder) for that model, or {model_id: path}
  device      "auto" (GPU when present) | "cpu" | "cuda"
  batch_size  items per forward pass (default 16)
  cache_dir   where reference-set statistics are cached (FID/FVD/FAD)
  prompts     per-instance prompt texts (the task's inputs); CLIP/CLAP text alignment uses them
              instead of the reference when given
  video_paths the generated video files (aligned, None when missing), for the VBench-backed
              metrics, which run VBench in its own interpreter (options vbench_python and
              vbench_timeout, seconds per VBench run)
A failed prediction follows the metric's failure policy (specs.yaml `on_failure` and `worst`,
applied by the registry before these functions run): `worst: <value>` scores it as the metric's
floor (0, MOS 1) without calling the metric on it, `drop` leaves it out of a distribution
distance and counts it. So these functions see only predictions to score.
Missing weights raise MissingWeightsError; a missing extra raises MetricError naming the extra.
No metric falls back to another or invents a value. Heavy packages load lazily, inside calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from generalbench.errors import MetricError
from generalbench.metricmodels.featmath import (
    GaussianStats,
    cosine_score,
    frechet_distance,
    gaussian_stats,
    temporal_consistency,
)
from generalbench.metrics.base import MetricResult


@lru_cache(maxsize=1)
def task_options() -> dict[str, dict[str, Any]]:
    """metricmodels/tasks.yaml: per-task variants and VBench dimensions."""
    text = resources.files("generalbench.metricmodels").joinpath("tasks.yaml").read_text("utf-8")
    return yaml.safe_load(text) or {}


def task_id(options: dict[str, Any]) -> str | None:
    task = options.get("task")
    if task is None:
        return None
    return str(getattr(task, "id", task))


def task_setting(options: dict[str, Any], key: str) -> Any:
    """A per-task choice: the option of that name, else the task's entry in tasks.yaml."""
    if key in options:
        return options[key]
    tid = task_id(options)
    return task_options().get(tid or "", {}).get(key)


def metric_model(metric: str, options: dict[str, Any], role: str = "default") -> Any:
    """The loaded model a metric declares for `role` in models.yaml (or option `model`), with
    the weights, device and batch size from the options; MissingWeightsError when absent."""
    from generalbench.metricmodels.loaders import load_model
    from generalbench.metricmodels.registry import metric_models

    declared = metric_models(metric)
    model_id = options.get("model") if role == "default" and options.get("model") else declared.get(role)
    if model_id is None:
        raise MetricError(f"metric {metric!r} declares no {role} model in metricmodels/models.yaml")
    weights = options.get("weights")
    if isinstance(weights, dict):
        weights = weights.get(model_id)
    elif role != "default":
        weights = options.get(f"{role}_weights")
    return load_model(model_id, weights=weights, device=options.get("device", "auto"),
                      batch_size=int(options.get("batch_size", 16)), metric=metric)


def as_frames(video: Any) -> np.ndarray:
    v = np.asarray(video)
    if v.ndim == 3 and v.shape[-1] in (3, 4):  # a single image counts as a one-frame video
        v = v[None]
    if v.ndim != 4:
        raise MetricError(f"expected a video T x H x W x C (or an image), got shape {v.shape}")
    return v


def is_text(x: Any) -> bool:
    return isinstance(x, str)


def per_item(predictions: Sequence[Any], fn: Any) -> list[float]:
    """fn(prediction) per instance (failed ones never get here: the registry scores them)."""
    return [float(fn(p)) for p in predictions]


def option_prompts(options: dict[str, Any], n: int) -> list[Any]:
    prompts = options.get("prompts")
    if prompts is None:
        return [None] * n
    if len(prompts) != n:
        raise MetricError(f"option prompts has {len(prompts)} entries for {n} predictions")
    return list(prompts)


def mean_result(per: list[float], details: dict[str, Any]) -> MetricResult:
    """The mean of per-instance values, kept alongside them (an empty task is an error)."""
    if not per:
        raise MetricError("no instances to score")
    return MetricResult(float(np.mean(per)), per_instance=[float(x) for x in per], details=details)


def as_clip(item: Any) -> tuple[np.ndarray, int]:
    from generalbench.metricmodels.audio_io import as_clip

    return as_clip(item)


def instance_prompts(options: dict[str, Any], references: Sequence[Any], n: int) -> list[str | None]:
    """Each instance's prompt: option `prompts` (the task inputs), else a text reference or the
    reference's "prompt" field; None when there is none."""
    given = option_prompts(options, n)
    out: list[str | None] = []
    for prompt, ref in zip(given, references, strict=True):
        if prompt is None and is_text(ref):
            prompt = ref
        elif prompt is None and isinstance(ref, dict) and is_text(ref.get("prompt")):
            prompt = ref["prompt"]
        out.append(None if prompt is None else str(prompt))
    return out


def video_files(predictions: Sequence[Any], options: dict[str, Any], tmp: Path) -> list[Path | None]:
    """Each prediction as a video file VBench can read, or None for a missing one.

    The scorer passes the predicted files as option `video_paths` (aligned with the predictions,
    None for a missing or unreadable prediction), so VBench reads the very file the model wrote.
    A prediction that exists only as frames (a frame folder, arrays given through the API) is
    written to an mp4 in `tmp` first (H.264; an odd height or width loses its last row/column).
    """
    paths = options.get("video_paths")
    if paths is not None and len(paths) != len(predictions):
        raise MetricError(f"option video_paths has {len(paths)} entries for {len(predictions)} predictions")
    out: list[Path | None] = []
    for i, pred in enumerate(predictions):
        path = paths[i] if paths is not None else (pred if isinstance(pred, (str, Path)) else None)
        if path is not None and Path(path).is_file():
            out.append(Path(path).absolute())
        elif isinstance(pred, (str, Path)):  # a path that is not a file
            out.append(None)
        else:
            from generalbench.data.media import save_video

            frames = as_frames(pred)
            frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2, :3]
            target = tmp / f"video{i}.mp4"
            save_video(target, np.asarray(frames, dtype=np.uint8))
            out.append(target)
    return out


def vbench_bridge(metric: str, options: dict[str, Any]) -> Any:
    """The VBench bridge (models.yaml id `vbench`): the metric's default model or a component.

    Its "weights" are VBench's checkpoint cache (weights=<folder>, or {"vbench": folder} when the
    metric also uses another model); fails early when no VBench interpreter is set up.
    """
    from generalbench.metricmodels.loaders import load_model
    from generalbench.metricmodels.registry import metric_models
    from generalbench.metricmodels.vbench_backend import vbench_python

    vbench_python(options.get("vbench_python"))
    if metric_models(metric).get("default") == "vbench":
        return metric_model(metric, options)
    weights = options.get("weights")
    return load_model("vbench", weights=weights.get("vbench") if isinstance(weights, dict) else None,
                      device=options.get("device", "auto"), metric=metric)


def frechet(metric: str, predictions: Sequence[Any], references: Sequence[Any],
             embed: Any, options: dict[str, Any], model: Any) -> MetricResult:
    from generalbench.metricmodels.statcache import cached_stats

    def stats_of(items: Sequence[Any]) -> GaussianStats:
        return gaussian_stats(embed(items))

    ref_items = [r for r in references if r is not None]
    extractor = f"{model.id}|{model.weights.root}|{metric}"
    ref_stats, hit = cached_stats(extractor, ref_items, stats_of, options.get("cache_dir"))
    present = list(predictions)  # failed ones were dropped by the registry (and counted there)
    if len(present) < 2:
        raise MetricError(f"{metric}: needs at least 2 generated items, got {len(present)}")
    pred_stats = stats_of(present)
    value = frechet_distance(pred_stats, ref_stats)
    return MetricResult(value, None, {**model.info(), "n_pred": pred_stats.n, "n_ref": ref_stats.n,
                                      "n_missing": 0,
                                      "reference_stats_cached": hit})


def clip_like_alignment(metric: str, predictions: Sequence[Any], references: Sequence[Any],
                         options: dict[str, Any], embed_pred: str, text_first: bool = False) -> MetricResult:
    """Mean over instances of 100*cos(prediction, reference) (frames averaged for videos).

    The reference is text (the prompt: text alignment) or media of the prediction's kind
    (image/audio similarity); a list of references is averaged.
    """
    model = metric_model(metric, options)
    w = options.get("clipscore_w")
    per = []
    prompts = option_prompts(options, len(predictions)) if text_first else [None] * len(predictions)
    for pred, ref, prompt in zip(predictions, references, prompts, strict=True):
        ref = prompt if prompt is not None else ref
        refs = ref if isinstance(ref, list) and ref and not isinstance(ref[0], (int, float)) else [ref]
        if embed_pred == "images":
            pe = model.embed_images(list(as_frames(pred)))
        else:
            pe = model.embed_audio([as_clip(pred)])
        scores = []
        for r in refs:
            if is_text(r):
                re_ = model.embed_texts([r])
            elif embed_pred == "images":
                re_ = model.embed_images(list(as_frames(r))).mean(axis=0, keepdims=True)
            else:
                re_ = model.embed_audio([as_clip(r)])
            scores.append(float(np.mean(cosine_score(pe, np.repeat(re_, len(pe), axis=0), w=w))))
        per.append(float(np.mean(scores)))
    return mean_result(per, {**model.info(), "convention": "100*cos" if w is None else f"100*{w}*max(cos,0)"})


def frames_vs_texts(model: Any, predictions: Sequence[Any], references: Sequence[Any],
                    texts_of: Callable[[Any], Sequence[str]],
                    score: Callable[[np.ndarray, np.ndarray, Any], float],
                    details: dict[str, Any] | None = None) -> MetricResult:
    """Zero-shot CLIP scoring of generated images or videos against texts, x100 per instance.

    `model` is the metric's CLIP model (metric_model); per instance, `texts_of(reference)` gives the
    candidate texts (embedded once per distinct tuple) and `score(frame embeddings (F, D), text
    embeddings (T, D), reference)` the instance's value in [0, 1]. The mean goes with the model's
    identity and `details`. Classification accuracy and frame accuracy are two uses.
    """
    texts: dict[tuple[str, ...], np.ndarray] = {}
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        key = tuple(texts_of(ref))
        if key not in texts:
            texts[key] = model.embed_texts(list(key))
        frames = model.embed_images(list(as_frames(pred)))
        per.append(100.0 * float(score(frames, texts[key], ref)))
    return mean_result(per, {**model.info(), **(details or {})})


def consistency(metric: str, predictions: Sequence[Any], options: dict[str, Any]) -> MetricResult:
    model = metric_model(metric, options)
    per = per_item(predictions, lambda v: 100.0 * temporal_consistency(model.embed_images(list(as_frames(v)))))
    return mean_result(per, {**model.info(), "variant": "vbench_temporal_consistency"})
