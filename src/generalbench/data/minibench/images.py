"""Image tasks of the mini-bench: drawn shapes whose answers follow from how they were drawn.

Each generator writes PNGs into the task folder and returns annotation records
`{"id", "input", "output"}`; every box, mask, count and string is computed from the drawing
itself, never typed in by hand.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from generalbench.data.minibench.common import TaskContext

SIZE = 64
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40),
}
SHAPES = ("circle", "square", "triangle")
BACKGROUND = (235, 235, 235)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int],
               fill) -> None:
    """Draw `shape` inscribed in the inclusive pixel box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)


def scene(rng: np.random.Generator, count: int, size: int = SIZE, min_side: int = 10,
          max_side: int = 20, shapes=SHAPES, colors=tuple(COLORS)) -> tuple[np.ndarray, list[dict]]:
    """An RGB image with `count` non-overlapping shapes, and per shape its mask and COCO box.

    Boxes come from the drawn mask (tight extent), so they are exact by construction.
    """
    img = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(img)
    taken = np.zeros((size, size), dtype=bool)
    objects: list[dict] = []
    for _ in range(200):
        if len(objects) == count:
            break
        side = int(rng.integers(min_side, max_side + 1))
        x0, y0 = (int(v) for v in rng.integers(1, size - side - 1, size=2))
        box = (x0, y0, x0 + side - 1, y0 + side - 1)
        if taken[max(0, y0 - 2):y0 + side + 2, max(0, x0 - 2):x0 + side + 2].any():
            continue
        shape = str(rng.choice(list(shapes)))
        color = str(rng.choice(list(colors)))
        layer = Image.new("L", (size, size), 0)
        draw_shape(ImageDraw.Draw(layer), shape, box, 255)
        mask = np.asarray(layer) > 0
        draw_shape(draw, shape, box, COLORS[color])
        taken |= mask
        ys, xs = np.nonzero(mask)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                int(ys.max() - ys.min() + 1)]
        objects.append({"shape": shape, "color": color, "mask": mask, "bbox": bbox})
    return np.asarray(img), objects


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def shape_mcq(ctx: TaskContext) -> list[dict]:
    """Which shape is in the picture? Multiple choice, the answer is a letter."""
    out = []
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, 1, min_side=24, max_side=36)
        options = list(SHAPES)
        ctx.rng.shuffle(options)
        answer = _letters(len(options))[options.index(objs[0]["shape"])]
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image),
            "question": "Which geometric shape is drawn in the image?", "choices": options},
            "output": {"answer": answer}})
    return out


def counting(ctx: TaskContext) -> list[dict]:
    """How many objects? The count is the number of shapes actually placed."""
    out = []
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, int(ctx.rng.integers(1, 7)), min_side=7, max_side=12,
                            shapes=("circle",))
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image),
            "question": "How many seeds (round blobs) are in the image?"},
            "output": {"count": len(objs)}})
    return out


def detection(ctx: TaskContext) -> list[dict]:
    """Detect every shape: COCO boxes [x, y, w, h] labelled by shape name."""
    out = []
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, int(ctx.rng.integers(1, 4)))
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image), "categories": list(SHAPES)},
            "output": {"boxes": [{"bbox": o["bbox"], "label": o["shape"]} for o in objs]}})
    return out


def grounding(ctx: TaskContext) -> list[dict]:
    """Locate the object a short expression refers to (unique colour + shape in the image)."""
    out = []
    for i in range(ctx.n):
        while True:
            image, objs = scene(ctx.rng, 3)
            keys = [(o["color"], o["shape"]) for o in objs]
            unique = [o for o in objs if keys.count((o["color"], o["shape"])) == 1]
            if unique:
                break
        target = unique[int(ctx.rng.integers(len(unique)))]
        expr = f"the {target['color']} {target['shape']}"
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image), "expression": expr},
            "output": {"boxes": [{"bbox": target["bbox"], "label": expr}]}})
    return out


def segmentation(ctx: TaskContext) -> list[dict]:
    """Semantic segmentation: class 1 = the blue (flooded) regions, 0 = everything else."""
    out = []
    classes = ["background", "flood"]
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, int(ctx.rng.integers(2, 5)), min_side=12, max_side=24,
                            colors=("blue", "green", "yellow"))
        if not any(o["color"] == "blue" for o in objs):
            objs[0]["color"] = "blue"
            image = image.copy()
            image[objs[0]["mask"]] = COLORS["blue"]
        mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
        for o in objs:
            if o["color"] == "blue":
                mask[o["mask"]] = 1
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image), "classes": classes},
            "output": {"mask": ctx.png(f"masks/{i:04d}.png", mask)}})
    return out


def ocr(ctx: TaskContext) -> list[dict]:
    """Read a short string of letters and digits rendered with Pillow's built-in font."""
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ23456789"
    out = []
    for i in range(ctx.n):
        text = "".join(ctx.rng.choice(list(alphabet), size=int(ctx.rng.integers(4, 8))))
        img = Image.new("RGB", (96, 32), (255, 255, 255))
        ImageDraw.Draw(img).text((6, 10), text, fill=(0, 0, 0))
        img = img.resize((192, 64), Image.NEAREST)
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", np.asarray(img))},
            "output": {"text": text}})
    return out


def depth(ctx: TaskContext) -> list[dict]:
    """Depth of a tilted floor plane with a box in front; the image shades pixels by depth."""
    out = []
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    for i in range(ctx.n):
        far, near = float(ctx.rng.uniform(6, 10)), float(ctx.rng.uniform(1, 3))
        d = far - (far - near) * yy / (SIZE - 1)
        side = int(ctx.rng.integers(12, 24))
        x0, y0 = (int(v) for v in ctx.rng.integers(0, SIZE - side, size=2))
        box_depth = float(ctx.rng.uniform(near, (near + far) / 2))
        d[y0:y0 + side, x0:x0 + side] = box_depth
        shade = (255 * (1 - (d - 0.5) / 10.0)).clip(0, 255).astype(np.uint8)
        image = np.stack([shade, shade, (shade * 0.8).astype(np.uint8)], axis=-1)
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image)},
            "output": {"depth": ctx.npy(f"depth/{i:04d}.npy", d.astype(np.float32))}})
    return out


def caption(ctx: TaskContext) -> list[dict]:
    """Describe the picture; the reference lists the drawn shapes left to right."""
    out = []
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, int(ctx.rng.integers(1, 3)), min_side=14, max_side=22)
        objs = sorted(objs, key=lambda o: o["bbox"][0])
        parts = [f"a {o['color']} {o['shape']}" for o in objs]
        text = " and ".join(parts) + " on a grey background"
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image)},
            "output": {"text": text}})
    return out


def _degrade(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "blur":
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1.5)))
    if kind == "shadow":
        out = image.astype(np.float64)
        x0 = int(rng.integers(0, SIZE // 2))
        out[:, x0:x0 + SIZE // 2] *= 0.55
        return out.round().astype(np.uint8)
    if kind == "noise":
        return (image + rng.normal(0, 12, image.shape)).clip(0, 255).round().astype(np.uint8)
    raise ValueError(f"unknown degradation {kind!r}")


def restoration(ctx: TaskContext) -> list[dict]:
    """Restore a degraded image; the reference is the clean original it was made from."""
    kind = ctx.options.get("degradation", "blur")
    instruction = ctx.options.get("instruction", "Restore the clean image.")
    out = []
    for i in range(ctx.n):
        clean, _ = scene(ctx.rng, int(ctx.rng.integers(2, 4)))
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", _degrade(clean, kind, ctx.rng)),
            "prompt": instruction},
            "output": {"image": ctx.png(f"targets/{i:04d}.png", clean)}})
    return out


def edge_to_image(ctx: TaskContext) -> list[dict]:
    """Turn an edge map into a picture; the reference is the picture the edges came from."""
    out = []
    for i in range(ctx.n):
        clean, _ = scene(ctx.rng, int(ctx.rng.integers(2, 4)))
        edges = np.asarray(Image.fromarray(clean).convert("L").filter(ImageFilter.FIND_EDGES))
        edges = np.where(edges > 20, 255, 0).astype(np.uint8)
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", np.stack([edges] * 3, axis=-1)),
            "prompt": "Generate a realistic image with these edges."},
            "output": {"image": ctx.png(f"targets/{i:04d}.png", clean)}})
    return out


def edit(ctx: TaskContext) -> list[dict]:
    """Recolour one shape as instructed; the reference is the same scene drawn in the new colour."""
    out = []
    for i in range(ctx.n):
        image, objs = scene(ctx.rng, 1, min_side=20, max_side=32)
        obj = objs[0]
        new = str(ctx.rng.choice([c for c in COLORS if c != obj["color"]]))
        edited = image.copy()
        edited[obj["mask"]] = COLORS[new]
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", image),
            "prompt": f"Make the {obj['color']} {obj['shape']} {new}."},
            "output": {"image": ctx.png(f"targets/{i:04d}.png", edited)}})
    return out


def surface_anomaly(ctx: TaskContext) -> list[dict]:
    """Is the marble surface cracked? Half the images get a dark polyline crack drawn on them."""
    labels = ["good", "crack"]
    out = []
    for i in range(ctx.n):
        base = 200 + 20 * ctx.rng.standard_normal((SIZE // 8, SIZE // 8))
        texture = np.asarray(Image.fromarray(base.clip(0, 255).astype(np.uint8))
                             .resize((SIZE, SIZE), Image.BICUBIC))
        img = Image.fromarray(np.stack([texture] * 3, axis=-1))
        label = labels[i % 2] if i < 2 else str(ctx.rng.choice(labels))
        if label == "crack":
            points = [tuple(int(v) for v in ctx.rng.integers(4, SIZE - 4, size=2))
                      for _ in range(4)]
            ImageDraw.Draw(img).line(points, fill=(40, 35, 30), width=2)
        out.append({"id": f"{i:04d}", "input": {
            "image": ctx.png(f"images/{i:04d}.png", np.asarray(img)),
            "prompt": "Is this marble surface intact or cracked?", "choices": labels},
            "output": {"label": label}})
    return out
