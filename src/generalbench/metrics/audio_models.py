"""Model-based metrics of generated audio: FAD, CLAP and Style-CLAP, DNSMOS MOS, WER and CIDEr of
Whisper transcripts of generated speech, and E-Acc (metrics/e_acc.py). Shared plumbing:
model_common.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.model_common import (
    as_clip,
    clip_like_alignment,
    frechet,
    mean_result,
    metric_model,
)
from generalbench.metrics.registry import MetricResult, register


@register("fad")
def fad(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """FAD between generated and reference audio (VGGish embeddings of all 0.96 s patches)."""
    model = metric_model("fad", options)

    def embed(items: Sequence[Any]) -> np.ndarray:
        return np.concatenate(model.embed_audio([as_clip(x) for x in items]), axis=0)

    return frechet("fad", predictions, references, embed, options, model)


@register("clap")
def clap(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """CLAP score x100: cosine of the generated audio with the caption (or a reference clip)."""
    return clip_like_alignment("clap", predictions, references, options, "audio", text_first=True)


@register("style_clap")
def style_clap(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Style-CLAP x100: CLAP cosine of the generated audio with the style reference (audio or text)."""
    return clip_like_alignment("style_clap", predictions, references, options, "audio")


@register("mos")
def mos(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """DNSMOS P.835 overall quality (OVRL, 1-5) of generated speech, averaged over clips."""
    model = metric_model("mos", options)
    key = str(options.get("dnsmos_score", "ovrl"))
    per = [s[key] for s in model.score([as_clip(p) for p in predictions])]  # failed: worst: 1
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
    present = [as_clip(p) for p in predictions if p is not None]
    heard = iter(model.transcribe(present, language=language))
    # speech_cider's failed predictions are empty transcripts (its corpus CIDEr needs every
    # reference); wer's never get here (specs.yaml worst: 100)
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


@register("e_acc")
def e_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """E-Acc (PianoToOrchestrationGeneration): event-level accuracy of projective orchestration
    on Basic Pitch transcriptions, pitch-only; see metrics/e_acc.py."""
    from generalbench.metrics.e_acc import e_acc as event_level_accuracy

    return event_level_accuracy(predictions, references, **options)
