"""Dataset tree reading: layout variations, matching, archives, quick subsets."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.data import open_dataset, quick_select
from generalbench.data.dataset import peek_header
from generalbench.errors import DataError

from .helpers import image, write_task

QA = {"task": "Legal Question Answering", "type": "MultipleChoiceQA",
      "data": [{"id": i, "input": {"question": f"q{i}", "options": ["a", "b"]}, "output": {"answer": "a"}}
               for i in range(30)]}


def test_layout_variations_and_unmatched(tmp_path, catalog):
    write_task(tmp_path, "NLP/Legal-Question-Answering", QA)
    write_task(tmp_path, "nlp/Engineering-Question-Answering",  # no `task` field: folder name
               {"type": "OpenQA", "data": [{"id": 1, "input": {"question": "q"}, "output": {"answer": "a"}}]})
    write_task(tmp_path, "nlp/Zz Eng QA copy",  # short name "Eng QA" -> already matched task
               {"type": "OpenQA", "task": "Eng QA", "data": []})
    write_task(tmp_path, "nlp/Mystery-Task", {"type": "OpenQA", "data": []})
    (tmp_path / "nlp/EmptyFolder").mkdir()
    write_task(tmp_path, "nlp/TwoFiles", {"data": []}, name="a.json")
    write_task(tmp_path, "nlp/TwoFiles", {"data": []}, name="b.json")
    (tmp_path / "Misc").mkdir()
    (tmp_path / "README.md").write_text("x")
    ds = open_dataset(tmp_path, catalog)
    matched = {td.task.id: td.matched_by for td in ds.tasks()}
    assert matched == {"language-legal-question-answering": "task",
                       "language-engineering-question-answering": "folder name"}
    reasons = {u.path.name: u.reason for u in ds.unmatched}
    assert set(reasons) == {"Zz Eng QA copy", "Mystery-Task", "EmptyFolder", "TwoFiles", "Misc"}
    assert "already read from" in reasons["Zz Eng QA copy"]
    assert "matches" in reasons["Mystery-Task"] and "'Mystery-Task'" in reasons["Mystery-Task"]
    assert "no annotation JSON" in reasons["EmptyFolder"]
    assert "several JSON files" in reasons["TwoFiles"]
    assert "not a modality folder" in reasons["Misc"]


def test_image_3d_case_and_short_name(tmp_path, catalog):
    folder = write_task(tmp_path, "Image/Comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "boxes", "version": "1",
        "data": [{"id": "0", "input": {"image": "images/0.png"},
                  "output": {"answer": [{"bbox": [1, 2, 3, 4], "label": "crack"}]}}]})
    image(folder / "images/0.png")
    ds = open_dataset(tmp_path, catalog)
    (td,) = ds.tasks()
    assert td.task.id == "image-comprehension-wood-anomaly-detection"
    assert td.header == {"task": "Wood Anomaly Detection", "type": "boxes", "version": "1"}
    (inst,) = td.instances()
    assert inst.target == [{"bbox": [1, 2, 3, 4], "label": "crack"}]
    assert inst.inputs["image"].resolve() == (folder / "images/0.png").absolute()


def test_peek_header_stops_before_data(tmp_path):
    path = tmp_path / "a.json"
    big = {"task": "T", "type": "x", "data": [{"id": i, "pad": "x" * 200} for i in range(20000)],
           "version": "late"}
    path.write_text(json.dumps(big))
    assert path.stat().st_size > 2 * (1 << 20)
    assert peek_header(path) == {"task": "T", "type": "x"}
    path.write_text(json.dumps({"data": [], "task": "T2"}))  # data first: whole-file fallback
    assert peek_header(path) == {"task": "T2"}


def _zip_task(path, prefix=""):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{prefix}annotation.json", json.dumps(QA))


def test_zip_and_tar_task_folders(tmp_path, catalog):
    root = tmp_path / "ds"
    (root / "nlp").mkdir(parents=True)
    _zip_task(root / "nlp/Legal-Question-Answering.zip", "Legal-Question-Answering/")
    # 3D style: a task folder holding one tarball
    folder = root / "3D/generation/text_to_3d_mesh"
    folder.mkdir(parents=True)
    doc = {"task": "Text-to-3D Living and Arts Mesh Generation", "type": "mesh", "data": [
        {"id": "m0", "input": {"prompt": "a chair"}}]}
    data = json.dumps(doc).encode()
    with tarfile.open(folder / "open.tar.gz", "w:gz") as tf:
        info = tarfile.TarInfo("annotation.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    cache = tmp_path / "cache"
    ds = open_dataset(root, catalog, cache=cache)
    assert not ds.unmatched, ds.unmatched
    ids = [td.task.id for td in ds.tasks()]
    assert "language-legal-question-answering" in ids
    legal = ds.task("language-legal-question-answering")
    assert legal.source.suffix == ".zip"
    assert len(list(legal.instances())) == 30
    assert str(legal.folder).startswith(str(cache))
    mesh = [td for td in ds.tasks() if td.task.modality == "3d"][0]
    (inst,) = mesh.instances()
    assert inst.inputs == {"prompt": "a chair"} and inst.target is None


def test_quick_subset_is_fixed_and_order_free(tmp_path, catalog):
    write_task(tmp_path, "nlp/Legal-Question-Answering", QA)
    td = open_dataset(tmp_path, catalog).task("language-legal-question-answering")
    first = [i.id for i in td.instances(quick=7)]
    assert len(first) == 7 and first == [i.id for i in td.instances(quick=7)]
    assert first == sorted(first, key=int)  # yielded in file order
    shuffled = dict(QA, data=list(reversed(QA["data"])))
    write_task(tmp_path, "nlp/Legal-Question-Answering", shuffled)
    td2 = open_dataset(tmp_path, catalog).task("language-legal-question-answering")
    assert sorted(i.id for i in td2.instances(quick=7)) == sorted(first)
    assert len(list(td.instances(quick=100))) == 30


@settings(max_examples=50, deadline=None)
@given(st.sets(st.text(min_size=1, max_size=8), min_size=1, max_size=40), st.integers(0, 45))
def test_quick_select_properties(ids, n):
    chosen = quick_select("task-x", ids, n)
    assert chosen <= ids and len(chosen) == min(n, len(ids))
    assert chosen <= quick_select("task-x", ids, n + 1)  # growing N only adds instances
    assert chosen == quick_select("task-x", list(reversed(sorted(ids))), n)


def test_duplicate_and_malformed_records_are_located(tmp_path, catalog):
    doc = {"task": "Legal Question Answering", "type": "MultipleChoiceQA", "data": [
        {"id": 1, "input": {"question": "q", "options": ["a"]}, "output": {"answer": "a"}},
        {"id": 1, "input": {"question": "q", "options": ["a"]}, "output": {"answer": "a"}},
        "oops",
        {"input": {"question": "q"}, "output": {"answer": "a"}},
    ]}
    folder = write_task(tmp_path, "nlp/Legal-Question-Answering", doc)
    td = open_dataset(tmp_path, catalog).task("language-legal-question-answering")
    items = list(td.check())
    problems = [p for p in items if not hasattr(p, "task_id")]
    assert len(items) == 4 and len(problems) == 3
    text = [str(p) for p in problems]
    assert all(str(folder / "annotation.json") in t for t in text)
    assert "id='1'" in text[0] and "duplicate" in text[0]
    assert "field='data[2]'" in text[1]
    assert "field='id'" in text[2] and "no 'id'" in text[2]
    with pytest.raises(DataError, match="duplicate"):
        list(td.instances())


def test_bad_json_names_file_and_line(tmp_path, catalog):
    write_task(tmp_path, "nlp/Legal-Question-Answering", '{"task": "Legal Question Answering",\n "data": [,]}')
    ds = open_dataset(tmp_path, catalog)
    td = ds.task("language-legal-question-answering")
    with pytest.raises(DataError, match=r"annotation.json: line 2: not valid JSON"):
        list(td.instances())


def test_unknown_image_layout_and_malformed_native_records(tmp_path, catalog):
    write_task(tmp_path, "image/comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "COCO", "data": [{"id": 1, "img": "a.png", "anns": []}]})
    td = open_dataset(tmp_path, catalog).task("image-comprehension-wood-anomaly-detection")
    with pytest.raises(DataError, match=r"field='type'.*'COCO' is not a known layout.*boxes"):
        list(td.instances())
    write_task(tmp_path, "image/comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "boxes", "data": [
            {"id": 1, "input": "a.png"}, {"id": 2, "input": {"image": 7}},
            {"id": 3, "input": {}, "output": {"boxes": []}}]})
    td = open_dataset(tmp_path, catalog).task("image-comprehension-wood-anomaly-detection")
    fields = [(p.instance, p.field) for p in td.check()]
    assert fields == [("1", "input"), ("2", "input.image"), ("3", "output.answer")]


def test_pinned_media_hash_is_checked(tmp_path, catalog):
    import hashlib

    from generalbench.data.validate import validate

    folder = write_task(tmp_path, "image/comprehension/WoodAnomalyDetection", {"task": "Wood Anomaly Detection",
                        "type": "boxes", "data": []})
    image(folder / "images/0.png", 3)
    good = hashlib.sha256((folder / "images/0.png").read_bytes()).hexdigest()
    records = [{"id": "ok", "input": {"image": {"path": "images/0.png", "sha256": good}}, "output": {"answer": []}},
               {"id": "bad", "input": {"image": {"path": "images/0.png", "sha256": "0" * 64}},
                "output": {"answer": []}}]
    write_task(tmp_path, "image/comprehension/WoodAnomalyDetection",
               {"task": "Wood Anomaly Detection", "type": "boxes", "data": records})
    insts = list(open_dataset(tmp_path, catalog).task("Wood Anomaly Detection").instances())
    assert insts[0].to_json()["inputs"]["image"] == {"kind": "image", "path": "images/0.png", "sha256": good}
    (report,) = validate(tmp_path, catalog).reports
    (problem,) = report.problems
    assert problem.instance == "bad" and problem.field == "input.image" and "sha256 differs" in problem.message


def test_root_may_be_a_modality_folder(tmp_path, catalog):
    write_task(tmp_path, "NLP/Legal-Question-Answering", QA)
    ds = open_dataset(tmp_path / "NLP", catalog)
    assert [td.task.id for td in ds.tasks()] == ["language-legal-question-answering"] and not ds.unmatched
