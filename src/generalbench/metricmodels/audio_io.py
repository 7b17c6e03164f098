"""Bringing audio to what a metric model expects: mono float32 at its sample rate."""

from __future__ import annotations

from math import gcd
from typing import Any

import numpy as np

from generalbench.errors import MetricError


def to_mono_rate(samples: Any, sample_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 audio resampled with a polyphase filter (scipy) to `target_rate`."""
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim == 2:  # (samples, channels) or (channels, samples): average the short axis
        arr = arr.mean(axis=1 if arr.shape[1] < arr.shape[0] else 0)
    if arr.ndim != 1 or arr.size == 0:
        raise MetricError(f"expected mono audio samples, got an array of shape {np.shape(samples)}")
    if sample_rate <= 0:
        raise MetricError(f"bad sample rate {sample_rate}")
    if sample_rate != target_rate:
        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), int(target_rate))
        arr = resample_poly(arr, target_rate // g, sample_rate // g)
    return arr.astype(np.float32)


def as_clip(item: Any) -> tuple[np.ndarray, int]:
    """Accept the native audio type `(samples, rate)` or a path to a sound file."""
    if isinstance(item, tuple) and len(item) == 2:
        return np.asarray(item[0], dtype=np.float32), int(item[1])
    if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__"):
        import soundfile as sf

        data, rate = sf.read(str(item), dtype="float32", always_2d=False)
        return data, int(rate)
    raise MetricError(f"expected audio as (samples, sample_rate) or a file path, got {type(item).__name__}")
