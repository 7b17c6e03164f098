"""The mini-bench is deterministic, small, fast, complete, and readable by the data layer."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from typer.testing import CliRunner

from generalbench.catalog import load_catalog
from generalbench.data.dataset import open_dataset
from generalbench.data.minibench import make_mini, mini_tasks, write_oracle_predictions
from generalbench.data.problems import Problem
from generalbench.errors import DataError
from generalbench.metrics.specs import load_specs


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_also_in_place_other_seed_other_bytes(mini, tmp_path):
    root, _ = mini  # the session's mini-bench, made by another make_mini call
    again = make_mini(tmp_path / "again")
    da, session = _digest(again), _digest(root)
    assert len(da) > 500
    assert {k: session.get(k) for k in da} == da  # (a cache a reader may add there is no matter)
    make_mini(again)  # an existing mini-bench folder is replaced, not refused
    assert _digest(again) == da
    dc = _digest(make_mini(tmp_path / "c", seed=1))
    assert set(da) == set(dc)  # same layout ...
    changed = [k for k in da if da[k] != dc[k]]
    assert len(changed) > len(da) // 2  # ... different content


def test_size_and_time_limits(mini):
    root, elapsed = mini
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 20e6, f"{size / 1e6:.1f} MB"
    assert elapsed < 30, f"{elapsed:.1f} s"


def test_real_layout_and_exact_catalog_names(mini):
    root, _ = mini
    catalog = load_catalog()
    by_name = {(t.sheet, t.task_name) for t in catalog}
    files = sorted(root.rglob("annotation.json"))
    assert len(files) == len(mini_tasks())
    for f in files:
        rel = f.relative_to(root).parts
        ann = json.loads(f.read_text("utf-8"))
        if rel[0] == "nlp":
            assert len(rel) == 3
        else:
            assert rel[0] in {"image", "video", "audio", "3D"} and rel[1] in {"comprehension",
                                                                              "generation"}
            assert len(rel) == 4
        assert any(name == ann["task"] for _, name in by_name), ann["task"]
        assert 10 <= len(ann["data"]) <= 30
        assert len({r["id"] for r in ann["data"]}) == len(ann["data"])


def test_covers_every_output_type_metric_family_and_modality():
    catalog = load_catalog()
    specs = load_specs()
    tasks = [m.task for m in mini_tasks(catalog)]
    assert {t.output for t in tasks} == {t.output for t in catalog}
    assert {specs[t.metric].family for t in tasks} == {specs[t.metric].family for t in catalog}
    assert {specs[t.metric].needs for t in tasks} >= {"none", "model", "judge"}
    groups = {t.group for t in tasks}
    for modality in ("image", "video", "audio", "3d"):
        assert {f"{modality}/comprehension", f"{modality}/generation"} <= groups
    assert "language" in groups
    assert 30 <= len(tasks) <= 50  # small enough to run in minutes on 2 CPU cores


def test_every_instance_reads_and_checks_clean(mini):
    root, _ = mini
    ds = open_dataset(root)
    assert not list(ds.unmatched)
    tds = ds.tasks()
    assert {td.task.id for td in tds} == {m.task.id for m in mini_tasks()}
    for td in tds:
        results = list(td.check())
        problems = [str(p) for p in results if isinstance(p, Problem)]
        assert not problems, (td.task.id, problems[:3])
        instances = list(td.instances())
        assert len(instances) == 12
        for inst in instances:
            assert inst.has_target
            for _, ref in inst.media():
                assert ref.exists()


def test_oracle_predictions_cover_every_instance(mini, oracle):
    root, _ = mini
    ds = open_dataset(root)
    for td in ds.tasks():
        lines = (oracle / f"{td.task.id}.jsonl").read_text("utf-8").splitlines()
        preds = {json.loads(line)["id"]: json.loads(line)["prediction"] for line in lines}
        assert set(preds) == set(td.ids())
        for value in preds.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and "/" in item and td.task.output not in ("text",):
                    assert (oracle / item).exists(), item
    manifest = json.loads((oracle / "run.json").read_text("utf-8"))
    assert manifest["model"] == "oracle"


def test_refuses_a_foreign_non_empty_folder(mini, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        make_mini(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    with pytest.raises(DataError, match="not empty"):
        write_oracle_predictions(mini[0], tmp_path)


def test_tasks_yaml_names_are_exact():
    from importlib import resources

    rows = yaml.safe_load(resources.files("generalbench.data.minibench")
                          .joinpath("tasks.yaml").read_text("utf-8"))
    catalog = load_catalog()
    for row in rows:
        assert catalog.find_row(row["sheet"], row["task"], catalog.resolve(
            row["task"], sheet=row["sheet"]).metric_name) is not None


def test_cli_make_mini_and_subset(tmp_path):
    from generalbench.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["make-mini", str(tmp_path / "m"), "--per-task", "10",
                              "--tasks", "language-time-series", "--tasks", "Seed Counting",
                              "--oracle", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert "2 tasks" in res.output
    assert sorted(p.name for p in (tmp_path / "p").glob("*.jsonl")) == [
        "image-comprehension-seed-counting.jsonl", "language-time-series.jsonl"]
    with pytest.raises(DataError, match="per_task"):
        make_mini(tmp_path / "x", per_task=0)


def test_a_mini_bench_from_an_older_version_is_not_current(tmp_path):
    from generalbench.data.minibench import MARKER, is_current

    root = make_mini(tmp_path / "m", per_task=2, tasks=["language-time-series"])
    assert is_current(root)
    info = json.loads((root / MARKER).read_text())
    (root / MARKER).write_text(json.dumps({**info, "version": "0"}))
    assert not is_current(root) and not is_current(tmp_path / "absent")
    make_mini(root, per_task=2, tasks=["language-time-series"])  # regenerated in place
    assert is_current(root)
