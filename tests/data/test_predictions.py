"""The predictions format: writing, resuming, reading folders, zips and the official layouts."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generalbench.data import PredictionWriter, read_predictions, zip_predictions
from generalbench.data.media import save_image
from generalbench.errors import PredictionError
from tests.strategies import json_values

QA = "language-legal-question-answering"
NER = "language-scientific-ner"


@pytest.fixture
def gen_task(catalog):
    return next(t for t in catalog if t.output == "image" and t.paradigm == "generation")


def _write(folder, catalog, gen_task):
    img = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    with PredictionWriter(folder, "tiny-model", catalog=catalog, prompts={"text": "v1"},
                          meta={"seed": 3}) as w:
        w.add(QA, "1", "B")
        w.add(QA, 2, "A")
        w.add(NER, "x", ["BERT", "GLUE"])
        path, rel = w.artifact_path(gen_task.id, "face/7", ".png")
        save_image(path, img)
        w.add(gen_task.id, "face/7", rel)
    return img


def test_write_read_roundtrip(tmp_path, catalog, gen_task):
    img = _write(tmp_path / "p", catalog, gen_task)
    preds = read_predictions(tmp_path / "p", catalog)
    assert preds.layout == "generalbench"
    assert preds.tasks[QA] == {"1": "B", "2": "A"} and preds[NER] == {"x": ["BERT", "GLUE"]}
    m = preds.manifest
    assert m["model"] == "tiny-model" and m["catalog"] == catalog.info() and m["prompts"] == {"text": "v1"}
    assert m["seed"] == 3 and m["format"] == "generalbench-predictions/1" and "created" in m
    assert "generalbench_version" in m
    rel = preds[gen_task.id]["face/7"]
    assert rel.startswith("artifacts/") and ".." not in rel
    assert np.array_equal(preds.native(gen_task, rel), img)
    lines = (tmp_path / "p" / f"{QA}.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == [{"id": "1", "prediction": "B"}, {"id": "2", "prediction": "A"}]


def test_resume_and_duplicates(tmp_path, catalog):
    folder = tmp_path / "p"
    with PredictionWriter(folder, "m") as w:
        w.add(QA, "1", "A")
    with (folder / f"{QA}.jsonl").open("a") as fh:
        fh.write('{"id": "2", "predic')  # a crash mid-line
    with PredictionWriter(folder, "m") as w:
        assert w.done(QA) == {"1"}
        with pytest.raises(PredictionError, match="already written"):
            w.add(QA, "1", "B")
        w.add(QA, "2", "C")
    assert read_predictions(folder, catalog)[QA] == {"1": "A", "2": "C"}
    with pytest.raises(PredictionError, match="model 'm'"):
        PredictionWriter(folder, "other-model")


def test_writer_rejects_nan_and_arrays(tmp_path):
    with PredictionWriter(tmp_path / "p", "m") as w:
        with pytest.raises(PredictionError, match="field='prediction'"):
            w.add("language-time-series", "1", float("nan"))
        with pytest.raises(PredictionError, match="written as files"):
            w.add("language-time-series", "2", np.zeros(3))
        w.add("language-time-series", "3", np.float32(2.5))
    with pytest.raises(PredictionError, match="cannot be a file name"):
        PredictionWriter(tmp_path / "q", "m").add("../evil", "1", "x")


@pytest.mark.parametrize("line,match", [
    ('{"id": "1", "prediction": "A"', r"line 2: task=.*not valid JSON"),
    ('{"id": "1", "prediction": NaN}', r"line 2: .*NaN is not allowed"),
    ('{"id": "1"}', r"line 2: .*field='prediction': missing"),
    ('{"prediction": "A"}', r"line 2: .*field='id'"),
    ('{"id": "0", "prediction": "B"}', r"line 2: task=.*id='0': duplicate id"),
    ('{"id": "1", "prediction": ' + "[" * 100_000 + "]" * 100_000 + "}",
     r"line 2: task=.*not valid JSON \(nested too deeply\)"),
])
def test_bad_lines_are_located(tmp_path, catalog, line, match):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / f"{QA}.jsonl").write_text('{"id": "0", "prediction": "A"}\n' + line + "\n")
    preds = read_predictions(folder, catalog)
    with pytest.raises(PredictionError, match=match) as err:
        preds.task(QA)
    assert f"{QA}.jsonl" in str(err.value)


def test_unknown_task_file(tmp_path, catalog):
    (tmp_path / "legal-question-answering.jsonl").write_text('{"id": "0", "prediction": "A"}\n')
    with pytest.raises(PredictionError, match=r"unknown task.*did you mean 'language-legal-question-answering'"):
        read_predictions(tmp_path, catalog)


def test_zip_roundtrip(tmp_path, catalog, gen_task):
    img = _write(tmp_path / "p", catalog, gen_task)
    z = zip_predictions(tmp_path / "p", tmp_path / "sub.zip")
    preds = read_predictions(z, catalog, cache=tmp_path / "cache")
    direct = read_predictions(tmp_path / "p", catalog)
    assert preds.tasks == direct.tasks and preds.manifest == direct.manifest
    assert np.array_equal(preds.native(gen_task, preds[gen_task.id]["face/7"]), img)
    # a zip whose content sits in one top folder reads the same
    with zipfile.ZipFile(tmp_path / "wrapped.zip", "w") as zf:
        for p in sorted((tmp_path / "p").rglob("*")):
            if p.is_file():
                zf.write(p, "mysub/" + p.relative_to(tmp_path / "p").as_posix())
    assert read_predictions(tmp_path / "wrapped.zip", catalog, cache=tmp_path / "c2").tasks == direct.tasks


def test_zip_with_traversal_is_refused(tmp_path, catalog):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../x.jsonl", "{}")
    with pytest.raises(PredictionError, match="refusing"):
        read_predictions(tmp_path / "evil.zip", catalog, cache=tmp_path / "cache")


def test_official_prediction_json_reads_to_same(tmp_path, catalog):
    ours = tmp_path / "ours"
    with PredictionWriter(ours, "m") as w:
        w.add(QA, "1", "B")
        w.add(QA, "2", "A")
        w.add("language-mathematical-word-problem-solving", "m1", "4")
    tree = tmp_path / "tree"
    legal = tree / "nlp/Legal-Question-Answering"
    legal.mkdir(parents=True)
    (legal / "annotation.json").write_text(json.dumps({"task": "Legal Question Answering", "data": []}))
    (legal / "prediction.json").write_text(json.dumps([{"id": "1", "prediction": "B"},
                                                       {"id": 2, "prediction": "A"}]))
    math = tree / "nlp/Mathematical-Word-Problem-Solving"  # no annotation: folder name matches
    math.mkdir(parents=True)
    (math / "prediction.json").write_text(json.dumps(
        [{"id": "m1", "prediction_steps": ["2+2"], "prediction_final": "4"}]))
    official = read_predictions(tree, catalog)
    assert official.layout == "official"
    assert official.tasks == read_predictions(ours, catalog).tasks


def test_website_format(tmp_path, catalog):
    sub = tmp_path / "site"
    sub.mkdir()
    (sub / "a.json").write_text(json.dumps({"task": "Legal Question Answering", "skill": "Advanced QA",
                                            "type": "comprehension",
                                            "data": [{"id": "1", "prediction": "B"}, {"id": "2", "prediction": "A"}]}))
    preds = read_predictions(sub, catalog)
    assert preds.layout == "website" and preds.tasks == {QA: {"1": "B", "2": "A"}}
    assert read_predictions(sub / "a.json", catalog).tasks == preds.tasks
    (sub / "b.json").write_text(json.dumps({"task": "No Such Task", "data": []}))
    with pytest.raises(PredictionError, match=r"b.json, field='task': unknown task"):
        read_predictions(sub, catalog)





@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12).filter(str.strip), json_values),
                max_size=8, unique_by=lambda t: t[0]))
def test_any_json_prediction_roundtrips_through_folder_and_zip(tmp_path_factory, catalog, rows):
    base = tmp_path_factory.mktemp("rt")
    with PredictionWriter(base / "p", "m", fsync=False) as w:
        for iid, value in rows:
            w.add(QA, iid, value)
    expected = {iid: value for iid, value in rows}
    if rows:
        assert read_predictions(base / "p", catalog).tasks == {QA: expected}
        z = zip_predictions(base / "p", base / "p.zip")
        assert read_predictions(z, catalog, cache=base / "c").tasks == {QA: expected}
