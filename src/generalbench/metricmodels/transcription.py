"""Automatic music transcription with Spotify's Basic Pitch (Bittner et al., ICASSP 2022).

E-Acc compares orchestral piano rolls, but the PianoToOrchestration task's inputs and outputs
are audio: Basic Pitch turns each recording into note events (onset, offset, MIDI pitch), from
which metrics/e_acc.py draws 88-key piano rolls. The ONNX model ships inside the
`basic-pitch` wheel (basic_pitch/saved_models/icassp_2022/nmp.onnx, Apache-2.0) and runs on
onnxruntime. basic-pitch 0.4.0 declares tensorflow as a requirement on Linux / Python >= 3.11,
which its ONNX path does not use, so it is installed with `--no-deps` next to the light packages
its inference code imports (the `music` extra: librosa, resampy, mir_eval, pretty_midi).

Transcription is basic-pitch's own `inference.predict` with its default thresholds (onset 0.5,
frame 0.3, minimum note length 127.7 ms, melodia trick), so a note list here is what the
`basic-pitch` command line would write for the same file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metricmodels.audio_io import as_clip, to_mono_rate
from generalbench.metricmodels.base import MetricModel

INSTALL_HINT = ("pip install 'generalbench[music]' && pip install --no-deps basic-pitch==0.4.0 "
                "(basic-pitch's own requirements pull tensorflow, which its ONNX model does not need)")

Note = tuple[float, float, int, float]
"""(start seconds, end seconds, MIDI pitch, amplitude 0-1), as basic-pitch's note events."""


def import_basic_pitch() -> ModuleType:
    """`basic_pitch.inference`, or a MetricError with the install command.

    basic_pitch/__init__.py reports each absent backend (TensorFlow, CoreML, TFLite) with
    `logging.warning`, which would configure the root logger as a side effect; a NullHandler
    on the root logger for the duration of the import keeps the caller's logging untouched.
    """
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        import basic_pitch.inference as inference
    except ImportError as exc:
        raise MetricError(f"E-Acc transcribes audio with Basic Pitch, which is not installed "
                          f"({exc}): {INSTALL_HINT}") from None
    finally:
        root.removeHandler(guard)
    return inference


class BasicPitchModel(MetricModel):
    """Basic Pitch ICASSP-2022 (ONNX): audio -> note events."""

    def _load(self) -> None:
        self.inference = import_basic_pitch()
        path = self.weights.file("nmp.onnx")
        if not path.is_file():
            path = self.weights.file()
        try:
            self.model = self.inference.Model(path)
        except ValueError as exc:  # basic-pitch: no backend could load the file
            raise MetricError(f"Basic Pitch could not load {path}: {exc}") from None

    def notes(self, item: Any) -> list[Note]:
        """Note events of one recording: a sound file path or `(samples, sample_rate)`."""
        self.load()
        if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__"):
            return self._predict(Path(os.fsdecode(item)))
        samples, rate = as_clip(item)
        mono = to_mono_rate(samples, rate, rate)
        import soundfile as sf

        with tempfile.TemporaryDirectory(prefix="gb-basic-pitch-") as tmp:
            path = Path(tmp) / "clip.wav"
            sf.write(path, mono, rate, subtype="FLOAT")  # basic-pitch reads (and resamples) files
            return self._predict(path)

    def _predict(self, path: Path) -> list[Note]:
        if not path.is_file():
            raise MetricError(f"{path}: audio file not found")
        with contextlib.redirect_stdout(io.StringIO()):  # predict() prints a progress line
            _, _, events = self.inference.predict(str(path), self.model)
        return sorted((float(s), float(e), int(p), float(a)) for s, e, p, a, *_ in events)

    def transcribe(self, items: Sequence[Any]) -> list[list[Note]]:
        return self.map_batches(list(items), lambda batch: [self.notes(x) for x in batch])

    @property
    def frame_rate(self) -> float:
        """Basic Pitch's own frame rate (22050 Hz / hop 256, about 86.13 frames per second)."""
        from basic_pitch import constants

        return constants.AUDIO_SAMPLE_RATE / constants.FFT_HOP

    def info(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {**super().info(), "transcriber": f"basic-pitch {version('basic-pitch')} ICASSP-2022 "
                "(ONNX), default thresholds (onset 0.5, frame 0.3, min note 127.7 ms, melodia trick)"}


def piano_roll(notes: Sequence[Note], frame_rate: float, n_frames: int | None = None) -> np.ndarray:
    """(frames, 88) boolean roll, key 0 = A0 (MIDI 21): a note sounds from the frame of its onset
    up to (not including) the frame of its offset, both rounded to the nearest frame; notes
    outside the piano range are dropped."""
    ends = [int(round(e * frame_rate)) for _, e, _, _ in notes]
    total = n_frames if n_frames is not None else max(ends, default=0)
    roll = np.zeros((max(total, 0), 88), dtype=bool)
    for (start, _, pitch, _), stop in zip(notes, ends, strict=True):
        key = pitch - 21
        if 0 <= key < 88:
            first = max(int(round(start * frame_rate)), 0)
            roll[first:max(stop, first + 1), key] = True
    return roll
