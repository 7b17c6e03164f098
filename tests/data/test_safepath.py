"""Nothing outside a submitted folder is ever read: symlinks, pipes, long paths, duplicate members.

Each case reproduces an attack or accident from issue 12 against the mini-bench and its oracle
predictions, and checks that `validate`, `score` and the readers refuse it with a message.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile

import pytest

from generalbench.data.archive import safe_extract
from generalbench.data.predictions import read_predictions
from generalbench.data.safepath import check_inside, resolve_inside
from generalbench.data.validate import validate
from generalbench.errors import DataError, PredictionError

GEN = "image-generation-image-deblurring"
SEG = "image-comprehension-flood-area-segmentation"
VID = "video-generation-human-video-generation"
TASKS = [GEN, SEG, VID, "language-time-series"]


@pytest.fixture(scope="module")
def mini(mini_cut):
    return mini_cut(TASKS, per_task=4)


@pytest.fixture
def preds(mini, tmp_path):
    _, oracle = mini
    out = tmp_path / "preds"
    shutil.copytree(oracle, out)
    return out


def _rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def _problems(result, task):
    return [p.message for r in result.reports if r.task_id == task for p in r.problems]


def _answer_key_file(root, catalog):
    """A reference image of the deblurring task: the file an attacker wants to be scored against."""
    from generalbench.data import open_dataset

    inst = next(open_dataset(root, catalog).task(GEN).instances())
    return inst.target.resolve()


def test_symlinked_artifact_is_refused_by_validate_and_score(mini, preds, catalog):
    root, _ = mini
    first = _rows(preds / f"{GEN}.jsonl")[0]
    artifact = preds / first["prediction"]
    artifact.unlink()
    artifact.symlink_to(_answer_key_file(root, catalog))
    result = validate(root, catalog, preds)
    assert not result.ok
    assert any("outside" in m for m in _problems(result, GEN)), _problems(result, GEN)
    loaded = read_predictions(preds, catalog)
    with pytest.raises(DataError, match="outside"):
        loaded.native(catalog.get(GEN), first["prediction"])


def test_symlinked_artifact_folder_and_task_file_are_refused(mini, preds, catalog, tmp_path):
    root, _ = mini
    outside = tmp_path / "elsewhere"
    shutil.move(preds / "artifacts" / GEN, outside)
    (preds / "artifacts" / GEN).symlink_to(outside, target_is_directory=True)
    result = validate(root, catalog, preds)
    assert any("outside" in m for m in _problems(result, GEN))
    jsonl = preds / "language-time-series.jsonl"
    moved = tmp_path / "series.jsonl"
    shutil.move(jsonl, moved)
    jsonl.symlink_to(moved)
    with pytest.raises(PredictionError, match="outside"):
        read_predictions(preds, catalog)


def test_symlink_inside_the_folder_is_fine(preds, catalog):
    first = _rows(preds / f"{GEN}.jsonl")[0]
    artifact = preds / first["prediction"]
    copy = artifact.with_name("copy.png")
    shutil.move(artifact, copy)
    artifact.symlink_to(copy.name)
    assert resolve_inside(preds, first["prediction"]) == artifact.absolute()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_artifact_is_refused_not_read(mini, preds, catalog):
    root, _ = mini
    first = _rows(preds / f"{GEN}.jsonl")[0]
    artifact = preds / first["prediction"]
    artifact.unlink()
    os.mkfifo(artifact)
    result = validate(root, catalog, preds)  # reading the pipe would block forever
    assert any("not a regular file" in m for m in _problems(result, GEN))
    with pytest.raises(DataError, match="not a regular file"):
        check_inside(artifact, preds)


def test_overlong_artifact_path_is_a_problem_not_an_oserror(mini, preds, catalog):
    root, _ = mini
    path = preds / f"{GEN}.jsonl"
    rows = _rows(path)
    rows[0]["prediction"] = "artifacts/" + "a" * 5000 + ".png"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = validate(root, catalog, preds)
    assert any("5014 characters" in m for m in _problems(result, GEN)), _problems(result, GEN)


def test_frame_folder_with_frames_of_different_sizes_is_rejected(mini, preds, catalog):
    from generalbench.data import media

    root, _ = mini
    first = _rows(preds / f"{VID}.jsonl")[0]
    folder = preds / first["prediction"]
    frame = sorted(folder.iterdir())[1]
    h, w = media.load_image(frame).shape[:2]
    media.save_image(frame, media.np.zeros((h + 3, w, 3), media.np.uint8))
    result = validate(root, catalog, preds)
    assert any("frames differ in size" in m for m in _problems(result, VID)), _problems(result, VID)


@pytest.mark.parametrize("rle, why", [
    ({"size": [8, 8], "counts": "garbage"}, "RLE"),
    ({"size": [8, 8], "counts": [3, 4]}, "cover 7 pixels"),
    ({"size": [8, 8], "counts": [70, -6]}, "negative"),
    ({"size": ["8", 8], "counts": [64]}, "size"),
])
def test_garbage_rle_mask_prediction_is_rejected(mini, preds, catalog, rle, why):
    root, _ = mini
    path = preds / f"{SEG}.jsonl"
    rows = _rows(path)
    rows[0]["prediction"] = rle
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = validate(root, catalog, preds)
    assert any(why in m for m in _problems(result, SEG)), _problems(result, SEG)


def test_valid_rle_is_accepted():
    import numpy as np

    from generalbench.data.media import check_rle, encode_rle

    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = rng.integers(1, 30, 2)
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        assert check_rle(encode_rle(mask)) is None


def test_zip_with_a_duplicate_member_is_refused(tmp_path):
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("run.json", "{}")
        zf.writestr("task.jsonl", '{"id": "1", "prediction": "honest"}\n')
        with pytest.warns(UserWarning):  # zipfile itself warns about the duplicate name
            zf.writestr("task.jsonl", '{"id": "1", "prediction": "swapped"}\n')
    with pytest.raises(DataError, match="appears twice"):
        safe_extract(archive, tmp_path / "out")


def test_tar_with_a_duplicate_member_is_refused(tmp_path):
    import io
    import tarfile

    archive = tmp_path / "dup.tar"
    with tarfile.open(archive, "w") as tf:
        for text in (b"a", b"b"):
            info = tarfile.TarInfo("x/file.txt")
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text))
    with pytest.raises(DataError, match="appears twice"):
        safe_extract(archive, tmp_path / "out")


def test_symlinked_annotation_is_never_opened(mini, tmp_path, catalog):
    from generalbench.data import open_dataset

    root, _ = mini
    data = tmp_path / "data"
    shutil.copytree(root, data)
    ann = next(data.rglob("annotation.json"))
    secret = tmp_path / "secret.json"
    shutil.move(ann, secret)
    ann.symlink_to(secret)
    ds = open_dataset(data, catalog)
    reasons = [u.reason for u in ds.unmatched]
    assert any("outside" in r for r in reasons), reasons
    result = validate(data, catalog)
    assert not result.ok and any("outside" in p.message for p in result.dataset_problems)


def test_score_never_reads_the_answer_key_through_a_symlink(mini, preds, catalog):
    from generalbench.runner.score import score_predictions

    root, _ = mini
    key = _answer_key_file(root, catalog)
    rows = _rows(preds / f"{GEN}.jsonl")
    for row in rows:
        artifact = preds / row["prediction"]
        artifact.unlink()
        artifact.symlink_to(key)
    result, details = score_predictions(preds, root, catalog)
    assert details[GEN].failed == len(rows), details[GEN]


def test_iter_files_refuses_a_file_linked_from_outside(tmp_path):
    from generalbench.data.safepath import iter_files

    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "0.png").write_bytes(b"x")
    assert [p.name for p in iter_files(folder)] == ["0.png"]
    (tmp_path / "secret").write_bytes(b"s")
    (folder / "1.png").symlink_to(tmp_path / "secret")
    with pytest.raises(DataError, match="outside"):
        list(iter_files(folder))


def test_symlinked_task_archive_in_the_dataset_is_not_unpacked(tmp_path, catalog):
    from generalbench.data import open_dataset

    outside = tmp_path / "TriviaQA.zip"
    with zipfile.ZipFile(outside, "w") as zf:
        zf.writestr("annotation.json", json.dumps({"task": "TriviaQA", "data": []}))
    nlp = tmp_path / "data" / "nlp"
    nlp.mkdir(parents=True)
    (nlp / "TriviaQA.zip").symlink_to(outside)
    ds = open_dataset(tmp_path / "data", catalog, cache=tmp_path / "cache")
    assert not ds.tasks() and any("outside" in u.reason for u in ds.unmatched)
    assert not (tmp_path / "cache").exists()
