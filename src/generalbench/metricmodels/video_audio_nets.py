"""Feature networks for FVD (I3D, TorchScript) and FAD (VGGish, declared here in plain torch).

FVD: the Kinetics-400 I3D that StyleGAN-V and content-debiased FVD distribute as
`i3d_torchscript.pt`; it is called as `net(x, rescale=True, resize=True, return_features=True)`
on N x 3 x T x H x W float videos in [0, 255] and returns the 400-d pre-softmax features.
FAD: VGGish (torchvggish port of Google's AudioSet VGGish); the log-mel front end below follows
`vggish_input.waveform_to_examples` (16 kHz, 25 ms Hann window, 10 ms hop, 64 HTK mel bands
125-7500 Hz, log(mel + 0.01), 0.96 s non-overlapping patches), embeddings before PCA.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from generalbench.errors import MetricError
from generalbench.metricmodels.audio_io import to_mono_rate
from generalbench.metricmodels.base import MetricModel, pick_device


class I3DTorchScriptModel(MetricModel):
    """FVD features from the TorchScript I3D."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        self.net = torch.jit.load(str(self.weights.file()), map_location=self.device).eval()

    def embed_videos(self, videos: Sequence[Any]) -> np.ndarray:
        def run(batch: Sequence[Any]) -> list[np.ndarray]:
            out = []
            for video in batch:  # videos may differ in size/length: one at a time within a batch
                v = np.asarray(video)
                if v.ndim != 4 or v.shape[-1] < 3:
                    raise MetricError(f"expected a T x H x W x 3 video, got shape {v.shape}")
                x = torch.from_numpy(np.ascontiguousarray(v[..., :3])).float().permute(3, 0, 1, 2)[None]
                try:
                    with torch.no_grad():
                        feats = self.net(x.to(self.device), rescale=True, resize=True, return_features=True)
                except (RuntimeError, torch.jit.Error) as exc:  # e.g. too few frames for I3D pooling
                    raise MetricError(f"FVD's I3D cannot embed a video of shape {v.shape} "
                                      f"(FVD is defined on 16-frame clips): {str(exc).splitlines()[0]}") from None
                out.append(feats.double().cpu().numpy()[0])
            return out

        return np.stack(self.map_batches(list(videos), run))


# ---- VGGish -------------------------------------------------------------------------------

VGGISH_RATE = 16000


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log(1.0 + hz / 700.0)


def vggish_mel_matrix(num_mel: int = 64, num_bins: int = 257, rate: int = VGGISH_RATE,
                      lower: float = 125.0, upper: float = 7500.0) -> np.ndarray:
    """HTK-style triangular mel weights exactly as VGGish's mel_features computes them."""
    bins_mel = _hz_to_mel(np.linspace(0.0, rate / 2.0, num_bins))
    edges = np.linspace(_hz_to_mel(np.array(lower)), _hz_to_mel(np.array(upper)), num_mel + 2)
    weights = np.empty((num_bins, num_mel))
    for i in range(num_mel):
        lo, center, hi = edges[i:i + 3]
        lower_slope = (bins_mel - lo) / (center - lo)
        upper_slope = (hi - bins_mel) / (hi - center)
        weights[:, i] = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    weights[0, :] = 0.0
    return weights


def vggish_examples(samples: np.ndarray, rate: int) -> np.ndarray:
    """Waveform -> N x 96 x 64 log-mel patches (VGGish input)."""
    wave = to_mono_rate(samples, rate, VGGISH_RATE).astype(np.float64)
    win, hop, nfft = 400, 160, 512
    if wave.size < win:
        wave = np.pad(wave, (0, win - wave.size))
    n_frames = 1 + (wave.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    spec = np.abs(np.fft.rfft(wave[idx] * window, nfft))
    log_mel = np.log(spec @ vggish_mel_matrix() + 0.01)
    if log_mel.shape[0] < 96:
        raise MetricError(f"FAD's VGGish needs at least 0.96 s of audio, got {samples.size / rate:.2f} s")
    n_ex = 1 + (log_mel.shape[0] - 96) // 96
    return np.stack([log_mel[i * 96:(i + 1) * 96] for i in range(n_ex)]).astype(np.float32)


class VGGish(nn.Module):
    """VGGish with torchvggish's parameter names (features.*, embeddings.*)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for spec in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
            if spec == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(spec), 3, padding=1), nn.ReLU(True)]
                cin = int(spec)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(nn.Linear(512 * 4 * 6, 4096), nn.ReLU(True),
                                        nn.Linear(4096, 4096), nn.ReLU(True),
                                        nn.Linear(4096, 128), nn.ReLU(True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N x 512 x 6 x 4
        x = x.transpose(1, 3).transpose(1, 2).contiguous()  # N x 6 x 4 x 512 (TF order)
        return self.embeddings(x.view(x.size(0), -1))


class VGGishModel(MetricModel):
    """FAD features: one 128-d VGGish embedding per 0.96 s patch of each clip."""

    def _load(self) -> None:
        self.device = pick_device(self.device_request)
        state = torch.load(self.weights.file(), map_location="cpu", weights_only=True)
        net = VGGish()
        net.load_state_dict(state, strict=True)
        self.net = net.to(self.device).eval()

    def embed_audio(self, clips: Sequence[tuple[np.ndarray, int]]) -> list[np.ndarray]:
        """Per clip, a (patches x 128) array; FAD pools the patches of a whole set."""

        def run(batch: Sequence[tuple[np.ndarray, int]]) -> list[np.ndarray]:
            out = []
            for samples, rate in batch:
                ex = torch.from_numpy(vggish_examples(np.asarray(samples), rate))[:, None]
                with torch.no_grad():
                    out.append(self.net(ex.to(self.device)).double().cpu().numpy())
            return out

        return self.map_batches(list(clips), run)
