"""`generalbench run` end to end against a local OpenAI-compatible server (a subprocess on
127.0.0.1): predictions, scores and a level report; crash and resume; shards and merge; faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generalbench.models.testserver import TestServer
from generalbench.runner.journal import read_journal
from tests.conftest import run_cli
from tests.runner.runs import wait_for_journal

TASKS = ["language-triviaqa", "language-topic-classification", "language-analogical-reasoning",
         "image-comprehension-seed-counting", "audio-comprehension-music-pitch-analysis",
         "image-generation-image-deblurring"]
PER_TASK = 10


@pytest.fixture(scope="module")
def bench(mini_cut) -> Path:
    return mini_cut(TASKS, per_task=PER_TASK)[0]


def run_args(url: str, data: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "openai:test-model", "--base-url", url, "--data", str(data),
            "--out", str(out), "--quiet", *extra]


def predictions(folder: Path) -> dict[str, list[dict]]:
    return {p.stem: [json.loads(x) for x in p.read_text().splitlines()]
            for p in sorted(folder.glob("*.jsonl"))}


def supported(out: Path) -> list[str]:
    return sorted(json.loads((out / "run-info.json").read_text())["manifest"]["routes"])


def test_run_writes_predictions_scores_and_level_report(tmp_path, bench):
    with TestServer(tmp_path / "srv", reply="echo") as srv:
        res = run_cli(*run_args(srv.base_url, bench, tmp_path / "run"))
        keys = srv.keys()
    assert res.code == 0, res.err
    preds = predictions(tmp_path / "run")
    # the image-generation task is not a text-channel output: not requested, not predicted
    assert sorted(preds) == supported(tmp_path / "run") == sorted(TASKS[:-1])
    assert all(len(rows) == PER_TASK for rows in preds.values())
    assert len(keys) == len(set(keys)) == PER_TASK * 5
    report = json.loads((tmp_path / "run" / "score" / "report.json").read_text())
    assert set(report["scores"]) == {"level2", "level3", "level4", "level5"}
    tasks = {t["id"]: t for t in report["tasks"]}
    for task_id in TASKS[:-1]:  # scored (an echoing server's answers are mostly wrong)
        assert tasks[task_id]["instances"] == PER_TASK  # all-failed tasks are unsupported (issue 11)
        assert tasks[task_id]["raw"] is not None or tasks[task_id]["note"].startswith("unsupported: all")
    assert tasks["image-generation-image-deblurring"]["raw"] is None  # unsupported
    assert "General-Level" in res.out
    # the run folder is a predictions folder that `generalbench score` scores the same way
    later = run_cli("score", tmp_path / "run", "--data", bench, "--out", tmp_path / "rescored")
    assert later.code == 0, later.err
    again = json.loads((tmp_path / "rescored" / "report.json").read_text())
    assert again["scores"] == report["scores"]
    # a second run answers everything from the journal: no request reaches the server
    with TestServer(tmp_path / "srv2") as srv:
        res = run_cli(*run_args(srv.base_url, bench, tmp_path / "run", "--no-score"))
        assert res.code == 0 and srv.keys() == []
    assert "50 from the journal" in res.err


def test_killed_run_resumes_without_repeating_finished_instances(tmp_path, bench):
    out = tmp_path / "run"
    with TestServer(tmp_path / "srv", latency=0.05) as srv:
        cmd = [sys.executable, "-m", "generalbench",
               *run_args(srv.base_url, bench, out, "--no-score", "--concurrency", "3")]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_journal(out, 12)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)
        finished = {k for k, r in read_journal(out / "journal").items() if r["status"] == "ok"}
        before = len(srv.keys())
        assert 12 <= len(finished) < PER_TASK * 5, "the kill must land mid-run"
        # restart with another concurrency
        res = run_cli(*run_args(srv.base_url, bench, out, "--no-score", "--concurrency", "8"))
        assert res.code == 0, res.err
        after = srv.keys()[before:]
    assert not finished & set(after), "a finished instance was requested again"
    preds = predictions(out)
    assert all(len(rows) == PER_TASK == len({r["id"] for r in rows}) for rows in preds.values())
    final = {k for k, r in read_journal(out / "journal").items() if r["status"] == "ok"}
    assert len(final) == PER_TASK * 5 and finished <= final


def test_shards_merged_equal_one_run(tmp_path, bench):
    with TestServer(tmp_path / "srv", reply="echo") as srv:
        assert run_cli(*run_args(srv.base_url, bench, tmp_path / "one")).code == 0
        for i in range(3):
            res = run_cli(*run_args(srv.base_url, bench, tmp_path / f"s{i}", "--shard", f"{i}/3"))
            assert res.code == 0, res.err
    sizes = [sum(len(r) for r in predictions(tmp_path / f"s{i}").values()) for i in range(3)]
    assert sum(sizes) == PER_TASK * 5 and all(sizes)
    res = run_cli("merge", *(tmp_path / f"s{i}" for i in range(3)), "--out", tmp_path / "merged")
    assert res.code == 0, res.err
    assert ": 5 tasks," in res.err and "? tasks" not in res.err
    for name, rows in predictions(tmp_path / "one").items():
        assert (tmp_path / "merged" / f"{name}.jsonl").read_text() == \
            (tmp_path / "one" / f"{name}.jsonl").read_text()
        assert rows
    one = json.loads((tmp_path / "one" / "score" / "report.json").read_text())
    merged = json.loads((tmp_path / "merged" / "score" / "report.json").read_text())
    assert one["scores"] == merged["scores"]
    assert [t["raw"] for t in one["tasks"]] == [t["raw"] for t in merged["tasks"]]
    bad = run_cli("merge", tmp_path / "s0", tmp_path / "s1", "--out", tmp_path / "partial")
    assert bad.code == 2 and "shards [2] of 3 are missing" in bad.err


def test_server_faults_are_retried_then_recorded_and_reported(tmp_path, bench):
    out = tmp_path / "run"
    with TestServer(tmp_path / "srv", fail_every=3, fail_times=99, hang=3) as srv:
        res = run_cli(*run_args(srv.base_url, bench, out, "--max-retries", "1",
                                "--param", "timeout=0.5", "--param", "retry_backoff=0.01"))
        keys = srv.keys()
    # a run with failed instances is not a success (exit 1), but its outputs are all written
    assert res.code == 1, res.err
    assert "--allow-failures" in res.err.strip().splitlines()[-1]
    info = json.loads((out / "run-info.json").read_text())["summary"]
    failed = {k for k in set(keys) if keys.count(k) == 2}  # first try + 1 retry, then recorded
    assert info["failed"] == len(failed) > 0
    assert info["answered"] == PER_TASK * 5 - len(failed)
    assert f"{len(failed)} failed" in res.err and "failures by type" in res.err
    errors = [r for r in read_journal(out / "journal").values() if r["status"] == "error"]
    assert {r["key"] for r in errors} == failed
    report = json.loads((out / "score" / "report.json").read_text())
    # (a task whose every answer failed is unsupported but still counts its failures)
    assert sum((t["instances"] or 0) - (t["parsed"] or 0) for t in report["tasks"]) >= len(failed)
