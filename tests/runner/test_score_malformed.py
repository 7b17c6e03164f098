"""A prediction the metric cannot use fails alone: the task is still scored, not unsupported."""

from __future__ import annotations

import json
import shutil

from generalbench.runner.score import score_predictions


def test_one_malformed_prediction_is_wrong_not_fatal(tmp_path, catalog, mini_cut):
    data, oracle = mini_cut(["3D Aircrafts Part Segmentation", "3D Odometry"], per_task=4)
    preds = shutil.copytree(oracle, tmp_path / "preds")
    for name in ("3d-comprehension-3d-aircrafts-part-segmentation", "3d-comprehension-3d-odometry"):
        path = preds / f"{name}.jsonl"
        lines = path.read_text().splitlines()
        first = json.loads(lines[0])
        first["prediction"] = []  # an empty label list / pose list: the wrong shape
        path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    result, details = score_predictions(preds, data, catalog)
    by_id = {t.id: t for t in result.tasks}
    for name in ("3d-comprehension-3d-aircrafts-part-segmentation", "3d-comprehension-3d-odometry"):
        assert by_id[name].raw is not None, details[name].note
        assert details[name].failed == 1 and details[name].parsed == 3
        assert "unusable" in details[name].note
    parts = by_id["3d-comprehension-3d-aircrafts-part-segmentation"]
    assert 0 < parts.raw < 100  # three perfect instances and one wrong one
