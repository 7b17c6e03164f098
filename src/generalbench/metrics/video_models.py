"""Model-based metrics of generated videos: FVD, CLIP style and DINO similarity or subject
consistency, frame accuracy, aesthetic quality, MUSIQ, temporal flicker, the Optical Flow Score
(dynamic degree), VBench success rates and the VBench-I2V composite. Shared plumbing:
model_common.py; VBench runs in its own interpreter."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.model_common import (
    as_frames,
    clip_like_alignment,
    consistency,
    frames_vs_texts,
    frechet,
    instance_prompts,
    is_text,
    mean_result,
    metric_model,
    per_item,
    task_id,
    task_setting,
    vbench_bridge,
    video_files,
)
from generalbench.metrics.registry import MetricResult, register


@register("fvd")
def fvd(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FVD between generated and reference videos (Kinetics-400 I3D features)."""
    model = metric_model("fvd", options)
    return frechet("fvd", predictions, references, model.embed_videos, options, model)


@register("clip_style")
def clip_style(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLIP similarity x100 of every generated frame to the style reference image(s)."""
    return clip_like_alignment("clip_style", predictions, references, options, "images")


@register("dino_score")
def dino_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench subject consistency (DINO ViT-B/16), or DINO similarity to a reference image."""
    if task_setting(options, "variant") == "subject_consistency" or all(r is None or is_text(r) for r in references):
        return consistency("dino_score", predictions, options)
    return clip_like_alignment("dino_score", predictions, references, options, "images")


@register("frame_acc")
def frame_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Frame accuracy (Video translation): % of frames closer in CLIP space to the target prompt
    than to the source prompt. Reference: {"target": str, "source": str}."""
    def target_and_source(ref: Any) -> list[str]:
        if not (isinstance(ref, dict) and is_text(ref.get("target")) and is_text(ref.get("source"))):
            raise MetricError("frame_acc needs each reference as {'target': prompt, 'source': prompt}")
        return [ref["target"], ref["source"]]

    def closer_to_target(frames: np.ndarray, texts: np.ndarray, _ref: Any) -> float:
        sims = frames @ texts.T
        return float(np.mean(sims[:, 0] > sims[:, 1]))

    return frames_vs_texts(metric_model("frame_acc", options), predictions, references,
                           target_and_source, closer_to_target)


@register("aesthetic")
def aesthetic(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench aesthetic quality x100: LAION linear head on CLIP ViT-L/14 frame embeddings / 10."""
    clip = metric_model("aesthetic", options)
    head = metric_model("aesthetic", options, role="head")
    per = per_item(predictions, lambda v: 10.0 * float(np.mean(head.score(clip.embed_images(list(as_frames(v)))))))
    return mean_result(per, {**clip.info(), "head": head.info()})


@register("musiq")
def musiq(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """MUSIQ image quality (0-100) per video: the mean of its frames' scores, reference-free.

    The checkpoint and the frame preparation are the task's (metricmodels/tasks.yaml): SPAQ with
    frames shrunk to a longer side of 512 is VBench's imaging_quality; KonIQ on full frames is
    how video super-resolution papers report MUSIQ. A missing video scores 0.
    """
    model = metric_model("musiq", {**options, "model": task_setting(options, "model")})
    longest = task_setting(options, "resize_longest")
    longest = 512 if longest is None else int(longest)
    per = per_item(predictions, lambda v: float(np.mean(model.score_video(as_frames(v), longest or None))))
    return mean_result(per, {**model.info(), "frames_longer_side_max": longest or "native"})


@register("temporal_flicker")
def temporal_flicker(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench temporal flickering x100: (255 - mean |frame difference|) / 255."""
    from generalbench.metricmodels import motion

    return mean_result(per_item(predictions, lambda v: 100.0 * motion.temporal_flicker(as_frames(v))),
                        {"definition": "vbench temporal_flickering"})


@register("flow_score")
def flow_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Optical Flow Score: VBench's dynamic degree, the % of videos judged dynamic, with RAFT
    (raft-things, `raft_iters` refinements, default 20 as VBench) and VBench's rule
    (metricmodels/dynamic_degree.py). A video read from its file (option `video_paths`, which the
    scorer passes) keeps every round(fps / 8)-th frame; frames given as an array are taken at
    option `fps` (default: none, every frame kept, as VBench does for a frame folder, which is
    the same as 8 fps). `flow="lucas-kanade"` runs the rule on the model-free Lucas-Kanade
    estimate instead (an approximation, labelled in the details). A missing video scores 0."""
    from generalbench.metricmodels import dynamic_degree

    method = str(options.get("flow", "raft"))
    if method == "raft":
        model = metric_model("flow_score", options)
        iters = int(options.get("raft_iters", 20))
        flows: Any = partial(model.pair_flows, iters=iters)
        details: dict[str, Any] = {**model.info(), "flow": f"RAFT, {iters} iterations"}
    elif method == "lucas-kanade":
        from generalbench.metricmodels import motion

        flows = motion.pair_flows
        details = {"flow": "pyramidal Lucas-Kanade (an approximation: VBench uses RAFT)"}
    else:
        raise MetricError(f"flow_score: unknown flow={method!r}; use 'raft' (VBench's) or 'lucas-kanade'")
    paths = options.get("video_paths")
    if paths is not None and len(paths) != len(predictions):
        raise MetricError(f"option video_paths has {len(paths)} entries for {len(predictions)} predictions")
    fps = options.get("fps")
    per: list[float] = []
    sampling: set[str] = set()
    for i, pred in enumerate(predictions):
        path = paths[i] if paths is not None else (pred if isinstance(pred, (str, Path)) else None)
        if path is not None and Path(path).is_file():
            kept, rate, every = dynamic_degree.read_video(path)
        elif isinstance(pred, (str, Path)):  # a path that is not a file: nothing to measure
            per.append(0.0)
            continue
        else:
            rate = None if fps is None else float(fps)
            every = dynamic_degree.sampling_interval(rate)
            kept = as_frames(pred)[::every]
        sampling.add(f"every {every}" if rate is not None else "every frame (no fps)")
        per.append(100.0 * dynamic_degree.dynamic_degree(kept, flows).dynamic)
    return mean_result(per, {**details, "rule": "vbench dynamic_degree", "frames_kept": "; ".join(sorted(sampling))})


def _vbench(metric: str, predictions: Sequence[Any], references: Sequence[Any],
            options: dict[str, Any]) -> MetricResult:
    """One VBench dimension (metricmodels/tasks.yaml `vbench`, or option vbench=...), x100.

    Only the present videos go to VBench; a missing one scores 0 (the worst value), and the value
    is VBench's own aggregate over the present videos weighted by their share of the instances.
    """
    dimension = task_setting(options, "vbench")
    if not dimension:
        raise MetricError(f"metric {metric!r}: no VBench dimension declared for task "
                          f"{task_id(options)!r} (metricmodels/tasks.yaml or option vbench=...)")
    model = vbench_bridge(metric, options)
    n = len(predictions)
    prompts = instance_prompts(options, references, n)
    aux = options.get("vbench_auxiliary") or [None] * n
    if len(aux) != n:
        raise MetricError(f"option vbench_auxiliary has {len(aux)} entries for {n} predictions")
    details: dict[str, Any] = {**model.info(), "dimension": dimension}
    with tempfile.TemporaryDirectory(prefix="generalbench-videos-") as tmp:
        files = video_files(predictions, options, Path(tmp))
        present = [i for i, f in enumerate(files) if f is not None]
        per = [0.0] * n
        if not present:
            return MetricResult(0.0, per, {**details, "n_missing": n})
        run = model.run(str(dimension), [files[i] for i in present], [prompts[i] for i in present],
                        auxiliary=[aux[i] for i in present], python=options.get("vbench_python"),
                        timeout=options.get("vbench_timeout"))
    for i, value in zip(present, run.per_video, strict=True):
        per[i] = 100.0 * value
    mean = 100.0 * run.mean * len(present) / n
    return MetricResult(mean, per, {**details, **run.info(), "n_missing": n - len(present)})


# Success rates that are not VBench 0.1.5 dimensions: metricmodels/tasks.yaml `success_check`
# names one of these modules, each exposing success_rate(predictions, references, options).
SUCCESS_CHECKS: dict[str, str] = {
    "camera_motion": "generalbench.metrics.camera_motion",  # VBench-2.0 Camera_Motion (CoTracker)
    "video_qa": "generalbench.metrics.video_qa",  # VBench-2.0 yes/no video QA (Material, ...)
}


@register("success_rate")
def success_rate(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Success rates of text-to-video generation, chosen per task (metricmodels/tasks.yaml):
    `vbench` names a VBench dimension (object class, multiple objects, colour, spatial
    relationship, human action; VBench runs in its own interpreter), `success_check` one of
    SUCCESS_CHECKS (VBench-2.0's camera motion and video question answering)."""
    check = task_setting(options, "success_check")
    if check:
        if check not in SUCCESS_CHECKS:
            raise MetricError(f"success_rate: unknown success_check {check!r} for task "
                              f"{task_id(options)!r}; known: {sorted(SUCCESS_CHECKS)}")
        import importlib

        module = importlib.import_module(SUCCESS_CHECKS[check])
        return module.success_rate(predictions, references, options)
    return _vbench("success_rate", predictions, references, options)


@register("i2v_composite")
def i2v_composite(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench-I2V composite x100: per video, the mean of I2V subject (DINO frames vs the input
    image, cosine clipped at 0), ViCLIP video-text consistency (VBench overall_consistency),
    dynamic degree (VBench RAFT) and motion smoothness (VBench AMT), all in [0, 1]; averaged over
    instances, a missing video scoring 0. ViCLIP, RAFT and AMT run in VBench's own interpreter,
    and the metric raises without it (no partial composite is reported). Reference: the input image,
    or {"image": ..., "prompt": ...}."""
    vb = vbench_bridge("i2v_composite", options)
    dino = metric_model("i2v_composite", options)
    n = len(predictions)
    prompts = instance_prompts(options, references, n)
    python = options.get("vbench_python")
    with tempfile.TemporaryDirectory(prefix="generalbench-videos-") as tmp:
        files = video_files(predictions, options, Path(tmp))
        present = [i for i, f in enumerate(files) if f is not None]
        no_prompt = [i for i in present if prompts[i] is None]
        if no_prompt:
            raise MetricError(f"i2v_composite: ViCLIP needs each video's prompt; instance(s) {no_prompt[:5]} "
                              "have none (option prompts, or references {'image', 'prompt'})")
        videos = [files[i] for i in present]
        limit = options.get("vbench_timeout")
        viclip = vb.run("overall_consistency", videos, [prompts[i] for i in present], python=python,
                        timeout=limit) if present else None
        dynamic = vb.run("dynamic_degree", videos, python=python, timeout=limit) if present else None
        smooth = vb.run("motion_smoothness", videos, python=python, timeout=limit) if present else None
    per = [0.0] * n
    parts: dict[str, list[float]] = {"i2v_subject": [], "viclip": [], "dynamic_degree": [],
                                     "motion_smoothness": []}
    for j, i in enumerate(present):
        ref = references[i]
        image = ref.get("image") if isinstance(ref, dict) else ref
        frames = as_frames(predictions[i])
        emb = dino.embed_images(list(frames))
        anchor = dino.embed_images([np.asarray(image)])
        values = {"i2v_subject": float(np.mean(np.maximum(emb @ anchor[0], 0.0))),
                  "viclip": viclip.per_video[j], "dynamic_degree": dynamic.per_video[j],
                  "motion_smoothness": smooth.per_video[j]}
        for key, v in values.items():
            parts[key].append(v)
        per[i] = 100.0 * float(np.mean(list(values.values())))
    details = {**dino.info(), **(viclip.info() if viclip else {}), "n_missing": n - len(present),
               **{k: float(np.mean(v)) for k, v in parts.items() if v}}
    details.pop("vbench_dimension", None)
    return mean_result(per, details)
