"""E-Acc of PianoToOrchestrationGeneration: event-level accuracy of projective orchestration.

General-Bench publishes no definition of E-Acc. Our reading (docs/metrics.md) is the event-level
accuracy that Crestel & Esling introduced for projective orchestration (Live Orchestral Piano,
SMC 2017), as their code computes it (aciditeam/acidano: `utils/measure.py` accuracy_measure,
`data_processing/utils/event_level.py` get_event_ind):

* per frame t, Accuracy(t) = TP(t) / (TP(t) + FP(t) + FN(t)) over the pitches of the predicted
  vs the reference orchestral piano roll (the frame-level accuracy of Bay et al. 2009);
* it is evaluated only at the *events* of the piano input: the frames where the piano roll
  changes (a key starts or stops sounding), so that a model cannot score by repeating its last
  frame through long sustained notes;
* the value is the mean of Accuracy(t) over those events (x100), then the mean over pieces.

Departures, each forced by the task or by a flaw the authors flag themselves:
* the rolls come from audio through automatic transcription (Basic Pitch, metricmodels/
  transcription.py), so instrument identity is lost: the rolls are 88-key and the measure is
  pitch-only (`pitch_only: true` in the result details);
* an event where both rolls are empty (0 / 0) is left out of the mean: acidano scores it 0, with
  the comment that a correctly predicted silence scoring 0 "has to be fixed"; scoring it 1 instead
  would reward any silent prediction at the piano's note ends (a piece whose every event is
  silent in both rolls scores 100);
* the piece is taken to start from silence, so the first frame is an event only if the piano
  sounds there (acidano always counts the first frame of a symbolic score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics.registry import MetricResult

EVENT_KINDS = ("changes", "onsets")
"""changes: a key starts or stops (Crestel & Esling); onsets: only frames where a key starts."""


def event_frames(roll: np.ndarray, kind: str = "changes") -> np.ndarray:
    """Indices of the frames of a (frames, keys) roll where an event happens, the roll being
    preceded by silence."""
    if kind not in EVENT_KINDS:
        raise MetricError(f"E-Acc: unknown events {kind!r}; use one of {list(EVENT_KINDS)}")
    r = np.asarray(roll, dtype=bool)
    prev = np.vstack([np.zeros((1, r.shape[1]), dtype=bool), r[:-1]])
    hit = (r != prev) if kind == "changes" else (r & ~prev)
    return np.flatnonzero(hit.any(axis=1))


def frame_counts(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame true positives, false positives and false negatives of binary rolls."""
    p, r = np.asarray(pred, dtype=bool), np.asarray(ref, dtype=bool)
    if p.shape != r.shape:
        raise MetricError(f"E-Acc: rolls of shapes {p.shape} and {r.shape} differ")
    return (p & r).sum(axis=1), (p & ~r).sum(axis=1), (~p & r).sum(axis=1)


def frame_accuracy(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) per frame, in [0, 1]; NaN where both frames are empty (0 / 0)."""
    tp, fp, fn = frame_counts(pred, ref)
    total = tp + fp + fn
    return np.divide(tp, total, out=np.full(len(tp), np.nan), where=total > 0)


def fit_frames(roll: np.ndarray, n_frames: int) -> np.ndarray:
    """A roll cut or padded with silence to `n_frames` (audio of different lengths)."""
    r = np.asarray(roll, dtype=bool)[:n_frames]
    if len(r) < n_frames:
        r = np.vstack([r, np.zeros((n_frames - len(r), r.shape[1]), dtype=bool)])
    return r


@dataclass(frozen=True)
class EventAccuracy:
    """One piece: the E-Acc value (0-100) and the counts behind it."""

    value: float
    n_events: int
    n_silent: int  # events where both rolls are empty, left out of the mean
    tp: int
    fp: int
    fn: int


def event_accuracy(piano: np.ndarray, pred: np.ndarray, ref: np.ndarray,
                   events: str = "changes") -> EventAccuracy:
    """Mean Accuracy(t) x100 over the events of the piano roll where either orchestral roll
    sounds (100 when neither sounds at any event); the orchestral rolls are cut or padded to the
    piano roll's length. A piano roll without events is an error (nothing to score)."""
    piano = np.asarray(piano, dtype=bool)
    ts = event_frames(piano, events)
    if ts.size == 0:
        raise MetricError("E-Acc: the piano input has no note events (silent or untranscribable)")
    p, r = fit_frames(pred, len(piano))[ts], fit_frames(ref, len(piano))[ts]
    tp, fp, fn = frame_counts(p, r)
    acc = frame_accuracy(p, r)
    scored = acc[~np.isnan(acc)]
    value = 100.0 * float(scored.mean()) if scored.size else 100.0
    return EventAccuracy(value, int(ts.size), int(ts.size - scored.size), int(tp.sum()),
                         int(fp.sum()), int(fn.sum()))


DEFINITION = ("mean over the piano input's events (frames where a piano key starts or stops) of "
              "TP/(TP+FP+FN) between predicted and reference orchestral 88-key rolls (x100; "
              "events where both are silent left out), mean over pieces (Crestel & Esling 2017, event-level accuracy)")


def _transcriber(options: dict[str, Any]) -> Any:
    from generalbench.metricmodels.loaders import load_model
    from generalbench.metricmodels.registry import metric_models

    model_id = options.get("model") or metric_models("e_acc").get("default")
    weights = options.get("weights")
    if isinstance(weights, dict):
        weights = weights.get(model_id)
    return load_model(model_id, weights=weights, device=options.get("device", "auto"),
                      batch_size=int(options.get("batch_size", 16)), metric="e_acc")


def e_acc(predictions: Sequence[Any], references: Sequence[Any], **options: Any) -> MetricResult:
    """E-Acc (x100) of generated vs reference orchestral audio at the events of the piano input.

    options: input_audio (required) - the piano recording of each instance (path or
    (samples, rate)), aligned with predictions; `generalbench score` passes the task's input
    audio files. events - "changes" (default) or "onsets". A missing prediction scores 0.
    """
    from generalbench.metricmodels.transcription import import_basic_pitch, piano_roll

    n = len(predictions)
    if len(references) != n:
        raise MetricError(f"E-Acc: {n} predictions but {len(references)} references")
    pianos = options.get("input_audio")
    if pianos is None:
        raise MetricError("E-Acc compares orchestrations at the events of the piano input, but no "
                          "piano input was given: pass option input_audio (one piano recording "
                          "per instance; `generalbench score` passes the task's input audio)")
    if len(pianos) != n:
        raise MetricError(f"E-Acc: option input_audio has {len(pianos)} entries for {n} predictions")
    if n == 0:
        raise MetricError("no instances to score")
    kind = str(options.get("events", "changes"))
    if kind not in EVENT_KINDS:
        raise MetricError(f"E-Acc: unknown events {kind!r}; use one of {list(EVENT_KINDS)}")
    # failed predictions never get here: the registry scores them 0 (specs.yaml worst: 0)
    for i in range(n):
        if pianos[i] is None or references[i] is None:
            what = "piano input (input_audio)" if pianos[i] is None else "reference orchestral audio"
            raise MetricError(f"E-Acc: instance {i} has no {what}")
    import_basic_pitch()  # the install command, before any weights message
    model = _transcriber(options)
    fps = model.frame_rate
    notes = model.transcribe([*pianos, *predictions, *references])
    per = [0.0] * n
    totals = np.zeros(5, dtype=np.int64)  # events, silent events, tp, fp, fn
    for i in range(n):
        piano_r = piano_roll(notes[i], fps)
        try:
            res = event_accuracy(piano_r, piano_roll(notes[n + i], fps, len(piano_r)),
                                 piano_roll(notes[2 * n + i], fps, len(piano_r)), kind)
        except MetricError as exc:
            raise MetricError(f"{exc} (instance {i})") from None
        per[i] = res.value
        totals += (res.n_events, res.n_silent, res.tp, res.fp, res.fn)
    scored = int(totals[2:].sum())
    details = {**model.info(), "definition": DEFINITION, "pitch_only": True, "events": kind,
               "frame_rate": fps, "n_events": int(totals[0]), "n_silent_events": int(totals[1]),
               "n_missing": 0,  # the registry adds the failed predictions it kept from the metric
               "pooled_accuracy": 100.0 * float(totals[2]) / scored if scored else None}
    return MetricResult(float(np.mean(per)), per_instance=per, details=details)
