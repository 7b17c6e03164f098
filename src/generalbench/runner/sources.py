"""The runner's view of the layers it connects: datasets, prompts and predictions folders.

One small module so the seams (docs/contracts.md) are crossed in one place: the data layer's
`open_dataset`, `TaskData.instances`, the prompt layer's `render`, and the predictions format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from generalbench.catalog import Catalog, Task


def natural_key(text: str) -> list[Any]:
    """Sort key: '2' before '10' (instance ids are often numbers as text)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def open_data(root: Path, catalog: Catalog) -> Any:
    from generalbench.data import open_dataset

    return open_dataset(root, catalog)


def dataset_task_ids(dataset: Any) -> list[str]:
    """Ids of the tasks a dataset folder holds."""
    tasks = dataset.tasks() if callable(getattr(dataset, "tasks", None)) else dataset.tasks
    if isinstance(tasks, dict):
        return list(tasks)
    return [t if isinstance(t, str) else getattr(t, "task_id", None) or t.task.id for t in tasks]


def task_data(dataset: Any, task: Task) -> Any:
    return dataset.task(task.id)


class InstanceProblem(NamedTuple):
    """A malformed instance: that instance's error, not the run's."""

    id: str
    message: str


def iter_task_instances(data: Any, quick: int | None) -> Iterator[Any | InstanceProblem]:
    """Each instance of a task, or an InstanceProblem, as the data file is read (a run sends its
    first requests before a large task file is read to its end)."""
    from generalbench.data import Problem

    for item in data.check(quick=quick):
        if isinstance(item, Problem):
            yield InstanceProblem(str(item.instance or item.field), f"DataError: {item}")
        else:
            yield item


def task_instances(data: Any, quick: int | None) -> tuple[list[Any], dict[str, str]]:
    """(instances, {instance id: problem}) of a task, read whole."""
    instances, problems = [], {}
    for item in iter_task_instances(data, quick):
        if isinstance(item, InstanceProblem):
            problems[item.id] = item.message
        else:
            instances.append(item)
    return instances, problems


def task_data_version(data: Any) -> str | None:
    version = (getattr(data, "header", None) or {}).get("version")
    return str(version) if version else None


def render(task: Task, instance: Any, annotation_type: str | None = None) -> Any:
    from generalbench.prompts import render as render_prompt

    return render_prompt(task, instance, annotation_type=annotation_type or None)


def write_predictions(folder: Path, per_task: dict[str, list[tuple[str, Any]]],
                      manifest: dict[str, Any]) -> None:
    """(Re)write a predictions folder (data layer format): `<task_id>.jsonl` + run.json.

    The journal is the durable record, so task files are rewritten whole from it. Each file is
    replaced atomically and run.json goes last: a kill at any point leaves either the previous
    folder or a folder whose every task file is complete, never a run.json without its task
    files (which would score as all zeros). A task with no prediction still gets its (empty)
    file, so it scores 0, not unsupported.
    """
    write_prediction_lines(folder, {task_id: [prediction_line(task_id, instance_id, value)
                                              for instance_id, value in rows]
                                    for task_id, rows in per_task.items()}, manifest)


def prediction_line(task_id: str, instance_id: str, value: Any) -> str:
    """One line of a task's predictions file (PredictionError when `value` is not JSON)."""
    from generalbench.data.predictions import line_for

    return line_for(task_id, instance_id, value)


def write_prediction_lines(folder: Path, per_task: dict[str, list[str]],
                           manifest: dict[str, Any]) -> None:
    """`write_predictions` from lines already formatted (`prediction_line`), in file order."""
    from generalbench.atomic import atomic_open
    from generalbench.data.predictions import PredictionWriter

    folder.mkdir(parents=True, exist_ok=True)
    for task_id, lines in per_task.items():
        with atomic_open(folder / f"{task_id}.jsonl", fsync=False) as fh:
            fh.writelines(lines)
    with PredictionWriter(folder, manifest.get("model", "model"), meta=manifest, fsync=False):
        pass  # writes run.json (atomically) and nothing else


def artifacts_dir(folder: Path, task_id: str) -> Path:
    """Where generated files of a task go inside a predictions folder."""
    from generalbench.data.predictions import ARTIFACTS

    return folder / ARTIFACTS / task_id


def read_prediction_rows(folder: Path, task_ids: Sequence[str] | None = None
                         ) -> dict[str, list[tuple[str, Any]]]:
    from generalbench.data.predictions import read_predictions

    preds = read_predictions(folder)
    return {task_id: list(preds.task(task_id).items()) for task_id in preds.task_ids()
            if task_ids is None or task_id in task_ids}
