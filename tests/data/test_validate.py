"""`generalbench validate` on the mini-bench, on a corrupted copy, and on predictions."""

from __future__ import annotations

import json
import shutil

import pytest

from generalbench.data.validate import validate

TASKS = ["image-comprehension-small-object-detection", "image-generation-image-deblurring",
         "image-comprehension-flood-area-segmentation", "language-time-series",
         "language-topic-classification", "audio-comprehension-sound-event-recognition"]
DET = "image/comprehension/SmallObjectDetection"


@pytest.fixture(scope="module")
def mini(mini_cut):
    return mini_cut(TASKS, per_task=10)


def test_clean_minibench_and_oracle_validate(mini, catalog, cli):
    root, oracle = mini
    result = validate(root, catalog, oracle)
    assert result.ok, [str(p) for r in result.reports for p in r.problems]
    assert {r.task_id for r in result.reports} == set(TASKS)
    assert all(r.instances == 10 and r.predictions == 10 for r in result.reports)
    assert sum(r.media for r in result.reports) > 40
    out = cli("validate", root, "--predictions", oracle)
    assert out.code == 0, out.out + out.err
    assert "no errors" in out.out


def _load(path):
    return json.loads(path.read_text())


def _save(path, doc):
    path.write_text(json.dumps(doc, indent=1))


def test_corrupted_copy_reports_each_problem(mini, catalog, tmp_path, cli):
    root, _ = mini
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    # 1. bad JSON
    (bad / "nlp/Time-Series/annotation.json").write_text('{"task": "Time Series", "data": [}')
    # 2. missing media file, 3. duplicate id, 4. wrong type in a target
    det = bad / DET / "annotation.json"
    doc = _load(det)
    (bad / DET / doc["data"][0]["input"]["image"]).unlink()
    doc["data"][2]["id"] = doc["data"][1]["id"]
    doc["data"][3]["output"]["answer"] = "three triangles"
    _save(det, doc)
    # 5. unknown task
    other = bad / "image/comprehension/NotATask"
    other.mkdir()
    _save(other / "annotation.json", {"task": "No Such Task", "type": "label", "data": []})
    result = validate(bad, catalog)
    assert not result.ok
    by_task = {r.task_id: r for r in result.reports}
    ts = by_task["language-time-series"].problems
    assert len(ts) == 1 and "Time-Series/annotation.json" in ts[0].message and "not valid JSON" in ts[0].message
    det_problems = {(p.instance, p.field): p for p in by_task["image-comprehension-small-object-detection"].problems}
    assert len(det_problems) == 3
    ids = [r["id"] for r in doc["data"]]
    missing = det_problems[(ids[0], "input.image")]
    assert missing.file == str(det) and "not found" in missing.message
    dup = det_problems[(ids[1], "id")]
    assert "duplicate" in dup.message
    wrong = det_problems[(ids[3], "output.answer")]
    assert "list of boxes" in wrong.message
    (unknown,) = result.dataset_problems
    assert unknown.file == str(other / "annotation.json") and unknown.field == "task"
    assert "'No Such Task'" in unknown.message
    for ok_task in TASKS[1:3]:
        assert by_task[ok_task].errors == 0
    out = cli("validate", bad)
    assert out.code == 1
    for text in ("not valid JSON", "field='input.image'", "duplicate instance id", "field='output.answer'",
                 "No Such Task", "FAIL"):
        assert text in out.out, text
    js = cli("validate", bad, "--format", "json")
    assert js.code == 1
    report = json.loads(js.out)
    assert report["ok"] is False and report["errors"] == 5


def test_bad_predictions_are_reported(mini, catalog, tmp_path, cli):
    root, oracle = mini
    preds = tmp_path / "preds"
    shutil.copytree(oracle, preds)
    det = preds / "image-comprehension-small-object-detection.jsonl"
    rows = [json.loads(x) for x in det.read_text().splitlines()]
    rows[0]["prediction"] = "three triangles"  # wrong native type
    rows[1]["id"] = "no-such-id"  # unknown id (and so one instance lacks a prediction)
    det.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    gen = preds / "image-generation-image-deblurring.jsonl"
    first = json.loads(gen.read_text().splitlines()[0])
    (preds / first["prediction"]).unlink()  # missing artifact
    (preds / "artifacts/image-generation-image-deblurring").joinpath("x").mkdir()
    series = preds / "language-time-series.jsonl"
    series.write_text(series.read_text() + '{"id": "0000", "prediction": 1.0}\n')  # duplicate
    result = validate(root, catalog, preds)
    by_task = {r.task_id: {(p.instance, p.field): p for p in r.problems} for r in result.reports}
    d = by_task["image-comprehension-small-object-detection"]
    assert "list of boxes" in d[(rows[0]["id"], "prediction")].message
    assert d[(rows[0]["id"], "prediction")].line == 1
    assert "not an instance" in d[("no-such-id", "id")].message and d[("no-such-id", "id")].line == 2
    assert "1 instance(s) have no prediction" in d[(None, "id")].message
    g = by_task["image-generation-image-deblurring"]
    assert "not found" in g[(first["id"], "prediction")].message
    s = by_task["language-time-series"]
    assert "duplicate" in s[("0000", "id")].message and s[("0000", "id")].line == 11
    out = cli("validate", root, "--predictions", preds)
    assert out.code == 1 and "not an instance" in out.out


def test_predictions_for_absent_task_and_quick(mini, catalog, tmp_path):
    root, oracle = mini
    preds = tmp_path / "preds"
    shutil.copytree(oracle, preds)
    (preds / "language-triviaqa.jsonl").write_text('{"id": "1", "prediction": "x"}\n')
    result = validate(root, catalog, preds)
    (orphan,) = result.prediction_problems
    assert orphan.task == "language-triviaqa" and "not in the dataset" in orphan.message
    quick = validate(root, catalog, oracle, quick=3)  # full predictions against the quick subset
    assert quick.ok and all(r.instances == 3 for r in quick.reports)


def test_minibench_predictions_zip_and_official_layout(mini, catalog, tmp_path):
    from generalbench.data import open_dataset, read_predictions, zip_predictions
    from generalbench.data.native import OUTPUT_TYPES

    root, oracle = mini
    ours = read_predictions(oracle, catalog)
    z = zip_predictions(oracle, tmp_path / "oracle.zip")
    zipped = read_predictions(z, catalog, cache=tmp_path / "cache")
    assert zipped.tasks == ours.tasks
    assert validate(root, catalog, z).ok
    # the same predictions as official prediction.json lists next to each annotation.json
    tree = tmp_path / "tree"
    shutil.copytree(root, tree)
    inline = [t for t in ours.task_ids() if OUTPUT_TYPES[catalog.get(t).output].artifact is None]
    assert len(inline) >= 4
    ds = open_dataset(tree, catalog)
    for task_id in inline:
        folder = ds.task(task_id).folder
        rows = [{"id": i, "prediction": p} for i, p in ours[task_id].items()]
        (folder / "prediction.json").write_text(json.dumps(rows))
    official = read_predictions(tree, catalog)
    assert official.layout == "official"
    assert official.tasks == {t: ours[t] for t in inline}
