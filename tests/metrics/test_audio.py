"""Audio metrics: MCD against a brute-force DTW and its defining formula, chroma PCC against
scipy.stats.pearsonr and pure tones, WER against worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import pearsonr

from generalbench.metrics import registry
from generalbench.metrics.audio import (
    MCD_K,
    SAMPLE_RATE,
    chroma_profile,
    dtw_path_cost,
    load_audio,
    mcd_single,
    mel_cepstrum,
    word_error_rate,
)


def _dtw_brute(c):
    n, m = c.shape
    d = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1), int)
    d[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            opts = [(d[i - 1, j - 1], steps[i - 1, j - 1]), (d[i - 1, j], steps[i - 1, j]),
                    (d[i, j - 1], steps[i, j - 1])]
            best = min(range(3), key=lambda k: opts[k][0])
            d[i, j] = c[i - 1, j - 1] + opts[best][0]
            steps[i, j] = opts[best][1] + 1
    return d[n, m], steps[n, m]


@pytest.mark.parametrize("seed", range(5))
def test_dtw_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    c = rng.random((rng.integers(1, 15), rng.integers(1, 15)))
    total, length = dtw_path_cost(c)
    bt, bl = _dtw_brute(c)
    assert total == pytest.approx(bt)
    assert length == bl


def test_mcd_constant_and_formula():
    assert pytest.approx(6.141851463713754) == MCD_K  # 10 * sqrt(2) / ln(10)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1, 13))
    b = a + 0.1
    # one frame each: K * sqrt(sum (0.1)^2 * 13)
    assert mcd_single(a, b) == pytest.approx(MCD_K * math.sqrt(13 * 0.01))


def _tone(freq, seconds=1.0, sr=16000, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr


def _melody(freqs, note_s, sr=16000):
    return np.concatenate([_tone(f, note_s, sr)[0] for f in freqs])


def test_mcd_identical_zero_and_time_stretch_small():
    sr = 16000
    sig = _melody([220, 330, 440, 550], 0.25)
    assert registry.compute("mcd", [(sig, sr)], [(sig, sr)]) == 0.0
    # DTW absorbs a tempo change far better than different notes.
    slow = _melody([220, 330, 440, 550], 0.35)
    other = _melody([300, 500, 700, 900], 0.25)
    stretched = registry.compute("mcd", [(slow, sr)], [(sig, sr)])
    different = registry.compute("mcd", [(other, sr)], [(sig, sr)])
    assert 0 < stretched < different / 3


def test_load_audio_resamples_to_fixed_rate():
    x, sr = _tone(440, 0.5, 16000)
    y = load_audio((x, sr))
    assert len(y) == pytest.approx(0.5 * SAMPLE_RATE, abs=2)
    assert mel_cepstrum(y).shape[1] == 13


def test_chroma_profile_of_pure_tones():
    for freq, pitch_class in [(440.0, 9), (261.63, 0), (392.0, 7)]:
        prof = chroma_profile(load_audio(_tone(freq, 1.0, SAMPLE_RATE)))
        assert int(np.argmax(prof)) == pitch_class


def test_chroma_pcc_matches_pearsonr():
    a = _tone(440.0)[0] + _tone(261.63)[0]
    b = _tone(440.0)[0] + _tone(329.63)[0] + _tone(392.0)[0]
    pa = chroma_profile(load_audio((a, 16000)))
    pb = chroma_profile(load_audio((b, 16000)))
    res = registry.compute("chroma_pcc", [(a, 16000)], [(b, 16000)])
    assert res == pytest.approx(100 * pearsonr(pa, pb)[0])
    assert registry.compute("chroma_pcc", [(b, 16000)], [(b, 16000)]) == pytest.approx(100.0)
    assert registry.compute("chroma_pcc", [None], [(b, 16000)]) == 0.0


def test_word_error_rate_worked_examples():
    # "the cat sat" vs "the cat sat down": 1 deletion / 4 words; "Hello, World!" normalised exact.
    res = word_error_rate(["the cat sat", "hello world"], ["the cat sat down", "Hello, World!"])
    assert res.per_instance == pytest.approx([25.0, 0.0])
    assert res.value == pytest.approx(12.5)
    assert res.details["corpus_wer"] == pytest.approx(100 / 6)
    # Chinese is scored per character: one substitution in four characters.
    assert word_error_rate(["今天天汽"], ["今天天气"]).value == pytest.approx(25.0)
    assert word_error_rate([""], ["a b"]).value == 100.0


@pytest.mark.parametrize("seed", range(3))
def test_word_error_rate_matches_jiwer_and_oracle(seed):
    import jiwer

    rng = np.random.default_rng(seed)
    vocab = ["alpha", "beta", "gamma", "delta", "eps"]
    refs = [" ".join(rng.choice(vocab, rng.integers(1, 8))) for _ in range(5)]
    hyps = [" ".join(w for w in r.split() if rng.random() > 0.3) + " extra" for r in refs]
    res = word_error_rate(hyps, refs)
    assert res.per_instance == pytest.approx([100 * jiwer.wer(r, h) for h, r in zip(hyps, refs, strict=True)])
    assert word_error_rate(refs, refs).value == 0.0
