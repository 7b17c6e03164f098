"""Video tasks of the mini-bench: shapes moving on a plain background, stored as frame folders.

Motion is chosen first and the frames are drawn from it, so tracks, masks, optical flow and
depth are exact by construction.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from generalbench.data.minibench.common import TaskContext
from generalbench.data.minibench.images import BACKGROUND, COLORS

SIZE = 48
FRAMES = 8
CLIP_FRAMES = 16  # generated clips: FVD's I3D is defined on 16-frame clips (shorter ones fail its pooling)


def _moving_square(rng: np.random.Generator, side: int | None = None, frames: int = FRAMES,
                    size: int = SIZE, static: bool = False,
                    velocity: tuple[int, int] | None = None):
    """Frames of one square moving at constant integer velocity (random unless given), with
    per-frame boxes and masks."""
    side = side or int(rng.integers(8, 14))
    vmax = min(3, (size - 14) // max(frames - 1, 1))  # the largest square stays in frame
    if velocity is not None:
        vx, vy = velocity
    while velocity is None:
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


FLOW_SIZE = 160
FLOW_MAGNITUDE = (58.0, 90.0)
"""Optical flow lives in the real task's range: the catalog's specialist has an EPE of 49.2 px, so
the displacements are large (a camera pan of 58-90 px), and predicting no motion is far off."""


def optical_flow(ctx: TaskContext) -> list[dict]:
    """Flow from frame 0 to frame 1 of a camera pan over a smooth random texture: every pixel
    moves by the same integer (u, v); pixels that leave the view keep their flow."""
    out = []
    for i in range(ctx.n):
        angle = float(ctx.rng.uniform(0, 2 * np.pi))
        magnitude = float(ctx.rng.uniform(*FLOW_MAGNITUDE))
        u, v = int(round(magnitude * np.cos(angle))), int(round(magnitude * np.sin(angle)))
        big = FLOW_SIZE + 2 * int(FLOW_MAGNITUDE[1]) + 2
        coarse = ctx.rng.integers(40, 216, size=(big // 8 + 1, big // 8 + 1, 3)).astype(np.uint8)
        canvas = np.asarray(Image.fromarray(coarse).resize((big, big), Image.BICUBIC))
        o = int(FLOW_MAGNITUDE[1]) + 1
        f0 = canvas[o:o + FLOW_SIZE, o:o + FLOW_SIZE]
        f1 = canvas[o - v:o - v + FLOW_SIZE, o - u:o - u + FLOW_SIZE]  # content moved by (u, v)
        flow = np.empty((FLOW_SIZE, FLOW_SIZE, 2), dtype=np.float32)
        flow[..., 0], flow[..., 1] = u, v
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", np.stack([f0, f1]))},
            "output": {"flow": ctx.flo(f"flow/{i:04d}.flo", flow)}})
    return out


def video_depth(ctx: TaskContext) -> list[dict]:
    """Depth in metres of a square approaching the camera (from 12-16 m to 1-2 m) in front of a
    far wall (40-80 m), the depth range of outdoor video-depth benchmarks; shading encodes
    disparity."""
    out = []
    for i in range(ctx.n):
        _, masks, _, _ = _moving_square(ctx.rng)
        wall = float(ctx.rng.uniform(40, 80))
        start, end = float(ctx.rng.uniform(12, 16)), float(ctx.rng.uniform(1, 2))
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


MOTION_DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1),
                     "up-left": (-1, -1), "up-right": (1, -1), "down-left": (-1, 1),
                     "down-right": (1, 1)}
"""Eight directions, answers cycling through them: the catalog's specialist scores 20.4%, so a
constant letter must not get a quarter of the answers right."""


def motion_mcq(ctx: TaskContext) -> list[dict]:
    """In which direction does the object move? Multiple choice over eight directions."""
    options = list(MOTION_DIRECTIONS)
    out = []
    for i in range(ctx.n):
        direction = options[i % len(options)]
        speed = int(ctx.rng.integers(2, 4))
        dx, dy = MOTION_DIRECTIONS[direction]
        video, _, _, _ = _moving_square(ctx.rng, velocity=(dx * speed, dy * speed))
        out.append({"id": f"{i:04d}", "input": {
            "video_folder": ctx.frames(f"videos/{i:04d}", video),
            "question": "In which direction does the coloured square move?",
            "choices": options},
            "output": {"answer": "ABCDEFGH"[options.index(direction)]}})
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
