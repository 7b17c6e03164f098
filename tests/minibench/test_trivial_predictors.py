"""The mini-bench lives in the units and value ranges of the real tasks (issue 11, point 11), so
the catalog's specialist scores mean something on it: no trivial predictor wins a task.

Trivial predictors: the reference baselines (models/baseline.py: majority label, mean number,
a copy of the input, empty text), a constant answer ("A" for text and labels, 0 for numbers), and
every answer missing. Scored through runner/score.py's public `score_predictions`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generalbench.data.dataset import open_dataset
from generalbench.data.media import load_pointcloud
from generalbench.data.minibench.images import SEED_COUNT
from generalbench.data.native import load_native
from generalbench.data.predictions import ARTIFACTS, PredictionWriter
from generalbench.metrics.pointclouds import chamfer_single
from generalbench.metrics.specs import get_spec
from generalbench.models.baseline import baseline_prediction, task_context
from generalbench.runner.score import score_predictions

KINDS = ("baseline", "constant", "missing")


def _write(kind: str, root: Path, dest: Path, catalog) -> Path:
    with PredictionWriter(dest, model=kind, catalog=catalog, fsync=False) as writer:
        for td in open_dataset(root, catalog).tasks():
            if get_spec(td.task.metric).needs != "none":
                continue  # metric models are out of scope here (and slow)
            instances = list(td.instances())
            if kind == "missing":  # the task has predictions, none for its instances
                writer.add(td.task.id, "not-an-instance", "A")
                continue
            ctx = task_context(td.task, instances)
            for inst in instances:
                if kind == "constant":
                    value = {"number": 0.0, "label_set": ["A"]}.get(td.task.output, "A")
                else:  # files go where `run` puts a backend's files: inside the folder
                    art = dest / ARTIFACTS / td.task.id
                    art.mkdir(parents=True, exist_ok=True)
                    value = baseline_prediction(td.task, inst, ctx, art)
                    if value is None:
                        continue
                    if isinstance(value, str) and Path(value).is_absolute():
                        value = Path(value).relative_to(dest).as_posix()
                writer.add(td.task.id, inst.id, value)
    return dest


@pytest.fixture(scope="module", params=KINDS)
def trivial(request, mini, catalog, tmp_path_factory):
    root, _ = mini
    dest = _write(request.param, root, tmp_path_factory.mktemp(request.param) / "preds", catalog)
    result, _ = score_predictions(dest, root, catalog)
    return request.param, result


COPIES = ["3d-generation-3d-point-cloud-completion",
          "3d-generation-point-cloud-to-mesh-object-reconstruction",
          "image-generation-image-deblurring"]
"""Tasks the baselines answer with a file made from the input (the demo's two 3-D "wins")."""


def test_no_trivial_predictor_wins_a_task(trivial):
    kind, result = trivial
    wins = [(t.id, t.raw) for t in result.tasks if t.win]
    assert wins == [], f"{kind} predictor wins {wins}"
    if kind == "baseline":  # its files are scored, not failed: the check above sees them
        by_id = {t.id: t for t in result.tasks}
        assert all(by_id[t].supported for t in COPIES), [(t, by_id[t].note) for t in COPIES]


@pytest.fixture(scope="module")
def tasks(mini, catalog):
    root, _ = mini
    return {td.task.id: td for td in open_dataset(root, catalog).tasks()}


def _targets(td):
    return [load_native(td.task.output, i.target, td.folder) for i in td.instances()]


def test_minibench_values_are_in_the_real_tasks_units(tasks):
    counts = _targets(tasks["image-comprehension-seed-counting"])
    assert all(SEED_COUNT[0] <= c <= SEED_COUNT[1] for c in counts)
    assert np.std(counts) > 8.13  # a constant count cannot come near the specialist's MAE
    depth = np.concatenate([d.ravel() for d in _targets(tasks["image-comprehension-indoor-depth-estimation"])])
    assert 50 <= depth.min() and depth.max() <= 1000  # centimetres, NYU-v2's room scale
    disparity = np.concatenate([d.ravel() for d in
                                _targets(tasks["video-comprehension-sythetic-video-depth-estimation"])])
    assert 1 / disparity.max() >= 1 and 1 / disparity.min() <= 80  # metres, the VDE valid range
    # completion: returning the partial input is far from the specialist's CD (it was 6x better)
    comp = tasks["3d-generation-3d-point-cloud-completion"]
    partial = [load_pointcloud(i.inputs["pointcloud"].resolve()) for i in comp.instances()]
    cds = [chamfer_single(p, full) for p, full in zip(partial, _targets(comp), strict=True)]
    assert np.mean(cds) > 2 * comp.task.sota
