"""`generalbench download` (local mirror, and the hub path through huggingface_hub's own pattern
matching) and `generalbench split`."""

from __future__ import annotations

import json
import shutil

import pytest

from generalbench.data import open_dataset
from generalbench.data.download import download, select
from generalbench.data.split import open_ids, split_dataset
from generalbench.data.validate import validate
from generalbench.errors import CatalogError, DataError

from .helpers import image, wav, write_task

LEGAL = {"task": "Legal Question Answering", "type": "MultipleChoiceQA",
         "data": [{"id": i, "input": {"question": f"q{i}", "options": ["a", "b"]}, "output": {"answer": "a"}}
                  for i in range(10)]}


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "General-Bench-Openset"
    write_task(root, "nlp/Legal-Question-Answering", LEGAL)
    write_task(root, "nlp/Time-Series", {"task": "Time Series", "type": "Time Series", "data": [
        {"id": i, "input": {"data": [1.0, 2.0]}, "output": {"target": 3.0}} for i in range(5)]})
    acc = write_task(root, "audio/comprehension/AcousticSceneClassification", {
        "type": "comprehension", "data": [{"id": i, "input": {"audio_file": f"{i}.wav", "prompt": "?"},
                                           "output": {"text": "park"}} for i in range(5)]})
    for i in range(5):
        wav(acc / f"audios/{i}.wav")
    wood = write_task(root, "image/comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "boxes", "data": [
            {"id": f"w{i}", "input": {"image": f"images/{i}.png"},
             "output": {"answer": [{"bbox": [0, 0, 2, 2], "label": "knot"}]}} for i in range(5)]})
    for i in range(5):
        image(wood / f"images/{i}.png", i)
    (root / "image/comprehension/Unknown-Folder").mkdir(parents=True)
    (root / "image/comprehension/Unknown-Folder/x.txt").write_text("x")
    (root / "README.md").write_text("card")
    return root


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_mirror_download_by_modality_and_task(mirror, tmp_path, catalog, cli):
    res = download("open", catalog, dest=tmp_path / "a", modalities=["nlp"], source=mirror.parent)
    assert _files(tmp_path / "a") == ["README.md", "nlp/Legal-Question-Answering/annotation.json",
                                      "nlp/Time-Series/annotation.json"]
    assert res.files == 3
    res = download("open", catalog, dest=tmp_path / "b", tasks=["Acoustic Scene Recognition"], source=mirror)
    assert set(res.selection.folders) == {"audio-comprehension-acoustic-scene-recognition"}
    assert len(_files(tmp_path / "b")) == 7  # README + annotation + 5 wavs
    ds = open_dataset(tmp_path / "b", catalog)
    assert [td.task.id for td in ds.tasks()] == ["audio-comprehension-acoustic-scene-recognition"]
    out = cli("download", "--split", "open", "--modality", "image", "--dest", tmp_path / "c",
              "--source", mirror)
    assert out.code == 0, out.err
    assert "1 task folder(s)" in out.out and "Unknown-Folder" in out.err
    assert validate(tmp_path / "c", catalog).ok


def test_download_reports_missing_tasks(mirror, tmp_path, catalog, cli):
    with pytest.raises(DataError, match="no folder for task.*language-triviaqa"):
        download("open", catalog, dest=tmp_path / "x", tasks=["TriviaQA"], source=mirror)
    out = cli("download", "--split", "open", "--tasks", "Not A Task", "--dest", tmp_path / "y",
              "--source", mirror)
    assert out.code == 2 and "unknown task" in out.err
    with pytest.raises(CatalogError, match="unknown modality 'smell'; use one of .*image.*nlp"):
        select([], catalog, modalities=["smell"])


def test_hub_path_uses_allow_patterns(mirror, tmp_path, catalog, monkeypatch):
    """The hub branch: list the repo, then snapshot_download with allow_patterns. The fake hub
    serves the mirror and applies the patterns with huggingface_hub's own filter."""
    hub = pytest.importorskip("huggingface_hub")
    from huggingface_hub.utils import filter_repo_objects

    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            pass

        def list_repo_files(self, repo_id, repo_type=None, revision=None):
            calls["listed"] = (repo_id, repo_type)
            return _files(mirror)

    def fake_snapshot(repo_id, *, repo_type, revision, token, local_dir, allow_patterns):
        calls["snapshot"] = (repo_id, repo_type, allow_patterns)
        for rel in filter_repo_objects(_files(mirror), allow_patterns=allow_patterns):
            dst = tmp_path / local_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(mirror / rel, dst)
        return local_dir

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    monkeypatch.setattr(hub, "snapshot_download", fake_snapshot)
    res = download("closed", catalog, dest=tmp_path / "hub", tasks=["language-legal-question-answering",
                                                                     "Wood Anomaly Detection"])
    assert calls["listed"] == ("General-Level/General-Bench-Closeset", "dataset")
    repo, kind, patterns = calls["snapshot"]
    assert repo == "General-Level/General-Bench-Closeset" and kind == "dataset"
    assert "nlp/Legal-Question-Answering/*" in patterns
    assert "image/comprehension/WoodAnomalyDetection/*" in patterns
    got = _files(tmp_path / "hub")
    assert "nlp/Time-Series/annotation.json" not in got and len(got) == 8  # README, 2 annotations, 5 images
    assert res.files == 8


def test_select_archives_and_nested_tarballs(catalog):
    listing = ["video/comprehension/AnimalVOS.zip", "video/comprehension/HumanVG/annotation.json",
               "3D/generation/image_2_3d_mesh/open.tar.gz", "video/comprehension/AnimalVOS.zip"]
    sel = select(listing, catalog, modalities=["video"])
    assert sel.folders == {"video-comprehension-animal-video-object-segmentation": "video/comprehension/AnimalVOS.zip",
                           "video-comprehension-human-video-grounding": "video/comprehension/HumanVG"}
    assert "video/comprehension/AnimalVOS.zip" in sel.patterns()


def test_split_is_two_to_three_and_hides_answers(mirror, tmp_path, catalog, cli):
    out = tmp_path / "split"
    report = split_dataset(mirror, out, catalog)
    assert report.tasks["language-legal-question-answering"] == {"open": 4, "closed": 6}
    assert report.tasks["language-time-series"] == {"open": 2, "closed": 3}
    for part in ("open", "closed", "answers"):
        assert validate(out / part, catalog).ok, part
    closed = json.loads((out / "closed/nlp/Legal-Question-Answering/annotation.json").read_text())
    answers = json.loads((out / "answers/nlp/Legal-Question-Answering/annotation.json").read_text())
    opened = json.loads((out / "open/nlp/Legal-Question-Answering/annotation.json").read_text())
    assert all("output" not in r for r in closed["data"]) and all("output" in r for r in answers["data"])
    assert [r["id"] for r in closed["data"]] == [r["id"] for r in answers["data"]]
    assert {r["id"] for r in opened["data"]}.isdisjoint(r["id"] for r in closed["data"])
    assert closed["task"] == "Legal Question Answering"
    ts = json.loads((out / "closed/nlp/Time-Series/annotation.json").read_text())
    assert all(set(r) == {"id", "input"} for r in ts["data"])
    # closed media: only inputs of closed instances
    closed_imgs = sorted(p.name for p in (out / "closed/image/comprehension/WoodAnomalyDetection/images").iterdir())
    wood = json.loads((out / "closed/image/comprehension/WoodAnomalyDetection/annotation.json").read_text())
    assert closed_imgs == sorted(r["input"]["image"].split("/")[1] for r in wood["data"])
    # deterministic, and independent of file order
    again = split_dataset(mirror, tmp_path / "again", catalog)
    assert again.tasks == report.tasks
    ids = [str(i) for i in range(10)]
    assert open_ids("t", ids) == open_ids("t", list(reversed(ids))) and len(open_ids("t", ids)) == 4
    with pytest.raises(DataError, match="not empty"):
        split_dataset(mirror, out, catalog)
    res = cli("split", mirror, "--out", tmp_path / "cli")
    assert res.code == 0 and "open" in res.out


def test_split_refuses_closed_input(mirror, tmp_path, catalog):
    split_dataset(mirror, tmp_path / "s", catalog)
    with pytest.raises(DataError, match="fully annotated"):
        split_dataset(tmp_path / "s/closed", tmp_path / "s2", catalog)


def test_split_strips_official_answer_fields(tmp_path, catalog):
    write_task(tmp_path / "d", "video/comprehension/HumanVG", {"type": "VG", "data": [
        {"id": f"g{i}", "video_path": "b.mp4", "frame_count": 2, "caption": "who", "tube_start_frame": 0,
         "tube_end_frame": 1, "trajectory": {"0": {"bbox": [0, 0, 1, 1]}}} for i in range(5)]})
    (tmp_path / "d/video/comprehension/HumanVG/videos").mkdir()
    (tmp_path / "d/video/comprehension/HumanVG/videos/b.mp4").write_bytes(b"x")
    write_task(tmp_path / "d", "nlp/Mathematical-Word-Problem-Solving", {
        "type": "Mathematical Word Problem Solving", "data": [
            {"id": i, "problem": {"text": "1+1"}, "solution": {"final_answer": "2"}} for i in range(5)]})
    split_dataset(tmp_path / "d", tmp_path / "s", catalog)
    vg = json.loads((tmp_path / "s/closed/video/comprehension/HumanVG/annotation.json").read_text())
    assert vg["data"] and all(set(r) == {"id", "video_path", "frame_count", "caption"} for r in vg["data"])
    math = json.loads((tmp_path / "s/closed/nlp/Mathematical-Word-Problem-Solving/annotation.json").read_text())
    assert math["data"] and all(set(r) == {"id", "problem"} for r in math["data"])


def test_split_reads_archives_and_writes_folders(tmp_path, catalog):
    import io
    import tarfile
    import zipfile

    root = tmp_path / "d"
    (root / "nlp").mkdir(parents=True)
    with zipfile.ZipFile(root / "nlp/Legal-Question-Answering.zip", "w") as zf:
        zf.writestr("annotation.json", json.dumps(LEGAL))
    folder = root / "3D/generation/text_mesh"
    folder.mkdir(parents=True)
    doc = json.dumps({"task": "Text-to-3D Living and Arts Mesh Generation", "type": "mesh", "data": [
        {"id": f"m{i}", "input": {"prompt": "a chair"}, "output": {"answer": f"meshes/{i}.obj"}} for i in range(5)]})
    with tarfile.open(folder / "open.tar.gz", "w:gz") as tf:
        for name, data in [("annotation.json", doc.encode())] + [
                (f"meshes/{i}.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n") for i in range(5)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    ds = open_dataset(root, catalog, cache=tmp_path / "cache")
    assert len(ds.tasks()) == 2, ds.unmatched
    import os

    os.environ["GENERALBENCH_CACHE"] = str(tmp_path / "cache")
    try:
        report = split_dataset(root, tmp_path / "s", catalog)
    finally:
        del os.environ["GENERALBENCH_CACHE"]
    assert report.tasks["language-legal-question-answering"] == {"open": 4, "closed": 6}
    assert (tmp_path / "s/open/nlp/Legal-Question-Answering/annotation.json").exists()
    answers = tmp_path / "s/answers/3D/generation/text_mesh"
    assert (answers / "annotation.json").exists() and len(list((answers / "meshes").iterdir())) == 3
    assert not (tmp_path / "s/closed/3D/generation/text_mesh/meshes").exists()
    assert validate(tmp_path / "s/answers", catalog).ok
