"""Native value types: JSON form checks and decoding."""

from __future__ import annotations

import re

import numpy as np
import pytest

from generalbench.data import OUTPUT_TYPES, MediaRef, check_native, load_native
from generalbench.data.media import encode_rle, save_image, save_mask
from generalbench.data.native import coerce_reference

VALID = [
    ("text", "a cat"), ("label", "yes"), ("label_set", ["a", "b"]), ("label_set", []),
    ("number", 3), ("number", -2.5), ("number_series", [1, 2.5]),
    ("boxes", [{"bbox": [1, 2, 3, 4], "label": "x", "score": 0.5}]), ("boxes", []),
    ("mask", "masks/0.png"), ("mask", {"size": [2, 2], "counts": "04"}),
    ("mask_series", ["a.png", {"size": [2, 2], "counts": [0, 4]}]),
    ("dense", "d.npz"), ("dense_series", "d.npz"), ("dense_series", ["a.npy", "b.npy"]),
    ("flow", "f.flo"), ("track", [[1, 2, 3, 4], None]), ("image", "out/x.png"), ("video", "v.mp4"),
    ("audio", "a.wav"), ("pointcloud", "p.ply"), ("mesh", "m.obj"), ("motion", "m.npy"),
    ("point_labels", [0, 1, 1]), ("point_labels", "l.npy"),
    ("poses", [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]]),
    ("boxes3d", [{"box": [0, 0, 0, 1, 1, 1, 0], "label": "car"}]),
    ("tracks3d", [{"frame": 0, "track_id": 3, "box": [0, 0, 0, 1, 1, 1, 0], "label": "car"}]),
]
INVALID = [
    ("text", ["a", "b"], "string"), ("label", 3, "string"), ("label_set", "a, b", "list of strings"),
    ("number", "3", "finite number"), ("number", float("nan"), "finite number"), ("number", True, "finite"),
    ("number_series", [1, float("inf")], "finite"), ("boxes", "cat", "list of boxes"),
    ("boxes", [{"bbox": [1, 2, 3]}], "4 finite numbers"), ("boxes", [{"bbox": [0, 0, -1, 2]}], "negative"),
    ("mask", {"size": [2], "counts": "x"}, "height, width"), ("mask", "../x.png", "leave"),
    ("mask_series", [], "non-empty"), ("track", [[1, 2]], r"\[0\]"), ("image", "/abs.png", "relative"),
    ("image", 5, "file path"), ("point_labels", [0.5], "integer"), ("poses", [[1, 2]], "matrices"),
    ("tracks3d", [{"box": [0] * 7, "label": "c"}], "frame"), ("nonsense", 1, "unknown output type"),
]


def test_every_catalog_output_type_is_known(catalog):
    assert {t.output for t in catalog} <= set(OUTPUT_TYPES)


@pytest.mark.parametrize("output,value", VALID, ids=[f"{o}-{i}" for i, (o, _) in enumerate(VALID)])
def test_valid_values(output, value):
    assert check_native(output, value) is None


@pytest.mark.parametrize("output,value,message", INVALID, ids=[f"{o}-{i}" for i, (o, _, _) in enumerate(INVALID)])
def test_invalid_values(output, value, message):
    err = check_native(output, value)
    assert err is not None
    assert re.search(message, err), err


def test_references_accept_alternatives():
    assert check_native("text", ["a", "b"], reference=True) is None
    assert check_native("text", ["a", "b"]) is not None


def test_coerce_official_references():
    assert coerce_reference("label_set", "BERT, GLUE") == ["BERT", "GLUE"]
    assert coerce_reference("label_set", "") == []
    assert coerce_reference("number", "2.5") == 2.5
    assert coerce_reference("label", 1) == "1" and coerce_reference("label", ["x"]) == "x"
    assert coerce_reference("track", [[], {"bbox": [1, 1, 2, 2]}]) == [None, [1, 1, 2, 2]]
    m = np.zeros((5, 6), np.uint8)
    m[1:3, 2:5] = 1
    assert coerce_reference("track", [encode_rle(m)]) == [[2.0, 1.0, 3.0, 2.0]]


def test_load_native_decodes_files_and_rles(tmp_path):
    m = np.array([[0, 1], [2, 2]])
    save_mask(tmp_path / "m.png", m)
    assert np.array_equal(load_native("mask", "m.png", tmp_path), m)
    rle = encode_rle(m == 2)
    series = load_native("mask_series", ["m.png", rle], tmp_path)
    assert np.array_equal(series[0], m) and np.array_equal(series[1], (m == 2).astype(int))
    np.save(tmp_path / "a.npy", np.ones((2, 3)))
    np.save(tmp_path / "b.npy", np.zeros((2, 3)))
    assert load_native("dense_series", ["a.npy", "b.npy"], tmp_path).shape == (2, 2, 3)
    np.save(tmp_path / "l.npy", np.array([3, 1]))
    ref = MediaRef(kind="array", path="l.npy", base=tmp_path)
    assert load_native("point_labels", ref).tolist() == [3, 1]
    (tmp_path / "frames").mkdir()
    for i in range(3):
        save_image(tmp_path / f"frames/{i}.png", np.full((4, 4, 3), i, np.uint8))
    assert load_native("video", "frames", tmp_path).shape == (3, 4, 4, 3)
    assert load_native("boxes", [{"bbox": [0, 0, 1, 1], "label": "a"}]) == [{"bbox": [0, 0, 1, 1], "label": "a"}]
