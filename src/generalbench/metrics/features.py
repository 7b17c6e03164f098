"""Model-based metrics: distribution distances (FID/FVD/FAD), embedding similarities (CLIP, DINO,
CLAP), learned quality scores (aesthetic, DNSMOS), speech recognition (WER/CIDEr of speech) and
the VBench-style video dimensions.

Every metric takes the contract's `fn(predictions, references, **options)`; the options shared by
all of them are:
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
A missing or unparseable prediction (None) scores as the worst value of a per-instance metric
(0, or MOS 1, or WER 100%) and is left out of a distribution distance (counted in details).
Missing weights raise MissingWeightsError; a missing extra raises MetricError naming the extra.
No metric falls back to another or invents a value. Heavy packages load lazily, inside calls.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from functools import lru_cache, partial
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
from generalbench.metrics.registry import MetricResult, register

# ---- shared plumbing --------------------------------------------------------------------
# task_setting, metric_model, instance_prompts, video_files and mean_result are also used by the
# model-based metric modules that features.py dispatches to (camera_motion, video_qa).


@lru_cache(maxsize=1)
def task_options() -> dict[str, dict[str, Any]]:
    """metricmodels/tasks.yaml: per-task variants and VBench dimensions."""
    text = resources.files("generalbench.metricmodels").joinpath("tasks.yaml").read_text("utf-8")
    return yaml.safe_load(text) or {}


def _task_id(options: dict[str, Any]) -> str | None:
    task = options.get("task")
    if task is None:
        return None
    return str(getattr(task, "id", task))


def task_setting(options: dict[str, Any], key: str) -> Any:
    """A per-task choice: the option of that name, else the task's entry in tasks.yaml."""
    if key in options:
        return options[key]
    tid = _task_id(options)
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


def _frames(video: Any) -> np.ndarray:
    v = np.asarray(video)
    if v.ndim == 3 and v.shape[-1] in (3, 4):  # a single image counts as a one-frame video
        v = v[None]
    if v.ndim != 4:
        raise MetricError(f"expected a video T x H x W x C (or an image), got shape {v.shape}")
    return v


def _is_text(x: Any) -> bool:
    return isinstance(x, str)


def _per_item(predictions: Sequence[Any], fn: Any, worst: float) -> list[float]:
    """fn(prediction) per instance; a missing prediction (None) scores `worst`."""
    return [worst if p is None else float(fn(p)) for p in predictions]


def _prompts(options: dict[str, Any], n: int) -> list[Any]:
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


def _as_clip(item: Any) -> tuple[np.ndarray, int]:
    from generalbench.metricmodels.audio_io import as_clip

    return as_clip(item)


# ---- Frechet distances ----------------------------------------------------------------


def _frechet(metric: str, predictions: Sequence[Any], references: Sequence[Any],
             embed: Any, options: dict[str, Any], model: Any) -> MetricResult:
    from generalbench.metricmodels.statcache import cached_stats

    def stats_of(items: Sequence[Any]) -> GaussianStats:
        return gaussian_stats(embed(items))

    ref_items = [r for r in references if r is not None]
    extractor = f"{model.id}|{model.weights.root}|{metric}"
    ref_stats, hit = cached_stats(extractor, ref_items, stats_of, options.get("cache_dir"))
    present = [p for p in predictions if p is not None]
    if len(present) < 2:
        raise MetricError(f"{metric}: needs at least 2 generated items, got {len(present)} "
                          f"(of {len(predictions)} predictions)")
    pred_stats = stats_of(present)
    value = frechet_distance(pred_stats, ref_stats)
    return MetricResult(value, None, {**model.info(), "n_pred": pred_stats.n, "n_ref": ref_stats.n,
                                      "n_missing": len(predictions) - len(present),
                                      "reference_stats_cached": hit})


@register("fid")
def fid(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FID between generated and reference images (pytorch-fid Inception pool3 features)."""
    model = metric_model("fid", options)
    return _frechet("fid", predictions, references, model.embed_images, options, model)


@register("fvd")
def fvd(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FVD between generated and reference videos (Kinetics-400 I3D features)."""
    model = metric_model("fvd", options)
    return _frechet("fvd", predictions, references, model.embed_videos, options, model)


@register("fad")
def fad(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FAD between generated and reference audio (VGGish embeddings of all 0.96 s patches)."""
    model = metric_model("fad", options)

    def embed(items: Sequence[Any]) -> np.ndarray:
        return np.concatenate(model.embed_audio([_as_clip(x) for x in items]), axis=0)

    return _frechet("fad", predictions, references, embed, options, model)


# ---- embedding similarities -----------------------------------------------------------


def _clip_like_alignment(metric: str, predictions: Sequence[Any], references: Sequence[Any],
                         options: dict[str, Any], embed_pred: str, text_first: bool = False) -> MetricResult:
    """Mean over instances of 100*cos(prediction, reference) (frames averaged for videos).

    The reference is text (the prompt: text alignment) or media of the prediction's kind
    (image/audio similarity); a list of references is averaged.
    """
    model = metric_model(metric, options)
    w = options.get("clipscore_w")
    per = []
    prompts = _prompts(options, len(predictions)) if text_first else [None] * len(predictions)
    for pred, ref, prompt in zip(predictions, references, prompts, strict=True):
        if pred is None:
            per.append(0.0)
            continue
        ref = prompt if prompt is not None else ref
        refs = ref if isinstance(ref, list) and ref and not isinstance(ref[0], (int, float)) else [ref]
        if embed_pred == "images":
            pe = model.embed_images(list(_frames(pred)))
        else:
            pe = model.embed_audio([_as_clip(pred)])
        scores = []
        for r in refs:
            if _is_text(r):
                re_ = model.embed_texts([r])
            elif embed_pred == "images":
                re_ = model.embed_images(list(_frames(r))).mean(axis=0, keepdims=True)
            else:
                re_ = model.embed_audio([_as_clip(r)])
            scores.append(float(np.mean(cosine_score(pe, np.repeat(re_, len(pe), axis=0), w=w))))
        per.append(float(np.mean(scores)))
    return mean_result(per, {**model.info(), "convention": "100*cos" if w is None else f"100*{w}*max(cos,0)"})


def _consistency(metric: str, predictions: Sequence[Any], options: dict[str, Any]) -> MetricResult:
    model = metric_model(metric, options)
    per = _per_item(predictions, lambda v: 100.0 * temporal_consistency(model.embed_images(list(_frames(v)))), 0.0)
    return mean_result(per, {**model.info(), "variant": "vbench_temporal_consistency"})


@register("clip_score")
def clip_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLIP score x100 (plain cosine; see featmath.cosine_score), or VBench background consistency."""
    if task_setting(options, "variant") == "background_consistency":
        return _consistency("clip_score", predictions, options)
    preds = [None if p is None else _renderable(p, options) for p in predictions]
    return _clip_like_alignment("clip_score", preds, references, options, "images", text_first=True)


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
    return _clip_like_alignment("clip_image_score", predictions, references, options, "images")


@register("clip_style")
def clip_style(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLIP similarity x100 of every generated frame to the style reference image(s)."""
    return _clip_like_alignment("clip_style", predictions, references, options, "images")


@register("dino_score")
def dino_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench subject consistency (DINO ViT-B/16), or DINO similarity to a reference image."""
    if task_setting(options, "variant") == "subject_consistency" or all(r is None or _is_text(r) for r in references):
        return _consistency("dino_score", predictions, options)
    return _clip_like_alignment("dino_score", predictions, references, options, "images")


@register("clap")
def clap(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLAP score x100: cosine of the generated audio with the caption (or a reference clip)."""
    return _clip_like_alignment("clap", predictions, references, options, "audio", text_first=True)


@register("style_clap")
def style_clap(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Style-CLAP x100: CLAP cosine of the generated audio with the style reference (audio or text)."""
    return _clip_like_alignment("style_clap", predictions, references, options, "audio")


@register("frame_acc")
def frame_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Frame accuracy (Video translation): % of frames closer in CLIP space to the target prompt
    than to the source prompt. Reference: {"target": str, "source": str}."""
    model = metric_model("frame_acc", options)
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        if pred is None:
            per.append(0.0)
            continue
        if not (isinstance(ref, dict) and _is_text(ref.get("target")) and _is_text(ref.get("source"))):
            raise MetricError("frame_acc needs each reference as {'target': prompt, 'source': prompt}")
        frames = model.embed_images(list(_frames(pred)))
        texts = model.embed_texts([ref["target"], ref["source"]])
        sims = frames @ texts.T
        per.append(100.0 * float(np.mean(sims[:, 0] > sims[:, 1])))
    return mean_result(per, model.info())


@register("classifier_acc")
def classifier_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Zero-shot CLIP classification accuracy of generated images against their class labels.

    Candidate labels: options['labels'] or the distinct references; prompt 'a photo of a {label}'.
    """
    model = metric_model("classifier_acc", options)
    labels = list(options.get("labels") or sorted({str(r) for r in references}))
    if len(labels) < 2:
        raise MetricError("classifier_acc needs at least two candidate labels (options['labels'])")
    template = str(options.get("label_template", "a photo of a {}"))
    text = model.embed_texts([template.format(lab) for lab in labels])
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        if pred is None:
            per.append(0.0)
            continue
        img = model.embed_images(list(_frames(pred))).mean(axis=0)
        per.append(100.0 * float(labels[int(np.argmax(text @ img))] == str(ref)))
    return mean_result(per, {**model.info(), "labels": len(labels)})


@register("aesthetic")
def aesthetic(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench aesthetic quality x100: LAION linear head on CLIP ViT-L/14 frame embeddings / 10."""
    clip = metric_model("aesthetic", options)
    head = metric_model("aesthetic", options, role="head")
    per = _per_item(predictions, lambda v: 10.0 * float(np.mean(head.score(clip.embed_images(list(_frames(v)))))), 0.0)
    return mean_result(per, {**clip.info(), "head": head.info()})


# ---- speech ---------------------------------------------------------------------------


@register("mos")
def mos(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """DNSMOS P.835 overall quality (OVRL, 1-5) of generated speech, averaged over clips."""
    model = metric_model("mos", options)
    key = str(options.get("dnsmos_score", "ovrl"))
    present = [_as_clip(p) for p in predictions if p is not None]
    scores = iter(model.score(present))
    per = [1.0 if p is None else next(scores)[key] for p in predictions]  # 1 = worst MOS
    return mean_result(per, {**model.info(), "score": key})


_NON_LATIN = re.compile(r"[\u0400-\u04ff\u1800-\u18af\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def transcribe(predictions: Sequence[Any], options: dict[str, Any], metric: str,
               references: Sequence[Any] = ()) -> tuple[list[str], Any]:
    """Whisper transcripts; refuses a language the recogniser cannot transcribe."""
    model = metric_model(metric, options)
    language = str(options.get("language", "en"))
    supported = model.weights.model.languages
    foreign = any(isinstance(r, str) and _NON_LATIN.search(r) for r in references)
    if supported and (language not in supported or (foreign and "language" not in options)):
        raise MetricError(f"metric {metric!r}: the speech recogniser {model.id!r} only transcribes "
                          f"{', '.join(supported)}, but the references are in another language; pass "
                          "model='faster-whisper-small' and language=<code> (e.g. zh, mn)")
    present = [_as_clip(p) for p in predictions if p is not None]
    heard = iter(model.transcribe(present, language=language))
    return ["" if p is None else next(heard) for p in predictions], model


@register("wer")
def speech_wer(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """WER (percent) of the Whisper transcript of generated speech vs the reference text.

    Transcripts are scored by metrics.audio.word_error_rate (jiwer; lower-cased, punctuation
    dropped, characters for CJK references, mean of per-utterance WER as the official code).
    """
    from generalbench.metrics.audio import word_error_rate

    texts, model = transcribe(predictions, options, "wer", references)
    refs = [r if isinstance(r, str) else r[0] for r in references]
    inner = word_error_rate(texts, refs)
    return MetricResult(inner.value, inner.per_instance,
                        {**inner.details, **model.info(), "transcripts": texts})


@register("speech_cider")
def speech_cider(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CIDEr of the Whisper transcript of generated speech against the reference caption(s)."""
    from generalbench.metrics.registry import compute_detailed

    texts, model = transcribe(predictions, options, "speech_cider",
                              [r if isinstance(r, str) else (r[0] if r else "") for r in references])
    inner = compute_detailed("cider", texts, list(references))
    return MetricResult(inner.value, inner.per_instance, {**model.info(), "transcripts": texts})


# ---- VBench-style video dimensions ------------------------------------------------------


@register("temporal_flicker")
def temporal_flicker(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """VBench temporal flickering x100: (255 - mean |frame difference|) / 255."""
    from generalbench.metricmodels import motion

    return mean_result(_per_item(predictions, lambda v: 100.0 * motion.temporal_flicker(_frames(v)), 0.0),
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
        elif pred is None or isinstance(pred, (str, Path)):
            per.append(0.0)
            continue
        else:
            rate = None if fps is None else float(fps)
            every = dynamic_degree.sampling_interval(rate)
            kept = _frames(pred)[::every]
        sampling.add(f"every {every}" if rate is not None else "every frame (no fps)")
        per.append(100.0 * dynamic_degree.dynamic_degree(kept, flows).dynamic)
    return mean_result(per, {**details, "rule": "vbench dynamic_degree", "frames_kept": "; ".join(sorted(sampling))})


def _vbench_bridge(metric: str, options: dict[str, Any]) -> Any:
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


def instance_prompts(options: dict[str, Any], references: Sequence[Any], n: int) -> list[str | None]:
    """Each instance's prompt: option `prompts` (the task inputs), else a text reference or the
    reference's "prompt" field; None when there is none."""
    given = _prompts(options, n)
    out: list[str | None] = []
    for prompt, ref in zip(given, references, strict=True):
        if prompt is None and _is_text(ref):
            prompt = ref
        elif prompt is None and isinstance(ref, dict) and _is_text(ref.get("prompt")):
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
        elif pred is None or isinstance(pred, (str, Path)):
            out.append(None)
        else:
            from generalbench.data.media import save_video

            frames = _frames(pred)
            frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2, :3]
            target = tmp / f"video{i}.mp4"
            save_video(target, np.asarray(frames, dtype=np.uint8))
            out.append(target)
    return out


def _vbench(metric: str, predictions: Sequence[Any], references: Sequence[Any],
            options: dict[str, Any]) -> MetricResult:
    """One VBench dimension (metricmodels/tasks.yaml `vbench`, or option vbench=...), x100.

    Only the present videos go to VBench; a missing one scores 0 (the worst value), and the value
    is VBench's own aggregate over the present videos weighted by their share of the instances.
    """
    dimension = task_setting(options, "vbench")
    if not dimension:
        raise MetricError(f"metric {metric!r}: no VBench dimension declared for task "
                          f"{_task_id(options)!r} (metricmodels/tasks.yaml or option vbench=...)")
    model = _vbench_bridge(metric, options)
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
    per = _per_item(predictions, lambda v: float(np.mean(model.score_video(_frames(v), longest or None))),
                    0.0)
    return mean_result(per, {**model.info(), "frames_longer_side_max": longest or "native"})


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
                              f"{_task_id(options)!r}; known: {sorted(SUCCESS_CHECKS)}")
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
    vb = _vbench_bridge("i2v_composite", options)
    dino = metric_model("i2v_composite", options)
    n = len(predictions)
    prompts = instance_prompts(options, references, n)
    python = options.get("vbench_python")
    with tempfile.TemporaryDirectory(prefix="generalbench-videos-") as tmp:
        files = video_files(predictions, options, Path(tmp))
        present = [i for i, f in enumerate(files) if f is not None and predictions[i] is not None]
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
        frames = _frames(predictions[i])
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


@register("motion_fid")
def motion_fid(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Motion FID (Text to 3D Motion Generation): Frechet distance of the HumanML3D evaluator's
    512-d motion embeddings (Guo et al. 2022) of generated vs reference motions, each a T x 263
    array of HumanML3D features (metricmodels/t2m_evaluator.py)."""
    model = metric_model("motion_fid", options)
    return _frechet("motion_fid", predictions, references, model.embed_motions, options, model)


# ---- E-Acc: orchestral piano rolls transcribed from audio ---------------------------------


@register("e_acc")
def e_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """E-Acc (PianoToOrchestrationGeneration): event-level accuracy of projective orchestration
    on Basic Pitch transcriptions, pitch-only; see metrics/e_acc.py."""
    from generalbench.metrics.e_acc import e_acc as event_level_accuracy

    return event_level_accuracy(predictions, references, **options)
