"""The scoring pipeline end to end: the mini-bench oracle through `score_predictions` and the CLI,
missing and unparseable answers, unsupported tasks, metric failures recorded per task."""

from __future__ import annotations

import json
import shutil

import pytest

from generalbench.catalog import load_catalog
from generalbench.data import Instance
from generalbench.errors import MissingWeightsError
from generalbench.metrics.specs import get_spec
from generalbench.runner import score as score_mod
from generalbench.runner.score import reference_value, score_predictions
from generalbench.runner.score import score_task_predictions as score_task

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def bench(mini_cut):
    return mini_cut(None, per_task=3)


SMALL = ["language-grammar-correction", "language-analogical-reasoning", "language-triviaqa",
         "image-comprehension-seed-counting"]


@pytest.fixture(scope="module")
def small(mini_cut):
    """A four-task mini-bench for the tests that score several times (CLI, edits)."""
    return mini_cut(SMALL, per_task=3)


@pytest.fixture(scope="module")
def scored(bench, tmp_path_factory):
    root, preds = bench
    out = tmp_path_factory.mktemp("scoreout")
    result, details = score_predictions(preds, root, CATALOG, out_dir=out)
    return result, details, out


def _in_dataset(details):
    return {k: d for k, d in details.items() if d.note != "not in the dataset"}


@pytest.mark.slow
def test_oracle_scores_best_value_on_every_minibench_task(scored):
    """MEGA-Bench's oracle check through the whole pipeline (parse, decode, metric)."""
    result, details, _ = scored
    tasks = _in_dataset(details)
    assert len(tasks) >= 30
    by_id = {t.id: t for t in result.tasks}
    for task_id, d in tasks.items():
        spec = get_spec(d.metric)
        assert d.failed == 0 and d.parsed == d.instances > 0, (task_id, d)
        if spec.needs != "none":
            # model-based metrics need weights or a judge that tests do not have: unsupported,
            # with a note saying what is missing, never a silent exact-match fallback
            if d.raw is None:
                assert d.note and len(d.note) > 20 and not by_id[task_id].supported
            continue
        assert d.raw is not None, (task_id, d.note)
        ceiling = d.details.get("best_possible")
        if ceiling is not None:
            assert d.raw == pytest.approx(ceiling), task_id
        elif spec.unit == "raw":
            assert spec.normalise.apply(d.raw) == pytest.approx(100, abs=0.01), (task_id, d.raw)
        elif spec.direction == "lower":
            assert d.raw == pytest.approx(0, abs=1e-6), (task_id, d.raw)
        else:
            assert d.raw == pytest.approx(100, abs=1e-6), (task_id, d.raw)
        assert by_id[task_id].normalised == pytest.approx(spec.normalise.apply(d.raw))


@pytest.mark.slow
def test_outputs_written(scored):
    result, details, out = scored
    rows = [json.loads(line) for line in (out / "instances.jsonl").read_text().splitlines()]
    scored_tasks = {k for k, d in _in_dataset(details).items()}
    assert {r["task"] for r in rows} == scored_tasks
    assert sum(d.instances for d in _in_dataset(details).values()) == len(rows)
    assert all(r["status"] == "ok" for r in rows)
    # per-instance scores where the metric is a mean of them; no media content in the log
    text_rows = [r for r in rows if r["task"] == "language-grammar-correction"]
    assert text_rows and all(r["score"] == pytest.approx(100) for r in text_rows)
    assert "base64" not in (out / "instances.jsonl").read_text()
    table = json.loads((out / "tasks.json").read_text())
    assert len(table) == len(CATALOG)
    assert {"id", "raw", "normalised", "parsed", "failed", "note"} <= set(table[0])
    assert (out / "tasks.csv").read_text().count("\n") == len(CATALOG) + 1
    report = json.loads((out / "report.json").read_text())
    task_prov = report.pop("task_provenance")
    assert report == json.loads(json.dumps(result.model_dump()))
    assert report["provenance"]["generalbench"] and report["provenance"]["catalog"]["hash"]
    row = next(r for r in table if r["id"] == "language-grammar-correction")
    assert row["provenance"]["implementation"].startswith("generalbench.metrics.")
    assert row["run_provenance"] == report["provenance"] and row["failure_policy"]
    assert task_prov["language-grammar-correction"] == row["provenance"]


def test_task_without_predictions_is_unsupported(small, tmp_path):
    root, preds = small
    copy = tmp_path / "preds"
    shutil.copytree(preds, copy)
    (copy / "language-triviaqa.jsonl").unlink()
    # and drop one instance of another task: counted as wrong, not silently skipped
    path = copy / "language-analogical-reasoning.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")
    result, details = score_predictions(copy, root, CATALOG)
    d = details["language-triviaqa"]
    assert d.raw is None and d.note == "no predictions"
    ts = next(t for t in result.tasks if t.id == "language-triviaqa")
    assert not ts.supported and ts.normalised == 0
    d = details["language-analogical-reasoning"]
    assert d.missing == 1 and d.failed == 1 and d.parsed == d.instances - 1
    assert d.raw == pytest.approx(100 * (d.instances - 1) / d.instances)
    assert "without a prediction" in d.note


def _label_task():
    return next(t for t in CATALOG if t.metric == "accuracy" and t.output == "label")


def test_unparseable_and_missing_answers_are_wrong_and_counted():
    task = _label_task()
    choices = ["red", "green", "blue"]
    insts = [Instance(id=str(i), task_id=task.id, inputs={"choices": choices}, target=t)
             for i, t in enumerate(["green", "B", "blue", "red"])]
    preds = {"0": "The answer is (B).", "1": "green", "2": "I do not know"}  # "3" missing
    detail, rows = score_task(task, insts, preds)
    assert [r.status for r in rows] == ["ok", "ok", "failed", "missing"]
    assert [r.score for r in rows] == [100.0, 100.0, 0.0, 0.0]
    assert rows[2].reason.startswith("no option matches")
    assert (detail.parsed, detail.failed, detail.missing, detail.instances) == (2, 2, 1, 4)
    assert detail.raw == 50.0
    assert "1 unparseable" in detail.note and "1 instance(s) without a prediction" in detail.note


def test_choice_letter_references_resolve_to_the_option():
    task = _label_task()
    assert reference_value(task, "C", ["x", "y", "z"], None) == "z"
    assert reference_value(task, "(a)", ["x", "y", "z"], None) == "x"
    assert reference_value(task, "C", ["C", "D"], None) == "C"  # a choice that is a letter


def test_metric_failures_are_recorded_per_task(monkeypatch):
    task = _label_task()
    insts = [Instance(id="0", task_id=task.id, target="yes")]

    def missing(*args, **kwargs):
        raise MissingWeightsError("model 'x' is not installed")

    monkeypatch.setattr(score_mod, "compute_detailed", missing)
    detail, rows = score_task(task, insts, {"0": "yes"})
    assert detail.raw is None and detail.note.startswith("needs a metric model: model 'x'")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(score_mod, "compute_detailed", broken)
    detail, _ = score_task(task, insts, {"0": "yes"})
    assert detail.raw is None and "ZeroDivisionError" in detail.note
    assert detail.error == "ZeroDivisionError: boom"  # a bug: `score` exits 3 on it


def test_closed_set_without_references_cannot_be_scored():
    task = _label_task()
    detail, rows = score_task(task, [Instance(id="0", task_id=task.id)], {"0": "yes"})
    assert detail.raw is None and "no references" in detail.note and rows == []


def test_cli_score_json_table_and_errors(small, cli, tmp_path):
    root, preds = small
    res = cli("score", preds, "--data", root, "--format", "json", "--quick", "2")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["model"] == "oracle" and report["level"] is not None
    tasks = {t["id"]: t for t in report["tasks"]}
    assert tasks["language-grammar-correction"]["raw"] == pytest.approx(100)
    assert tasks["language-grammar-correction"]["parsed"] == 2
    res = cli("score", preds, "--data", root, "--out", tmp_path / "o")
    assert res.code == 0, res.err
    assert "language-grammar-correction" in res.out and "General-Level" in res.out
    assert (tmp_path / "o" / "instances.jsonl").exists()
    res = cli("score", tmp_path / "nope", "--data", root)
    assert res.code == 2 and res.err.startswith("error:") and len(res.err.splitlines()) == 1


def test_text_task_with_choices_reads_letters_and_option_text():
    """Official MultipleChoiceQA: options listed, reference and answers given as letters."""
    task = next(t for t in CATALOG if t.metric == "accuracy" and t.output == "text")
    opts = ["A. cat", "B. dog", "C. bird"]
    insts = [Instance(id=str(i), task_id=task.id, inputs={"choices": opts}, target=t)
             for i, t in enumerate(["B", "C", "A"])]
    detail, rows = score_task(task, insts, {"0": "The answer is B.", "1": "bird", "2": "C"})
    assert [r.score for r in rows] == [100.0, 100.0, 0.0]
    assert rows[0].parsed == "B. dog"


def test_numeric_answers_compare_as_numbers_and_extra_ids_are_noted():
    task = next(t for t in CATALOG if t.metric == "accuracy" and t.output == "text")
    insts = [Instance(id=str(i), task_id=task.id, target=t)
             for i, t in enumerate(["42", "3.50", "1,200", "Paris"])]
    preds = {"0": "So x = 42.", "1": "The answer is 3.5", "2": "1200 people", "3": "paris",
             "99": "stray"}
    detail, rows = score_task(task, insts, preds)
    assert [r.score for r in rows] == [100.0, 100.0, 100.0, 100.0]
    assert rows[0].parsed == "42"
    assert "1 prediction(s) for unknown instance ids ignored" in detail.note
    # a caller's list with a repeated id: the unknown ids are still counted exactly
    twice = [*insts, insts[0]]
    assert "1 prediction(s) for unknown instance ids ignored" in score_task(task, twice, preds)[0].note
    detail, rows = score_task(task, insts[:1], {"0": "no number here"})
    assert rows[0].status == "failed" and detail.raw is None  # every answer failed: unsupported
    assert detail.note.startswith("unsupported: all 1 predictions failed")
