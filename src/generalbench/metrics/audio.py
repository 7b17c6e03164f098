"""Audio metrics that need no learned model: mel cepstral distortion (MCD, with DTW), the
pitch-class (chroma) correlation used for pop-music generation, and word error rate on text
transcripts (the speech-recognition step that turns generated audio into text is model-based
and lives in metrics/audio_models.py, which calls `word_error_rate`-style scoring itself).

Audio is `(samples, sample_rate)` (mono float) or a path to a sound file; everything is
resampled to SAMPLE_RATE so that feature frames mean the same thing for every model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.fft import dct
from scipy.signal import resample_poly
from scipy.spatial.distance import cdist

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult, register

SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80
N_CEPS = 13  # c1..c13; c0 (energy) is excluded
MCD_K = 10.0 * math.sqrt(2.0) / math.log(10.0)


def load_audio(x: Any, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float64 samples at `sr` from (samples, rate), a bare array (already at `sr`) or a path."""
    if isinstance(x, (str, bytes)) or hasattr(x, "__fspath__"):
        import soundfile as sf

        data, rate = sf.read(x, dtype="float64", always_2d=True)
        samples = data.mean(axis=1)
    elif isinstance(x, tuple) and len(x) == 2:
        samples, rate = np.asarray(x[0], dtype=np.float64), int(x[1])
    else:
        samples, rate = np.asarray(x, dtype=np.float64), sr
    if samples.ndim > 1:
        samples = samples.mean(axis=-1) if samples.shape[-1] <= 8 else samples.mean(axis=0)
    if rate != sr:
        g = math.gcd(int(rate), sr)
        samples = resample_poly(samples, sr // g, int(rate) // g)
    return samples


def _frames_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2, (frames, n_fft // 2 + 1), Hann window, centred with reflect padding."""
    if len(x) < 2:
        x = np.pad(x, (0, 2 - len(x)))
    pad = n_fft // 2
    x = np.pad(x, pad, mode="reflect" if len(x) > pad else "constant")
    n = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    win = np.hanning(n_fft + 1)[:-1]
    return np.abs(np.fft.rfft(x[idx] * win, axis=1)) ** 2


@lru_cache(maxsize=4)
def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """HTK-style triangular mel filters, (n_mels, n_fft // 2 + 1), 0 Hz to Nyquist."""
    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(0.0, mel(np.array(sr / 2.0)), n_mels + 2))
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def mel_cepstrum(samples: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, N_CEPS) mel cepstra c1..c13: DCT-II (orthonormal) of the natural-log mel amplitude."""
    power = _frames_power(samples, N_FFT, HOP)
    mel_power = power @ mel_filterbank(sr, N_FFT, N_MELS).T
    log_amp = 0.5 * np.log(np.maximum(mel_power, 1e-10))
    return dct(log_amp, type=2, norm="ortho", axis=1)[:, 1:N_CEPS + 1]


def dtw_path_cost(cost: np.ndarray) -> tuple[float, int]:
    """Total cost and length of the optimal DTW path (steps (1,1), (1,0), (0,1)).

    Rows are filled vectorised: with S the running sum of a row's local costs,
    D[i, j] = S[j] + min_{k <= j} (T[k] - S[k]), T[k] = c[i, k] + min(D[i-1, k-1], D[i-1, k]).
    """
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        prev = acc[i - 1]
        diag = np.concatenate(([np.inf], prev[:-1]))
        t = cost[i] + np.minimum(diag, prev)
        s = np.cumsum(cost[i])
        acc[i] = s + np.minimum.accumulate(t - s)
    i, j, length = n - 1, m - 1, 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            k = int(np.argmin((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])))
            i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
        length += 1
    return float(acc[-1, -1]), length


def mcd_single(pred: np.ndarray, ref: np.ndarray) -> float:
    """MCD in dB between two mel-cepstrum sequences, DTW-aligned, mean over the path."""
    diff = cdist(pred, ref)
    total, length = dtw_path_cost(MCD_K * diff)
    return total / length


@register("mcd")
def mcd(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean mel cepstral distortion (dB) with DTW: K * sqrt(sum_d (c_d - c'_d)^2), K = 10 sqrt(2) /
    ln 10, over c1..c13 of 80-band mel cepstra at 22.05 kHz (1024-point frames, hop 256)."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        r = mel_cepstrum(load_audio(ref))
        p = mel_cepstrum(load_audio(pred)) if pred is not None else np.zeros((1, N_CEPS))
        per.append(mcd_single(p, r))
    return MetricResult(float(np.mean(per)) if per else 0.0, per,
                        {"sample_rate": SAMPLE_RATE, "n_ceps": N_CEPS, "n_mels": N_MELS})


# --------------------------------------------------------------------------------------------
# Pitch-class profile correlation (pop music generation)


def chroma_profile(samples: np.ndarray, sr: int = SAMPLE_RATE, n_fft: int = 4096,
                   hop: int = 2048, fmin: float = 27.5, fmax: float = 5000.0) -> np.ndarray:
    """12-bin pitch-class profile (C, C#, ..., B): per frame, spectral power summed per pitch
    class (bins of 27.5 Hz - 5 kHz, nearest equal-tempered pitch, A4 = 440 Hz), the frame scaled
    to max 1, then averaged over frames."""
    power = _frames_power(samples, n_fft, hop)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    pc = (np.rint(12.0 * np.log2(freqs[band] / 440.0)).astype(int) + 9) % 12
    onehot = np.zeros((band.sum(), 12))
    onehot[np.arange(band.sum()), pc] = 1.0
    chroma = power[:, band] @ onehot
    peak = chroma.max(axis=1, keepdims=True)
    chroma = np.divide(chroma, peak, out=np.zeros_like(chroma), where=peak > 0)
    return chroma.mean(axis=0)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


@register("chroma_pcc")
def chroma_pcc(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Pearson correlation (x100) between the 12-bin pitch-class profiles of generated and
    reference music, mean over pieces. A silent or missing piece correlates 0."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        r = chroma_profile(load_audio(ref))
        p = chroma_profile(load_audio(pred)) if pred is not None else np.zeros(12)
        per.append(100.0 * _pearson(p, r))
    return MetricResult(float(np.mean(per)) if per else 0.0, per)


# --------------------------------------------------------------------------------------------
# WER on text transcripts

_PUNCT = re.compile(r"[^\w\s']", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _normalise(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def word_error_rate(hyps: Sequence[str], refs: Sequence[str], unit: str = "auto",
                    normalise: bool = True) -> MetricResult:
    """WER (x100) of hypothesis transcripts against reference texts, with jiwer.

    Per utterance WER = (S + D + I) / N words; the value is their mean, as the official audio
    code averages per-utterance WER (the corpus-level WER is in `details`). `normalise`
    lower-cases and drops punctuation first. unit="char" scores characters (CER), which is the
    only meaningful unit for Chinese, Japanese or Korean; "auto" picks it when the reference
    contains CJK characters.
    """
    import jiwer

    if len(hyps) != len(refs):
        raise MetricError(f"WER: {len(hyps)} hypotheses but {len(refs)} references")
    hs, rs = [], []
    for h, r in zip(hyps, refs, strict=True):
        h, r = (h or ""), (r or "")
        if normalise:
            h, r = _normalise(h), _normalise(r)
        char = unit == "char" or (unit == "auto" and bool(_CJK.search(r)))
        if char:
            h, r = " ".join(h.replace(" ", "")), " ".join(r.replace(" ", ""))
        if not r.strip():
            raise MetricError("WER: a reference transcript is empty")
        hs.append(h)
        rs.append(r)
    per = [100.0 * jiwer.wer(r, h) for h, r in zip(hs, rs, strict=True)]
    corpus = 100.0 * jiwer.wer(rs, hs) if rs else 0.0
    return MetricResult(float(np.mean(per)) if per else 0.0, per, {"corpus_wer": corpus})
