"""Judge metrics: GPT-Score (an LLM grades each answer with a pinned rubric) and user preference.

Per instance the judge sees the question, the reference answer and the model's answer (plus the
task's media when the rubric asks for it and the judge is multimodal) and answers one integer on
the rubric's scale; the metric is the mean of 100*(s-lo)/(hi-lo). A reply without a number is an
error naming the instance, not a silent zero; a missing prediction scores 0 without a judge call.
Options: task, questions (per-instance question texts from the task inputs), judge,
judge_base_url, judge_multimodal, judge_cache (path; False disables caching), device.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register

_INT = re.compile(r"-?\d+(?:\.\d+)?")


def parse_verdict(text: str, lo: int, hi: int) -> float | None:
    """The first number in the reply if it lies on the scale, else None."""
    for match in _INT.finditer(text):
        value = float(match.group())
        if lo <= value <= hi:
            return value
        return None
    return None


def _fields(reference: Any) -> tuple[str, str, list[Path]]:
    if isinstance(reference, dict):
        answer = reference.get("answer", reference.get("reference", ""))
        if isinstance(answer, list):
            answer = " | ".join(map(str, answer))
        media = [Path(p) for p in reference.get("media", [])]
        return str(reference.get("question", "")), str(answer), media
    if isinstance(reference, list):
        return "", " | ".join(map(str, reference)), []
    return "", str(reference), []


@register("gpt_score")
def gpt_score(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean judge score in percent. References: str, list[str] or {'question', 'answer', 'media'}."""
    from generalbench.metricmodels.judges import (
        JudgeCache,
        build_messages,
        judge_from_options,
        rubric_for,
    )

    task = options.get("task")
    rubric = rubric_for(str(getattr(task, "id", task)) if task is not None else None)
    judge = judge_from_options(options)
    cache_opt = options.get("judge_cache")
    cache = None if cache_opt is False else JudgeCache(cache_opt)
    lo, hi = rubric.scale
    per: list[float] = []
    hits = 0
    questions = list(options.get("questions") or [None] * len(predictions))
    if len(questions) != len(predictions):
        raise MetricError(f"gpt_score: {len(questions)} questions for {len(predictions)} predictions")
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        question, answer, media = _fields(ref)
        if not question and questions[i] is not None:
            question = str(questions[i])
        if media and rubric.media == "required" and not judge.multimodal:
            raise MetricError(f"instance {i}: rubric {rubric.id!r} requires the task's media but the "
                              "judge is text-only; configure a multimodal judge (judge_multimodal=True)")
        send_media = media if (media and judge.multimodal and rubric.media != "none") else None
        messages = build_messages(rubric, question=question, reference=answer,
                                  prediction=str(pred), media=send_media)
        key = JudgeCache.key(judge.identity(), rubric, messages) if cache else ""
        reply = cache.get(key) if cache else None
        if reply is None:
            reply, _ = judge.complete(messages, rubric.scale)
            if cache:
                cache.put(key, reply, judge.identity(), rubric)
        else:
            hits += 1
        value = parse_verdict(reply, lo, hi)
        if value is None:
            raise MetricError(f"gpt_score: instance {i}: the judge's reply {reply[:80]!r} holds no "
                              f"integer in [{lo}, {hi}] (rubric {rubric.id!r} v{rubric.version})")
        per.append(100.0 * (value - lo) / (hi - lo))
    if not per:
        raise MetricError("gpt_score: no instances to judge")
    return MetricResult(sum(per) / len(per), per, {"judge": judge.identity(), "rubric": rubric.describe(),
                                                   "cache_hits": hits})


@register("user_preference")
def user_preference(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    raise MetricError("metric 'user_preference' (User preference rates) is a human preference study "
                      "and cannot be computed automatically; collect human votes and supply the "
                      "task's score in a score file (see `generalbench level`)")
