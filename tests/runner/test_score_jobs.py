"""`score --jobs N` scores tasks in worker processes: every output file is byte-for-byte what
the in-process path (--jobs 1) writes, tasks come back in order, and the progress callback sees
each task once, in order."""

from __future__ import annotations

import json
import shutil

import pytest

from generalbench.catalog import load_catalog
from generalbench.runner.score import score_predictions

CATALOG = load_catalog()
TASKS = ["language-grammar-correction", "language-analogical-reasoning", "language-triviaqa",
         "language-temporal-ner", "language-time-series", "image-comprehension-seed-counting",
         "image-comprehension-small-object-detection", "image-comprehension-flood-area-segmentation",
         "image-comprehension-indoor-depth-estimation",
         "image-generation-text-based-image-editing"]  # a metric model: scored in the parent
OUTPUTS = ("instances.jsonl", "tasks.json", "tasks.csv", "report.json")


@pytest.fixture(scope="module")
def bench(tmp_path_factory, mini_cut):
    """A mini-bench of text, label, label-set, number, box, mask, depth and model-metric tasks
    whose predictions are partly wrong, partly missing, and one task's file is unreadable."""
    root, oracle = mini_cut(TASKS, 4)
    preds = tmp_path_factory.mktemp("jobspreds") / "preds"
    shutil.copytree(oracle, preds)  # the session's oracle stays read-only
    for path in sorted(preds.glob("*.jsonl")):
        lines = path.read_text("utf-8").splitlines(keepends=True)
        if path.stem == "language-triviaqa":
            lines[-1] = "{not json\n"
        elif path.stem.startswith("language-"):
            row = json.loads(lines[0])
            row["prediction"] = "I cannot tell."
            lines = [json.dumps(row) + "\n", *lines[1:-1]]  # one wrong, one missing
        path.write_text("".join(lines), "utf-8")
    return root, preds


def _files(folder):
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def test_jobs_give_the_same_files_as_in_process(bench, tmp_path):
    root, preds = bench
    seen: list[tuple[str, int, int]] = []
    one, details_one = score_predictions(preds, root, CATALOG, out_dir=tmp_path / "one", jobs=1)
    three, details_three = score_predictions(
        preds, root, CATALOG, out_dir=tmp_path / "three", jobs=3,
        progress=lambda d, done, total: seen.append((d.task, done, total)))
    assert _files(tmp_path / "one") == _files(tmp_path / "three")
    assert one.model_dump() == three.model_dump()
    assert list(details_one) == list(details_three)
    in_data = [t for t in details_one if details_one[t].note != "not in the dataset"]
    assert [t for t, _, _ in seen] == in_data
    assert [d for _, d, _ in seen] == list(range(1, len(in_data) + 1))
    assert {n for _, _, n in seen} == {len(in_data)}
    assert "unreadable predictions" in (details_three["language-triviaqa"].note or "")
    assert details_one["language-triviaqa"].error == details_three["language-triviaqa"].error
    rows = (tmp_path / "three" / "instances.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(r)["task"] for r in rows][:1] == [in_data[0]]


def test_cli_jobs_option(bench, tmp_path, cli):
    root, preds = bench
    for n in ("1", "2"):
        res = cli("score", str(preds), "--data", str(root), "--out", str(tmp_path / n),
                  "--format", "json", "--jobs", n, "--keep-going")
        assert res.code == 0, res.err  # the unreadable file alone exits 3 without --keep-going
        assert "error: task language-triviaqa: unreadable predictions" in res.err
    assert _files(tmp_path / "1") == _files(tmp_path / "2")
    res = cli("score", str(preds), "--data", str(root), "--jobs", "0")
    assert res.code == 2


def test_a_failed_run_leaves_no_partial_instances_file(bench, tmp_path, monkeypatch):
    from generalbench.runner import score as score_mod

    real = score_mod._score_job
    calls = []

    def failing(job):
        calls.append(job)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real(job)

    monkeypatch.setattr(score_mod, "_score_job", failing)
    root, preds = bench
    with pytest.raises(RuntimeError, match="boom"):
        score_predictions(preds, root, CATALOG, out_dir=tmp_path / "out", jobs=1)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_workers_take_the_largest_tasks_first(tmp_path):
    """The pool's order: more bytes first, a file-valued task's bytes weighted up (its instances
    decode files), unknown sizes last; the results still come back in task order (above)."""
    from types import SimpleNamespace

    from generalbench.runner.score import FILE_VALUED_COST, _job_cost

    def job(output, size, pred_bytes=None):
        path = None
        if pred_bytes is not None:
            path = tmp_path / f"{output}-{size}-{pred_bytes}.jsonl"
            path.write_bytes(b"x" * pred_bytes)
        return SimpleNamespace(data=SimpleNamespace(size_hint=lambda: size,
                                                    task=SimpleNamespace(output=output)),
                               predictions=None if path is None else SimpleNamespace(path=path))

    text, mask, small, unknown = job("text", 1000, 500), job("mask", 100), job("label", 10), job("text", 0)
    assert _job_cost(text) == 1500 and _job_cost(mask) == 100 * FILE_VALUED_COST
    order = sorted([small, unknown, text, mask], key=_job_cost, reverse=True)
    assert order == [mask, text, small, unknown]
