"""Native output types: their JSON form on disk, checks, and decoding into Python values.

Each catalog task declares an `output` type (catalog column `output`). References in
annotations and predictions in predictions folders use the same JSON form per type, so one
checker validates both and one loader feeds both sides of a metric. Array-valued types are file
paths relative to a base folder (task folder for references, predictions folder for predictions);
masks may also be COCO RLE dicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generalbench.data.instances import MediaRef, check_relative, load_relative
from generalbench.data.safepath import read_plain
from generalbench.errors import DataError


@dataclass(frozen=True)
class OutputType:
    name: str
    json_form: str
    artifact: str | None = None
    """Media kind when the value is (a list of) file path(s)."""


OUTPUT_TYPES: dict[str, OutputType] = {t.name: t for t in [
    OutputType("text", "string (a reference may be a list of acceptable strings)"),
    OutputType("label", "string, one of the choices"),
    OutputType("label_set", "list of strings"),
    OutputType("number", "number"),
    OutputType("number_series", "list of numbers"),
    OutputType("boxes", 'list of {"bbox": [x, y, w, h], "label": str, "score": float?} (COCO, pixels)'),
    OutputType("mask", "PNG path or COCO RLE {size, counts}", "mask"),
    OutputType("mask_series", "list (one per frame) of PNG paths or COCO RLEs", "mask"),
    OutputType("dense", "path to .npz/.npy/.png depth or matte", "depth"),
    OutputType("dense_series", "path to a (T, H, W) .npz stack, or a list of per-frame paths", "depth"),
    OutputType("flow", "path to .flo or 16-bit KITTI .png", "flow"),
    OutputType("track", "list (one per frame) of [x, y, w, h] or null"),
    OutputType("image", "path to an image file", "image"),
    OutputType("video", "path to a video file or a frame folder", "video"),
    OutputType("audio", "path to an audio file", "audio"),
    OutputType("pointcloud", "path to .ply/.npy/.npz/.xyz point cloud", "pointcloud"),
    OutputType("mesh", "path to .ply/.obj mesh", "mesh"),
    OutputType("motion", "path to a .npy (T, J, 3) joint sequence", "array"),
    OutputType("point_labels", "list of integers (one per point) or path to .npy", None),
    OutputType("poses", "list of 4x4 (or 3x4) pose matrices as nested number lists"),
    OutputType("boxes3d", 'list of {"box": [cx, cy, cz, dx, dy, dz, yaw], "label": str, "score": float?}'),
    OutputType("tracks3d", 'list of {"frame": int, "track_id": str|int, "box": [7 numbers], "label": str, "score": float?}'),
]}


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _nums(values: Any) -> bool:
    """all(_num(v) for v in values), with the JSON types (exact int and float) checked inline:
    a track of 20 boxes is 80 numbers, and a scoring run checks millions."""
    isfinite = math.isfinite
    for v in values:
        t = type(v)
        if t is float or t is int:
            if not isfinite(v):
                return False
        elif not _num(v):
            return False
    return True


def _path(x: Any, what: str) -> str | None:
    if isinstance(x, MediaRef):
        return None
    if not isinstance(x, str):
        return f"{what} must be a file path string, got {type(x).__name__}"
    try:
        check_relative(x)
    except DataError as exc:
        return str(exc)
    return None


def _boxes(value: Any, key: str, dims: int) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of boxes, got {type(value).__name__}"
    for i, b in enumerate(value):
        if not isinstance(b, dict):
            return f"[{i}] must be an object with {key!r} and 'label'"
        box = b.get(key)
        if not (isinstance(box, list) and len(box) == dims and _nums(box)):
            return f"[{i}].{key} must be {dims} finite numbers, got {box!r}"
        if dims == 4 and (box[2] < 0 or box[3] < 0):
            return f"[{i}].bbox has negative width/height {box!r} (COCO [x, y, w, h])"
        if "label" in b and not isinstance(b["label"], (str, int)):
            return f"[{i}].label must be a string"
        if "score" in b and b["score"] is not None and not _num(b["score"]):
            return f"[{i}].score must be a finite number"
    return None


def _mask(x: Any, where: str) -> str | None:
    from generalbench.data.media import check_rle, is_rle  # numpy: not at import (`run` needs none)

    if is_rle(x):
        problem = check_rle(x)
        return f"{where}{problem}" if problem else None
    return _path(x, f"{where}mask")


def check_native(output: str, value: Any, *, reference: bool = False) -> str | None:
    """None when `value` is a valid JSON value of native type `output`, else what is wrong.

    `reference=True` accepts what references may add (several acceptable texts).
    """
    if output not in OUTPUT_TYPES:
        return f"unknown output type {output!r} (one of {', '.join(OUTPUT_TYPES)})"
    if value is None:
        return "is null"
    if output in ("text", "label"):
        if isinstance(value, str):
            return None
        if reference and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return None
        if reference and _num(value):
            return None  # official references are sometimes bare numbers (e.g. 1/0 labels)
        return f"must be a string, got {type(value).__name__}"
    if output == "label_set":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return None
        return f"must be a list of strings, got {type(value).__name__}"
    if output == "number":
        return None if _num(value) else f"must be a finite number, got {value!r}"
    if output == "number_series":
        if isinstance(value, list) and _nums(value):
            return None
        return "must be a list of finite numbers"
    if output == "boxes":
        return _boxes(value, "bbox", 4)
    if output == "boxes3d":
        return _boxes(value, "box", 7)
    if output == "tracks3d":
        err = _boxes(value, "box", 7)
        if err:
            return err
        for i, b in enumerate(value):
            if not isinstance(b.get("frame"), int) or "track_id" not in b:
                return f"[{i}] needs an integer 'frame' and a 'track_id'"
        return None
    if output == "track":
        if not isinstance(value, list):
            return "must be a list with one [x, y, w, h] (or null) per frame"
        for i, box in enumerate(value):
            if box is not None and not (isinstance(box, list) and len(box) == 4 and _nums(box)):
                return f"[{i}] must be [x, y, w, h] or null, got {box!r}"
        return None
    if output == "mask":
        return _mask(value, "")
    if output == "mask_series":
        if not isinstance(value, list) or not value:
            return "must be a non-empty list of per-frame masks"
        for i, m in enumerate(value):
            err = _mask(m, f"[{i}] ")
            if err:
                return err
        return None
    if output == "dense_series" and isinstance(value, list):
        for i, p in enumerate(value):
            err = _path(p, f"[{i}]")
            if err:
                return err
        return None
    if output == "point_labels":
        if isinstance(value, list):
            return None if all(isinstance(v, int) and not isinstance(v, bool) for v in value) \
                else "must be a list of integer labels"
        return _path(value, "point labels")
    if output == "poses":
        if isinstance(value, list) and all(
                isinstance(m, list) and len(m) in (3, 4)
                and all(isinstance(r, list) and len(r) == 4 and _nums(r) for r in m)
                for m in value):
            return None
        return "must be a list of 3x4 or 4x4 matrices"
    return _path(value, output)


def artifact_refs(output: str, value: Any, base: Path | None) -> list[MediaRef]:
    """The media files a native value points at (empty for inline values like text or RLE).

    MediaRefs are returned whatever the type (bound to `base` when they have none); path
    strings count only for types whose value is a file.
    """
    kind = OUTPUT_TYPES[output].artifact if output in OUTPUT_TYPES else None
    if output == "point_labels":
        kind = "array"
    items = value if isinstance(value, list) else [value]
    refs = []
    for item in items:
        if isinstance(item, MediaRef):
            refs.append(item if item.base or base is None else item.with_base(base))
        elif isinstance(item, str) and kind is not None:
            item_kind = kind
            if output == "video" and not Path(item).suffix:
                item_kind = "frames"
            refs.append(MediaRef(kind=item_kind, path=item, base=base))  # type: ignore[arg-type]
    return refs


def to_refs(output: str, value: Any, base: Path | None) -> Any:
    """`value` with its file paths turned into MediaRefs bound to `base` (inline parts kept)."""
    if OUTPUT_TYPES.get(output) is None or (OUTPUT_TYPES[output].artifact is None
                                            and output != "point_labels"):
        return value
    if isinstance(value, list):
        refs = iter(artifact_refs(output, [v for v in value if isinstance(v, (str, MediaRef))], base))
        return [next(refs) if isinstance(v, (str, MediaRef)) else v for v in value]
    if isinstance(value, (str, MediaRef)):
        return artifact_refs(output, value, base)[0]
    return value


def load_native(output: str, value: Any, base: Path | None = None) -> Any:
    """Decode a native value into its Python form: arrays loaded, RLEs decoded, rest unchanged.

    mask -> H x W integer array (uint8 / uint16 as a PNG stores the ids, else int64);
    mask_series -> list of those; dense -> float array; flow -> H x W x 2;
    image -> H x W x 3 uint8; video -> T x H x W x 3 uint8; audio -> (samples, rate);
    pointcloud -> (N, 3); mesh -> Mesh; point_labels -> int array; other types as stored.
    """
    import numpy as np

    from generalbench.data.media import decode_rle, is_rle, mask_ids

    if value is None:
        return None
    if output in ("mask", "mask_series"):
        def one(m: Any) -> Any:
            if is_rle(m):
                return decode_rle(m)  # uint8 0/1
            if isinstance(m, str) and base is not None:  # the common case: no MediaRef built
                found = read_plain(base, m)
                if found is not None:
                    return mask_ids(found[1], found[0])
                return load_relative("mask", base, m)
            ref = m if isinstance(m, MediaRef) else MediaRef(kind="mask", path=m, base=base)
            return ref.load(base if ref.base is None else None)
        return [one(m) for m in value] if output == "mask_series" else one(value)
    if output == "point_labels" and isinstance(value, list):
        return np.asarray(value, dtype=np.int64)
    loaded = _load_plain(output, value, base)
    if loaded is None:
        refs = artifact_refs(output, value, base)
        if not refs:
            return value
        loaded = [r.load() for r in refs]
    if output == "point_labels":
        return np.asarray(loaded[0], dtype=np.int64).reshape(-1)
    if output == "dense_series" and isinstance(value, list):
        return np.stack(loaded)
    return loaded if isinstance(value, list) else loaded[0]


def _load_plain(output: str, value: Any, base: Path | None) -> list[Any] | None:
    """The decoded files of a value made only of path strings, resolved against `base` without
    building a MediaRef per file (what `artifact_refs` + `MediaRef.load` do, same checks and
    messages); None when the value holds anything else (MediaRefs, inline parts, no base)."""
    kind = "array" if output == "point_labels" else (
        OUTPUT_TYPES[output].artifact if output in OUTPUT_TYPES else None)
    items = value if isinstance(value, list) else [value]
    if kind is None or base is None or not items or not all(isinstance(i, str) for i in items):
        return None
    out = []
    for item in items:
        item_kind = "frames" if output == "video" and not Path(item).suffix else kind
        out.append(load_relative(item_kind, base, item))
    return out


def _track_box(box: Any) -> Any:
    """A per-frame track entry: [] means absent (official files), a COCO RLE becomes its box."""
    from generalbench.data.media import decode_rle, is_rle

    if isinstance(box, list) and not box:
        return None
    if is_rle(box):
        import numpy as np
        from pycocotools import mask as mask_utils

        m = decode_rle(box)
        if not m.any():
            return None
        return [float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))]
    if isinstance(box, dict) and "bbox" in box:
        return box["bbox"]
    return box


def coerce_reference(output: str, value: Any) -> Any:
    """Bring an official reference into the native JSON form of `output` where it is unambiguous.

    Official multi-label references are one "a, b, c" string (the official scorer splits on ", ");
    numbers are sometimes strings; single labels sometimes sit in a one-element list.
    """
    if output == "label_set" and isinstance(value, str):
        return [p.strip() for p in value.split(", ") if p.strip()] if value.strip() else []
    if output == "number" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if output == "number" and isinstance(value, list) and len(value) == 1:
        return coerce_reference(output, value[0])
    if output == "label" and isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if output == "track" and isinstance(value, list):
        return [_track_box(b) for b in value]
    if output in ("label", "text") and isinstance(value, bool):
        return str(value).lower()
    if output in ("label", "text") and isinstance(value, (int, float)):
        return str(value)
    return value
