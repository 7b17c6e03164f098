"""VBench-2.0's yes/no video question answering (Material, Mechanics, Thermotics, ...) as a
success rate.

VBench-2.0 scores these dimensions by asking a video VLM (LLaVA-Video-7B-Qwen2) each prompt's
questions about 64 uniformly sampled frames of the generated video, each question in a fresh
conversation that starts with a time instruction. A reply counts as "yes" when "yes" occurs in
it (lower-cased); the dimension's rule (metricmodels/vbench2_questions.yaml) turns the answers
into success (1), failure (0) or invalid (-1, left out of the denominator), and the score is
successes / valid videos, x100 here.

The VLM is a judge built by metricmodels/judges.py (an OpenAI-compatible endpoint or a local
transformers vision-language model): the sampled frames go to it as PNG image parts followed by
the instruction text, its identity is recorded and its replies are cached. A missing or
unreadable video is a failure (0) among the valid videos, without a judge call. Questions that
cannot change a video's outcome (after a gating "no", or after a "no" where every answer must be
"yes") are not asked; VBench-2.0 asks some of them, which changes nothing in the score.

Options (besides judges.py's judge, judge_base_url, judge_cache, device):
  task / vbench2_dimension  the dimension (metricmodels/tasks.yaml `vbench2_dimension`)
  video_questions           per-instance question lists (overrides the lookup by prompt)
  prompts, video_paths      as for the other video metrics (metrics/model_common.py)
  video_qa_frames           frames sampled per video (default: the protocol's, 64)
  judge_max_tokens          the reply limit (default: the protocol's, VBench-2.0's 4096)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from generalbench.errors import DataError, MetricError
from generalbench.metrics.model_common import (
    instance_prompts,
    mean_result,
    task_setting,
    video_files,
)
from generalbench.metrics.registry import MetricResult

INVALID, FAILURE, SUCCESS = -1, 0, 1


# ---- protocol data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Protocol:
    """One VBench-2.0 QA dimension: instruction, rule, frame count and fixed questions."""

    dimension: str
    rule: str
    frames: int
    max_new_tokens: int
    system: str
    instruction: str
    source: str
    questions: tuple[str, ...] = ()  # the same questions for every prompt (Human_Clothes)

    @property
    def sha256(self) -> str:
        blob = json.dumps([self.dimension, self.rule, self.frames, self.system, self.instruction,
                           list(self.questions)])
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "rule": self.rule, "source": f"vbench2 0.1.1 {self.source}",
                "sha256": self.sha256}


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("generalbench.metricmodels").joinpath("vbench2_questions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def protocol(dimension: str) -> Protocol:
    """The dimension's protocol; an unknown dimension is an error listing the known ones."""
    raw = _data()["protocols"].get(dimension)
    if raw is None:
        raise MetricError(f"VBench-2.0 video QA: no protocol for dimension {dimension!r} in "
                          f"metricmodels/vbench2_questions.yaml; known: {sorted(_data()['protocols'])}")
    return Protocol(dimension, raw["rule"], int(raw["frames"]), int(raw["max_new_tokens"]),
                    raw["system"], raw["instruction"], raw["source"], tuple(raw.get("questions", ())))


def _norm(prompt: str) -> str:
    return re.sub(r"\s+", " ", prompt).strip().casefold()


@lru_cache(maxsize=16)
def _questions_by_prompt(dimension: str) -> dict[str, list[str]]:
    table = _data()["questions"].get(dimension) or {}
    return {_norm(p): list(q) for p, q in table.items()}


def questions_for(dimension: str, prompt: str | None) -> list[str] | None:
    """VBench-2.0's questions for a prompt (whitespace and case ignored), or None if unknown."""
    fixed = protocol(dimension).questions
    if fixed:
        return list(fixed)
    if prompt is None:
        return None
    return _questions_by_prompt(dimension).get(_norm(prompt))


# ---- scoring rule (pure) ----------------------------------------------------------------------


def is_yes(reply: str) -> bool:
    """VBench-2.0's test: "yes" anywhere in the lower-cased reply."""
    return "yes" in reply.lower()


def judge_video(rule: str, questions: Sequence[str], ask: Callable[[str], str]) -> tuple[int, list[str]]:
    """Ask the questions in order and apply the rule: (SUCCESS | FAILURE | INVALID, replies).

    Stops as soon as the outcome is decided (each question is a fresh conversation, so the
    unasked ones cannot change it).
    """
    if not questions:
        raise MetricError("VBench-2.0 video QA: a video has no questions to ask")
    replies: list[str] = []

    def yes(i: int) -> bool:
        replies.append(ask(questions[i]))
        return is_yes(replies[-1])

    if rule == "first_gates_second":
        if len(questions) == 1:
            return (SUCCESS if yes(0) else FAILURE), replies
        if not yes(0):
            return INVALID, replies
        return (SUCCESS if yes(1) else FAILURE), replies
    if rule == "first_gates_rest":
        if not yes(0):
            return INVALID, replies
        return (SUCCESS if all(yes(i) for i in range(1, len(questions))) else FAILURE), replies
    if rule == "all_yes":
        return (SUCCESS if all(yes(i) for i in range(len(questions))) else FAILURE), replies
    raise MetricError(f"VBench-2.0 video QA: unknown rule {rule!r} (metricmodels/vbench2_questions.yaml)")


def success_rate_of(outcomes: Sequence[int]) -> float:
    """Successes / valid videos x100 (VBench-2.0's aggregate); no valid video is an error."""
    valid = [o for o in outcomes if o != INVALID]
    if not valid:
        raise MetricError(f"VBench-2.0 video QA: all {len(outcomes)} videos are invalid (the judge "
                          "answered no to every gating question), so the success rate is undefined")
    return 100.0 * sum(1 for o in valid if o == SUCCESS) / len(valid)


# ---- frames -----------------------------------------------------------------------------------


def _decode(path: Path, keep: set[int] | None) -> tuple[dict[int, np.ndarray], int, float]:
    """Frames at the `keep` indices (all when None), the number of frames decoded and the
    stream's average frame rate (decord's get_avg_fps, which VBench-2.0 uses)."""
    from generalbench.data.media import decode_video, video_stream_info

    try:
        rate, _ = video_stream_info(path)
        kept, count = decode_video(path, None if keep is None else keep.__contains__)
    except DataError as exc:
        raise MetricError(f"cannot read the video: {exc}") from None
    if not rate or count == 0:
        raise MetricError(f"{path}: no frame rate or no frames; cannot place the sampled frames in time")
    return kept, count, rate


def sample_frames(path: Path, n: int) -> tuple[np.ndarray, list[float], float]:
    """VBench-2.0's force_sample: n frame indices linspace(0, T-1, n) (truncated to int, repeats
    when T < n), their times index / average fps, and the duration T / average fps.

    Only the sampled frames are kept in memory when the container states its frame count; a
    wrong or missing count costs a second decoding pass.
    """
    from generalbench.data.media import video_stream_info

    try:
        _, stated = video_stream_info(path)
    except DataError as exc:
        raise MetricError(f"cannot read the video: {exc}") from None
    if stated:
        idx = np.linspace(0, stated - 1, n, dtype=int)
        kept, total, fps = _decode(path, set(idx.tolist()))
    else:  # no stated count: decode everything once
        kept, total, fps = _decode(path, None)
    if total != stated:
        idx = np.linspace(0, total - 1, n, dtype=int)
        if not set(idx.tolist()) <= kept.keys():
            kept, total, fps = _decode(path, set(idx.tolist()))
    return np.stack([kept[int(i)] for i in idx]), [float(i) / fps for i in idx], total / fps


def time_instruction(proto: Protocol, question: str, times: Sequence[float], duration: float) -> str:
    """The user text VBench-2.0 sends with the frames (protocol string, formatted as theirs)."""
    return proto.instruction.format(duration=duration, n_frames=len(times),
                                    frame_times=",".join(f"{t:.2f}s" for t in times), question=question)


def _write_pngs(frames: np.ndarray, folder: Path) -> list[Path]:
    from PIL import Image

    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"frame{i:03d}.png"
        Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


# ---- the metric -------------------------------------------------------------------------------


def _instance_questions(options: dict[str, Any], references: Sequence[Any], prompts: list[str | None],
                        dimension: str) -> list[list[str]]:
    given = options.get("video_questions")
    if given is not None and len(given) != len(references):
        raise MetricError(f"option video_questions has {len(given)} entries for {len(references)} predictions")
    out = []
    for i, (ref, prompt) in enumerate(zip(references, prompts, strict=True)):
        qs = given[i] if given is not None else None
        if qs is None and isinstance(ref, dict) and ref.get("questions"):
            qs = ref["questions"]
        if qs is None:
            qs = questions_for(dimension, prompt)
        if not qs:
            raise MetricError(f"success_rate ({dimension} video QA): instance {i}: no VBench-2.0 questions "
                              f"for prompt {prompt!r}; pass them as reference {{'prompt': ..., 'questions': "
                              "[...]}} or option video_questions=[[...], ...]")
        out.append([str(q) for q in ([qs] if isinstance(qs, str) else qs)])
    return out


def success_rate(predictions: Sequence[Any], references: Sequence[Any], options: dict[str, Any]) -> MetricResult:
    """VBench-2.0 QA success rate (percent) of generated videos for the task's dimension."""
    from generalbench.metricmodels.judges import JudgeCache, Rubric, judge_from_options, media_parts

    dimension = task_setting(options, "vbench2_dimension")
    if not dimension:
        raise MetricError("success_rate (video QA): no VBench-2.0 dimension for task "
                          f"{options.get('task')!r} (metricmodels/tasks.yaml vbench2_dimension, or option "
                          "vbench2_dimension=...)")
    proto = protocol(str(dimension))
    n = len(predictions)
    prompts = instance_prompts(options, references, n)
    questions = _instance_questions(options, references, prompts, proto.dimension)
    max_tokens = int(options.get("judge_max_tokens") or proto.max_new_tokens)
    n_frames = int(options.get("video_qa_frames") or proto.frames)
    judge = judge_from_options({"judge_multimodal": True, **options, "judge_max_tokens": max_tokens},
                               metric=f"success_rate ({proto.dimension} video QA)",
                               local_default="llava-video-7b-qwen2")
    if not judge.multimodal:
        raise MetricError(f"success_rate ({proto.dimension} video QA): the judge {judge.identity().get('model')!r} "
                          "is text-only; the questions are about the video frames: configure a "
                          "vision-language judge")
    cache_opt = options.get("judge_cache")
    cache = None if cache_opt is False else JudgeCache(cache_opt)
    rubric = Rubric(f"vbench2-video-qa-{proto.dimension}", 1, proto.system, proto.instruction, (0, 1), "required")
    identity = {**judge.identity(), "max_tokens": max_tokens}
    hits = 0

    outcomes: list[int | None] = []
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="generalbench-videoqa-") as tmp:
        files = video_files(predictions, options, Path(tmp))
        for i, file in enumerate(files):
            record: dict[str, Any] = {"prompt": prompts[i], "questions": questions[i]}
            if file is None:  # a path that is not a file (failed predictions never get here)
                outcomes.append(None)
                records.append({**record, "outcome": "missing"})
                continue
            frames, times, duration = sample_frames(file, n_frames)
            folder = Path(tmp) / f"frames{i}"
            folder.mkdir()
            parts = media_parts(_write_pngs(frames, folder))

            def ask(question: str, parts: list[dict[str, Any]] = parts, times: list[float] = times,
                    duration: float = duration) -> str:
                nonlocal hits
                text = time_instruction(proto, question, times, duration)
                messages = [{"role": "system", "content": proto.system},
                            {"role": "user", "parts": [*parts, {"text": text}]}]
                key = JudgeCache.key(identity, rubric, messages) if cache else ""
                reply = cache.get(key) if cache else None
                if reply is None:
                    reply, _ = judge.complete(messages, None)
                    if cache:
                        cache.put(key, reply, identity, rubric)
                else:
                    hits += 1
                return reply

            outcome, replies = judge_video(proto.rule, questions[i], ask)
            outcomes.append(outcome)
            records.append({**record, "answers": replies, "outcome": outcome})
    n_missing = sum(1 for o in outcomes if o is None)
    scored = [FAILURE if o is None else o for o in outcomes]  # a missing video is a valid failure
    success_rate_of(scored)  # the clear error when no video is valid
    valid = [100.0 * o for o in scored if o != INVALID]
    details = {"judge": judge.identity(), "protocol": proto.describe(), "frames": n_frames,
               "max_tokens": max_tokens, "n_valid": len(valid),
               "n_invalid": sum(1 for o in scored if o == INVALID), "n_missing": n_missing,
               "missing_counts_as": "failure among the valid videos", "cache_hits": hits,
               "videos": records}
    mean = mean_result(valid, details)  # == value: the mean over the valid videos
    per = [math.nan if o == INVALID else 100.0 * o for o in scored]  # invalid: no per-video score
    return MetricResult(mean.value, per, mean.details)
