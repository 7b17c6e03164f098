"""The oracle check (MEGA-Bench's lesson): the mini-bench's references, written as a predictions
folder, read back through the predictions reader and score full marks on every task whose metric
runs offline without a learned model. Model-based metrics must either yield a number or fail
loudly (missing weights / evaluator), never silently."""

from __future__ import annotations

import math

import pytest

from generalbench.catalog import load_catalog
from generalbench.data.dataset import open_dataset
from generalbench.data.minibench import mini_tasks
from generalbench.data.native import load_native
from generalbench.data.predictions import check_prediction, read_predictions
from generalbench.errors import GeneralBenchError
from generalbench.metrics.registry import compute_detailed
from generalbench.metrics.specs import get_spec

CATALOG = load_catalog()
TASK_IDS = [m.task.id for m in mini_tasks(CATALOG)]

@pytest.fixture(scope="module")
def loaded(mini, oracle):
    root, _ = mini
    return ({td.task.id: td for td in open_dataset(root, CATALOG).tasks()},
            read_predictions(oracle, CATALOG))


def test_oracle_folder_validates(loaded):
    tasks, preds = loaded
    assert set(preds.task_ids()) == set(tasks)
    for task_id, td in tasks.items():
        rows = preds[task_id]
        assert set(rows) == set(td.ids())
        for value in rows.values():
            assert check_prediction(td.task, value) is None
            assert all(ref.exists() for ref in preds.artifacts(td.task, value))


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_oracle_scores_full_marks(loaded, task_id):
    tasks, preds = loaded
    td = tasks[task_id]
    task, spec = td.task, get_spec(td.task.metric)
    instances = list(td.instances())
    refs = [load_native(task.output, inst.target, td.folder) for inst in instances]
    values = [preds.native(task, preds[task_id][inst.id]) for inst in instances]
    try:
        result = compute_detailed(task.metric, values, refs)
    except GeneralBenchError as exc:  # weights, judge or evaluator not available offline
        if spec.needs == "none":
            raise
        assert len(str(exc)) > 20, "model-based metrics must say what is missing"
        return
    value = result.value
    assert value is not None and not math.isnan(value)
    if spec.needs != "none":
        # learned metrics are often reference-free (MOS, CLIP, CLAP of synthetic media): the
        # oracle proves the path runs and yields a number, not that the number is the maximum
        return
    ceiling = (result.details or {}).get("best_possible")
    if ceiling is not None:  # a metric whose perfect score is below 100 by definition
        assert value == pytest.approx(ceiling), (task_id, task.metric, value)
        return
    if spec.unit == "raw":  # e.g. PSNR of identical images is capped; 0 error for lower-is-better
        assert spec.normalise.apply(value) == pytest.approx(100, abs=0.01), (task_id, value)
    elif spec.direction == "lower":
        assert value == pytest.approx(0, abs=1e-6), (task_id, task.metric, value)
    else:
        assert value == pytest.approx(100, abs=1e-6), (task_id, task.metric, value)


def test_generalbench_validate_reports_no_errors(mini, oracle):
    from typer.testing import CliRunner

    from generalbench.cli import app

    root, _ = mini
    res = CliRunner().invoke(app, ["validate", str(root), "--predictions", str(oracle),
                                   "--no-decode"])
    assert res.exit_code == 0, res.output
    assert f"{len(TASK_IDS)} task(s)" in res.output and "no errors" in res.output
