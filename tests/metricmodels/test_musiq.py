"""MUSIQ (metricmodels/musiq.py): input pipeline worked examples, components against torch's own
operators, masking invariance, and the metric end to end on a tiny random-weight checkpoint that
is written to disk and loaded through the real weights resolution.

Parity with the pyiqa port it mirrors (input pipeline, network, 1- and 10-bin heads, parameter
layout) is checked against golden values that pyiqa computed (test_golden.py); pyiqa itself is
not a test dependency (non-commercial licence, needs torchvision).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from generalbench.errors import MissingWeightsError
from generalbench.metrics import compute, compute_detailed

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")

from generalbench.metricmodels import musiq  # noqa: E402

F = torch.nn.functional
SCENE_T2V = "video-generation-scene-text-to-video-generation"
REAL_WORLD_VSR = "video-generation-real-world-video-superresolution"


def test_same_padding_is_tensorflow_same() -> None:
    # out = ceil(n / s); total = (out - 1) * s + k - n, the odd pixel after
    assert musiq.same_padding(16, 3, 2) == (0, 1)
    assert musiq.same_padding(32, 7, 2) == (2, 3)
    assert musiq.same_padding(50, 32, 32) == (7, 7)
    assert musiq.same_padding(64, 32, 32) == (0, 0)


def test_hashed_positions_cover_the_grid() -> None:
    assert musiq.hashed_positions(10, 10, 10).tolist() == list(range(100))
    small = musiq.hashed_positions(10, 2, 5).view(2, 5)
    assert small.tolist() == [[0, 2, 4, 6, 8], [50, 52, 54, 56, 58]]
    big = musiq.hashed_positions(10, 20, 20)
    assert big.min() == 0 and big.max() == 99 and len(set(big.tolist())) == 100


def test_multiscale_patch_counts_masks_and_content() -> None:
    image = torch.rand(2, 3, 100, 50) * 2 - 1
    patches, spatial, scale, valid = musiq.multiscale_patches(image)
    # 224 x 112 -> 7 x 4 of 49 slots; 384 x 192 -> 12 x 6 of 144; native 100 x 50 -> 4 x 2
    assert patches.shape == (2, 49 + 144 + 8, 3 * 32 * 32)
    assert valid[0, :49].sum() == 28 and valid[0, 49:193].sum() == 72 and valid[0, 193:].all()
    assert scale[0, :28].eq(0).all() and scale[0, 49:121].eq(1).all() and scale[0, 193:].eq(2).all()
    assert patches[:, 28:49].eq(0).all() and spatial[:, 28:49].eq(0).all()  # padded slots are blank
    # native scale: SAME padding puts 14 rows on top (128 - 100) / 2 and 7 columns left (64 - 50) / 2
    first = patches[0, 193].view(3, 32, 32)
    assert first[:, :14].eq(0).all() and first[:, :, :7].eq(0).all()
    assert torch.equal(first[:, 14:, 7:], image[0, :, :18, :25])


def test_weight_standardised_conv_matches_an_explicit_computation() -> None:
    conv = musiq.StdConv2d(4, 8, 3, stride=2, bias=False)
    x = torch.randn(1, 4, 11, 9)
    w = conv.weight.detach()
    w_std = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1)), w_std, stride=2)  # SAME: 9 -> 5 cols, 11 -> 6 rows
    assert torch.allclose(conv(x), expected, atol=1e-5)


def test_attention_matches_torch_scaled_dot_product_with_a_key_mask() -> None:
    attn = musiq.Attention(16, heads=2).eval()
    x = torch.randn(3, 7, 16)
    valid = torch.tensor([[1, 1, 1, 1, 1, 0, 0]] * 3, dtype=torch.bool)
    ours = attn(x, valid)

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(3, 7, 2, 8).transpose(1, 2)

    q, k, v = heads(attn.query(x)), heads(attn.key(x)), heads(attn.value(x))
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :])
    ref = attn.out(ref.transpose(1, 2).reshape(3, 7, 16))
    assert torch.allclose(ours[:, :5], ref[:, :5], atol=1e-5)  # padded query rows are never read


def test_padded_slots_do_not_change_the_score() -> None:
    torch.manual_seed(0)
    net = musiq.MusiqNet(hidden=64, mlp_dim=128, layers=2, heads=1).eval()
    inputs = musiq.multiscale_patches(torch.rand(1, 3, 90, 40) * 2 - 1)
    patches, spatial, scale, valid = inputs
    noisy = torch.where(valid[..., None], patches, torch.randn_like(patches))
    with torch.no_grad():
        a, b = net(*inputs), net(noisy, spatial, scale, valid)
    assert torch.allclose(a, b, atol=1e-5)


def test_sizes_are_read_from_the_checkpoint() -> None:
    full = musiq.MusiqNet()
    assert sum(p.numel() for p in full.parameters()) == pytest.approx(27.1e6, rel=0.02)
    rebuilt = musiq.MusiqNet.from_state_dict(full.state_dict())
    assert (rebuilt.patch, rebuilt.grid, rebuilt.longer_sides) == (32, 10, (224, 384))
    assert len(rebuilt.transformer_encoder.transformer) == 14
    ten = musiq.MusiqNet(hidden=64, mlp_dim=128, layers=1, heads=1, num_classes=10)
    again = musiq.MusiqNet.from_state_dict(ten.state_dict())
    again.load_state_dict(ten.state_dict(), strict=True)
    with torch.no_grad():  # a 10-bin head reports the mean of bins 1..10
        score = again.eval()(*musiq.multiscale_patches(torch.zeros(1, 3, 32, 32)))
    assert 1.0 <= float(score) <= 10.0


def test_vbench_frame_preparation() -> None:
    frames = np.full((2, 600, 1000, 3), 200, np.uint8)
    x = musiq.vbench_frames(frames)
    assert x.shape == (2, 3, 307, 512) and torch.allclose(x, torch.full_like(x, 200 / 255))
    small = musiq.vbench_frames(np.zeros((1, 64, 48, 3), np.uint8))
    assert small.shape == (1, 3, 64, 48)


@pytest.fixture()
def tiny_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from generalbench.metricmodels.tiny import make_tiny

    make_tiny(tmp_path, ["musiq-spaq", "musiq-koniq"])
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path))
    return tmp_path


def _video(seed: int, frames: int = 3, h: int = 48, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, h, w, 3), dtype=np.uint8)


def test_musiq_metric_end_to_end_on_a_tiny_checkpoint(tiny_weights: Path) -> None:
    from generalbench.metricmodels.loaders import load_model

    videos = [_video(1), _video(2), None]
    result = compute_detailed("musiq", videos, [None] * 3, task=SCENE_T2V, batch_size=2)
    assert result.details["model"] == "musiq-spaq" and result.details["tiny_random_weights"] is True
    assert result.details["frames_longer_side_max"] == 512
    model = load_model("musiq-spaq")  # the same file, loaded again: per-frame scores, averaged
    expected = [float(np.mean(model.score_images(list(v)))) for v in videos[:2]]
    assert result.per_instance[:2] == pytest.approx(expected, abs=1e-4)
    assert result.per_instance[2] == 0.0  # a missing video scores the worst value
    assert result.value == pytest.approx(sum(expected) / 3, abs=1e-4)
    assert all(math.isfinite(v) for v in result.per_instance)

    vsr = compute_detailed("musiq", videos[:2], [None] * 2, task=REAL_WORLD_VSR)
    assert vsr.details["model"] == "musiq-koniq" and vsr.details["frames_longer_side_max"] == "native"


def test_musiq_without_weights_names_the_checkpoint() -> None:
    with pytest.raises(MissingWeightsError, match="musiq-spaq"):
        compute("musiq", [_video(0)], [None], task=SCENE_T2V)
    with pytest.raises(MissingWeightsError, match="musiq-koniq"):
        compute("musiq", [_video(0)], [None], task=REAL_WORLD_VSR)
