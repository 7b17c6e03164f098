"""MUSIQ, the multi-scale image quality transformer (Ke et al., ICCV 2021), in plain torch.

Why here and not through a package: the PyTorch port that VBench and video super-resolution
papers use (pyiqa) is non-commercially licensed and needs torchvision, which pulls a CUDA build
of torch on this machine. This module declares the same network with the same parameter names,
so pyiqa's converted checkpoints (`musiq_spaq_ckpt-358bb6af.pth`, `musiq_koniq_ckpt-e95806b9.pth`,
Google's Apache-2.0 weights) load strictly into it, and reproduces that port's input pipeline:

- the image in [0, 1] is mapped to [-1, 1];
- it is seen at three scales: resized (bicubic, aspect kept) so its longer side is 224 and 384,
  plus the original resolution;
- each scale is cut into 32 x 32 patches with TensorFlow "SAME" padding; the two resized scales
  are zero-padded to a fixed number of patches (ceil(L / 32) ** 2) with those slots masked out;
- every patch carries a hashed spatial position on a 10 x 10 grid and its scale index;
- a ResNet stem (weight-standardised convolutions, GroupNorm, one bottleneck) turns each patch
  into a token; a 14-layer transformer with a CLS token reads all tokens; a linear head on the
  CLS token gives the score (a 10-bin head, as for AVA, gives the mean of the bins 1..10).

Architecture sizes are read from the checkpoint's tensor shapes (heads = hidden / 64), so tiny
random-weight stand-ins built by `metricmodels/tiny.py` load through the same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel, pick_device
from generalbench.metricmodels.image_io import rgb_images

ROOT_CHANNELS = 64  # the stem's width is fixed by the architecture (GroupNorm with 32 groups)
HEAD_DIM = 64


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding of one axis: (before, after), the odd pixel going after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    return F.pad(x, (left, right, top, bottom))


class StdConv2d(nn.Conv2d):
    """Convolution with weight standardisation (per output filter) and TF 'SAME' padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        k, s = self.kernel_size[0], self.stride[0]
        return F.conv2d(pad_same(x, k, s), w, self.bias, self.stride)


class Bottleneck(nn.Module):
    """The single pre-activation-free ResNet bottleneck of MUSIQ's patch stem (64 -> 256)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = StdConv2d(cin, cin, 1, bias=False)
        self.gn1 = nn.GroupNorm(32, cin, eps=1e-4)
        self.conv2 = StdConv2d(cin, cin, 3, bias=False)
        self.gn2 = nn.GroupNorm(32, cin, eps=1e-4)
        self.conv3 = StdConv2d(cin, cout, 1, bias=False)
        self.gn3 = nn.GroupNorm(32, cout, eps=1e-4)
        self.conv_proj = StdConv2d(cin, cout, 1, bias=False)
        self.gn_proj = nn.GroupNorm(32, cout, eps=1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.gn_proj(self.conv_proj(x))
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(self.gn3(self.conv3(y)) + shortcut)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(n, t, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        # A pair with a padded token on either side gets a large negative logit (-1000, the
        # reference port's value, not -inf: fully padded rows stay finite).
        pair = valid[:, None, :, None] & valid[:, None, None, :]
        scores = scores.masked_fill(~pair, -1e3)
        y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, t, d)
        return self.out(y)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, mlp_dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), valid)
        return x + self.mlp(self.norm2(x))


class _PositionTable(nn.Module):
    def __init__(self, grid: int, dim: int) -> None:
        super().__init__()
        self.position_emb = nn.Parameter(0.02 * torch.randn(1, grid * grid, dim))


class _ScaleTable(nn.Module):
    def __init__(self, scales: int, dim: int) -> None:
        super().__init__()
        self.scale_emb = nn.Parameter(0.02 * torch.randn(scales, dim))


class Encoder(nn.Module):
    def __init__(self, dim: int, mlp_dim: int, heads: int, layers: int, scales: int,
                 grid: int) -> None:
        super().__init__()
        self.posembed_input = _PositionTable(grid, dim)
        self.scaleembed_input = _ScaleTable(scales, dim)
        self.cls = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.transformer = nn.ModuleDict(
            {f"encoderblock_{i}": EncoderBlock(dim, mlp_dim, heads) for i in range(layers)})

    def forward(self, tokens: torch.Tensor, spatial: torch.Tensor, scale: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        x = tokens + self.posembed_input.position_emb[0][spatial] + self.scaleembed_input.scale_emb[scale]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        valid = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1)
        for block in self.transformer.values():
            x = block(x, valid)
        return self.encoder_norm(x)


class MusiqNet(nn.Module):
    """MUSIQ with pyiqa's parameter names; `forward` takes tokens from `multiscale_patches`."""

    def __init__(self, *, hidden: int = 384, mlp_dim: int = 1152, layers: int = 14,
                 heads: int = 6, num_classes: int = 1, patch: int = 32, grid: int = 10,
                 scales: int = 3, longer_sides: Sequence[int] = (224, 384)) -> None:
        super().__init__()
        self.patch, self.grid, self.longer_sides = patch, grid, tuple(sorted(longer_sides))
        self.conv_root = StdConv2d(3, ROOT_CHANNELS, 7, stride=2, bias=False)
        self.gn_root = nn.GroupNorm(32, ROOT_CHANNELS, eps=1e-6)
        self.block1 = Bottleneck(ROOT_CHANNELS, 4 * ROOT_CHANNELS)
        self.embedding = nn.Linear(4 * ROOT_CHANNELS * (patch // 4) ** 2, hidden)
        self.transformer_encoder = Encoder(hidden, mlp_dim, heads, layers, scales, grid)
        linear = nn.Linear(hidden, num_classes)
        # pyiqa stores a 10-bin head as Sequential(Linear, Softmax): keep its "head.0." names
        self.head = nn.Sequential(linear, nn.Softmax(dim=-1)) if num_classes > 1 else linear
        self.num_classes = num_classes

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> MusiqNet:
        """Build the network whose sizes match a checkpoint's tensor shapes."""
        try:
            hidden, embed_in = state["embedding.weight"].shape
            grid = math.isqrt(state["transformer_encoder.posembed_input.position_emb"].shape[1])
            scales = state["transformer_encoder.scaleembed_input.scale_emb"].shape[0]
            prefix = "transformer_encoder.transformer.encoderblock_"
            layers = len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})
            mlp_dim = state[f"{prefix}0.mlp.fc1.weight"].shape[0]
            head = state.get("head.weight", state.get("head.0.weight"))
            if head is None:
                raise KeyError("head.weight")
        except KeyError as exc:
            raise MetricError(f"not a MUSIQ checkpoint: tensor {exc} is missing") from None
        patch = 4 * math.isqrt(embed_in // (4 * ROOT_CHANNELS))
        return cls(hidden=hidden, mlp_dim=mlp_dim, layers=layers, heads=max(hidden // HEAD_DIM, 1),
                   num_classes=head.shape[0], patch=patch, grid=grid, scales=scales,
                   longer_sides=(224, 384)[:scales - 1])

    def forward(self, patches: torch.Tensor, spatial: torch.Tensor, scale: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        """patches: N x T x (3 * patch * patch) -> N scores (MOS)."""
        n, t, _ = patches.shape
        x = patches.reshape(n * t, 3, self.patch, self.patch)
        x = F.relu(self.gn_root(self.conv_root(x)))
        x = F.max_pool2d(pad_same(x, 3, 2), 3, stride=2)  # zero padding is safe after the ReLU
        x = self.block1(x).permute(0, 2, 3, 1)  # TF channel order: (h, w, c) flattened
        tokens = self.embedding(x.reshape(n, t, -1))
        cls = self.transformer_encoder(tokens, spatial, scale, valid)[:, 0]
        out = self.head(cls)
        if self.num_classes > 1:
            return (out * torch.arange(1, self.num_classes + 1, dtype=out.dtype)).sum(-1)
        return out[:, 0]


def hashed_positions(grid: int, rows: int, cols: int) -> torch.Tensor:
    """Each patch's cell on a grid x grid table, by nearest-neighbour scaling of its row/column.

    torch's own nearest interpolation does the scaling (in float32, as in the reference port):
    integer arithmetic would differ where i * grid / count is a whole number.
    """
    def axis(count: int) -> torch.Tensor:
        table = torch.arange(grid, dtype=torch.float32).view(1, 1, grid)
        return F.interpolate(table, size=count, mode="nearest").view(-1).long()

    return (axis(rows)[:, None] * grid + axis(cols)[None, :]).reshape(-1)


def _patches(image: torch.Tensor, patch: int) -> tuple[torch.Tensor, int, int]:
    """N x 3 x H x W -> N x P x (3 * patch * patch), row-major patches after SAME padding."""
    x = pad_same(image, patch, patch)
    rows, cols = math.ceil(image.shape[-2] / patch), math.ceil(image.shape[-1] / patch)
    cols_out = F.unfold(x, patch, stride=patch)  # N x (3 * patch * patch) x P, channel-major
    return cols_out.transpose(1, 2), rows, cols


def multiscale_patches(image: torch.Tensor, *, patch: int = 32, grid: int = 10,
                       longer_sides: Sequence[int] = (224, 384), native: bool = True
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """MUSIQ's input: (patches, spatial index, scale index, valid mask) for N same-size images.

    `image` is N x 3 x H x W in [-1, 1]. Resized scales are padded with masked slots to
    ceil(L / patch) ** 2 patches; the native scale keeps all its patches.
    """
    n, _, h, w = image.shape
    parts = []
    for scale_id, side in enumerate(sorted(longer_sides)):
        ratio = side / max(h, w)
        size = (round(h * ratio), round(w * ratio))
        resized = F.interpolate(image, size=size, mode="bicubic", align_corners=False)
        parts.append(_scale_tokens(resized, scale_id, patch, grid, math.ceil(side / patch) ** 2))
    if native:
        parts.append(_scale_tokens(image, len(longer_sides), patch, grid, None))
    return tuple(torch.cat([p[i] for p in parts], dim=1) for i in range(4))  # type: ignore[return-value]


def _scale_tokens(image: torch.Tensor, scale_id: int, patch: int, grid: int, length: int | None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    n = image.shape[0]
    tokens, rows, cols = _patches(image, patch)
    spatial = hashed_positions(grid, rows, cols).expand(n, -1)
    count = tokens.shape[1]
    valid = torch.ones(n, count, dtype=torch.bool)
    if length is not None:  # pad (or cut) to the scale's fixed length
        if count < length:
            tokens = F.pad(tokens, (0, 0, 0, length - count))
            spatial = F.pad(spatial, (0, length - count))
            valid = F.pad(valid, (0, length - count))
        tokens, spatial, valid = tokens[:, :length], spatial[:, :length], valid[:, :length]
    scale = torch.full_like(spatial, scale_id)
    scale = torch.where(valid, scale, torch.zeros_like(scale))  # padded slots carry index 0
    return tokens, spatial, scale, valid


def vbench_frames(frames: np.ndarray, longest: int | None = 512) -> torch.Tensor:
    """VBench imaging_quality's frame preparation: T x H x W x 3 uint8 -> T x 3 x H' x W' in [0, 1].

    Frames whose longer side exceeds `longest` are resized (bilinear, no antialiasing, the result
    rounded back to 8 bits as torchvision does for uint8 tensors) to int(scale * side); with
    `longest=None` they keep their size.
    """
    x = torch.from_numpy(np.ascontiguousarray(frames[..., :3])).permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    if longest and max(h, w) > longest:
        s = longest / max(h, w)
        x = F.interpolate(x, size=(int(s * h), int(s * w)), mode="bilinear", align_corners=False)
        x = x.round().clamp(0, 255)
    return x / 255.0


class MusiqModel(MetricModel):
    """MUSIQ image-quality scores (0-100 for the KonIQ/SPAQ checkpoints) for images or frames."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        state = torch.load(self.weights.file(), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "params" in state and isinstance(state["params"], dict):
            state = state["params"]
        state = {k.removeprefix("module."): v for k, v in state.items()}
        net = MusiqNet.from_state_dict(state)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise MetricError(f"MUSIQ weights {self.weights.file()} do not fit the network: "
                              f"{str(exc).splitlines()[0]}") from None
        self.net = net.to(self.device).eval()

    def score_images(self, images: Sequence[Any]) -> list[float]:
        """One score per image (H x W x 3 uint8 arrays of any size; same-size ones are batched)."""
        return self._score_tensors([torch.from_numpy(a).permute(2, 0, 1).float() / 255.0
                                    for a in rgb_images(images)])

    def score_video(self, frames: np.ndarray, longest: int | None = 512) -> list[float]:
        """Per-frame scores of one video as VBench's imaging_quality computes them."""
        return self._score_tensors(list(vbench_frames(frames, longest)))

    def _score_tensors(self, tensors: list[torch.Tensor]) -> list[float]:
        self.load()
        out: list[float] = [0.0] * len(tensors)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, t in enumerate(tensors):
            by_size.setdefault((t.shape[1], t.shape[2]), []).append(i)
        with torch.no_grad():
            for idx in by_size.values():
                for start in range(0, len(idx), self.batch_size):
                    chunk = idx[start:start + self.batch_size]
                    x = torch.stack([tensors[i] for i in chunk]) * 2 - 1
                    inputs = multiscale_patches(x, patch=self.net.patch, grid=self.net.grid,
                                                longer_sides=self.net.longer_sides)
                    scores = self.net(*(t.to(self.device) for t in inputs)).double().cpu().numpy()
                    for i, s in zip(chunk, scores, strict=True):
                        out[i] = float(s)
        return out

