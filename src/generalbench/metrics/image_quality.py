"""Full-reference image quality: PSNR, MS-SSIM and the shadow-removal "RMSE" (LAB error).

Pure numpy/scipy. Images are H x W x C uint8 (or H x W grey); videos (T x H x W x C) are scored
frame by frame. A prediction whose size differs from the reference is resized to it (bicubic,
Pillow) and counted in `details["resized"]`, because generated images often come back at the
model's native resolution and refusing them would score a valid output as unsupported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import correlate1d

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register

PSNR_CAP_DB = 100.0
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _as_uint8_image(x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and a.max() <= 1.0 + 1e-6:
            a = a * 255.0
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return a


def _resize_to(p: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    h, w = shape[0], shape[1]
    if p.ndim == 2:
        return np.asarray(Image.fromarray(p).resize((w, h), Image.BICUBIC))
    chans = [np.asarray(Image.fromarray(p[..., c]).resize((w, h), Image.BICUBIC))
             for c in range(p.shape[2])]
    out = np.stack(chans, axis=-1)
    if len(shape) == 3 and out.shape[2] != shape[2]:
        out = _match_channels(out, shape[2])
    return out


def _match_channels(p: np.ndarray, c: int) -> np.ndarray:
    if p.ndim == 2:
        p = p[..., None]
    if p.shape[2] == c:
        return p
    if p.shape[2] == 4 and c == 3:
        return p[..., :3]
    if p.shape[2] == 1:
        return np.repeat(p, c, axis=2)
    if c == 1:
        return np.rint(p[..., :3].astype(float) @ [0.299, 0.587, 0.114]).astype(np.uint8)[..., None]
    raise MetricError(f"cannot compare an image with {p.shape[2]} channels to one with {c}")


def _pairs(pred: Any, ref: Any, counter: dict[str, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(prediction, reference) uint8 frame pairs of equal shape; videos give one pair per frame."""
    r = _as_uint8_image(ref)
    p = _as_uint8_image(pred)  # a failed prediction arrives as the registry's all-zero image
    r_frames = list(r) if r.ndim == 4 else [r]
    p_frames = list(p) if p.ndim == 4 else [p]
    if len(p_frames) != len(r_frames):
        raise MetricError(f"prediction has {len(p_frames)} frames, reference {len(r_frames)}")
    out = []
    for pf, rf in zip(p_frames, r_frames, strict=True):
        if pf.shape[:2] != rf.shape[:2]:
            pf = _resize_to(pf, rf.shape)
            counter["resized"] += 1
        if rf.ndim == 3 or pf.ndim == 3:
            c = rf.shape[2] if rf.ndim == 3 else 1
            pf = _match_channels(pf, c)
            rf = rf if rf.ndim == 3 else rf[..., None]
        out.append((pf, rf))
    return out


def psnr_single(p: np.ndarray, r: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB over all pixels and channels; identical images get PSNR_CAP_DB (100 dB)."""
    mse = np.mean((p.astype(np.float64) - r.astype(np.float64)) ** 2)
    if mse == 0:
        return PSNR_CAP_DB
    return float(min(PSNR_CAP_DB, 10.0 * np.log10(data_range**2 / mse)))


@register("psnr")
def psnr(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean PSNR (dB, peak 255); a video's value is the mean over its frames."""
    counter = {"resized": 0}
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        per.append(float(np.mean([psnr_single(p, r) for p, r in _pairs(pred, ref, counter)])))
    return MetricResult(float(np.mean(per)) if per else 0.0, per,
                        {"resized": counter["resized"], "identical_cap_db": PSNR_CAP_DB})


# --------------------------------------------------------------------------------------------
# MS-SSIM (Wang, Simoncelli, Bovik 2003)


def _gauss_1d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation over the two trailing axes of a (..., H, W) array."""
    k = len(win)
    h = k // 2
    y = correlate1d(x, win, axis=-2, mode="constant")
    y = correlate1d(y, win, axis=-1, mode="constant")
    return y[..., h:x.shape[-2] - (k - 1 - h), h:x.shape[-1] - (k - 1 - h)]


def _ssim_cs(x: np.ndarray, y: np.ndarray, win: np.ndarray, data_range: float,
             k1: float = 0.01, k2: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and contrast-structure terms of (C, H, W) arrays (length-C arrays).

    The five local moments are filtered in one call on a stacked array."""
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y, exx, eyy, exy = _filter_valid(np.stack([x, y, x * x, y * y, x * y]), win)
    sxx = exx - mu_x**2
    syy = eyy - mu_y**2
    sxy = exy - mu_x * mu_y
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.mean(axis=(-2, -1)), cs_map.mean(axis=(-2, -1))


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling of (C, H, W); odd sizes are zero-padded by one on both sides
    (pytorch_msssim's avg_pool2d with padding = size % 2)."""
    ph, pw = x.shape[-2] % 2, x.shape[-1] % 2
    if ph or pw:
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[:, :h, :w]
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def ms_ssim_single(p: np.ndarray, r: np.ndarray, data_range: float = 255.0,
                   weights: Sequence[float] = MS_SSIM_WEIGHTS, win_size: int = 11,
                   sigma: float = 1.5) -> tuple[float, int]:
    """MS-SSIM of one image pair (mean over channels) and the number of scales used.

    Images too small for five scales (short side <= 160 px) use the largest number of scales
    whose coarsest level still holds the 11-px window, with the weights renormalised to sum 1.
    """
    x = p.astype(np.float64)
    y = r.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    short = min(x.shape[:2])
    if short < win_size:
        raise MetricError(f"MS-SSIM needs images of at least {win_size} px, got {x.shape[:2]}")
    x = np.ascontiguousarray(np.moveaxis(x, -1, 0))  # (C, H, W): filtering runs on rows
    y = np.ascontiguousarray(np.moveaxis(y, -1, 0))
    w = np.asarray(weights, dtype=np.float64)
    levels = len(w)
    while levels > 1 and short <= (win_size - 1) * 2 ** (levels - 1):
        levels -= 1
    if levels < len(w):
        w = w[:levels] / w[:levels].sum()
    win = _gauss_1d(win_size, sigma)
    mcs = []
    ssim_last = None
    for i in range(levels):
        ssim_c, cs_c = _ssim_cs(x, y, win, data_range)
        if i < levels - 1:
            mcs.append(np.maximum(cs_c, 0.0))
            x, y = _avg_pool2(x), _avg_pool2(y)
        else:
            ssim_last = np.maximum(ssim_c, 0.0)
    stack = np.stack([*mcs, ssim_last], axis=0)  # (levels, C)
    per_channel = np.prod(stack ** w[:, None], axis=0)
    return float(per_channel.mean()), levels


@register("ms_ssim")
def ms_ssim(predictions: Sequence[Any], references: Sequence[Any], grayscale: bool = False,
            **_: Any) -> MetricResult:
    """Mean MS-SSIM in [0, 1] (raw): 5 scales, Gaussian window 11 / sigma 1.5, K = (.01, .03),
    per channel then averaged; `grayscale=True` scores the BT.601 luma instead."""
    counter = {"resized": 0}
    per, reduced = [], 0
    for pred, ref in zip(predictions, references, strict=True):
        vals = []
        for p, r in _pairs(pred, ref, counter):
            if grayscale and p.ndim == 3 and p.shape[2] >= 3:
                p = p[..., :3].astype(float) @ [0.299, 0.587, 0.114]
                r = r[..., :3].astype(float) @ [0.299, 0.587, 0.114]
            v, levels = ms_ssim_single(p, r)
            reduced += levels < len(MS_SSIM_WEIGHTS)
            vals.append(v)
        per.append(float(np.mean(vals)))
    return MetricResult(float(np.mean(per)) if per else 0.0, per,
                        {"resized": counter["resized"], "reduced_scales": int(reduced)})


# --------------------------------------------------------------------------------------------
# Shadow-removal "RMSE": per-pixel LAB error (ISTD evaluation convention)


_C = np.arange(256) / 255.0
_SRGB_LINEAR = np.where(_C > 0.04045, ((_C + 0.055) / 1.055) ** 2.4, _C / 12.92)


def rgb_to_lab(img: np.ndarray) -> np.ndarray:
    """sRGB uint8 (H x W x 3) -> CIE L*a*b* (D65, 2 degree observer), as skimage.color.rgb2lab."""
    img = np.asarray(img)[..., :3]
    if img.dtype == np.uint8:
        lin = _SRGB_LINEAR[img]  # 256-entry table: the 2.4 power is the costly step
    else:
        c = img.astype(np.float64) / 255.0
        lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.412453, 0.357580, 0.180423],
                  [0.212671, 0.715160, 0.072169],
                  [0.019334, 0.119193, 0.950227]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
                    axis=-1)


@register("image_rmse")
def image_rmse(predictions: Sequence[Any], references: Sequence[Any], space: str = "lab",
               **_: Any) -> MetricResult:
    """Mean per-image error.

    space="lab" (default, the shadow-removal benchmarks' "RMSE", ISTD evaluation code): per image,
    sum over the L, a, b channels of the mean absolute difference, i.e. sum |dLab| / (H * W);
    space="rgb": a true root-mean-square error on 0-255 values.
    """
    if space not in {"lab", "rgb"}:
        raise MetricError(f"image RMSE: space must be 'lab' or 'rgb', got {space!r}")
    counter = {"resized": 0}
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        vals = []
        for p, r in _pairs(pred, ref, counter):
            if space == "rgb":
                vals.append(float(np.sqrt(np.mean((p.astype(float) - r.astype(float)) ** 2))))
            else:
                p3 = _match_channels(p, 3)
                r3 = _match_channels(r, 3)
                d = np.abs(rgb_to_lab(p3) - rgb_to_lab(r3))
                vals.append(float(d.sum() / (d.shape[0] * d.shape[1])))
        per.append(float(np.mean(vals)))
    return MetricResult(float(np.mean(per)) if per else 0.0, per,
                        {"resized": counter["resized"], "space": space})
