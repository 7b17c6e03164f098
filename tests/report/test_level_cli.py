"""`generalbench level`: official workbooks, CSV/JSON inputs, round trips and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from generalbench.catalog import SHEET_NAMES
from generalbench.levels import evaluate
from generalbench.report.scorefiles import TEMPLATE_COLUMNS, read_score_files


def official_workbook(path: Path, catalog, models: dict[str, dict[str, float]],
                      edit=None) -> Path:
    """An official-format result workbook: 9 template sheets, one column per model."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in SHEET_NAMES.values():
        ws = wb.create_sheet(sheet)
        ws.append([*TEMPLATE_COLUMNS, *models])
        for t in (t for t in catalog if t.sheet == sheet):
            ws.append([t.no, t.task_name, t.short_name, t.metric_name,
                       *(m.get(t.id) for m in models.values())])
    if edit:
        edit(wb)
    wb.save(path)
    return path


def random_scores(catalog, seed: int, share: float) -> dict[str, float]:
    rng = random.Random(seed)
    out = {}
    for t in catalog:
        if rng.random() < share:
            f = rng.uniform(0.3, 1.5)
            v = t.sota / f if t.direction == "lower" else t.sota * f
            out[t.id] = min(v, 100.0) if t.unit == "percent" and t.direction == "higher" else v
    return out


def test_workbook_gives_exactly_the_rules_scores(tmp_path, catalog, cli):
    a, b = random_scores(catalog, 1, 0.5), random_scores(catalog, 2, 0.9)
    path = official_workbook(tmp_path / "result.xlsx", catalog, {"model-a": a, "model-b": b})
    res = cli("level", path, "--format", "json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert [d["rank"] for d in data] == [1, 2]
    assert (data[0]["level"], data[0]["scores"][f"level{data[0]['level']}"]) >= (
        data[1]["level"], data[1]["scores"][f"level{data[1]['level']}"])
    for entry in data:
        want = evaluate(catalog, a if entry["model"] == "model-a" else b, entry["model"])
        assert entry["scores"] == pytest.approx(want.scores)
        assert entry["level"] == want.level
        assert entry["catalog"] == {"version": catalog.version, "hash": catalog.hash}
        for _m, ms in entry["modalities"].items():
            assert set(ms) == {"level2", "level3", "level4", "comprehension", "generation"}
            assert set(ms["comprehension"]) == {"total", "supported", "wins", "score", "synergy_score"}
        assert entry["rank"] in (1, 2)


def test_single_model_json_is_an_object_with_the_documented_keys(tmp_path, catalog, cli):
    path = tmp_path / "s.csv"
    path.write_text("task,score\nCommonsense Reasoning,90\nimage-comprehension-wood-anomaly-detection,85\n")
    res = cli("level", path, "--format", "json", "--model", "mine")
    assert res.code == 0, res.err
    obj = json.loads(res.out)
    assert obj["model"] == "mine"
    assert set(obj) >= {"model", "level", "scores", "modalities", "language", "catalog"}
    assert obj["language"]["wins"] == 1 and obj["language"]["total"] == 115
    assert obj["modalities"]["image"]["comprehension"]["wins"] == 1


def test_workbook_round_trip_keeps_scores(tmp_path, catalog, cli):
    a = random_scores(catalog, 3, 0.7)
    src = tmp_path / "a.json"
    src.write_text(json.dumps({"model-a": a}))
    out = tmp_path / "out.xlsx"
    res = cli("level", src, "--xlsx", out, "--format", "json")
    assert res.code == 0, res.err
    wb = load_workbook(out)
    assert set(wb.sheetnames) == {*SHEET_NAMES.values(), "level-scores"}
    models = read_score_files([out], catalog)
    assert len(models) == 1 and models[0].raw == pytest.approx(a)
    again = cli("level", out, "--format", "json")
    assert json.loads(again.out)["scores"] == json.loads(res.out)["scores"]
    level_sheet = list(wb["level-scores"].iter_rows(values_only=True))
    assert level_sheet[1][0] == "model-a"
    assert level_sheet[1][2] == pytest.approx(json.loads(res.out)["scores"]["level2"])


def test_score_report_json_is_accepted_as_input(tmp_path, catalog, cli):
    a = random_scores(catalog, 4, 0.3)
    report = evaluate(catalog, a, "from-report").model_dump()
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    res = cli("level", path, "--format", "json")
    assert json.loads(res.out)["scores"] == pytest.approx(report["scores"])


def test_table_markdown_and_csv_formats(tmp_path, catalog, cli):
    path = official_workbook(tmp_path / "r.xlsx", catalog,
                             {"alpha": random_scores(catalog, 5, 0.6), "beta": {}})
    table = cli("level", path)
    assert table.code == 0 and "alpha" in table.out and "Level" in table.out
    md = cli("level", path, "--format", "markdown")
    assert md.out.splitlines()[0].startswith("| Rank | Model | Level")
    assert md.out.splitlines()[2].startswith("| 1 | alpha |")
    csv_out = cli("level", path, "--format", "csv", "--scope", "C:image-generation")
    assert csv_out.out.splitlines()[0] == "Rank,Model,synergy_score,score,wins,supported"
    assert csv_out.out.splitlines()[2].startswith("2,beta,0.00")


# --- bad input: one line, exit code 2, nothing written -----------------------------------------
def _drop_sheet(wb):
    del wb["Audio-Generation"]


def _rename_task(wb):
    wb["Image-Comprehension"].cell(row=5, column=2).value = "Wood Anomaly Detecton"


def _text_cell(wb):
    wb["NLP"].cell(row=2, column=5).value = "high"


def _nan_cell(wb):
    wb["NLP"].cell(row=3, column=5).value = "nan"


def _negative_mae(wb):
    ws = wb["Image-Comprehension"]
    for row in ws.iter_rows(min_row=2):
        if row[3].value == "MAE":
            row[4].value = -3.0
            return


def _duplicate_row(wb):
    ws = wb["NLP"]
    ws.append([c.value for c in ws[2]])


@pytest.mark.parametrize(("edit", "message"), [
    (_drop_sheet, "missing sheet 'Audio-Generation'"),
    (_rename_task, "did you mean"),
    (_text_cell, "is not a number"),
    (_nan_cell, "is not finite"),
    (_negative_mae, "cannot be negative"),
    (_duplicate_row, "appears twice"),
])
def test_bad_workbooks_give_one_clear_line(tmp_path, catalog, cli, edit, message):
    scores = {t.id: t.sota for t in catalog if t.modality == "language"}
    path = official_workbook(tmp_path / "bad.xlsx", catalog, {"m": scores}, edit=edit)
    out = tmp_path / "never.xlsx"
    res = cli("level", path, "--xlsx", out)
    assert res.code == 2
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "bad.xlsx" in lines[0]
    assert "Traceback" not in res.err
    assert not out.exists()


def test_rename_error_names_sheet_and_row(tmp_path, catalog, cli):
    path = official_workbook(tmp_path / "bad.xlsx", catalog, {"m": {}}, edit=_rename_task)
    res = cli("level", path)
    assert "sheet 'Image-Comprehension', row 5" in res.err


def test_empty_and_unknown_files(tmp_path, cli):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = cli("level", empty)
    assert res.code == 2 and "file is empty" in res.err
    res = cli("level", tmp_path / "nope.csv")
    assert res.code == 2 and "no such file" in res.err
    garbage = tmp_path / "g.xlsx"
    garbage.write_bytes(b"not a zip")
    res = cli("level", garbage)
    assert res.code == 2 and "not a readable .xlsx" in res.err
    bad_json = tmp_path / "b.json"
    bad_json.write_text("{")
    res = cli("level", bad_json)
    assert res.code == 2 and "not valid JSON" in res.err


def test_unknown_task_in_csv_suggests_names(tmp_path, cli):
    path = tmp_path / "s.csv"
    path.write_text("task,score\nComonsense Reasoning,90\n")
    res = cli("level", path)
    assert res.code == 2
    assert "row 2" in res.err and "Commonsense Reasoning" in res.err


def test_debug_shows_traceback(tmp_path, cli):
    path = tmp_path / "s.csv"
    path.write_text("task,score\nComonsense Reasoning,90\n")
    res = cli("--debug", "level", path)
    assert res.code != 0 and "Traceback" in res.err


def test_sota_overrides_and_extra_catalog_change_results(tmp_path, cli):
    scores = tmp_path / "s.csv"
    scores.write_text("task,score\nCommonsense Reasoning,85\n")
    base = json.loads(cli("level", scores, "--format", "json").out)
    assert base["language"]["wins"] == 1
    overrides = tmp_path / "o.csv"
    overrides.write_text("task,sota\nCommonsense Reasoning,95\n")
    raised = json.loads(cli("level", scores, "--format", "json", "--sota-overrides", overrides).out)
    assert raised["language"]["wins"] == 0
    assert raised["catalog"]["hash"] != base["catalog"]["hash"]
