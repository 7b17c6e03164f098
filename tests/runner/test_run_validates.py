"""A run folder is a submission: the predictions of every backend, baselines included, pass
`validate` (with the run's --quick), and sharded baseline runs merge into exactly the
predictions of one run (per-task statistics come from all shards' instances)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generalbench.models.testserver import TestServer
from tests.conftest import run_cli

TASKS = ["language-topic-classification", "language-numerical-reasoning", "language-triviaqa",
         "image-comprehension-flood-area-segmentation",
         "3d-generation-point-cloud-to-mesh-object-reconstruction",
         "audio-generation-singlecaptiontoaudio", "image-generation-image-deblurring"]


@pytest.fixture(scope="module")
def bench(mini_cut) -> Path:
    return mini_cut(TASKS, per_task=9)[0]


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.jsonl"))}


def test_baseline_run_passes_validate_and_shards_merge_to_the_same_predictions(tmp_path, bench):
    base = ["run", "--model", "baseline", "--data", bench, "--quick", "7", "--no-score", "--quiet"]
    one = run_cli(*base, "--out", tmp_path / "one")
    assert one.code == 0, one.err
    check = run_cli("validate", bench, "--predictions", tmp_path / "one")  # quick from run.json
    assert check.code == 0 and "no errors" in check.out, check.out
    mesh = (tmp_path / "one" / "artifacts" / TASKS[4])
    assert sorted({p.suffix for p in mesh.iterdir()}) == [".ply"]
    for i in range(3):
        res = run_cli(*base, "--out", tmp_path / f"s{i}", "--shard", f"{i}/3")
        assert res.code == 0, res.err
    merged = run_cli("merge", *(tmp_path / f"s{i}" for i in range(3)), "--out", tmp_path / "m",
                     "--no-score")
    assert merged.code == 0, merged.err
    assert files(tmp_path / "m") == files(tmp_path / "one")


def test_openai_run_with_unsupported_tasks_passes_validate(tmp_path, bench):
    with TestServer(tmp_path / "srv", reply="echo") as srv:
        res = run_cli("run", "--model", "openai:m", "--base-url", srv.base_url, "--data", bench,
                      "--out", tmp_path / "r", "--quick", "5", "--no-score", "--quiet")
    assert res.code == 0, res.err
    check = run_cli("validate", bench, "--predictions", tmp_path / "r")
    assert check.code == 0 and "no errors" in check.out, check.out
