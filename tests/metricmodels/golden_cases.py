"""Seeded weights, seeded inputs and the golden-file format shared by the golden-value tests
(test_golden.py) and the script that produced the files from the reference implementations
(golden/regenerate.py).

Why seeded weights rather than stored ones: the reference code and generalbench's port declare
the same parameter names and shapes, so filling every tensor from a generator seeded by
(seed, tensor name) gives both the same network whatever their own initialisation does, and
only the outputs (a few KB of numbers) need to live in the repository.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN = Path(__file__).parent / "golden"
RTOL = 1e-5  # float32 outputs; relative to each value and to the array's largest magnitude


def fill_seeded(module: Any, seed: int, gain: float = 1.0) -> None:
    """Overwrite every floating-point parameter and BatchNorm running statistic of `module` with
    values from a torch generator seeded by (seed, crc32(tensor name)); computed buffers (e.g.
    sinusoidal embeddings) are left as the module built them. Tensors shared under two names are
    filled once, under the first name in sorted order.

    Values: weights (2+ dims) N(0, gain^2 / fan_in) (gain sqrt(2) keeps ReLU nets from fading), or N(0, 0.25) when the first dimension is 1
    (learned embeddings, tokens); 1-d `*weight` 1 + N(0, 0.01); `running_var` U(0.5, 1.5);
    other 1-d and 0-d tensors (biases, running means) N(0, 0.01)."""
    import torch

    state = module.state_dict(keep_vars=True)
    done: set[int] = set()
    with torch.no_grad():
        for name in sorted(state):
            t = state[name]
            if not t.is_floating_point():
                continue
            if not (isinstance(t, torch.nn.Parameter) or name.endswith(("running_mean", "running_var"))):
                continue
            if t.data_ptr() in done:
                continue
            done.add(t.data_ptr())
            g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            if name.endswith("running_var"):
                values = 0.5 + torch.rand(t.shape, generator=g)
            elif t.dim() >= 2:
                fan_in = math.prod(t.shape[1:])
                std = 0.5 if t.shape[0] == 1 else gain / math.sqrt(fan_in)
                values = std * torch.randn(t.shape, generator=g)
            elif t.dim() == 1 and name.endswith("weight"):
                values = 1.0 + 0.1 * torch.randn(t.shape, generator=g)
            else:
                values = 0.1 * torch.randn(t.shape, generator=g)
            t.copy_(values.to(t.dtype))


def uint8_array(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Seeded uint8 pixels, smoothed so that flow and tracking have structure to follow."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, shape, dtype=np.int64).astype(np.float64)
    # a 3-tap box blur along the two spatial axes (the two axes before the channel axis)
    for axis in (-3, -2):
        raw = (np.roll(raw, 1, axis) + raw + np.roll(raw, -1, axis)) / 3
    return np.round(raw).astype(np.uint8)


def shifted_frames(seed: int, frames: int, h: int, w: int, dx: int = 2, dy: int = 1) -> np.ndarray:
    """T x H x W x 3 uint8: one seeded texture translated by (dx, dy) pixels per frame."""
    base = uint8_array(seed, (h + dy * frames, w + dx * frames, 3))
    return np.stack([base[dy * t:dy * t + h, dx * t:dx * t + w] for t in range(frames)])


def checksum(a: Any) -> float:
    """A fingerprint of an input (sum of its values in float64), stored next to the outputs so
    a change in the seeded input generators shows up as such, not as a port mismatch."""
    return float(np.asarray(a, dtype=np.float64).sum())


def encode(a: Any) -> dict[str, Any]:
    """float32 values with 9 significant digits (exact for float32), others exactly."""
    arr = np.asarray(a)
    values = arr.astype(np.float64).ravel()
    if arr.dtype == np.float32:
        return {"shape": list(arr.shape), "values": [float(f"{v:.9g}") for v in values]}
    return {"shape": list(arr.shape), "values": [float(v) for v in values]}


def decode(entry: dict[str, Any]) -> np.ndarray:
    return np.asarray(entry["values"], dtype=np.float64).reshape(entry["shape"])


def layout(module: Any) -> dict[str, list[int]]:
    """Every state-dict entry's name and shape: a port must have the reference's exactly (it
    loads the authors' checkpoints strictly)."""
    return {k: list(v.shape) for k, v in sorted(module.state_dict().items())}


def write_golden(name: str, record: dict[str, Any]) -> Path:
    """Write golden/<name>.json; `record["outputs"]` maps output names to arrays."""
    record = dict(record)
    record["outputs"] = {k: encode(v) for k, v in record["outputs"].items()}
    path = GOLDEN / f"{name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def read_golden(name: str) -> dict[str, Any]:
    record = json.loads((GOLDEN / f"{name}.json").read_text())
    record["outputs"] = {k: decode(v) for k, v in record["outputs"].items()}
    return record


def max_relative_error(ours: Any, golden: np.ndarray) -> float:
    """max |ours - golden| / (|golden| + max |golden|): the largest error relative to each value
    and to the array's scale (a pure relative error is meaningless where values cross zero)."""
    a = np.asarray(ours, dtype=np.float64)
    assert a.shape == golden.shape, (a.shape, golden.shape)
    nan = np.isnan(golden)
    assert np.array_equal(np.isnan(a), nan), "NaN where the reference has none, or the reverse"
    if nan.all():
        return 0.0
    a, golden = a[~nan], golden[~nan]
    scale = np.abs(golden) + np.abs(golden).max()
    return float((np.abs(a - golden) / np.where(scale > 0, scale, 1.0)).max())


def assert_golden(ours: Any, golden: np.ndarray, rtol: float = RTOL) -> float:
    err = max_relative_error(ours, golden)
    assert err <= rtol, f"max relative error {err:.2e} > {rtol:.0e}"
    return err


# ---- the cases ----------------------------------------------------------------------------
# Small shapes: the whole golden set runs in a few seconds of CPU.

RAFT = {"seed": 11, "frames": [3, 123, 133], "iters": 8, "sample_every": 6}  # VBench: 20 iterations
VGGISH = {"seed": 21, "gain": math.sqrt(2), "seconds": 2.2, "rate": 16000}
INCEPTION = {"seed": 31, "gain": math.sqrt(2), "images": [[37, 50, 3], [64, 48, 3]]}
MUSIQ = {"images": [[50, 70, 3], [96, 64, 3]], "image_seed": 42,
         "nets": [{"seed": 41, "classes": 1, "hidden": 128, "mlp": 256, "heads": 2, "layers": 2},
                  {"seed": 43, "classes": 10, "hidden": 64, "mlp": 128, "heads": 1, "layers": 1}]}
COTRACKER = {"seed": 51, "frames": [9, 40, 70], "grid": 4, "window": 8, "virtual": 8, "dim": 96,
             "heads": 2, "time_depth": 2, "space_depth": 1, "latent": 128, "mlp": 384,
             "resolution": [64, 96], "queries": 6, "model_iters": 4}
FRECHET = {"seed": 61, "sets": [[40, 8, 50], [300, 24, 200]]}
VBENCH = {"seed": 71, "flows": [[40, 52], [33, 47], [21, 19], [4, 4]],
          "frames": [[128, 160], [480, 640], [720, 1280], [129, 1000]], "counts": [1, 2, 3, 8, 10, 16, 17, 30],
          "score_lists": [0, 1, 2, 3, 5, 8], "fps": [4, 8, 12, 16, 20, 24, 25, 30, 60], "video_frames": 13}
CASES = {"raft": RAFT, "vggish": VGGISH, "inception": INCEPTION, "musiq": MUSIQ, "cotracker": COTRACKER,
         "frechet": FRECHET, "vbench": VBENCH}


def raft_frames() -> np.ndarray:
    """T x H x W x 3: a texture moving 2 px right and 1 px down per frame; 123 x 133 is padded
    to 128 x 136 (both the reference's InputPadder and generalbench's pad_to_multiple)."""
    t, h, w = RAFT["frames"]
    return shifted_frames(RAFT["seed"], t, h, w)


def raft_sample(flows: Any) -> np.ndarray:
    """Every 6th pixel of pairs x 2 x H x W flows (the full fields would be ~200 KB of JSON)."""
    k = RAFT["sample_every"]
    return np.asarray(flows)[:, :, ::k, ::k]


def vggish_clips() -> dict[str, tuple[np.ndarray, int]]:
    """A mono and a (samples, 2) stereo clip at 16 kHz (no resampling: see README), 2.2 s each,
    i.e. two 0.96 s examples: a chirp plus seeded noise."""
    rng = np.random.default_rng(VGGISH["seed"])
    n = int(VGGISH["seconds"] * VGGISH["rate"])
    t = np.arange(n) / VGGISH["rate"]
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 900 * t) * t)
    mono = chirp + 0.1 * rng.standard_normal(n)
    stereo = np.stack([chirp + 0.2 * rng.standard_normal(n), 0.5 * chirp], axis=1)
    return {"mono": (mono, VGGISH["rate"]), "stereo": (stereo, VGGISH["rate"])}


def vggish_sample(examples: Any) -> np.ndarray:
    """Every 6th frame and every 2nd mel band of N x 96 x 64 log-mel examples."""
    return np.asarray(examples)[:, ::6, ::2]


def inception_images() -> list[np.ndarray]:
    return [uint8_array(INCEPTION["seed"] + i, tuple(s)) for i, s in enumerate(INCEPTION["images"])]


def musiq_images() -> list[np.ndarray]:
    return [uint8_array(MUSIQ["image_seed"] + i, tuple(s)) for i, s in enumerate(MUSIQ["images"])]


def cotracker_video() -> np.ndarray:
    t, h, w = COTRACKER["frames"]
    return shifted_frames(COTRACKER["seed"], t, h, w, dx=1, dy=1)


def cotracker_queries() -> np.ndarray:
    """N x (t, x, y) in model-resolution pixels, on several start frames (tracks that start later
    enter in the second window)."""
    rng = np.random.default_rng(COTRACKER["seed"])
    n = COTRACKER["queries"]
    h, w = COTRACKER["resolution"]
    frames = np.array([0, 0, 1, 3, 5, 6][:n], dtype=np.float64)
    return np.stack([frames, rng.uniform(4, w - 5, n), rng.uniform(4, h - 5, n)], axis=1)


def frechet_sets() -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of N1 x D and N2 x D feature sets with correlated dimensions (full-rank covariances)."""
    rng = np.random.default_rng(FRECHET["seed"])
    out = []
    for n1, d, n2 in FRECHET["sets"]:
        mix = rng.standard_normal((d, d)) / math.sqrt(d)
        a = rng.standard_normal((n1, d)) @ mix
        b = 0.3 + 1.2 * rng.standard_normal((n2, d)) @ (mix + 0.1 * rng.standard_normal((d, d)))
        out.append((a, b))
    return out


def vbench_flows() -> list[np.ndarray]:
    """2 x h x w flow fields (pixels); the last is too small for VBench's top 5% (NaN)."""
    rng = np.random.default_rng(VBENCH["seed"])
    return [rng.normal(0.0, 3.0, (2, h, w)) * rng.uniform(0.2, 2.0, (1, h, w)) for h, w in VBENCH["flows"]]


def vbench_score_lists() -> list[list[float]]:
    """Per-pair scores (pixels) of different lengths, around the thresholds of VBENCH["frames"]."""
    rng = np.random.default_rng(VBENCH["seed"] + 1)
    return [[float(v) for v in rng.uniform(0.0, 12.0, n)] for n in VBENCH["score_lists"]]


def input_checksums(name: str) -> dict[str, float]:
    if name == "raft":
        return {"frames": checksum(raft_frames())}
    if name == "vggish":
        return {k: checksum(v[0]) for k, v in vggish_clips().items()}
    if name == "inception":
        return {f"image_{i}": checksum(x) for i, x in enumerate(inception_images())}
    if name == "musiq":
        return {f"image_{i}": checksum(x) for i, x in enumerate(musiq_images())}
    if name == "cotracker":
        return {"video": checksum(cotracker_video()), "queries": checksum(cotracker_queries())}
    if name == "vbench":
        return {"flows": sum(checksum(f) for f in vbench_flows()),
                "scores": sum(checksum(s) for s in vbench_score_lists())}
    return {f"set_{i}": checksum(a) + checksum(b) for i, (a, b) in enumerate(frechet_sets())}
