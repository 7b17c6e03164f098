"""VBench's dynamic degree decision (vbench 0.1.5, `dynamic_degree.py`), independent of the flow.

The rule, as VBench applies it to one video:

- frames: every frame of the file is decoded, then every k-th is kept from the first, with
  k = max(1, round(fps / 8)) and fps the container's frame rate (Python's round: half to even,
  so 20 fps keeps every 2nd frame, 12 fps every 2nd, 30 fps every 4th); a frame folder keeps all;
- per consecutive pair of kept frames: RAFT flow on the frames padded to multiples of 8, and the
  mean of the largest int(h * w * 0.05) flow magnitudes over the padded h x w;
- threshold 6 * min(H, W) / 256 pixels, H x W the unpadded frame size;
- the video is dynamic when at least round(4 * n / 16) pairs exceed it, n the number of kept
  frames (so a two-frame video, needing round(0.5) = 0 pairs, is always dynamic, and a single
  frame never is).

The flow comes in as a function, so the same rule runs on RAFT (metricmodels/raft.py, what
VBench uses) and on the Lucas-Kanade estimate (metricmodels/motion.py), which is only used when
asked for by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generalbench.errors import DataError, MetricError
from generalbench.metricmodels.base import require

TARGET_FPS = 8  # VBench keeps about 8 frames per second
TOP_SHARE = 0.05


def sampling_interval(fps: float | None) -> int:
    """Keep every k-th frame: k = max(1, round(fps / 8)); no frame rate keeps all frames."""
    if fps is None or not math.isfinite(fps) or fps <= 0:
        return 1
    return max(1, round(fps / TARGET_FPS))


def threshold(height: int, width: int) -> float:
    """Flow magnitude (pixels) above which a frame pair counts as moving."""
    return 6.0 * min(height, width) / 256.0


def pairs_needed(n_frames: int) -> int:
    """How many moving pairs make a video of `n_frames` (kept) frames dynamic."""
    return round(4 * n_frames / 16.0)


def top_motion(flow: Any) -> float:
    """Mean of the largest 5% flow magnitudes of one pair (flow 2 x h x w, (dx, dy)); NaN when
    5% of the pixels is less than one pixel (VBench then averages an empty list)."""
    f = np.asarray(flow, dtype=np.float64)
    magnitude = np.hypot(f[0], f[1]).ravel()
    k = int(magnitude.size * TOP_SHARE)
    if k == 0:
        return float("nan")
    return float(np.mean(np.partition(magnitude, -k)[-k:]))


def decide(scores: Sequence[float], thres: float, needed: int) -> bool:
    """VBench's count: dynamic when some pairs exist and at least `needed` exceed `thres`
    (a NaN score never exceeds)."""
    return bool(scores) and sum(s > thres for s in scores) >= needed


@dataclass
class Decision:
    """One video's decision with what it was decided on (for result details)."""

    dynamic: bool
    scores: list[float] = field(default_factory=list)
    threshold: float = 0.0
    needed: int = 0
    frames: int = 0


def dynamic_degree(kept: np.ndarray, flows: Callable[[np.ndarray], Sequence[Any]]) -> Decision:
    """The decision for one video from its kept frames (T x H x W x C, already sampled:
    `read_video`, or `frames[::sampling_interval(fps)]`).

    `flows(kept)` returns the flow of each consecutive pair (2 x h x w each).
    """
    v = np.asarray(kept)
    if v.ndim not in (3, 4) or v.shape[0] < 1:
        raise MetricError(f"dynamic degree needs a video T x H x W x C, got shape {v.shape}")
    scores = [top_motion(f) for f in flows(v)] if len(v) > 1 else []
    thres, needed = threshold(v.shape[1], v.shape[2]), pairs_needed(len(v))
    return Decision(decide(scores, thres, needed), scores, thres, needed, len(v))


def read_video(path: str | Path) -> tuple[np.ndarray, float | None, int]:
    """The frames VBench keeps from a video file (T x H x W x 3 uint8 RGB), the file's frame rate
    and the sampling interval. Every frame is decoded, only the kept ones are converted and held.

    The rate is the stream's average frame rate, else its base rate (what OpenCV's
    CAP_PROP_FPS, which VBench reads, reports for such files).
    """
    from generalbench.data.media import decode_video, video_stream_info

    require("av", extra="video", purpose="reading video files")
    try:
        fps, _ = video_stream_info(path)
        every = sampling_interval(fps)
        kept, _ = decode_video(path, lambda i: i % every == 0)
    except DataError as exc:
        raise MetricError(f"cannot read the video: {exc}") from None
    if not kept:
        raise MetricError(f"{path}: the video holds no frames")
    return np.stack(list(kept.values())), fps, every
