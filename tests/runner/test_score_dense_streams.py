"""Dense tasks through the scorer: file-valued mask, depth, flow, point-cloud and track tasks agree
with the scoring benchmark's independent baseline (benchmarks/_dense_baseline.py, on the files
benchmarks/_dense_mix.py writes), and mask tasks are fed one map at a time (never as a list)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from generalbench.catalog import load_catalog
from generalbench.runner import score as score_mod
from generalbench.runner.score import score_predictions

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from _dense_baseline import score_task as baseline_task  # noqa: E402
from _dense_mix import DENSE_METRICS, dense_tasks, write_dense_tasks  # noqa: E402
from bench_scoring import _task_dir  # noqa: E402

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def dense_set(tmp_path_factory):
    """One task per dense metric, 12 instances of 16 x 16 each (a few without a prediction)."""
    root = tmp_path_factory.mktemp("densemix")
    tasks = list({t.metric: t for t in reversed(dense_tasks(CATALOG))}.values())
    write_dense_tasks(tasks, [12] * len(tasks), root / "data", root / "predictions", _task_dir,
                      seed=3, side=16)
    return root, tasks


def test_every_dense_metric_agrees_with_the_plain_baseline(dense_set):
    root, tasks = dense_set
    assert {t.metric for t in tasks} == set(DENSE_METRICS)
    _, details = score_predictions(root / "predictions", root / "data", CATALOG)
    for task in tasks:
        folder = _task_dir(root / "data", task)
        doc = json.loads((folder / "annotation.json").read_text("utf-8"))
        preds = {}
        for line in (root / "predictions" / f"{task.id}.jsonl").read_text("utf-8").splitlines():
            rec = json.loads(line)
            preds[rec["id"]] = rec["prediction"]
        expected = baseline_task(task.metric, doc, folder, preds,
                                 root / "predictions", io.StringIO(), task.id)
        assert details[task.id].raw == pytest.approx(expected, rel=1e-9), task.metric


def test_mask_tasks_stream_instead_of_collecting_every_map(dense_set, monkeypatch):
    root, tasks = dense_set
    masks = [t for t in tasks if t.metric in ("miou", "video_miou", "point_miou")]
    _, before = score_predictions(root / "predictions", root / "data", CATALOG)

    def no_list_call(*args, **kwargs):
        raise AssertionError("a mask task was scored as one list of maps")

    monkeypatch.setattr(score_mod, "compute_detailed", no_list_call)
    for task in masks:
        from generalbench.data import open_dataset
        from generalbench.data.predictions import read_predictions

        td = next(t for t in open_dataset(root / "data", CATALOG).tasks() if t.task.id == task.id)
        preds = read_predictions(root / "predictions", CATALOG)
        detail, _ = score_mod.score_task_predictions(
            task, list(td.instances()), preds.task(task.id), task_folder=td.folder,
            predictions_folder=preds.root)
        assert detail.error is None and detail.raw == before[task.id].raw, task.metric
