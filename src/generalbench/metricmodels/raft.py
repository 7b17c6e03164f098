"""RAFT optical flow (Teed & Deng, ECCV 2020), the standard model, in plain torch.

Why a native port: VBench's dynamic degree (the Optical Flow Score of dynamic text-to-video
generation) runs RAFT with the authors' `raft-things.pth` checkpoint, but the authors' code is
not a package (VBench vendors it, and VBench needs its own interpreter: numpy<2, torchvision)
and carries an optional CUDA correlation kernel. This module declares the same network with the
same parameter names,
so the checkpoint loads strictly (the authors saved it from `nn.DataParallel`: every name starts
with `module.`, which is dropped on load, as VBench does), and computes flow the same way:

- frames in [0, 255] are mapped to [-1, 1];
- a feature encoder (instance norm) and a context encoder (batch norm, eval statistics) read the
  frames at 1/8 resolution; the context splits into the GRU's initial state (tanh) and a fixed
  input (ReLU);
- the all-pairs correlation of the two feature maps (dot products / sqrt(256)) is average-pooled
  into 4 levels; each iteration reads a 9 x 9 window around the current match at every level
  by bilinear sampling (torch's grid_sample, zero outside the map, corner-aligned pixel centres);
- a separable ConvGRU refines the 1/8-resolution flow; the final flow is upsampled x8 as a convex
  combination of each coarse pixel's 3 x 3 neighbourhood with weights predicted by a mask head;
- frames whose sides are not multiples of 8 are padded by edge replication, split evenly with
  the odd pixel after (the authors' `InputPadder` in its default "sintel" mode); the returned flow
  covers the padded frame, which is what VBench reads.

The architecture's widths are fixed by the checkpoint (hidden and context 128, feature 256,
4 levels of radius 4); a random-weight stand-in (metricmodels/tiny.py) therefore has the real
shape, about 5.3 million parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel, pick_device

HIDDEN = 128  # GRU state
CONTEXT = 128  # context features fed to every GRU step
FEATURES = 256  # correlation features
LEVELS = 4
RADIUS = 4
WINDOW = 2 * RADIUS + 1
STRIDE = 8  # the encoders' total downsampling
PREFIX = "module."  # names in the authors' DataParallel checkpoint
MIN_SIDE = STRIDE * 2 ** LEVELS  # the coarsest correlation level is then 2 x 2
CORR_BUDGET = 2 ** 28  # correlation values per forward pass (1 GiB in float32)


def _norm(kind: str, channels: int) -> nn.Module:
    """Instance norm (no affine, no running statistics) or batch norm, as the encoders use."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"unknown norm {kind!r}")


class ResidualUnit(nn.Module):
    """Two 3 x 3 convolutions with a residual path; a strided unit projects the skip by 1 x 1.

    The projection's norm is registered twice (as `norm3` and inside `downsample`), because the
    checkpoint stores its tensors under both names.
    """

    def __init__(self, cin: int, cout: int, norm: str, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm1 = _norm(norm, cout)
        self.norm2 = _norm(norm, cout)
        self.downsample: nn.Module | None = None
        if stride != 1:
            self.norm3 = _norm(norm, cout)
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), self.norm3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = F.relu(self.norm2(self.conv2(y)))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(skip + y)


class Encoder(nn.Module):
    """7 x 7 stem at stride 2, three stages of two residual units (64, 96, 128 channels; the last
    two at stride 2), a 1 x 1 projection to `out` channels: 1/8 of the input's resolution."""

    def __init__(self, out: int, norm: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.norm1 = _norm(norm, 64)
        cin = 64
        for stage, (width, stride) in enumerate(((64, 1), (96, 2), (128, 2)), start=1):
            setattr(self, f"layer{stage}", nn.Sequential(ResidualUnit(cin, width, norm, stride),
                                                        ResidualUnit(width, width, norm, 1)))
            cin = width
        self.conv2 = nn.Conv2d(cin, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class MotionEncoder(nn.Module):
    """Correlation window features and the current flow -> 126 channels, plus the flow itself."""

    def __init__(self) -> None:
        super().__init__()
        self.convc1 = nn.Conv2d(LEVELS * WINDOW * WINDOW, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(192 + 64, 128 - 2, 3, padding=1)

    def forward(self, flow: torch.Tensor, corr: torch.Tensor) -> torch.Tensor:
        c = F.relu(self.convc2(F.relu(self.convc1(corr))))
        f = F.relu(self.convf2(F.relu(self.convf1(flow))))
        return torch.cat([F.relu(self.conv(torch.cat([c, f], dim=1))), flow], dim=1)


class SeparableGRU(nn.Module):
    """A ConvGRU step done twice: with 1 x 5 kernels (horizontal), then with 5 x 1 (vertical)."""

    def __init__(self, hidden: int, inputs: int) -> None:
        super().__init__()
        both = hidden + inputs
        for suffix, kernel, pad in (("1", (1, 5), (0, 2)), ("2", (5, 1), (2, 0))):
            for gate in "zrq":
                setattr(self, f"conv{gate}{suffix}", nn.Conv2d(both, hidden, kernel, padding=pad))

    def _step(self, h: torch.Tensor, x: torch.Tensor, suffix: str) -> torch.Tensor:
        hx = torch.cat([h, x], dim=1)
        z = torch.sigmoid(getattr(self, f"convz{suffix}")(hx))
        r = torch.sigmoid(getattr(self, f"convr{suffix}")(hx))
        q = torch.tanh(getattr(self, f"convq{suffix}")(torch.cat([r * h, x], dim=1)))
        return (1 - z) * h + z * q

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self._step(self._step(h, x, "1"), x, "2")


class FlowHead(nn.Module):
    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(x)))


class UpdateBlock(nn.Module):
    """One refinement: motion features, GRU, flow residual; the upsampling mask is separate."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = MotionEncoder()
        self.gru = SeparableGRU(HIDDEN, CONTEXT + 128)
        self.flow_head = FlowHead(HIDDEN, 256)
        self.mask = nn.Sequential(nn.Conv2d(HIDDEN, 256, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(256, STRIDE * STRIDE * 9, 1))

    def forward(self, state: torch.Tensor, context: torch.Tensor, corr: torch.Tensor,
                flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = self.gru(state, torch.cat([context, self.encoder(flow, corr)], dim=1))
        return state, self.flow_head(state)

    def upsampling_mask(self, state: torch.Tensor) -> torch.Tensor:
        return 0.25 * self.mask(state)  # the 0.25 is part of the trained model


def correlation_pyramid(f1: torch.Tensor, f2: torch.Tensor, levels: int = LEVELS) -> list[torch.Tensor]:
    """All-pairs correlation, one (N * h * w) x 1 x h' x w' map per level (h' = h / 2^level)."""
    n, c, h, w = f1.shape
    corr = torch.einsum("nci,ncj->nij", f1.reshape(n, c, h * w), f2.reshape(n, c, h * w))
    corr = (corr / torch.sqrt(torch.tensor(float(c)))).reshape(n * h * w, 1, h, w)
    pyramid = [corr]
    for _ in range(levels - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2, stride=2))
    return pyramid


def window_offsets(radius: int = RADIUS, device: torch.device | None = None) -> torch.Tensor:
    """The (x, y) offsets of a lookup window, shaped (2r+1) x (2r+1) x 2.

    The first window axis steps x and the second steps y. (The authors' code builds the window
    with the axes in this order, so the checkpoint's motion encoder expects its channels so.)
    """
    steps = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    dx, dy = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([dx, dy], dim=-1)


def sample_pixels(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of `image` (N x C x H x W) at pixel coordinates `xy` (N x h x w x 2),
    pixel centres at integers, zero outside the image."""
    h, w = image.shape[-2:]
    if h < 2 or w < 2:
        raise MetricError(f"cannot sample a correlation map of {h} x {w} (needs 2 x 2 or more)")
    size = torch.tensor([w - 1.0, h - 1.0], device=xy.device)
    return F.grid_sample(image, 2 * xy / size - 1, mode="bilinear", padding_mode="zeros",
                         align_corners=True)


def lookup(pyramid: Sequence[torch.Tensor], coords: torch.Tensor, radius: int = RADIUS) -> torch.Tensor:
    """Correlation windows around `coords` (N x 2 x h x w, (x, y)) at every level ->
    N x (levels * (2r+1)^2) x h x w."""
    n, _, h, w = coords.shape
    centres = coords.permute(0, 2, 3, 1).reshape(n * h * w, 1, 1, 2)
    offsets = window_offsets(radius, coords.device)[None]
    out = []
    for level, corr in enumerate(pyramid):
        windows = sample_pixels(corr, centres / 2 ** level + offsets)
        out.append(windows.reshape(n, h, w, -1))
    return torch.cat(out, dim=-1).permute(0, 3, 1, 2)


def pixel_grid(n: int, h: int, w: int, device: torch.device | None = None) -> torch.Tensor:
    """N x 2 x h x w with channel 0 the column (x) and channel 1 the row (y) of each pixel."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    return torch.stack([xs, ys])[None].expand(n, -1, -1, -1)


def convex_upsample(flow: torch.Tensor, mask: torch.Tensor, factor: int = STRIDE) -> torch.Tensor:
    """Flow N x 2 x h x w -> N x 2 x (factor h) x (factor w): every fine pixel is a softmax-weighted
    mix of its coarse pixel's 3 x 3 neighbourhood (zero beyond the border), in fine-pixel units."""
    n, _, h, w = flow.shape
    weights = mask.view(n, 1, 9, factor, factor, h, w).softmax(dim=2)
    neigh = F.unfold(factor * flow, 3, padding=1).view(n, 2, 9, 1, 1, h, w)
    fine = (weights * neigh).sum(dim=2)  # N x 2 x fy x fx x h x w
    return fine.permute(0, 1, 4, 2, 5, 3).reshape(n, 2, factor * h, factor * w)


class RaftNet(nn.Module):
    """RAFT with the authors' parameter names (without the DataParallel prefix)."""

    def __init__(self) -> None:
        super().__init__()
        self.fnet = Encoder(FEATURES, "instance")
        self.cnet = Encoder(HIDDEN + CONTEXT, "batch")
        self.update_block = UpdateBlock()

    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = 20) -> torch.Tensor:
        """Flow from image1 to image2 (N x 3 x H x W in [0, 255], H and W multiples of 8) after
        `iters` refinements, at full resolution: N x 2 x H x W, (dx, dy) in pixels."""
        check_size(*image1.shape[-2:])
        x1, x2 = image1 / 127.5 - 1.0, image2 / 127.5 - 1.0
        feats = self.fnet(torch.cat([x1, x2], dim=0)).float()
        f1, f2 = feats.chunk(2, dim=0)
        pyramid = correlation_pyramid(f1, f2)
        state, context = self.cnet(x1).split([HIDDEN, CONTEXT], dim=1)
        state, context = torch.tanh(state), F.relu(context)
        n, _, h, w = f1.shape
        start = pixel_grid(n, h, w, f1.device)
        coords = start.clone()
        for _ in range(iters):
            flow = coords - start
            state, delta = self.update_block(state, context, lookup(pyramid, coords), flow)
            coords = coords + delta
        return convex_upsample(coords - start, self.update_block.upsampling_mask(state))


def check_size(h: int, w: int) -> None:
    """Refuse frames RAFT cannot read: sides must be multiples of 8 (pad first) and at least
    MIN_SIDE, so that the coarsest correlation level is 2 x 2. (On smaller frames the authors'
    code divides by zero when it normalises sampling coordinates and returns NaN flow.)"""
    if h % STRIDE or w % STRIDE:
        raise MetricError(f"RAFT needs frame sides that are multiples of 8 (pad first), got {h} x {w}")
    if min(h, w) < MIN_SIDE:
        raise MetricError(f"RAFT needs frames of at least {MIN_SIDE} x {MIN_SIDE} pixels (after padding "
                          f"to multiples of 8), got {h} x {w}: its coarsest correlation level would "
                          "be a single row or column, where the reference implementation gives NaN")


def pad_to_multiple(frames: torch.Tensor, multiple: int = STRIDE) -> torch.Tensor:
    """Edge-replicate N x C x H x W up to multiples of `multiple`, the extra rows/columns split
    evenly with the odd one after (the authors' InputPadder, "sintel" mode)."""
    h, w = frames.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return frames
    return F.pad(frames, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")


def read_checkpoint(path: Any) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors with the DataParallel prefix removed (a plain state dict is
    accepted too)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise MetricError(f"RAFT weights {path}: expected a state dict, got {type(state).__name__}")
    return {k.removeprefix(PREFIX): v for k, v in state.items()}


class RaftModel(MetricModel):
    """RAFT flow between consecutive frames (the `raft-things` checkpoint for VBench)."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        path = self.weights.file()
        net = RaftNet()
        state = read_checkpoint(path)
        expected = net.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong = sorted(k for k in set(expected) & set(state) if state[k].shape != expected[k].shape)
        if missing or unexpected or wrong:
            raise MetricError(f"RAFT weights {path} do not fit the standard RAFT network: "
                              f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape "
                              f"{wrong[:5]} (is it RAFT-small? VBench uses raft-things.pth)")
        net.load_state_dict(state, strict=True)
        self.net = net.to(self.device).eval()

    def pair_flows(self, frames: np.ndarray, iters: int = 20) -> list[torch.Tensor]:
        """Flow from each frame to the next (T x H x W x 3 uint8 -> T-1 tensors 2 x H' x W', H' and
        W' padded to multiples of 8), at most `batch_size` pairs per forward pass, fewer when
        their correlation volumes would exceed CORR_BUDGET values (it grows as (H W / 64)^2)."""
        self.load()
        video = torch.from_numpy(np.ascontiguousarray(np.asarray(frames)[..., :3])).permute(0, 3, 1, 2)
        video = pad_to_multiple(video.float())
        cells = (video.shape[-2] // STRIDE) * (video.shape[-1] // STRIDE)
        per_pass = max(1, min(self.batch_size, CORR_BUDGET // (cells * cells)))
        out: list[torch.Tensor] = []
        with torch.no_grad():
            for start in range(0, video.shape[0] - 1, per_pass):
                stop = min(start + per_pass, video.shape[0] - 1)
                a = video[start:stop].to(self.device)
                b = video[start + 1:stop + 1].to(self.device)
                out.extend(self.net(a, b, iters=iters).cpu())
        return out
