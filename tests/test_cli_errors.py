"""Issue 12: every bad input is one clear line on stderr with exit 2, never a traceback, and
nothing is silently accepted. Each case of the issue is one parametrised test."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.inprocess import call

LANG = "language-time-series"
TASKS = [LANG, "language-topic-classification", "image-generation-image-deblurring"]


@pytest.fixture(scope="module")
def mini(mini_cut):
    return mini_cut(TASKS, per_task=4)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory, catalog) -> Path:
    from generalbench.levels import evaluate
    from generalbench.report.scorefiles import ModelScores
    from generalbench.report.workbook import write_workbook

    path = tmp_path_factory.mktemp("wb") / "good.xlsx"
    model = ModelScores("m", {t.id: 50.0 for t in catalog})
    return write_workbook(path, catalog, [model], [evaluate(catalog, model.raw, "m")])


def _write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


SCORE_FILES = {
    "invalid UTF-8 in a CSV": ("s.csv", b"task,score\n\xff\xfe,1\n", "not valid UTF-8"),
    "a CSV field over 128 KB": ("s.csv", "task,score\n" + "x" * 200_000 + ",1\n", "CSV"),
    "tasks as a string": ("s.json", '{"model": "m", "tasks": "abc"}', "'tasks' must be a list"),
    "a task without id": ("s.json", '{"model": "m", "tasks": [{"raw": 1}]}', "field 'id'"),
    "scores as a list": ("s.json", '{"model": "m", "scores": [1, 2]}', "'scores' must be an object"),
    "deeply nested JSON": ("s.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "invalid UTF-8 in JSON": ("s.json", b'{"m": {"\xff": 1}}', "not valid UTF-8"),
}


@pytest.mark.parametrize("case", SCORE_FILES)
def test_level_bad_score_file(tmp_path, case):
    name, data, why = SCORE_FILES[case]
    res = call("level", _write(tmp_path / name, data))
    assert res.one_clear_line, (res.code, res.err, res.crash)
    assert why in res.err


def test_level_folder_named_like_a_csv(tmp_path):
    (tmp_path / "x.csv").mkdir()
    res = call("level", tmp_path / "x.csv")
    assert res.one_clear_line and "is a folder" in res.err


def test_level_sota_overrides_with_invalid_utf8(tmp_path):
    scores = _write(tmp_path / "s.csv", "task,score\nlanguage-time-series,1\n")
    res = call("level", scores, "--sota-overrides", _write(tmp_path / "o.csv", b"task,sota\n\xff,1\n"))
    assert res.one_clear_line and "not valid UTF-8" in res.err


def test_level_xlsx_with_broken_workbook_xml(tmp_path, workbook):
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(workbook) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data[: len(data) // 2] if info.filename == "xl/workbook.xml" else data)
    res = call("level", broken)
    assert res.one_clear_line and "not a readable .xlsx" in res.err


def test_level_xlsx_formula_without_cached_value_names_the_cell(tmp_path, workbook):
    import openpyxl

    wb = openpyxl.load_workbook(workbook)
    ws = wb["NLP"]
    assert ws.cell(1, 6).value == "m"
    ws.cell(2, 6).value = "=1+2"  # openpyxl saves no cached value: the task would be dropped
    wb.save(tmp_path / "formula.xlsx")
    res = call("level", tmp_path / "formula.xlsx")
    assert res.one_clear_line, res.err
    assert "cell F2" in res.err and "no saved value" in res.err
    assert call("level", workbook, "--format", "json").code == 0


@pytest.mark.parametrize("param, why", [("timeout=[1,", "not valid YAML"), ("timeout=soon", "number"),
                                        ("concurrency=0", ">= 1"), ("adaptive=maybe", "true or false")])
def test_run_bad_param_fails_before_the_run(mini, tmp_path, param, why):
    root, _ = mini
    res = call("run", "--model", "baseline", "--data", root, "--param", param, "--out", tmp_path / "r")
    assert res.one_clear_line and why in res.err, res.err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, why", [
    (["--concurrency", "0"], "--concurrency"),
    (["--concurrency", "-3"], "--concurrency"),
    (["--quick", "0"], "--quick"),
    (["--scope", "B:language"], "scope L"),
    (["--scope", "D:No Such Skill"], "no skill"),
])
def test_run_bad_option_fails_before_the_run(mini, tmp_path, args, why):
    root, _ = mini
    res = call("run", "--model", "baseline", "--data", root, "--out", tmp_path / "r", *args)
    assert res.one_clear_line and why in res.err, res.err
    assert not (tmp_path / "r").exists()


def test_run_out_pointing_at_a_file(mini, tmp_path):
    root, _ = mini
    res = call("run", "--model", "baseline", "--data", root, "--out", _write(tmp_path / "f", "x"))
    assert res.one_clear_line and "is a file" in res.err


def test_run_scope_l_scores_the_language_tasks(mini, tmp_path):
    root, _ = mini
    res = call("run", "--model", "baseline", "--data", root, "--scope", "L", "--quick", "2",
               "--quiet", "--out", tmp_path / "r")
    assert res.code == 0 and res.crash is None, res.err + (res.crash or "")
    assert "scope L" in res.out and "synergy_score" in res.out


def test_merge_with_garbled_run_info(tmp_path):
    shards = []
    for i, text in enumerate(['{"manifest": {"shard": "0/2"', '{"manifest": "x", "summary": {}}']):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        _write(folder / "run-info.json", text)
        shards.append(folder)
    for shard in shards:
        res = call("merge", shard, "--out", tmp_path / "merged", "--no-score")
        assert res.one_clear_line and "run-info.json" in res.err, res.err


def test_make_mini_into_a_file(tmp_path):
    res = call("make-mini", _write(tmp_path / "f", "x"))
    assert res.one_clear_line and "is a file" in res.err


def test_split_with_relative_paths_and_retry(mini, tmp_path, monkeypatch):
    root, _ = mini
    shutil.copytree(root, tmp_path / "mini")
    monkeypatch.chdir(tmp_path)
    res = call("split", "mini", "--out", "split")
    assert res.code == 0, res.err + (res.crash or "")
    assert {p.name for p in (tmp_path / "split").iterdir()} == {"open", "closed", "answers", "split.json"}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    again = call("split", "mini", "--out", "split")  # refuses a full folder, in one line
    assert again.one_clear_line and "not empty" in again.err


def test_split_out_inside_the_dataset_is_refused(mini, tmp_path):
    root, _ = mini
    res = call("split", root, "--out", root / "split")
    assert res.one_clear_line and "inside the dataset" in res.err
    assert not (root / "split").exists()


def test_interrupted_split_leaves_nothing_behind(mini, tmp_path, catalog, monkeypatch):
    from generalbench.data import split as split_mod

    root, _ = mini

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(split_mod, "_place", boom)
    with pytest.raises(KeyboardInterrupt):
        split_mod.split_dataset(root, tmp_path / "out", catalog)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, why", [
    (["tasks", "--modality", "foo"], "unknown modality 'foo'"),
    (["tasks", "--paradigm", "gen"], "unknown paradigm 'gen'"),
    (["validate", ".", "--quick", "0"], "--quick"),
])
def test_unknown_values_list_the_valid_ones(args, why):
    res = call(*args)
    assert res.one_clear_line and why in res.err, res.err


def test_modality_lists_and_nlp_alias():
    both = call("tasks", "--modality", "image,audio", "--format", "json")
    assert both.code == 0
    mods = {t["modality"] for t in json.loads(both.out)}
    assert mods == {"image", "audio"}
    nlp = json.loads(call("tasks", "--modality", "nlp", "--format", "json").out)
    assert nlp and {t["modality"] for t in nlp} == {"language"}


def test_level_unknown_skill_scope(tmp_path):
    scores = _write(tmp_path / "s.csv", "task,score\nlanguage-time-series,1\n")
    res = call("level", scores, "--scope", "D:Objet Detection")
    assert res.one_clear_line and "no skill" in res.err and "Object Detection" in res.err


def test_score_run_json_with_invalid_utf8(mini, tmp_path):
    _, oracle = mini
    preds = tmp_path / "p"
    shutil.copytree(oracle, preds)
    _write(preds / "run.json", b'{"data": "\xff"}')
    res = call("score", preds)
    assert res.one_clear_line and "run.json" in res.err, res.err


def test_validate_reports_invalid_utf8_predictions(mini, tmp_path):
    root, oracle = mini
    preds = tmp_path / "p"
    shutil.copytree(oracle, preds)
    _write(preds / f"{LANG}.jsonl", b'{"id": "0000", "prediction": "\xff"}\n')
    res = call("validate", root, "--predictions", preds, "--tasks", LANG)
    assert res.code == 1 and res.crash is None
    assert "not valid UTF-8" in res.out
    assert "not in the dataset" not in res.out  # other tasks' predictions are not orphans here
