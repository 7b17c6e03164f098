"""Prediction lines formatted while a run waits on the server are exactly those formatted at
the end, and are used only for the prediction they were made from."""

from __future__ import annotations

import json

import pytest

from generalbench.data.predictions import PredictionError
from generalbench.runner.run import PredictionLines


def test_lines_made_during_the_run_equal_lines_made_at_the_end(tmp_path):
    early, late = PredictionLines(tmp_path), PredictionLines(tmp_path)
    art = str(tmp_path.resolve() / "artifacts" / "t" / "x.png")
    for i, pred in enumerate(["A", {"label": "b", "path": art}, [1, 2.5], "ü"]):
        early.add(f"k{i}", "t", f"id{i}", pred)
        assert early.row(f"k{i}", "t", f"id{i}", pred) == late.row(f"k{i}", "t", f"id{i}", pred)
    assert json.loads(early.row("k1", "t", "id1", _same(early, "k1"))[1])[
        "prediction"]["path"] == "artifacts/t/x.png"


def _same(lines: PredictionLines, key: str):
    return lines._lines[key][0]


def test_another_prediction_for_the_key_is_formatted_afresh_and_bad_values_fail_late(tmp_path):
    lines = PredictionLines(tmp_path)
    lines.add("k", "t", "1", "first")
    assert json.loads(lines.row("k", "t", "1", "second")[1])["prediction"] == "second"
    lines.add("bad", "t", "2", float("nan"))  # not JSON: nothing cached, no error yet
    with pytest.raises(PredictionError):
        lines.row("bad", "t", "2", float("nan"))
