"""CoTracker2 (Karaev et al., 2023), the point tracker of VBench-2.0's Camera_Motion, in plain torch.

Why here and not through a package: CoTracker is not on PyPI, the vbench2 wheel ships its
third-party copy without source files, and VBench-2.0 fetches it with torch.hub from GitHub at
run time. This module declares the same network with the same parameter (and buffer) names, so
Meta's checkpoint `cotracker2.pth` (CC-BY-NC 4.0) loads strictly into it, and it reproduces the
path VBench-2.0 takes through the official offline predictor (`cotracker2` hub entry:
window 8, stride 4):

- frames (0-255) are resized bilinearly (corners aligned) to the model resolution, 384 x 512;
- the queries are a grid_size x grid_size grid on frame 0 with a margin of width / 64;
- the tracker runs over sliding windows of 8 frames moving by 4 (the video padded with its
  last frame), 6 refinement iterations per window; tracks of the overlapping half seed the next
  window;
- visibility is sigmoid(logit) > 0.9; frame 0 returns the query points themselves (visible);
- tracks are scaled back to the input's pixel grid ((W - 1) / (512 - 1), (H - 1) / (384 - 1)).

The network: a CNN feature encoder at stride 4 (four residual stages fused), a 4-level
correlation pyramid sampled in a 7 x 7 neighbourhood around each track, sinusoidal flow, time
and position embeddings, and a transformer that alternates attention along time with attention
across tracks routed through 64 learned "virtual" tracks; its output updates coordinates and
track features, and a linear head turns the features into visibility logits.

Sizes (widths, depths, heads, window, resolution) are read from the checkpoint's tensor shapes,
so the tiny random-weight stand-in of `metricmodels/tiny.py` loads through the same code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel, pick_device

STRIDE = 4  # the feature encoder's output stride (fixed by its layout)
HEAD_WIDTH = 48  # channels per attention head in every attention layer
FLOW_CHANNELS = 64  # sinusoid channels per axis of the flow embedding
CORR_LEVELS = 4
CORR_RADIUS = 3
ITERATIONS = 6  # refinement steps per window in the offline predictor
VISIBLE = 0.9  # visibility threshold of the offline predictor
INITIAL_VIS_LOGIT = 10.0


# ---- fixed embeddings ----------------------------------------------------------------------


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """M positions -> M x dim: sines then cosines at frequencies 10000 ** (-2k / dim) (float64 math)."""
    freq = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angle = positions.reshape(-1).double()[:, None] * freq[None, :]
    return torch.cat([angle.sin(), angle.cos()], dim=1).float()


def sincos_2d(dim: int, height: int, width: int) -> torch.Tensor:
    """1 x dim x height x width: the first half encodes the column, the second half the row."""
    cols = torch.arange(width, dtype=torch.float32).repeat(height)
    rows = torch.arange(height, dtype=torch.float32).repeat_interleave(width)
    emb = torch.cat([sincos_1d(dim // 2, cols), sincos_1d(dim // 2, rows)], dim=1)
    return emb.reshape(1, height, width, dim).permute(0, 3, 1, 2)


def flow_embedding(flow: torch.Tensor, channels: int = FLOW_CHANNELS) -> torch.Tensor:
    """... x 2 displacements -> [dx, dy, sin/cos(dx * f) interleaved, sin/cos(dy * f) interleaved]
    with f = 0, 2, 4, ... times 1000 / channels."""
    freq = torch.arange(0, channels, 2, dtype=torch.float32, device=flow.device) * (1000.0 / channels)
    parts = [flow]
    for axis in (0, 1):
        angle = flow[..., axis:axis + 1] * freq
        parts.append(torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2))
    return torch.cat(parts, dim=-1)


def grid_points(size: int, height: float, width: float) -> torch.Tensor:
    """size*size (x, y) points in row-major order covering the frame with a margin of width / 64."""
    if size == 1:
        return torch.tensor([[width / 2, height / 2]])
    margin = width / 64
    ys = torch.linspace(margin, height - margin, size)
    xs = torch.linspace(margin, width - margin, size)
    return torch.stack([xs.repeat(size), ys.repeat_interleave(size)], dim=-1)


def sample_at(values: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of values (N x C x [T x] H x W) at pixel points (..., [t,] x, y), pixel
    centres at integers, clamped to the border (grid_sample with aligned corners)."""
    sizes = values.shape[2:]
    if len(sizes) == 3:  # points are (t, x, y); grid_sample wants (x, y, t)
        points = points[..., [1, 2, 0]]
    scale = torch.tensor([2.0 / max(s - 1, 1) for s in reversed(sizes)], device=points.device)
    return F.grid_sample(values, points * scale - 1, mode="bilinear", padding_mode="border",
                         align_corners=True)


# ---- feature encoder --------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with instance norm; a strided block projects its shortcut (1x1 conv)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), nn.InstanceNorm2d(cout))
                           if stride != 1 else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(F.instance_norm(self.conv1(x)))
        y = F.relu(F.instance_norm(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class FeatureEncoder(nn.Module):
    """Frames in [-1, 1] -> latent x H/4 x W/4 maps: stages at strides 2, 4, 8, 16, each resized to
    stride 4 (bilinear, aligned corners), concatenated and fused by a 3x3 and a 1x1 convolution."""

    def __init__(self, latent: int) -> None:
        super().__init__()
        widths = [latent // 2, latent // 4 * 3, latent, latent]
        self.conv1 = nn.Conv2d(3, latent // 2, 7, stride=2, padding=3)
        cin = latent // 2
        for i, (width, stride) in enumerate(zip(widths, (1, 2, 2, 2), strict=True)):
            setattr(self, f"layer{i + 1}", nn.Sequential(ResidualBlock(cin, width, stride),
                                                         ResidualBlock(width, width, 1)))
            cin = width
        self.conv2 = nn.Conv2d(sum(widths), 2 * latent, 3, padding=1)
        self.conv3 = nn.Conv2d(2 * latent, latent, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // STRIDE, x.shape[-1] // STRIDE)
        x = F.relu(F.instance_norm(self.conv1(x)))
        stages = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            stages.append(F.interpolate(x, size, mode="bilinear", align_corners=True))
        x = F.relu(F.instance_norm(self.conv2(torch.cat(stages, dim=1))))
        return self.conv3(x)


# ---- transformer ------------------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head attention with a fused key/value projection and an additive bias."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, heads * HEAD_WIDTH)
        self.to_kv = nn.Linear(dim, 2 * heads * HEAD_WIDTH)
        self.to_out = nn.Linear(heads * HEAD_WIDTH, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                bias: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        n, lq, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(n, t.shape[1], self.heads, d // self.heads).transpose(1, 2)

        k, v = self.to_kv(context).chunk(2, dim=-1)
        logits = split(self.to_q(x)) @ split(k).transpose(-2, -1) * HEAD_WIDTH ** -0.5
        if bias is not None:
            logits = logits + bias
        y = logits.softmax(dim=-1) @ split(v)
        return self.to_out(y.transpose(1, 2).reshape(n, lq, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


def _plain_norm(x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], eps=1e-6)


class SelfBlock(nn.Module):
    """Pre-norm self-attention block (affine-free layer norms)."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.attn = Attention(dim, heads)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(_plain_norm(x))
        return x + self.mlp(_plain_norm(x))


class CrossBlock(nn.Module):
    """Pre-norm cross-attention block; the context has its own affine layer norm.

    `valid` (one flag per track) masks tracks not yet queried. As in the reference, it masks the
    query side when its length equals the number of queries, else the context side (with the
    grid queries of VBench every track is valid and the mask has no effect)."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm_context = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, heads)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor, context: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        bias = None
        if valid is not None:
            heads = self.cross_attn.heads
            if valid.shape[1] == x.shape[1]:
                keep = valid[:, None, :, None].expand(-1, heads, -1, context.shape[1])
            else:
                keep = valid[:, None, None].expand(-1, heads, x.shape[1], -1)
            bias = (~keep) * -torch.finfo(x.dtype).max
        x = x + self.cross_attn(_plain_norm(x), self.norm_context(context), bias)
        return x + self.mlp(_plain_norm(x))


class UpdateFormer(nn.Module):
    """Tokens B x N x S x D -> updates B x N x S x (2 + latent): time attention per track,
    interleaved with track-to-virtual, virtual self, and virtual-to-track attention per frame."""

    def __init__(self, input_dim: int, dim: int, out_dim: int, heads: int, hidden: int,
                 time_depth: int, space_depth: int, virtual: int) -> None:
        super().__init__()
        self.input_transform = nn.Linear(input_dim, dim)
        self.flow_head = nn.Linear(dim, out_dim)
        self.virual_tracks = nn.Parameter(torch.randn(1, virtual, 1, dim))  # sic: checkpoint name
        self.time_blocks = nn.ModuleList(SelfBlock(dim, heads, hidden) for _ in range(time_depth))
        self.space_virtual_blocks = nn.ModuleList(SelfBlock(dim, heads, hidden) for _ in range(space_depth))
        self.space_point2virtual_blocks = nn.ModuleList(
            CrossBlock(dim, heads, hidden) for _ in range(space_depth))
        self.space_virtual2point_blocks = nn.ModuleList(
            CrossBlock(dim, heads, hidden) for _ in range(space_depth))

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        b, n, s, _ = x.shape
        virtual = self.virual_tracks.shape[1]
        tokens = torch.cat([self.input_transform(x), self.virual_tracks.expand(b, -1, s, -1)], dim=1)
        every = len(self.time_blocks) // len(self.space_virtual_blocks)
        j = 0
        for i, block in enumerate(self.time_blocks):
            tokens = block(tokens.reshape(b * (n + virtual), s, -1)).reshape(b, n + virtual, s, -1)
            if i % every == 0:
                frame = tokens.transpose(1, 2).reshape(b * s, n + virtual, -1)
                points, virt = frame[:, :n], frame[:, n:]
                virt = self.space_virtual2point_blocks[j](virt, points, valid)
                virt = self.space_virtual_blocks[j](virt)
                points = self.space_point2virtual_blocks[j](points, virt, valid)
                tokens = torch.cat([points, virt], dim=1).reshape(b, s, n + virtual, -1).transpose(1, 2)
                j += 1
        return self.flow_head(tokens[:, :n])


# ---- the tracker ----------------------------------------------------------------------------


def correlation_features(pyramid: list[torch.Tensor], feats: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Dot products (/ sqrt(C)) of each track's feature with every pyramid level, sampled on a
    7 x 7 neighbourhood of its position: B x S x N x C, B x S x N x 2 -> (B N) x S x (levels * 49).

    The neighbourhood's first axis moves x and its second moves y (the reference's order)."""
    b, s, n, c = feats.shape
    r = CORR_RADIUS
    steps = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
    offsets = torch.stack([steps[:, None].expand(-1, 2 * r + 1), steps[None, :].expand(2 * r + 1, -1)], dim=-1)
    out = []
    for level, fmap in enumerate(pyramid):
        h, w = fmap.shape[-2:]
        corr = feats @ fmap.reshape(b, s, c, h * w) / math.sqrt(c)  # B S N (H W)
        centre = coords.reshape(b * s * n, 1, 1, 2) / 2 ** level
        sampled = sample_at(corr.reshape(b * s * n, 1, h, w), centre + offsets)
        out.append(sampled.reshape(b, s, n, -1))
    return torch.cat(out, dim=-1).permute(0, 2, 1, 3).reshape(b * n, s, -1)


class CoTracker2Net(nn.Module):
    """CoTracker2 with the official parameter names (offline mode, batch of one or more videos)."""

    def __init__(self, *, latent: int = 128, dim: int = 384, heads: int = 8, mlp_hidden: int = 1536,
                 time_depth: int = 6, space_depth: int = 6, virtual: int = 64, window: int = 8,
                 resolution: tuple[int, int] = (384, 512)) -> None:
        super().__init__()
        self.latent, self.window, self.resolution = latent, window, tuple(resolution)
        # token: flow (2 + 2 x 64 sinusoids), correlations (4 levels x 7 x 7), track feature,
        # track mask and visibility logit: 130 + 196 + 128 + 2 = 456 at full size
        self.input_dim = 2 + 2 * FLOW_CHANNELS + CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2 + latent + 2
        self.fnet = FeatureEncoder(latent)
        self.updateformer = UpdateFormer(self.input_dim, dim, latent + 2, heads, mlp_hidden,
                                         time_depth, space_depth, virtual)
        self.register_buffer("time_emb", sincos_1d(self.input_dim, torch.arange(window, dtype=torch.float32))[None])
        self.register_buffer("pos_emb", sincos_2d(self.input_dim, resolution[0] // STRIDE,
                                                  resolution[1] // STRIDE))
        self.norm = nn.GroupNorm(1, latent)
        self.track_feat_updater = nn.Sequential(nn.Linear(latent, latent), nn.GELU())
        self.vis_predictor = nn.Sequential(nn.Linear(latent, 1))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> CoTracker2Net:
        """The network whose sizes match a checkpoint's tensor shapes."""
        try:
            prefix = "updateformer."
            dim, _ = state[prefix + "input_transform.weight"].shape

            def depth(name: str) -> int:
                key = f"{prefix}{name}."
                return len({k[len(key):].split(".")[0] for k in state if k.startswith(key)})

            pos = state["pos_emb"]
            return cls(latent=state["fnet.conv3.weight"].shape[0], dim=dim,
                       heads=state[prefix + "time_blocks.0.attn.to_q.weight"].shape[0] // HEAD_WIDTH,
                       mlp_hidden=state[prefix + "time_blocks.0.mlp.fc1.weight"].shape[0],
                       time_depth=depth("time_blocks"), space_depth=depth("space_virtual_blocks"),
                       virtual=state[prefix + "virual_tracks"].shape[1],
                       window=state["time_emb"].shape[1],
                       resolution=(pos.shape[2] * STRIDE, pos.shape[3] * STRIDE))
        except KeyError as exc:
            raise MetricError(f"not a CoTracker2 checkpoint: tensor {exc} is missing") from None

    def encode(self, video: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """B x T x 3 x H x W in [-1, 1] -> B x T x latent x H/4 x W/4 (frames encoded in chunks;
        instance norm is per frame, so chunking does not change the result)."""
        b, t = video.shape[:2]
        flat = video.reshape(b * t, *video.shape[2:])
        maps = torch.cat([self.fnet(flat[i:i + chunk]) for i in range(0, b * t, chunk)])
        return maps.reshape(b, t, *maps.shape[1:])

    def refine(self, fmaps: torch.Tensor, coords: torch.Tensor, feats: torch.Tensor, vis: torch.Tensor,
               track_mask: torch.Tensor, valid: torch.Tensor, iters: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One window: coordinates (feature-map pixels) B x S x N x 2 refined `iters` times.
        Returns (coordinates in input pixels, visibility logits B x S x N)."""
        b, s, n, _ = coords.shape
        pyramid = [fmaps]
        for _ in range(CORR_LEVELS - 1):
            p = pyramid[-1]
            pooled = F.avg_pool2d(p.reshape(b * s, *p.shape[2:]), 2, stride=2)
            pyramid.append(pooled.reshape(b, s, *pooled.shape[1:]))
        pos = sample_at(self.pos_emb.expand(b, -1, -1, -1), coords[:, 0].unsqueeze(2))  # B E N 1
        pos = pos[..., 0].transpose(1, 2).reshape(b * n, 1, -1)
        mask_vis = torch.cat([track_mask.float(), vis], dim=-1).transpose(1, 2).reshape(b * n, s, 2)
        for _ in range(iters):
            corr = correlation_features(pyramid, feats, coords)
            flows = (coords - coords[:, :1]).transpose(1, 2).reshape(b * n, s, 2)
            tokens = torch.cat([flow_embedding(flows), corr,
                                feats.transpose(1, 2).reshape(b * n, s, self.latent), mask_vis], dim=2)
            tokens = tokens + pos + self.time_emb
            delta = self.updateformer(tokens.reshape(b, n, s, -1), valid.reshape(b * s, n))
            coords = coords + delta[..., :2].transpose(1, 2)
            update = self.track_feat_updater(self.norm(delta[..., 2:].reshape(-1, self.latent)))
            feats = (update + feats.transpose(1, 2).reshape(-1, self.latent)).reshape(
                b, n, s, self.latent).transpose(1, 2)
        return coords * STRIDE, self.vis_predictor(feats).reshape(b, s, n)

    def forward(self, video: torch.Tensor, queries: torch.Tensor, iters: int = 4,
                chunk: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
        """video B x T x 3 x H x W (0-255), queries B x N x (t, x, y) in video pixels ->
        tracks B x T x N x 2 and visibility probabilities B x T x N."""
        b, t = video.shape[:2]
        n = queries.shape[1]
        s, step = self.window, self.window // 2
        start = queries[:, :, 0].long()
        where = queries[..., 1:] / STRIDE
        pad = (s - t % s) % s
        video = 2 * (video / 255.0) - 1.0
        video = torch.cat([video, video[:, -1:].expand(-1, pad, -1, -1, -1)], dim=1)
        fmaps = self.encode(video, chunk)
        feat0 = sample_at(fmaps.transpose(1, 2), torch.cat([start[:, None, :, None].float(), where[:, None]], dim=-1)
                          .unsqueeze(3))  # B C 1 N 1
        feat0 = feat0[:, :, 0, :, 0].transpose(1, 2)[:, None].expand(-1, s, -1, -1)  # B S N C
        tracks = torch.zeros(b, t, n, 2, device=video.device)
        logits = torch.zeros(b, t, n, device=video.device)
        coords = where[:, None].expand(-1, s, -1, -1).float()
        vis = torch.full((b, s, n, 1), INITIAL_VIS_LOGIT, device=video.device)
        windows = (t - s + step - 1) // step + 1  # floor division, as the reference (0 when t <= 2)
        frames = torch.arange(s, device=video.device)
        for ind in range(0, step * windows, step):
            overlap = s - step
            if ind > 0:
                seeded = (start < ind + overlap)[:, None, :, None]

                def extend(x: torch.Tensor) -> torch.Tensor:
                    return torch.cat([x, x[:, -1:].expand(-1, step, *x.shape[2:])], dim=1)

                coords = torch.where(seeded, extend(tracks[:, ind:ind + overlap] / STRIDE), coords)
                vis = torch.where(seeded, extend(logits[:, ind:ind + overlap, :, None]), vis)
            valid = (start < ind + s)[:, None, :].expand(-1, s, -1)
            track_mask = (start[:, None, :, None] <= (ind + frames)[None, :, None, None])
            if ind > 0:
                track_mask[:, :overlap] = False
            out, out_vis = self.refine(fmaps[:, ind:ind + s], coords, valid.unsqueeze(-1) * feat0, vis,
                                       track_mask, valid, iters)
            keep = min(t - ind, s)
            tracks[:, ind:ind + s] = out[:, :keep]
            logits[:, ind:ind + s] = out_vis[:, :keep]
        return tracks, torch.sigmoid(logits)


def track_grid(net: CoTracker2Net, frames: torch.Tensor, grid_size: int = 10, iters: int = ITERATIONS,
               chunk: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """The official offline predictor's grid mode (queries on frame 0, no support grid).

    frames: B x T x 3 x H x W, 0-255 (uint8 or float). Returns tracks B x T x N x 2 in input
    pixels and visibility B x T x N (bool); N = grid_size ** 2, row-major over the grid. Frames
    are converted and resized `chunk` at a time (per-frame operations: the result is the same),
    so a long full-HD video is never held in float at full size."""
    b, t, c, h, w = frames.shape
    rh, rw = net.resolution
    flat = frames.reshape(b * t, c, h, w)
    video = torch.cat([F.interpolate(flat[i:i + chunk].float(), (rh, rw), mode="bilinear", align_corners=True)
                       for i in range(0, b * t, chunk)])
    points = grid_points(grid_size, rh, rw).to(frames.device)
    queries = torch.cat([torch.zeros_like(points[:, :1]), points], dim=1)[None].expand(b, -1, -1)
    tracks, vis = net(video.reshape(b, t, c, rh, rw), queries, iters=iters, chunk=chunk)
    visible = vis > VISIBLE
    tracks[:, 0] = points  # the query frame returns the queries themselves
    visible[:, 0] = True
    return tracks * tracks.new_tensor([(w - 1) / (rw - 1), (h - 1) / (rh - 1)]), visible


class CoTrackerModel(MetricModel):
    """CoTracker2 point tracks of whole videos (VBench-2.0 Camera_Motion's tracker)."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        state: Any = torch.load(self.weights.file(), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
        state = {k.removeprefix("module."): v for k, v in state.items()}
        net = CoTracker2Net.from_state_dict(state)
        expected = net.state_dict()
        problems = {"missing": sorted(set(expected) - set(state)),
                    "unexpected": sorted(set(state) - set(expected)),
                    "wrong shape": sorted(k for k in set(expected) & set(state)
                                          if expected[k].shape != state[k].shape)}
        if any(problems.values()):
            listed = "; ".join(f"{what}: {', '.join(keys[:5])}" + (" ..." if len(keys) > 5 else "")
                               for what, keys in problems.items() if keys)
            raise MetricError(f"CoTracker2 weights {self.weights.file()} do not fit the network ({listed})")
        net.load_state_dict(state, strict=True)
        self.net = net.to(self.device).eval()

    def track(self, frames: np.ndarray, grid_size: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """T x H x W x 3 uint8 frames -> (tracks T x N x 2 float32 in pixels, visible T x N bool)."""
        self.load()
        video = torch.from_numpy(np.ascontiguousarray(frames[..., :3])).permute(0, 3, 1, 2)
        with torch.no_grad():
            tracks, visible = track_grid(self.net, video[None].to(self.device), grid_size,
                                         chunk=self.batch_size)
        return tracks[0].cpu().numpy(), visible[0].cpu().numpy()

    def info(self) -> dict[str, Any]:
        info = super().info()
        if self._loaded:
            info["resolution"] = list(self.net.resolution)
            info["window"] = self.net.window
        return info
