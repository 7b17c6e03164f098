"""Speech metric models that ship inside wheels: DNSMOS (ONNX) and Whisper (CTranslate2).

DNSMOS P.835 is run directly from the ONNX file in the `speechmos` wheel (that package's own
wrapper imports librosa, requests and pandas; the overall-quality model needs none of them).
The segmenting (9.01 s windows, 1 s hop, short clips tiled) and the polynomial calibration from
raw network outputs to the 1-5 MOS scale are those of Microsoft's reference `dnsmos_local.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metricmodels.audio_io import to_mono_rate
from generalbench.metricmodels.base import MetricModel, pick_device, require

DNSMOS_RATE = 16000
DNSMOS_WINDOW_S = 9.01
# Calibration polynomials of the non-personalised P.835 model (dnsmos_local.py).
DNSMOS_POLY = {
    "sig": (-0.08397278, 1.22083953, 0.0052439),
    "bak": (-0.13166888, 1.60915514, -0.39604546),
    "ovrl": (-0.06766283, 1.11546468, 0.04602535),
}


class DnsmosModel(MetricModel):
    """DNSMOS P.835: per clip {'sig', 'bak', 'ovrl'} MOS on the 1-5 scale."""

    def _load(self) -> None:
        ort = require("onnxruntime", purpose="DNSMOS")
        path = self.weights.file("sig_bak_ovr.onnx")
        if not path.is_file():
            path = self.weights.file()
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def score_clip(self, samples: np.ndarray, rate: int) -> dict[str, float]:
        self.load()
        audio = to_mono_rate(samples, rate, DNSMOS_RATE)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak == 0.0:
            raise MetricError("DNSMOS got a silent clip")
        if peak > 1.0:
            audio = audio / peak
        need = int(DNSMOS_WINDOW_S * DNSMOS_RATE)
        while audio.size < need:
            audio = np.concatenate([audio, audio])
        hops = int(np.floor(audio.size / DNSMOS_RATE) - DNSMOS_WINDOW_S) + 1
        raw = []
        for i in range(max(hops, 1)):
            seg = audio[i * DNSMOS_RATE:i * DNSMOS_RATE + need]
            if seg.size < need:
                continue
            out = self.session.run(None, {self.input_name: seg.astype(np.float32)[None, :]})[0][0]
            raw.append(out[:3])
        raw_arr = np.asarray(raw, dtype=np.float64)
        scores = {}
        for i, key in enumerate(("sig", "bak", "ovrl")):
            scores[key] = float(np.mean(np.poly1d(DNSMOS_POLY[key])(raw_arr[:, i])))
        return scores

    def score(self, clips: Sequence[tuple[np.ndarray, int]]) -> list[dict[str, float]]:
        return self.map_batches(list(clips), lambda b: [self.score_clip(a, r) for a, r in b])


class WhisperCt2Model(MetricModel):
    """Speech recognition with faster-whisper on a CTranslate2 Whisper folder."""

    def _load(self) -> None:
        fw = require("faster_whisper", purpose="speech recognition (WER/CIDEr of speech)")
        device = pick_device(self.device_request) if self.device_request != "cpu" else "cpu"
        compute = "int8" if device == "cpu" else "float16"
        self.asr = fw.WhisperModel(str(self.weights.root), device=device, compute_type=compute,
                                   cpu_threads=2)

    def transcribe(self, clips: Sequence[tuple[np.ndarray, int]], *, language: str | None = "en",
                   beam_size: int = 5) -> list[str]:
        def run(batch: Sequence[tuple[np.ndarray, int]]) -> list[str]:
            texts = []
            for samples, rate in batch:
                audio = to_mono_rate(samples, rate, 16000)
                segments, _ = self.asr.transcribe(audio, language=language, beam_size=beam_size,
                                                  vad_filter=False, condition_on_previous_text=False)
                texts.append(" ".join(s.text.strip() for s in segments).strip())
            return texts

        return self.map_batches(list(clips), run)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "decoder": "faster-whisper beam=5"}
