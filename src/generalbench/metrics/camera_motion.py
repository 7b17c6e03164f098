"""Camera-motion success rate (General-Bench "Camera Motion Video Generation"), as VBench-2.0's
Camera_Motion dimension defines it.

Per video: CoTracker2 tracks a 10 x 10 grid of points from the first frame through the whole
video (metricmodels/cotracker.py); the tracks are cut at the end of the first scene that
PySceneDetect's ContentDetector (threshold 5.0) finds; the camera motion is then read off the
grid's edge points (the middle point of the top row, bottom row, left and right columns) between
the first and the last frame, plus a 360-degree "orbits" check on frames 0, 20, 40, ...; the
video succeeds when the prompt's label is among the predicted classes. The score is 100 x the
share of successful videos; a missing video scores 0.

The geometry below reproduces VBench-2.0's `CameraPredict` (vbench2/camera_motion.py) operation
by operation, quirks included: coordinates are truncated to integers first; the orbit vote of a
frame pair that is not an orbit is None, and that None counts as a class when VBench drops
"static" from a multi-class result, so a static video longer than 20 frames is rarely scored
static (tests/metrics/test_camera_motion.py checks this against VBench-2.0's own functions).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult

LABELS = ("zoom_in", "zoom_out", "tilt_up", "tilt_down", "pan_left", "pan_right", "static",
          "orbits", "oblique")
GRID_SIZE = 10
EDGE_POINTS = 1  # points per edge (VBench's number_points)
EDGE_FACTOR = 0.005  # a move counts when it exceeds this share of min(height, width)
ORBIT_FACTOR = 0.008
ORBIT_EVERY = 20  # frames between the grids compared by the orbit check
ORBIT_COLUMN = 2
SCENE_THRESHOLD = 5.0  # PySceneDetect ContentDetector threshold
MODEL = "cotracker2"

# (direction of the first edge, direction of the opposite edge) -> camera motion
TOP_BOTTOM = {("left", "left"): "pan_right", ("right", "right"): "pan_left",
              ("down", "down"): "tilt_up", ("up", "up"): "tilt_down",
              ("up", "down"): "zoom_in", ("down", "up"): "zoom_out", ("static", "static"): "static"}
LEFT_RIGHT = {("left", "left"): "pan_right", ("right", "right"): "pan_left",
              ("down", "down"): "tilt_up", ("up", "up"): "tilt_down",
              ("left", "right"): "zoom_in", ("right", "left"): "zoom_out", ("static", "static"): "static"}


# ---- geometry (pure numpy) -------------------------------------------------------------------


def directions(vector: Sequence[float], min_side: float, factor: float = EDGE_FACTOR) -> list[str]:
    """Horizontal then vertical direction words of a mean displacement (image y points down);
    ["static"] when neither component exceeds factor * min_side."""
    limit = min_side * factor
    dx, dy = vector
    words = []
    if dx > limit:
        words.append("right")
    elif dx < -limit:
        words.append("left")
    if dy > limit:
        words.append("down")
    elif dy < -limit:
        words.append("up")
    return words or ["static"]


def orbit_vote(up: float, down: float, dy: float, min_side: float,
               factor: float = ORBIT_FACTOR) -> str | None:
    """"orbits" when the upper and lower points move horizontally in opposite directions (the
    upper one by more than the threshold) while the mean vertical move stays under it; else None."""
    limit = min_side * factor
    if abs(dy) < limit and up * down < 0 and abs(up) > limit:
        return "orbits"
    return None


def edge_indices(grid_size: int = GRID_SIZE, points: int = EDGE_POINTS) -> range:
    """Indices along an edge of the points VBench uses: the middle `points` of the grid."""
    middle = grid_size // 2
    return range(math.ceil(middle - points / 2), math.ceil(middle + points / 2))


def edge_directions(first: np.ndarray, last: np.ndarray, min_side: float) -> list[list[str]]:
    """Direction words of the top, bottom, left and right edges between two g x g x 2 grids."""
    g = first.shape[0]
    idx = list(edge_indices(g))
    edges = [(np.full(len(idx), 0), idx), (np.full(len(idx), g - 1), idx),
             (idx, np.full(len(idx), 0)), (idx, np.full(len(idx), g - 1))]
    out = []
    for rows, cols in edges:
        moves = last[rows, cols] - first[rows, cols]
        out.append(directions((float(np.mean(moves[:, 0])), float(np.mean(moves[:, 1]))), min_side))
    return out


def _pairs(a: list[str], b: list[str], table: dict[tuple[str, str], str]) -> list[str]:
    found = [table[(x, y)] for x in a for y in b if (x, y) in table]
    return found or ["None"]


def orbit_votes(grids: Sequence[np.ndarray], height: int, width: int) -> list[str | None]:
    """One vote per consecutive pair of sampled grids that has valid points: the points of grid
    column 2 in rows 0, 1, g-2, g-1 that lie strictly inside the frame in both grids."""
    min_side = min(height, width)
    votes: list[str | None] = []
    for a, b in zip(grids[:-1], grids[1:], strict=False):
        g = a.shape[0]
        moves = []
        for row in (0, 1, g - 2, g - 1):
            p, q = a[row, ORBIT_COLUMN], b[row, ORBIT_COLUMN]
            if 0 < p[0] < width and 0 < p[1] < height and 0 < q[0] < width and 0 < q[1] < height:
                moves.append((q[0] - p[0], q[1] - p[1], p[1]))
        if not moves:
            continue
        # VBench splits upper from lower points at min(height, width) / 2, not at height / 2
        up = [dx for dx, _, y in moves if not y > min_side / 2]
        down = [dx for dx, _, y in moves if y > min_side / 2]
        votes.append(orbit_vote(sum(up) / len(up) if up else 0, sum(down) / len(down) if down else 0,
                                float(np.mean([dy for _, dy, _ in moves])), min_side))
    return votes


def camera_classes(tracks: np.ndarray, height: int, width: int, grid_size: int = GRID_SIZE,
                   keep_none: bool = False) -> list[str | None]:
    """VBench-2.0's predicted camera motions of T x (g*g) x 2 tracks (row-major grid, pixels).

    Coordinates are truncated to integers as VBench does. With `keep_none`, the None orbit vote
    that VBench leaves in its result list is kept (for comparison with VBench); by default only
    the class names are returned, sorted."""
    t = np.trunc(np.asarray(tracks, dtype=np.float64)).astype(np.int64)
    grids = t.reshape(t.shape[0], grid_size, grid_size, 2)
    min_side = min(height, width)
    top, bottom, left, right = edge_directions(grids[0], grids[-1], min_side)
    votes = orbit_votes([grids[i] for i in range(0, len(grids), ORBIT_EVERY)], height, width)
    found: list[str | None] = list(set(_pairs(top, bottom, TOP_BOTTOM) + _pairs(left, right, LEFT_RIGHT)
                                       + votes))
    if "tilt_up" in found and "zoom_in" in found:
        found.append("oblique")
    if "static" in found and len(found) > 1:
        found.remove("static")
    if "None" in found and len(found) > 1:
        found.remove("None")
    if keep_none:
        return found
    return sorted(c for c in found if c is not None)


# ---- labels -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def prompt_labels() -> dict[str, str]:
    """VBench-2.0's 108 Camera_Motion prompts and their labels (metricmodels/vbench2_camera_motion.yaml)."""
    text = resources.files("generalbench.metricmodels").joinpath("vbench2_camera_motion.yaml").read_text("utf-8")
    return {str(k).strip(): str(v) for k, v in yaml.safe_load(text)["prompts"].items()}


def label_for_prompt(prompt: str) -> str | None:
    """The label of a VBench-2.0 prompt: exact match, else ignoring case and runs of whitespace."""
    table = prompt_labels()
    if prompt.strip() in table:
        return table[prompt.strip()]

    def fold(text: str) -> str:
        return " ".join(text.split()).casefold()

    return {fold(k): v for k, v in table.items()}.get(fold(prompt))


def instance_labels(references: Sequence[Any], options: dict[str, Any], n: int) -> list[str]:
    """Each instance's camera-motion label: option `camera_motion_labels`, else the reference (a
    label, or {"camera_motion": label}), else the VBench-2.0 label of its prompt (option prompts,
    a prompt-text reference or the reference's "prompt")."""
    from generalbench.metrics.model_common import instance_prompts

    given = options.get("camera_motion_labels")
    if given is not None and len(given) != n:
        raise MetricError(f"option camera_motion_labels has {len(given)} entries for {n} predictions")
    prompts = instance_prompts(options, references, n)
    out = []
    for i in range(n):
        ref = references[i]
        label = given[i] if given is not None else None
        if label is None and isinstance(ref, dict):
            label = ref.get("camera_motion")
        if label is None and isinstance(ref, str) and ref.strip() in LABELS:
            label = ref.strip()
        if label is None and prompts[i] is not None:
            label = label_for_prompt(prompts[i])
        if label is None:
            raise MetricError(
                f"success_rate (camera motion): instance {i} has no camera-motion label and its prompt "
                f"{prompts[i]!r} is not one of VBench-2.0's Camera_Motion prompts; give the reference "
                f"as a label or {{'prompt': ..., 'camera_motion': label}} (labels: {', '.join(LABELS)})")
        if label not in LABELS:
            raise MetricError(f"success_rate (camera motion): instance {i} has label {label!r}; "
                              f"known labels: {', '.join(LABELS)}")
        out.append(str(label))
    return out


# ---- I/O at the edges ------------------------------------------------------------------------


def first_scene_end(path: Path, threshold: float = SCENE_THRESHOLD) -> tuple[int | None, float]:
    """End frame (exclusive) of the first scene PySceneDetect finds, None when it finds no cut
    (VBench-2.0's split_video_into_scenes: OpenCV backend, ContentDetector defaults otherwise);
    and the file's frame rate."""
    from generalbench.metricmodels.base import require

    scenedetect = require("scenedetect", purpose="camera-motion scene cuts")
    video = scenedetect.open_video(str(path))
    manager = scenedetect.SceneManager()
    manager.add_detector(scenedetect.ContentDetector(threshold=threshold))
    manager.detect_scenes(video, show_progress=False)
    scenes = manager.get_scene_list()
    return (int(scenes[0][1].get_frames()) if scenes else None), float(video.frame_rate)


def classify_video(model: Any, path: Path, grid_size: int = GRID_SIZE) -> dict[str, Any]:
    """Track, cut at the first scene end and classify one video file."""
    from generalbench.data.media import load_video

    frames = load_video(path)
    end, fps = first_scene_end(path)
    tracks, _visible = model.track(frames, grid_size)
    if end is not None:
        tracks = tracks[:end]
    height, width = frames.shape[1:3]
    return {"classes": camera_classes(tracks, height, width, grid_size), "frames": int(frames.shape[0]),
            "scene_end": end, "fps": fps}


def success_rate(predictions: Sequence[Any], references: Sequence[Any], options: dict[str, Any]) -> MetricResult:
    """VBench-2.0 Camera_Motion success rate x100 (see the module docstring); options as for the
    other model metrics (model, weights, device, batch_size, video_paths, prompts) plus
    camera_motion_labels and camera_grid_size (default 10, VBench's)."""
    from generalbench.metrics.model_common import mean_result, metric_model, video_files

    n = len(predictions)
    labels = instance_labels(references, options, n)
    model = metric_model("success_rate", {**options, "model": options.get("model") or MODEL})
    grid = int(options.get("camera_grid_size", GRID_SIZE))
    per: list[float] = []
    predicted: list[list[str] | None] = []
    cuts: list[dict[str, Any] | None] = []
    with tempfile.TemporaryDirectory(prefix="generalbench-camera-") as tmp:
        for path in video_files(predictions, options, Path(tmp)):
            if path is None:
                per.append(0.0)
                predicted.append(None)
                cuts.append(None)
                continue
            result = classify_video(model, path, grid)
            predicted.append(result["classes"])
            cuts.append({k: result[k] for k in ("frames", "scene_end", "fps")})
            per.append(100.0 if labels[len(per)] in result["classes"] else 0.0)
    by_label: dict[str, list[float]] = {}
    for label, value in zip(labels, per, strict=True):
        by_label.setdefault(label, []).append(value)
    details = {**model.info(), "dimension": "VBench-2.0 Camera_Motion", "grid_size": grid,
               "n_missing": sum(p is None for p in predicted), "labels": labels,
               "predicted_classes": predicted, "videos": cuts,
               "success_by_label": {k: float(np.mean(v)) for k, v in sorted(by_label.items())}}
    return mean_result(per, details)
