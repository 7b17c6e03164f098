"""`generalbench score RUN_DIR` takes the dataset and --quick recorded in the run's run.json."""

from __future__ import annotations

import json

from generalbench.data.minibench import make_mini, write_oracle_predictions

TASKS = ["Analogical Reasoning", "Seed Counting"]


def test_score_defaults_to_the_recorded_dataset(tmp_path, cli):
    data = make_mini(tmp_path / "mini", per_task=4, tasks=TASKS)
    preds = write_oracle_predictions(data, tmp_path / "preds")
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
