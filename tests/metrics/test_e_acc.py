"""E-Acc (PianoToOrchestrationGeneration): the event-level accuracy core on hand-made piano rolls,
its properties, Basic Pitch transcription of synthesised notes, and the metric end to end (also
through the scorer, which passes the piano input audio)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from generalbench.data.instances import Instance, MediaRef
from generalbench.errors import MetricError
from generalbench.metrics.e_acc import event_accuracy, event_frames, frame_accuracy
from generalbench.metrics.registry import compute, compute_detailed

TASK = "audio-generation-pianotoorchestrationgeneration"
SR = 22050

# ---- the core on hand-made rolls --------------------------------------------------------

# Worked example (frames x keys). Piano (3 keys):
#   t0 ---   t1 X--   t2 X--   t3 XX-   t4 ---   t5 --X
# events "changes" (a key starts or stops, preceded by silence) = t1, t3, t4, t5;
# events "onsets" = t1, t3, t5. Orchestra (4 keys), reference vs prediction at the events:
#   t1 ref XX-- pred X---  TP 1 FP 0 FN 1 -> 1/2
#   t3 ref XXX- pred XXXX  TP 3 FP 1 FN 0 -> 3/4
#   t4 ref ---- pred -X--  TP 0 FP 1 FN 0 -> 0
#   t5 ref ---X pred --X-  TP 0 FP 1 FN 1 -> 0
# changes: (1/2 + 3/4 + 0 + 0) / 4 = 31.25 %; onsets: (1/2 + 3/4 + 0) / 3 = 41.67 %.
# t0 and t2 are not events: what the rolls hold there must not matter.
PIANO = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]], bool)
REF = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]], bool)
PRED = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 1, 0]], bool)


def test_worked_example() -> None:
    assert event_frames(PIANO).tolist() == [1, 3, 4, 5]
    assert event_frames(PIANO, "onsets").tolist() == [1, 3, 5]
    res = event_accuracy(PIANO, PRED, REF)
    assert res.value == pytest.approx(31.25)
    assert (res.n_events, res.n_silent, res.tp, res.fp, res.fn) == (4, 0, 4, 3, 2)
    assert event_accuracy(PIANO, PRED, REF, "onsets").value == pytest.approx(125 / 3)


def test_silent_events_are_left_out_and_short_rolls_are_padded_with_silence() -> None:
    pred = PRED.copy()
    pred[4] = False  # t4: prediction silent like the reference -> 0/0, left out of the mean
    res = event_accuracy(PIANO, pred, REF)
    assert res.value == pytest.approx(100 * (0.5 + 0.75 + 0) / 3) and res.n_silent == 1
    # a prediction that stops after t3: t5 sees silence against ref ---X -> 0
    assert event_accuracy(PIANO, pred[:4], REF).value == pytest.approx(100 * 1.25 / 3)
    assert np.isnan(frame_accuracy(np.zeros((1, 4), bool), np.zeros((1, 4), bool)))[0]


def test_piano_without_events_is_an_error() -> None:
    silent = np.zeros((5, 3), bool)
    with pytest.raises(MetricError, match="no note events"):
        event_accuracy(silent, REF[:5], REF[:5])


def rolls(keys: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(bool, st.tuples(st.integers(1, 16), st.just(keys)))


@settings(max_examples=60, deadline=None)
@given(piano=rolls(5), ref=rolls(7), pred=rolls(7))
def test_properties(piano: np.ndarray, ref: np.ndarray, pred: np.ndarray) -> None:
    assume(event_frames(piano).size > 0)
    value = event_accuracy(piano, pred, ref).value
    assert 0.0 <= value <= 100.0
    assert value == pytest.approx(event_accuracy(piano, ref, pred).value)  # symmetric
    assert event_accuracy(piano, ref, ref).value == 100.0
    disjoint = pred[: len(ref)] & ~ref[: len(pred)]
    events = event_frames(piano)
    n = len(piano)
    sounding = np.zeros(n, bool)
    sounding[: min(n, len(ref))] |= ref[:n].any(axis=1)
    sounding[: min(n, len(disjoint))] |= disjoint[:n].any(axis=1)
    assume(sounding[events].any())
    assert event_accuracy(piano, disjoint, ref).value == 0.0


# ---- real transcription with Basic Pitch ---------------------------------------------------


@pytest.fixture(scope="module")
def transcriber():
    from generalbench.metricmodels.transcription import import_basic_pitch

    try:
        import_basic_pitch()
    except MetricError as exc:
        pytest.skip(str(exc))
    from generalbench.metricmodels.loaders import load_model

    return load_model("basic-pitch-icassp2022", metric="e_acc")


def tone(midi: int, seconds: float) -> np.ndarray:
    """A decaying tone (fundamental + a weaker octave) at an equal-tempered MIDI pitch."""
    f = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * SR)) / SR
    env = np.minimum(1.0, t / 0.01) * np.exp(-1.5 * t)
    return (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * env


def render(notes: list[tuple[float, int, float]], length: float = 2.8) -> tuple[np.ndarray, int]:
    """(start seconds, MIDI pitch, duration seconds) -> mono audio at 22.05 kHz."""
    x = np.zeros(int(length * SR))
    for start, midi, dur in notes:
        s = int(start * SR)
        y = tone(midi, dur)
        x[s:s + len(y)] += 0.3 * y
    return x.astype(np.float32), SR


MELODY = [(0.2, 60, 0.5), (0.8, 64, 0.5), (1.4, 67, 0.5), (2.0, 72, 0.6)]
# the orchestration doubles each melody note an octave below
ORCH = sorted(MELODY + [(s, p - 12, d) for s, p, d in MELODY])
# wrong pitches everywhere: a whole tone above
WRONG = [(s, p + 2, d) for s, p, d in ORCH]
# half right: the upper voice right, the lower voice a fifth off
HALF = sorted(MELODY + [(s, p - 5, d) for s, p, d in MELODY])


def test_basic_pitch_finds_the_synthesised_notes(transcriber) -> None:
    found = transcriber.notes(render(ORCH))
    assert sorted(p for _, _, p, _ in found) == sorted(p for _, p, _ in ORCH)
    for start, pitch, dur in ORCH:
        hit = [n for n in found if n[2] == pitch and abs(n[0] - start) < 0.035]
        assert len(hit) == 1, (start, pitch, found)
        assert abs(hit[0][1] - (start + dur)) < 0.1
    from generalbench.metricmodels.transcription import piano_roll

    fps = transcriber.frame_rate
    assert fps == pytest.approx(22050 / 256)
    roll = piano_roll(found, fps)
    for start, pitch, dur in MELODY:  # mid-note frames hold exactly the two doubled keys
        mid = int((start + dur / 2) * fps)
        assert np.flatnonzero(roll[mid]).tolist() == [pitch - 12 - 21, pitch - 21]


def test_e_acc_end_to_end(transcriber) -> None:
    piano, ref = render(MELODY), render(ORCH)
    preds = [ref, render(WRONG), render(HALF), None]
    res = compute_detailed("e_acc", preds, [ref] * 4, input_audio=[piano] * 4, task=TASK)
    same, wrong, half, missing = res.per_instance
    assert same == 100.0 and missing == 0.0
    assert wrong < 10.0 and 10.0 < half < 60.0  # measured: 0 and 20
    assert res.value == pytest.approx(np.mean(res.per_instance))
    d = res.details
    assert d["pitch_only"] is True and d["model"] == "basic-pitch-icassp2022"
    assert "Crestel & Esling" in d["definition"] and "basic-pitch" in d["transcriber"]
    # per piece: 4 onsets and 3 releases (the last release ends the roll, as the piece's end)
    assert d["n_missing"] == 1 and d["n_events"] == 3 * 7


def test_e_acc_reads_files_and_needs_the_piano_input(transcriber, tmp_path: Path) -> None:
    samples, rate = render(MELODY)
    sf.write(tmp_path / "piano.wav", samples, rate, subtype="FLOAT")
    assert compute("e_acc", [str(tmp_path / "piano.wav")], [render(MELODY)],
                   input_audio=[tmp_path / "piano.wav"]) == 100.0
    with pytest.raises(MetricError, match="input_audio"):
        compute("e_acc", [render(ORCH)], [render(ORCH)])


def test_scorer_passes_the_piano_input(transcriber, catalog, tmp_path: Path) -> None:
    from generalbench.runner.score import score_task_predictions as score_task

    task = catalog.get(TASK)
    data, out = tmp_path / "task", tmp_path / "preds"
    data.mkdir()
    out.mkdir()
    for folder, name, notes in ((data, "piano.wav", MELODY), (data, "orch.wav", ORCH),
                                (out, "good.wav", ORCH), (out, "bad.wav", WRONG)):
        samples, rate = render(notes)
        sf.write(folder / name, samples, rate)
    insts = [Instance(id=str(i), task_id=TASK,
                      inputs={"prompt": "orchestrate", "audio": MediaRef(kind="audio", path="piano.wav", base=data)},
                      target=MediaRef(kind="audio", path="orch.wav", base=data)) for i in range(3)]
    detail, rows = score_task(task, insts, {"0": "good.wav", "1": "bad.wav"}, task_folder=data,
                              predictions_folder=out)
    assert detail.note is not None and "without a prediction" in detail.note
    assert [r.score for r in rows][0] == 100.0 and rows[1].score < 10.0 and rows[2].score == 0.0
    assert detail.raw == pytest.approx(sum(r.score for r in rows) / 3)
    assert detail.details["pitch_only"] is True


def test_missing_package_weights_name_the_no_deps_install(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    from generalbench.errors import MissingWeightsError
    from generalbench.metricmodels import weights

    monkeypatch.delenv("GENERALBENCH_WEIGHTS", raising=False)
    monkeypatch.setattr(weights, "_package_files", lambda model: None)  # wheel not installed
    with pytest.raises(MissingWeightsError, match=r"--no-deps basic-pitch==0\.4\.0") as err:
        weights.resolve("basic-pitch-icassp2022", metric="e_acc")
    assert "metric 'e_acc'" in str(err.value) and "tensorflow" not in str(err.value)
    with pytest.raises(MissingWeightsError, match=r"generalbench\[music\]"):
        weights.fetch("basic-pitch-icassp2022", tmp_path)


def test_missing_basic_pitch_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "basic_pitch" or m.startswith("basic_pitch.")] + ["basic_pitch"]:
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    with pytest.raises(MetricError, match=r"pip install --no-deps basic-pitch==0\.4\.0"):
        compute("e_acc", [(np.zeros(100, np.float32), SR)], [(np.zeros(100, np.float32), SR)],
                input_audio=[(np.zeros(100, np.float32), SR)])
