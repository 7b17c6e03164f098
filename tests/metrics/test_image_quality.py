"""Image quality metrics against scikit-image and pytorch_msssim."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio

from generalbench.metrics import registry
from generalbench.metrics.image_quality import PSNR_CAP_DB, ms_ssim_single, rgb_to_lab


def _noisy(rng, shape, sigma):
    r = rng.integers(0, 256, shape, dtype=np.uint8)
    p = np.clip(r.astype(float) + rng.normal(0, sigma, shape), 0, 255).astype(np.uint8)
    return p, r


@pytest.mark.parametrize("seed", range(4))
def test_psnr_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    pairs = [_noisy(rng, (20, 30, 3), s) for s in (3, 10, 30)]
    preds, refs = zip(*pairs, strict=True)
    expected = [peak_signal_noise_ratio(r, p, data_range=255) for p, r in pairs]
    res = registry.compute_detailed("psnr", list(preds), list(refs))
    assert res.per_instance == pytest.approx(expected)
    assert res.value == pytest.approx(np.mean(expected))


def test_psnr_identical_video_frames_and_resize():
    rng = np.random.default_rng(0)
    vid = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    assert registry.compute("psnr", [vid], [vid]) == PSNR_CAP_DB
    noisy = vid.copy()
    noisy[0] = 255 - noisy[0]
    expected = np.mean([peak_signal_noise_ratio(vid[0], noisy[0]), 100, 100, 100])
    assert registry.compute("psnr", [noisy], [vid]) == pytest.approx(expected)
    res = registry.compute_detailed("psnr", [np.zeros((8, 8, 3), np.uint8)], [vid[0]])
    assert res.details["resized"] == 1


@pytest.mark.parametrize(("shape", "sigma"), [((192, 200, 3), 20), ((170, 181, 1), 50),
                                              ((256, 256, 3), 5)])
def test_ms_ssim_matches_pytorch_msssim(shape, sigma):
    torch = pytest.importorskip("torch")
    pm = pytest.importorskip("pytorch_msssim")
    rng = np.random.default_rng(1)
    # Smooth images (not white noise) so every scale carries structure.
    base = rng.integers(0, 256, (shape[0] // 8 + 1, shape[1] // 8 + 1, shape[2])).astype(float)
    r = np.kron(base, np.ones((8, 8, 1)))[: shape[0], : shape[1]].astype(np.uint8)
    p = np.clip(r + rng.normal(0, sigma, r.shape), 0, 255).astype(np.uint8)
    t = lambda a: torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]  # noqa: E731
    expected = float(pm.ms_ssim(t(p), t(r), data_range=255, size_average=True))
    value, levels = ms_ssim_single(p, r)
    assert levels == 5
    assert value == pytest.approx(expected, abs=1e-6)
    assert registry.compute("ms_ssim", [r], [r]) == pytest.approx(1.0)


def test_ms_ssim_small_images_use_fewer_scales():
    rng = np.random.default_rng(2)
    p, r = _noisy(rng, (64, 64, 3), 10)
    res = registry.compute_detailed("ms_ssim", [p], [r])
    assert res.details["reduced_scales"] == 1
    assert 0 < res.value < 1
    assert registry.compute("ms_ssim", [r], [r]) == pytest.approx(1.0)


def test_lab_conversion_matches_skimage():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    assert rgb_to_lab(img) == pytest.approx(rgb2lab(img), abs=1e-6)


def test_image_rmse_lab_and_rgb():
    rng = np.random.default_rng(4)
    p, r = _noisy(rng, (16, 16, 3), 8)
    d = np.abs(rgb2lab(p) - rgb2lab(r))
    assert registry.compute("image_rmse", [p], [r]) == pytest.approx(d.sum() / 256)
    rgb = np.sqrt(np.mean((p.astype(float) - r) ** 2))
    assert registry.compute("image_rmse", [p], [r], space="rgb") == pytest.approx(rgb)
    assert registry.compute("image_rmse", [r], [r]) == 0.0
