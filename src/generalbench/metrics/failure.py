"""The failure policy, applied in one place for every metric (specs.yaml `on_failure`, `shape`).

A failed instance is one whose prediction is missing or unparseable (None), holds a NaN or an
infinity anywhere, or (for `shape: same` metrics) has a shape other than the reference's. What
it becomes is data, per metric: `zero`, `empty`, `worst` or `drop` (specs.FAILURE_POLICIES).
Metric functions therefore never see a non-finite value, and see None only under `worst` and
`drop` (where the module's own worst value, or leaving the item out of a distribution, is the
policy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.specs import MetricSpec

_MAX_DEPTH = 6


_PLAIN = frozenset({str, int, bool, type(None)})
"""Leaf types that are always finite."""


def _flat_nonfinite(values: Any) -> bool | None:
    """The answer for a container of plain leaves (str, int, bool, None, float) and flat lists
    of them (a box's bbox), found in one loop without a call per value; None when it holds
    anything else (nested deeper, arrays, numpy scalars), for the general walk to decide."""
    isfinite = math.isfinite
    for v in values:
        t = type(v)
        if t is float:
            if not isfinite(v):
                return True
        elif t is list:
            for w in v:
                tw = type(w)
                if tw is float:
                    if not isfinite(w):
                        return True
                elif tw not in _PLAIN:
                    return None
        elif t not in _PLAIN:
            return None
    return False


def nonfinite(x: Any, depth: int = 0) -> bool:
    """Whether a NaN or an infinity appears anywhere in a prediction (arrays, nested lists and
    dicts, meshes); text never does."""
    t = type(x)
    if t in _PLAIN:
        return False
    if t is float:
        return not math.isfinite(x)
    if t is dict and depth + 2 < _MAX_DEPTH:  # a box {"bbox": [...], "label", "score"}
        flat = _flat_nonfinite(x.values())
        if flat is not None:
            return flat
    elif t is list and depth + 2 < _MAX_DEPTH:
        if x and type(x[0]) is dict:  # a list of boxes
            for item in x:
                flat = _flat_nonfinite(item.values()) if type(item) is dict else None
                if flat is None:
                    break
                if flat:
                    return True
            else:
                return False
        else:  # a label set, a number series, a track (one [x, y, w, h] or None per frame)
            flat = _flat_nonfinite(x)
            if flat is not None:
                return flat
    if x is None or isinstance(x, (str, bool)):
        return False
    if isinstance(x, float):
        return not math.isfinite(x)
    if isinstance(x, Number) and not isinstance(x, int):
        try:
            return not math.isfinite(float(x))  # numpy scalars
        except (TypeError, ValueError):
            return False
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc" and not bool(np.isfinite(x).all())
    if depth >= _MAX_DEPTH:
        return False
    if isinstance(x, dict):
        return any(nonfinite(v, depth + 1) for v in x.values())
    if isinstance(x, (list, tuple)):
        kinds = {type(v) for v in x}
        if kinds <= {str}:  # label sets: the common case, and nothing to check
            return False
        if kinds == {float}:
            return not all(math.isfinite(v) for v in x)
        return any(nonfinite(v, depth + 1) for v in x)
    vertices = getattr(x, "vertices", None)  # data.media.Mesh
    if vertices is not None:
        return nonfinite(np.asarray(vertices), depth + 1)
    return False


def _core_shape(x: Any) -> tuple[int, ...] | None:
    try:
        shape = np.shape(x)
    except ValueError:  # ragged nested lists
        return None
    return tuple(d for d in shape if d != 1)


def shape_problem(prediction: Any, reference: Any, rule: str = "same") -> str | None:
    """Why a prediction's shape (size-1 axes ignored) differs from the reference's, else None;
    with rule "rows" only the lengths (first axes) must agree."""
    if rule == "rows":
        try:
            n_p, n_r = len(prediction), len(reference)
        except TypeError:
            return "the prediction is not a list"
        return None if n_p == n_r else f"{n_p} rows predicted but the reference has {n_r}"
    if isinstance(reference, dict) and "labels" in reference:  # point_labels with their parts
        reference = reference["labels"]
    p, r = _core_shape(prediction), _core_shape(reference)
    if p is None:
        return "the prediction is not a regular array"
    if p != r:
        return f"prediction shape {np.shape(prediction)} differs from the reference's {np.shape(reference)}"
    return None


def screen(spec: MetricSpec, predictions: Sequence[Any], references: Sequence[Any]
           ) -> tuple[list[Any], dict[int, str]]:
    """Predictions with every unusable one set to None, and why each was rejected here (index ->
    reason; predictions that were already None are failures of parsing, not listed)."""
    out = list(predictions)
    reasons: dict[int, str] = {}
    check_shape = spec.shape != "any"
    for i, p in enumerate(out):
        if p is None or isinstance(p, str):
            continue
        if nonfinite(p):
            reasons[i] = "the prediction holds NaN or infinite values"
        elif check_shape and (why := shape_problem(p, references[i], spec.shape)) is not None:
            reasons[i] = why
        else:
            continue
        out[i] = None
    return out, reasons


def _filled(reference: Any, fill: int) -> Any:
    """A label map like the reference's holding only `fill` (specs.yaml `empty_fill`); a panoptic
    {"semantic", "instance"} pair gets no instance, part labels {"labels", "parts"} their array."""
    if isinstance(reference, dict) and "semantic" in reference:
        sem = np.asarray(reference["semantic"])
        return {"semantic": np.full(sem.shape, fill), "instance": np.zeros(sem.shape, np.int64)}
    if isinstance(reference, dict) and "labels" in reference:
        reference = reference["labels"]
    return np.full(np.shape(reference), fill)


def empty_prediction(spec: MetricSpec, reference: Any) -> Any:
    """The empty prediction of a reference's type: what the `empty` policy scores instead."""
    if spec.empty_fill is not None:
        return _filled(reference, spec.empty_fill)
    if isinstance(reference, str) or spec.output == "text":  # also several reference texts
        return ""
    vertices = getattr(reference, "vertices", None)
    if spec.output == "pointcloud" or vertices is not None:
        pts = np.asarray(vertices if vertices is not None else reference, dtype=np.float64)
        return pts.reshape(-1, pts.shape[-1])[:, :3].mean(axis=0, keepdims=True)
    if isinstance(reference, np.ndarray):
        return np.zeros_like(reference)
    if isinstance(reference, (list, tuple)):
        if reference and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                             for v in reference):
            return np.zeros_like(np.asarray(reference))
        return []
    return None


ALIGNED_OPTIONS = frozenset({"prompts", "questions", "video_paths", "input_audio", "vbench_auxiliary",
                             "video_questions", "camera_motion_labels"})
"""Options that hold one entry per instance, aligned with the predictions (metrics/options.py,
metrics/media_files.py, model_common.py): when the policy leaves failed instances out of the
metric call, these lose the same entries."""


ALIGNED_DETAILS = frozenset({"videos", "labels", "predicted_classes", "transcripts"})
"""Details that hold one entry per scored instance (video_qa, camera_motion, audio_models): when
the policy kept failed instances from the metric, they get None at those instances again, so
entry i still describes instance i."""


def realign_details(details: dict[str, Any], keep: Sequence[int], n: int) -> None:
    """Put the per-instance details (ALIGNED_DETAILS) of the `keep` instances back at their
    places among `n`, None at the others."""
    for key in ALIGNED_DETAILS.intersection(details):
        value = details[key]
        if isinstance(value, list) and len(value) == len(keep):
            full: list[Any] = [None] * n
            for i, v in zip(keep, value, strict=True):
                full[i] = v
            details[key] = full


def subset_options(options: dict[str, Any], keep: Sequence[int], n: int) -> dict[str, Any]:
    """`options` with every per-instance option cut to the instances in `keep` (an option of
    another length is left as it is, for the metric to reject)."""
    out = dict(options)
    for key in ALIGNED_OPTIONS.intersection(options):
        value = options[key]
        if isinstance(value, (list, tuple)) and len(value) == n:
            out[key] = [value[i] for i in keep]
    return out


def _scalar(reference: Any) -> float | None:
    """A reference as one number (None when it is a series)."""
    try:
        arr = np.asarray(reference, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetricError(f"reference {reference!r} is not a number") from None
    return float(arr.reshape(-1)[0]) if arr.size == 1 else None


def range_end_predictions(references: Sequence[Any], failed: Sequence[int]) -> dict[int, Any]:
    """Failed index -> its `range_end` substitute: the end of the scalar references' range
    farthest from its reference (so a failed answer is never better than a constant mid-range
    guess, and the error stays bounded); a series reference gets an all-zero series, which has
    no correlation with anything."""
    scalars = [_scalar(r) for r in references]
    values = [v for v in scalars if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 0.0)
    out: dict[int, Any] = {}
    for i in failed:
        ref = scalars[i]
        if ref is None:
            out[i] = np.zeros_like(np.asarray(references[i], dtype=np.float64))
        else:
            out[i] = lo if ref - lo >= hi - ref else hi
    return out


def still_poses(references: Sequence[Any], failed: Sequence[int]) -> dict[int, Any]:
    """Failed index -> a vehicle that never moves: identity 4x4 poses, one per reference pose
    (every pose form, (N, 4, 4), (N, 3, 4), (N, 12) or (N, 3), has N on its first axis)."""
    return {i: np.tile(np.eye(4), (len(np.asarray(references[i])), 1, 1)) for i in failed}


WORST_SUBSTITUTES = {"range_end": range_end_predictions, "still": still_poses}
"""specs.WORST_RULES by name: failed index -> the prediction that stands for it."""
