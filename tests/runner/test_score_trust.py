"""Issue 11's scoring behaviours end to end: all-failed tasks are unsupported, metric bugs exit
3, stand-in weights never count, drop policies are reported, provenance is written."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from generalbench.catalog import load_catalog
from generalbench.data import Instance
from generalbench.metrics import registry
from generalbench.metrics.base import MetricResult
from generalbench.runner import score as score_mod
from generalbench.runner.score import score_task_predictions

CATALOG = load_catalog()
TASKS = ["language-grammar-correction", "language-triviaqa", "image-comprehension-seed-counting"]
BROKEN = "image-comprehension-seed-counting"


@pytest.fixture(scope="module")
def folders(mini_cut, tmp_path_factory):
    """The mini-bench of three tasks, its oracle predictions, the same with one task's answers
    all unparseable, and the same with that task removed."""
    base = tmp_path_factory.mktemp("trust")
    root, oracle = mini_cut(TASKS, per_task=3)
    garbled = base / "garbled"
    shutil.copytree(oracle, garbled)
    path = garbled / f"{BROKEN}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for rec in lines:
        rec["prediction"] = "I cannot count these."
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    removed = base / "removed"
    shutil.copytree(oracle, removed)
    (removed / f"{BROKEN}.jsonl").unlink()
    return root, garbled, removed, len(lines)


def _level(report: dict) -> dict:
    return {k: report[k] for k in ("level", "scores", "modalities", "language")}


def test_all_unparseable_task_is_unsupported_and_equals_the_task_removed(folders, cli, tmp_path):
    root, garbled, removed, n = folders
    res = cli("score", garbled, "--data", root, "--format", "json", "--out", tmp_path / "g")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    task = next(t for t in report["tasks"] if t["id"] == BROKEN)
    assert task["raw"] is None and not task["supported"] and not task["win"]
    assert task["failed"] == n and task["parsed"] == 0
    assert task["note"].startswith(f"unsupported: all {n} predictions failed ({n} unparseable")
    res2 = cli("score", removed, "--data", root, "--format", "json")
    assert res2.code == 0, res2.err
    assert _level(report) == _level(json.loads(res2.out))
    rows = json.loads((tmp_path / "g" / "tasks.json").read_text())
    row = next(r for r in rows if r["id"] == BROKEN)
    assert row["failed"] == n and row["raw"] is None


def test_partly_failed_task_applies_the_policy_and_counts(folders):
    root, garbled, _, n = folders
    task = CATALOG.get("language-triviaqa")
    insts = [Instance(id=str(i), task_id=task.id, target="Paris") for i in range(3)]
    detail, rows = score_task_predictions(task, insts, {"0": "Paris", "1": "Paris"})
    assert detail.raw == pytest.approx(200 / 3) and detail.failed == 1
    assert "1 instance(s) without a prediction scored as wrong" in detail.note
    assert detail.details["failure_policy"] == registry.get_spec(task.metric).on_failure


def _bench_task():
    return next(t for t in CATALOG if t.metric == "accuracy" and t.output == "label")


def test_a_metric_bug_exits_3_unless_keep_going(folders, monkeypatch, tmp_path):
    from generalbench.cli import app

    root, _, removed, _ = folders
    real = score_mod.compute_detailed

    def buggy(metric, *args, **kwargs):
        if metric == "bleu1" or registry.get_spec(metric).name == "bleu1":
            raise ZeroDivisionError("boom")
        return real(metric, *args, **kwargs)

    monkeypatch.setattr(score_mod, "compute_detailed", buggy)
    runner = CliRunner()
    res = runner.invoke(app, ["score", str(removed), "--data", str(root), "--format", "json"])
    assert res.exit_code == 3
    assert "language-grammar-correction" in res.stderr and "ZeroDivisionError: boom" in res.stderr
    res = runner.invoke(app, ["score", str(removed), "--data", str(root), "--format", "json",
                              "--keep-going"])
    assert res.exit_code == 0 and "ZeroDivisionError: boom" in res.stderr
    task = next(t for t in json.loads(res.stdout)["tasks"] if t["id"] == "language-grammar-correction")
    assert task["raw"] is None and "bug" in task["note"]


def test_tiny_random_weights_never_enter_general_level(monkeypatch):
    task = _bench_task()
    insts = [Instance(id="0", task_id=task.id, target="yes")]

    def tiny(*args, **kwargs):
        return MetricResult(100.0, [100.0], {"model": "clip-tiny", "tiny_random_weights": True})

    monkeypatch.setattr(score_mod, "compute_detailed", tiny)
    detail, _ = score_task_predictions(task, insts, {"0": "yes"})
    assert detail.raw is None and "TINY RANDOM" in detail.note
    assert detail.details["value_with_stand_in_weights"] == 100.0


def test_drop_policy_is_applied_and_reported(monkeypatch):
    seen = []

    def fake_fid(predictions, references, **_):
        kept = [p for p in predictions if p is not None]
        seen.append(len(kept))
        return MetricResult(10.0, None, {})

    monkeypatch.setitem(registry._IMPLS, "fid", fake_fid)
    res = registry.compute_detailed("fid", ["a", None, "c"], ["r"] * 3)
    assert res.dropped == 1 and res.failed == 1 and seen == [2]
    assert "left out" in score_mod.POLICY_NOTES["drop"]
    with pytest.raises(registry.MetricError):
        registry.compute_detailed("fid", [None, None], ["r"] * 2)


def test_run_provenance_records_version_catalog_and_model_config_hash():
    from generalbench.runner.score_writer import run_provenance

    info = {"version": "1", "hash": "abc"}
    a = run_provenance(info, {"model": "m", "model_config": {"name": "m", "temperature": 0}})
    b = run_provenance(info, {"model": "m", "model_config": {"name": "m", "temperature": 1}})
    assert a["generalbench"] and a["catalog"] == info
    assert a["model_config_sha256"] and a["model_config_sha256"] != b["model_config_sha256"]
    assert run_provenance(info, None)["model_config_sha256"] is None


def test_an_unreadable_predictions_file_names_the_task_and_exits_3_unless_keep_going(folders,
                                                                                   tmp_path):
    """A task whose predictions file cannot be read is an error of the submission, not a quiet
    'unsupported': `score` names the task and the file and exits 3 unless --keep-going."""
    from tests.inprocess import call

    root, _, removed, _ = folders
    preds = tmp_path / "preds"
    shutil.copytree(removed, preds)
    path = preds / "language-triviaqa.jsonl"
    first = path.read_text().splitlines()[0]
    path.write_text(path.read_text() + first + "\n")  # the same instance id twice
    res = call("score", preds, "--data", root, "--format", "json")
    assert res.crash is None and res.code == 3, res.err
    assert "language-triviaqa" in res.err and str(path) in res.err and "duplicate id" in res.err
    res = call("score", preds, "--data", root, "--format", "json", "--keep-going")
    assert res.crash is None and res.code == 0, res.err
    assert "language-triviaqa" in res.err
    task = next(t for t in json.loads(res.out)["tasks"] if t["id"] == "language-triviaqa")
    assert task["raw"] is None and not task["supported"]
    assert task["note"].startswith("unreadable predictions: ") and str(path) in task["note"]
