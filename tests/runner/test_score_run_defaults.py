"""`generalbench score RUN_DIR` takes the dataset and --quick recorded in the run's run.json."""

from __future__ import annotations

import json
import shutil

TASKS = ["Analogical Reasoning", "Seed Counting"]


def test_score_defaults_to_the_recorded_dataset(tmp_path, cli, mini_cut):
    data, oracle = mini_cut(TASKS, per_task=4)
    preds = shutil.copytree(oracle, tmp_path / "preds")  # run.json is edited below
    explicit = cli("score", preds, "--data", data, "--format", "json")
    assert explicit.code == 0, explicit.err
    missing = cli("score", preds, "--format", "json")
    assert missing.code == 2 and "pass --data DATASET" in missing.err
    manifest = json.loads((preds / "run.json").read_text())
    manifest["data"] = str(data)
    (preds / "run.json").write_text(json.dumps(manifest))
    implicit = cli("score", preds, "--format", "json")
    assert implicit.code == 0, implicit.err
    assert json.loads(implicit.out)["scores"] == json.loads(explicit.out)["scores"]
    manifest["data"] = str(tmp_path / "gone")
    (preds / "run.json").write_text(json.dumps(manifest))
    gone = cli("score", preds)
    assert gone.code == 2 and "field 'data'" in gone.err
