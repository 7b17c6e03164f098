"""The official audio layouts (official-format.md §2).

Comprehension: `input: {audio_file (relative to audios/, may use '\\'), prompt}`, `output: {text}`.
Generation: `input: {prompt, audio_file | video_file | image_file}`; the reference, when present,
is `output.audio_file` (or `output.audio`) or `output.text`.
"""

from __future__ import annotations

from typing import Any

from generalbench.data.adapters import AdaptContext, FieldError, register
from generalbench.data.adapters.common import media_ref, record_id, reference
from generalbench.data.instances import Instance

# official input key -> (our input key, media kind, implicit subfolders)
MEDIA_INPUTS = {
    "audio_file": ("audio", "audio", ("audios",)),
    "video_file": ("video", "video", ("videos",)),
    "image_file": ("image", "image", ("images",)),
}


@register("audio (official)")
def adapt(record: dict[str, Any], ctx: AdaptContext) -> Instance:
    iid = record_id(record)
    raw = record.get("input")
    if not isinstance(raw, dict):
        raise FieldError("input", f"must be an object with audio_file and prompt, got {type(raw).__name__}")
    inputs: dict[str, Any] = {}
    for key, value in raw.items():
        if key in MEDIA_INPUTS:
            ours, kind, prefixes = MEDIA_INPUTS[key]
            inputs[ours] = media_ref(kind, value, ctx, f"input.{key}", prefixes)
        else:
            inputs[key] = value
    if ctx.task.paradigm == "comprehension" and "audio" not in inputs:
        raise FieldError("input.audio_file", "missing: an audio comprehension instance needs its audio")
    out = record.get("output")
    target = None
    if out not in (None, {}, ""):
        if not isinstance(out, dict):
            raise FieldError("output", f"must be an object with 'text', got {type(out).__name__}")
        if ctx.task.output == "audio":
            key = next((k for k in ("audio_file", "audio") if k in out), None)
            if key is not None:
                ref = media_ref("audio", out[key], ctx, f"output.{key}", ("audios",))
                target = ref
        elif "text" in out:
            target = reference(out["text"], ctx, "output.text")
        else:
            raise FieldError("output.text", "reference answer missing")
    meta = {k: v for k, v in record.items() if k not in {"id", "input", "output"}}
    if isinstance(out, dict) and ctx.task.output == "audio" and "text" in out:
        meta["output.text"] = out["text"]
    return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)
