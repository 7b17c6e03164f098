"""The worked examples of docs/scoring.md 'Where generalbench differs from the official tool'."""

from __future__ import annotations

import pytest

from generalbench.levels import evaluate


def task_result(catalog, name, raw):
    task = catalog.resolve(name)
    result = evaluate(catalog, {task.id: raw}, "m")
    return next(t for t in result.tasks if t.id == task.id)


def test_chamfer_distance_is_lower_is_better(catalog):
    ts = task_result(catalog, "3D Point Cloud Completion", 0.5)
    assert ts.sota_normalised == pytest.approx(98.03, abs=0.01)
    assert ts.normalised == pytest.approx(76.16, abs=0.01)
    assert ts.supported and not ts.win


def test_rte_is_lower_is_better(catalog):
    assert task_result(catalog, "3D Odometry", 0.5).win
    assert not task_result(catalog, "3D Odometry", 0.8).win


def test_wer_is_a_percentage_and_unsupported_never_wins(catalog):
    ts = task_result(catalog, "TextToSpeech", 20.0)
    assert ts.sota_normalised == pytest.approx(94.4)
    assert ts.normalised == pytest.approx(80.0) and not ts.win
    result = evaluate(catalog, {}, "silent")
    assert result.modalities["audio"].generation.wins == 0


def test_time_series_compares_normalised_values(catalog):
    ts = task_result(catalog, "Time Series", 3.0)
    assert ts.normalised == pytest.approx(68.23, abs=0.01)
    assert ts.sota_normalised == pytest.approx(79.40, abs=0.01)
    assert not ts.win
    assert task_result(catalog, "Time Series", 2.0).win


def test_raw_zero_is_perfect_not_unsupported(catalog):
    ts = task_result(catalog, "Crowd Counting", 0.0)
    assert ts.normalised == 100.0 and ts.supported and ts.win
    ts = task_result(catalog, "Document Image Unwarping", 0.0)
    assert ts.normalised == 50.0
