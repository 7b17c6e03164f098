"""Video tasks of the mini-bench: shapes moving on a plain background, stored as frame folders.

Motion is chosen first and the frames are drawn from it, so tracks, masks, optical flow and
depth are exact by construction.
"""

from __future__ import annotations

import numpy as np

from generalbench.data.minibench.common import TaskContext
from generalbench.data.minibench.images import BACKGROUND, COLORS

SIZE = 48
FRAMES = 8
CLIP_FRAMES = 16  # generated clips: FVD's I3D is defined on 16-frame clips (shorter ones fail its pooling)


def _moving_square(rng: np.random.Generator, side: int | None = None, frames: int = FRAMES,
                    size: int = SIZE, static: bool = False):
    """Frames of one square moving at constant integer velocity, with per-frame boxes and masks."""
    side = side or int(rng.integers(8, 14))
    vmax = min(3, (size - 14) // max(frames - 1, 1))  # the largest square stays in frame
    while True:
        vx, vy = (0, 0) if static else (int(v) for v in rng.integers(-vmax, vmax + 1, size=2))
        if static or (vx, vy) != (0, 0):
            break
    lo_x = max(0, -vx * (frames - 1))
    hi_x = size - side - max(0, vx * (frames - 1))
    lo_y = max(0, -vy * (frames - 1))
    hi_y = size - side - max(0, vy * (frames - 1))
    x0, y0 = int(rng.integers(lo_x, hi_x + 1)), int(rng.integers(lo_y, hi_y + 1))
    color = COLORS[str(rng.choice(list(COLORS)))]
    video = np.empty((frames, size, size, 3), dtype=np.uint8)
    masks = np.zeros((frames, size, size), dtype=np.uint8)
    boxes = []
    for t in range(frames):
        x, y = x0 + vx * t, y0 + vy * t
        video[t] = BACKGROUND
        video[t, y:y + side, x:x + side] = color
        masks[t, y:y + side, x:x + side] = 1
        boxes.append([x, y, side, side])
    return video, masks, boxes, (vx, vy)


def tracking(ctx: TaskContext) -> list[dict]:
    """Single-object tracking: the first frame's box is given, every frame's box is the answer."""
    out = []
    for i in range(ctx.n):
        video, _, boxes, _ = _moving_square(ctx.rng)
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video),
            "first_box": boxes[0]},
            "output": {"track": boxes}})
    return out


def object_segmentation(ctx: TaskContext) -> list[dict]:
    """Video object segmentation: one binary mask PNG per frame (1 = the moving object)."""
    out = []
    for i in range(ctx.n):
        video, masks, _, _ = _moving_square(ctx.rng)
        ctx.frames(f"masks/{i:04d}", masks)
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video)},
            "output": {"masks": [f"masks/{i:04d}/{t:05d}.png" for t in range(len(masks))]}})
    return out


def optical_flow(ctx: TaskContext) -> list[dict]:
    """Flow from frame 0 to frame 1: the square's velocity on its pixels, zero elsewhere."""
    out = []
    for i in range(ctx.n):
        video, masks, _, (vx, vy) = _moving_square(ctx.rng, frames=2)
        flow = np.zeros((SIZE, SIZE, 2), dtype=np.float32)
        flow[masks[0] > 0] = (vx, vy)
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video)},
            "output": {"flow": ctx.flo(f"flow/{i:04d}.flo", flow)}})
    return out


def video_depth(ctx: TaskContext) -> list[dict]:
    """Depth of a square approaching the camera over a far wall; shading encodes disparity."""
    out = []
    for i in range(ctx.n):
        _, masks, _, _ = _moving_square(ctx.rng)
        wall = float(ctx.rng.uniform(8, 12))
        start, end = float(ctx.rng.uniform(4, 6)), float(ctx.rng.uniform(1.5, 3))
        depths = np.full(masks.shape, wall, dtype=np.float32)
        for t in range(FRAMES):
            depths[t][masks[t] > 0] = start + (end - start) * t / (FRAMES - 1)
        disparity = 1.0 / depths
        shade = (disparity / disparity.max() * 255).round().astype(np.uint8)
        video = np.repeat(shade[..., None], 3, axis=-1)
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video)},
            "output": {"depth": ctx.npz(f"depth/{i:04d}.npz",
                                        disparity=disparity[:, None].astype(np.float32))}})
    return out


def motion_mcq(ctx: TaskContext) -> list[dict]:
    """In which direction does the object move? Multiple choice over the four directions."""
    options = ["left", "right", "up", "down"]
    out = []
    for i in range(ctx.n):
        while True:
            video, _, _, (vx, vy) = _moving_square(ctx.rng)
            if (abs(vx) >= 2) != (abs(vy) >= 2) and (vx == 0 or vy == 0):
                break
        direction = ("right" if vx > 0 else "left") if vx else ("down" if vy > 0 else "up")
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video),
            "question": "In which direction does the coloured square move?",
            "choices": options},
            "output": {"answer": "ABCD"[options.index(direction)]}})
    return out


def restoration(ctx: TaskContext) -> list[dict]:
    """Denoise every frame; the reference is the clean video the noise was added to."""
    out = []
    for i in range(ctx.n):
        clean, _, _, _ = _moving_square(ctx.rng)
        noisy = (clean + ctx.rng.normal(0, 15, clean.shape)).clip(0, 255).round().astype(np.uint8)
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", noisy),
            "prompt": "Remove the noise from this video."},
            "output": {"video": ctx.frames(f"targets/{i:04d}", clean)}})
    return out


def superresolution(ctx: TaskContext) -> list[dict]:
    """Upscale 2x; the reference is the full-size video the input was box-downsampled from."""
    out = []
    for i in range(ctx.n):
        sharp, _, _, _ = _moving_square(ctx.rng)
        small = sharp.reshape(FRAMES, SIZE // 2, 2, SIZE // 2, 2, 3).mean(axis=(2, 4))
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", small.round().astype(np.uint8)),
            "prompt": "Upscale this video to twice its width and height."},
            "output": {"video": ctx.frames(f"targets/{i:04d}", sharp)}})
    return out


def text_to_video(ctx: TaskContext) -> list[dict]:
    """Generate the described clip; the reference is a clip drawn from the same description."""
    static = bool(ctx.options.get("static", False))
    out = []
    for i in range(ctx.n):
        video, _, _, (vx, vy) = _moving_square(ctx.rng, frames=CLIP_FRAMES, static=static)
        color = next(n for n, c in COLORS.items() if tuple(video[0][video[0] != BACKGROUND]
                                                           .reshape(-1, 3)[0]) == c)
        motion = "standing still" if static else f"moving {vx:+d},{vy:+d} pixels per frame"
        out.append({"id": f"{i:04d}", "input": {
            "prompt": f"A {color} square {motion} on a light grey background, {CLIP_FRAMES} frames."},
            "output": {"video": ctx.frames(f"targets/{i:04d}", video)}})
    return out
