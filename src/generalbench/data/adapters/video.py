"""The official video layouts (official-format.md §2), recognised by `type` or by their fields.

Layouts: vos (frame folder + per-frame COCO RLE masks, optional referring prompt), grounding
(HCSTVG / VidSTG tubes), vde (video file -> disparity .npz), match / track / flow (frame folder +
answer), frames_qa (list of frame images + prompt -> text), translation, restoration,
super_resolution, object_detection (evaluation folders), generation (T2V prompt, I2V prompt+image).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generalbench.data.adapters import AdaptContext, FieldError, register
from generalbench.data.adapters.common import media_ref, record_id, reference
from generalbench.data.instances import Instance, MediaRef

TYPE_LAYOUTS = {"videotranslation": "translation", "videorestoration": "restoration",
                "videosuperresolution": "super_resolution", "videoobjectdetection": "object_detection"}
FRAME_PREFIXES = ("videos", "video", "frames", "JPEGImages")


def layout_for_type(norm: str) -> str | None:
    return TYPE_LAYOUTS.get(norm)


def detect(record: dict[str, Any]) -> str | None:
    """The layout of a record, from the fields present (None when no layout fits)."""
    from generalbench.data.media import is_rle  # media imports numpy: not for every task

    inp, out = record.get("input"), record.get("output")
    if "trajectory" in record or "video_path" in record:
        return "grounding"
    if isinstance(inp, str):
        return "vde"
    if not isinstance(inp, dict):
        return None
    out = out if isinstance(out, dict) else {}
    if "video_file_list" in inp:
        return "frames_qa"
    if "source_prompt" in inp or "frame_dir" in out:
        return "translation"
    if "gt_dir" in inp:
        return "restoration"
    if "pred_dir" in inp:
        return "super_resolution"
    if "video_folder" in inp:
        if "flow" in out:
            return "flow"
        if "answer" in out:
            return "track" if isinstance(out["answer"], list) else "match"
        if out and all(isinstance(v, dict) and ("mask" in v or is_rle(v)) for v in out.values()):
            return "vos"
        return "vos" if not out else None
    if "prompt" in inp:
        return "generation"
    return None


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _box_or_none(value: Any, field: str) -> list[float] | None:
    from generalbench.data.media import is_rle

    if value is None or value == [] or value == [0, 0, 0, 0]:
        return None
    if is_rle(value):
        from pycocotools import mask as mask_utils

        from generalbench.data.media import decode_rle

        m = decode_rle(value)
        if not m.any():
            return None
        import numpy as np

        return [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))]
    if isinstance(value, dict) and "bbox" in value:
        value = value["bbox"]
    if not (isinstance(value, list) and len(value) == 4):
        raise FieldError(field, f"must be [x, y, w, h], got {value!r}")
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise FieldError(field, f"must be four numbers, got {value!r}") from None


def _grounding(record: dict[str, Any], ctx: AdaptContext) -> tuple[dict, Any]:
    inputs: dict[str, Any] = {"video": media_ref("video", record.get("video_path"), ctx, "video_path",
                                                  ("videos",))}
    if isinstance(record.get("caption"), str):
        inputs["prompt"] = record["caption"]
    traj = record.get("trajectory")
    if traj is None:
        return inputs, None
    try:
        count = int(record["frame_count"])
    except (KeyError, TypeError, ValueError):
        raise FieldError("frame_count", "must be the number of frames (an integer)") from None
    track: list[Any] = [None] * count
    if isinstance(traj, list):  # HCSTVG: 1-based tube start, one box per tube frame
        try:
            start = int(record["tube_start_frame"]) - 1
        except (KeyError, TypeError, ValueError):
            raise FieldError("tube_start_frame", "must be an integer (1-based)") from None
        for i, box in enumerate(traj):
            if 0 <= start + i < count:
                track[start + i] = _box_or_none(box, f"trajectory[{i}]")
    elif isinstance(traj, dict):  # VidSTG: frame index -> {"bbox": [x, y, w, h]}
        for key, box in traj.items():
            try:
                frame = int(key)
            except ValueError:
                raise FieldError(f"trajectory.{key}", "frame keys must be integers") from None
            if not 0 <= frame < count:
                raise FieldError(f"trajectory.{key}", f"frame outside 0..{count - 1}")
            track[frame] = _box_or_none(box, f"trajectory.{key}")
    else:
        raise FieldError("trajectory", "must be a list of boxes (HCSTVG) or a frame -> box object (VidSTG)")
    return inputs, reference(track, ctx, "trajectory")


def _frame_masks(ctx: AdaptContext, rel_dir: str, field: str) -> list[MediaRef]:
    from generalbench.data.media import IMAGE_SUFFIXES

    folder = ctx.folder / rel_dir
    if not folder.is_dir():
        raise FieldError(field, f"folder {rel_dir!r} not found in {ctx.folder}")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: _natural(p.name))
    return [MediaRef(kind="mask", path=f"{rel_dir}/{p.name}", base=ctx.folder) for p in files]


@register("video (official)", *TYPE_LAYOUTS)
def adapt(record: dict[str, Any], ctx: AdaptContext) -> Instance:
    from generalbench.data.media import is_rle

    layout = ctx.layout
    if layout == "grounding":
        iid = record_id(record, "original_video_id")
        inputs, target = _grounding(record, ctx)
        meta = {k: v for k, v in record.items()
                if k not in {"id", "video_path", "caption", "trajectory"}}
        return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)
    iid = record_id(record)
    raw = record.get("input")
    out = record.get("output")
    has_out = out not in (None, {}, "")
    meta = {k: v for k, v in record.items() if k not in {"id", "input", "output"}}
    target: Any = None
    if layout == "vde":
        if not isinstance(raw, str):
            raise FieldError("input", "must be the video file name (under video/)")
        inputs: dict[str, Any] = {"video": media_ref("video", raw, ctx, "input", ("video", "videos"))}
        if has_out:
            if not isinstance(out, str):
                raise FieldError("output", "must be the .npz disparity file name (under depth/)")
            target = media_ref("depth", out, ctx, "output", ("depth",))
        return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)
    if not isinstance(raw, dict):
        raise FieldError("input", f"must be an object, got {type(raw).__name__}")
    if has_out and not isinstance(out, dict):
        raise FieldError("output", f"must be an object, got {type(out).__name__}")
    inputs = {k: v for k, v in raw.items()
              if k not in {"video_folder", "video_file_list", "image", "pred_dir", "gt_dir"}}
    if "video_folder" in raw:
        inputs["video_folder"] = media_ref("frames", raw["video_folder"], ctx, "input.video_folder",
                                           FRAME_PREFIXES)
    if "video_file_list" in raw:
        files = raw["video_file_list"]
        if not isinstance(files, list) or not files:
            raise FieldError("input.video_file_list", "must be a non-empty list of frame paths")
        inputs["video_frames"] = [media_ref("image", f, ctx, f"input.video_file_list[{i}]", ("videos",))
                                  for i, f in enumerate(files)]
    if "image" in raw:
        inputs["image"] = media_ref("image", raw["image"], ctx, "input.image", ("images",))
    if "pred_dir" in raw:
        meta["pred_dir"] = raw["pred_dir"]
    if layout == "vos":
        if has_out:
            items = sorted(out.items(), key=lambda kv: _natural(str(kv[0])))
            masks = []
            for key, value in items:
                rle = value.get("mask") if isinstance(value, dict) and "mask" in value else value
                if not is_rle(rle):
                    raise FieldError(f"output.{key}.mask", "must be a COCO RLE {size, counts}")
                masks.append(rle)
            target = reference(masks, ctx, "output")
            meta["mask_ids"] = [k for k, _ in items]
    elif layout in ("match", "track"):
        if has_out:
            answer = out.get("answer")
            if layout == "track":
                if not isinstance(answer, list):
                    raise FieldError("output.answer", "must be a list of per-frame [x, y, w, h]")
                answer = [_box_or_none(b, f"output.answer[{i}]") for i, b in enumerate(answer)]
            target = reference(answer, ctx, "output.answer")
    elif layout == "flow":
        if has_out:
            target = media_ref("flow", out.get("flow"), ctx, "output.flow")
    elif layout == "frames_qa":
        if has_out:
            if "text" not in out:
                raise FieldError("output.text", "reference answer missing")
            target = reference(out["text"], ctx, "output.text")
    elif layout == "translation":
        if has_out and "frame_dir" in out:
            target = media_ref("frames", out["frame_dir"], ctx, "output.frame_dir")
    elif layout in ("restoration", "object_detection"):
        gt = raw.get("gt_dir")
        if gt is not None:
            if ctx.task.output == "mask_series":
                rel = media_ref("frames", gt, ctx, "input.gt_dir").path
                target = _frame_masks(ctx, rel, "input.gt_dir")
            else:
                target = media_ref("frames", gt, ctx, "input.gt_dir")
    elif layout == "super_resolution":
        pass  # no reference: MUSIQ is a no-reference quality score
    elif layout == "generation":
        if has_out:
            for key in ("video", "video_file", "frame_dir"):
                if key in out:
                    kind = "frames" if not Path(str(out[key])).suffix else "video"
                    target = media_ref(kind, out[key], ctx, f"output.{key}", ("videos",))
                    break
    else:
        raise FieldError("input", f"unknown video layout {layout!r}")
    return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)
