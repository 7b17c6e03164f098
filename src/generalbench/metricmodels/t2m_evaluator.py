"""The HumanML3D text-to-motion evaluator's motion encoder (Guo et al. 2022), in plain torch.

Motion FID on HumanML3D (and every paper that reports it: T2M, MDM, T2M-GPT, MoMask, ...) is the
Frechet distance of 512-d motion embeddings from the evaluator trained with contrastive text-motion
matching (checkpoint `t2m/text_mot_match/model/finest.tar` of EricGuo5513/text-to-motion). The
embedding of one motion is computed as the official `EvaluatorModelWrapper.get_motion_embeddings`:

1. the motion is a T x 263 array of HumanML3D features (T x 22 x 3 joint positions are first
   converted by HumanML3D's own procedure, metricmodels/humanml3d_features.py) (root angular/linear velocity and height,
   joint positions, 6D rotations, velocities, 4 foot contacts), normalised with the evaluator's
   mean and std: x = (m - mean) / std;
2. its length is cut down to a multiple of the unit length 4 (as the official dataset does) and to
   at most 196 frames (max_motion_length), and the array is zero-padded to 196 frames, exactly as
   the evaluation batches are padded (the conv layers see the padding at the motion's end);
3. the movement encoder drops the 4 foot-contact dims and applies two Conv1d(kernel 4, stride 2,
   padding 1) + LeakyReLU(0.2) layers (time / 4) and a Linear;
4. the motion encoder runs a Linear, then a bidirectional GRU from a learned initial state over
   the first T / 4 steps only (a packed sequence), concatenates the two final states and maps them
   through Linear-LayerNorm-LeakyReLU-Linear to the 512-d embedding.

The modules declare the official parameter names (`main.0`, `main.3`, `out_net`; `hidden`,
`input_emb`, `gru`, `output_net.0/1/3`), so the official state dicts load strictly; layer sizes
are read from the checkpoint's shapes. Dropout layers are inactive (eval mode) and hold no
parameters, so they are not declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from generalbench.errors import MetricError, MissingWeightsError
from generalbench.metricmodels.base import MetricModel, pick_device

UNIT_LENGTH = 4  # the movement encoder's temporal downsampling (two stride-2 convolutions)
MAX_MOTION_LENGTH = 196  # frames; the official evaluation pads every motion to this length
FOOT_CONTACT_DIMS = 4  # trailing feature dims that the movement encoder does not see


class MovementConvEncoder(nn.Module):
    """Two strided temporal convolutions and a linear map: B x T x D -> B x T/4 x latent."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        # indices 0 and 3 as in the official nn.Sequential (conv, dropout, leaky relu, conv, ...)
        self.main = nn.ModuleDict({"0": nn.Conv1d(input_size, hidden_size, 4, 2, 1),
                                   "3": nn.Conv1d(hidden_size, output_size, 4, 2, 1)})
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)
        h = F.leaky_relu(self.main["0"](h), 0.2)
        h = F.leaky_relu(self.main["3"](h), 0.2)
        return self.out_net(h.transpose(1, 2))


class MotionEncoderBiGRUCo(nn.Module):
    """Bidirectional GRU over the movement latents; final states -> co-embedding."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.ModuleDict({"0": nn.Linear(2 * hidden_size, hidden_size),
                                         "1": nn.LayerNorm(hidden_size),
                                         "3": nn.Linear(hidden_size, output_size)})
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden_size))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.input_emb(x), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.expand(-1, x.shape[0], -1).contiguous())
        h = torch.cat([last[0], last[1]], dim=-1)
        h = F.leaky_relu(self.output_net["1"](self.output_net["0"](h)), 0.2)
        return self.output_net["3"](h)


class MotionEvaluator(nn.Module):
    """Movement + motion encoders with the evaluator's feature statistics as buffers."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, movement: MovementConvEncoder,
                 motion: MotionEncoderBiGRUCo) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, dtype=np.float32)))
        self.movement_encoder = movement
        self.motion_encoder = motion

    @property
    def feature_dim(self) -> int:
        return int(self.mean.shape[0])

    def forward(self, motions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw (unnormalised) B x T x D features, valid lengths B (multiples of 4) -> B x E."""
        x = (motions - self.mean) / self.std
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        x = x * valid[..., None]  # the official batches are zero after normalisation
        movements = self.movement_encoder(x[..., :-FOOT_CONTACT_DIMS])
        return self.motion_encoder(movements, lengths // UNIT_LENGTH)


def evaluator_from_state(state: dict[str, Any], mean: np.ndarray, std: np.ndarray) -> MotionEvaluator:
    """Build the evaluator with the layer sizes of an official-layout checkpoint and load it strictly."""
    for key in ("movement_encoder", "motion_encoder"):
        if key not in state:
            raise MissingWeightsError(f"motion evaluator checkpoint lacks {key!r} (found "
                                      f"{sorted(state)[:8]}); expected t2m/text_mot_match/model/finest.tar")
    mov, mot = state["movement_encoder"], state["motion_encoder"]
    hidden, d_in, _ = mov["main.0.weight"].shape
    latent = mov["main.3.weight"].shape[0]
    gru_hidden = mot["input_emb.weight"].shape[0]
    out = mot["output_net.3.weight"].shape[0]
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    if mean.shape != std.shape or mean.shape[0] != d_in + FOOT_CONTACT_DIMS:
        raise MissingWeightsError(f"motion evaluator statistics do not fit the checkpoint: mean "
                                  f"{mean.shape}, std {std.shape}, network input {d_in} + "
                                  f"{FOOT_CONTACT_DIMS} foot contacts")
    net = MotionEvaluator(mean, std, MovementConvEncoder(int(d_in), int(hidden), int(latent)),
                          MotionEncoderBiGRUCo(int(latent), int(gru_hidden), int(out)))
    net.movement_encoder.load_state_dict(mov, strict=True)
    net.motion_encoder.load_state_dict(mot, strict=True)
    return net.eval()


def prepare_motion(motion: Any, feature_dim: int) -> tuple[np.ndarray, int]:
    """One motion as the evaluation batches hold it: (196 x D zero-padded array, valid length)."""
    m = np.asarray(motion, dtype=np.float32)
    if m.ndim == 3 and m.shape[-1] == 3:  # joint positions: HumanML3D's own feature extraction
        from generalbench.metricmodels.humanml3d_features import (
            FEATURES,
            JOINTS,
            joints_to_features,
        )

        if m.shape[1] != JOINTS or feature_dim != FEATURES:
            raise MetricError(f"motion_fid: joint positions of shape {m.shape} cannot be turned "
                              f"into this evaluator's {feature_dim}-d features (HumanML3D: T x "
                              f"{JOINTS} x 3 joints -> {FEATURES}-d)")
        try:
            m = joints_to_features(m).astype(np.float32)
        except MetricError as exc:
            raise MetricError(f"motion_fid: {exc}") from None
    if m.ndim != 2 or m.shape[1] != feature_dim:
        raise MetricError(f"motion_fid: expected a T x {feature_dim} array of HumanML3D features, "
                          f"got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise MetricError("motion_fid: motion features contain NaN or infinite values")
    length = min(m.shape[0], MAX_MOTION_LENGTH) // UNIT_LENGTH * UNIT_LENGTH
    if length < UNIT_LENGTH:
        raise MetricError(f"motion_fid: a motion needs at least {UNIT_LENGTH} frames, got {m.shape[0]}")
    out = np.zeros((MAX_MOTION_LENGTH, feature_dim), dtype=np.float32)
    out[:length] = m[:length]
    return out, length


def _statistics_file(folder: Path, stem: str) -> Path:
    for name in (f"{stem.capitalize()}.npy", f"{stem}.npy"):
        if (folder / name).is_file():
            return folder / name
    raise MissingWeightsError(f"{folder}: the motion evaluator needs {stem.capitalize()}.npy (or "
                              f"{stem}.npy) next to finest.tar: the evaluator's feature {stem}")


class HumanML3DMotionEvaluator(MetricModel):
    """Motion embeddings of the HumanML3D evaluator for motion FID."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        root = self.weights.root
        ckpt = root if root.is_file() else self.weights.file("finest.tar")
        folder = ckpt.parent
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        mean = np.load(_statistics_file(folder, "mean"))
        std = np.load(_statistics_file(folder, "std"))
        self.net = evaluator_from_state(state, mean, std).to(self.device)

    def embed_motions(self, motions: Sequence[Any]) -> np.ndarray:
        """N x E embeddings of N motions (each T x 263 HumanML3D features, unnormalised)."""
        self.load()
        dim = self.net.feature_dim

        def run(batch: Sequence[Any]) -> list[np.ndarray]:
            prepared = [prepare_motion(m, dim) for m in batch]
            x = torch.from_numpy(np.stack([p[0] for p in prepared])).to(self.device)
            lengths = torch.tensor([p[1] for p in prepared], dtype=torch.long, device=self.device)
            with torch.no_grad():
                return list(self.net(x, lengths).double().cpu().numpy())

        return np.stack(self.map_batches(list(motions), run))
