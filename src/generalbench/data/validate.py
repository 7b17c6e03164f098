"""`generalbench validate`: check a dataset tree and, optionally, a predictions folder against it.

Annotations: the file parses, every record adapts (schema), ids are unique, every media file and
reference artifact exists (and its sha256 matches when given) and decodes. Predictions: every
instance has exactly one prediction, no prediction names an unknown id or task, each value has
the task's native type, generated artifacts exist and decode.

Streaming: tasks are checked one at a time and media decoded one file at a time, so memory
stays flat however large the folder is; only the ids of the current task are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generalbench.catalog import Catalog
from generalbench.data.dataset import Dataset, TaskData, open_dataset
from generalbench.data.instances import Instance, MediaRef
from generalbench.data.native import artifact_refs, check_native
from generalbench.data.predictions import Predictions, read_predictions
from generalbench.data.problems import Problem
from generalbench.errors import DataError, GeneralBenchError, PredictionError


@dataclass
class TaskReport:
    task_id: str
    source: str
    instances: int = 0
    media: int = 0
    predictions: int | None = None
    problems: list[Problem] = field(default_factory=list)
    total_problems: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error") + self._hidden

    _hidden: int = 0

    def add(self, problem: Problem, keep: int) -> None:
        self.total_problems += 1
        if len(self.problems) < keep:
            self.problems.append(problem)
        elif problem.severity == "error":
            self._hidden += 1

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task_id, "source": self.source, "instances": self.instances,
                "media": self.media, "predictions": self.predictions, "errors": self.errors,
                "problems": [p.to_json() for p in self.problems],
                "problems_not_shown": self.total_problems - len(self.problems)}


def _check_media(ref: MediaRef, decode: bool) -> str | None:
    try:
        path = ref.resolve()
        if not path.exists():
            return f"{ref.kind} file not found: {path}"
        if ref.sha256:
            ref.verify()
        if decode:
            ref.probe()
    except GeneralBenchError as exc:
        return str(exc)
    return None


def _target_refs(inst: Instance, output: str) -> list[MediaRef]:
    value = inst.target
    if isinstance(value, MediaRef):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, MediaRef)]
    return []


def check_task(td: TaskData, predictions: Predictions | None, *, quick: int | None = None,
               decode: bool = True, keep: int = 50) -> TaskReport:
    """One task's report: annotation problems, then prediction problems."""
    report = TaskReport(td.task.id, str(td.source))
    ids: set[str] = set()
    file = str(td.source)
    try:
        file = str(td.annotation_path)
        for item in td.check(quick=quick):
            if isinstance(item, Problem):
                report.add(item, keep)
                continue
            report.instances += 1
            ids.add(item.id)
            refs = [(f"input.{k}", r) for k, r in item.media()]
            refs += [("output", r) for r in _target_refs(item, td.task.output)]
            for fld, ref in refs:
                report.media += 1
                err = _check_media(ref, decode)
                if err:
                    report.add(Problem(file, err, td.task.id, item.id, fld), keep)
    except DataError as exc:
        report.add(Problem(file, str(exc), td.task.id), keep)
        return report
    if predictions is not None:
        _check_predictions(td, predictions, ids, report, quick, decode, keep)
    return report


def _check_predictions(td: TaskData, preds: Predictions, ids: set[str], report: TaskReport,
                       quick: int | None, decode: bool, keep: int) -> None:
    task = td.task
    routes = preds.manifest.get("routes") if isinstance(preds.manifest, dict) else None
    if task.id not in preds and isinstance(routes, dict) and task.id not in routes:
        return  # a run that declares which tasks it answers: this one is unsupported (scores 0)
    if task.id not in preds:
        report.predictions = 0
        report.add(Problem(str(preds.root), f"no predictions for this task ({len(ids)} instances)",
                           task.id, None, "task"), keep)
        return
    src = preds.sources[task.id]
    unit = "line" if src.layout == "jsonl" else "item"
    seen: set[str] = set()
    count = 0
    every: set[str] | None = None
    try:
        for n, iid, value in preds.rows(task.id):
            loc = {"task": task.id, "instance": iid, "line": n if unit == "line" else None}
            where = str(src.path) if unit == "line" else f"{src.path}: item {n}"
            if iid in seen:
                report.add(Problem(where, "duplicate id (one prediction per instance)", field="id", **loc), keep)
                continue
            seen.add(iid)
            count += 1
            if iid not in ids:
                if quick is not None and every is None:
                    every = _all_ids(td)
                if every is None or iid not in every:
                    report.add(Problem(where, "id is not an instance of this task", field="id", **loc), keep)
                continue
            err = check_native(task.output, value)
            if err:
                report.add(Problem(where, f"prediction for a {task.output!r} task {err}",
                                   field="prediction", **loc), keep)
                continue
            for ref in artifact_refs(task.output, value, preds.root):
                err = _check_media(ref, decode)
                if err:
                    report.add(Problem(where, err, field="prediction", **loc), keep)
    except PredictionError as exc:
        report.add(Problem(str(src.path), str(exc), task.id), keep)
    report.predictions = count
    missing = sorted(ids - seen)
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        report.add(Problem(str(src.path), f"{len(missing)} instance(s) have no prediction: {shown}",
                           task.id, None, "id"), keep)


def _all_ids(td: TaskData) -> set[str]:
    """Every id of the task (used only when a quick subset is checked)."""
    from generalbench.data.dataset import _raw_id
    from generalbench.data.jsonstream import iter_data

    return {i for i in (_raw_id(r) for r in iter_data(td.annotation_path)) if i is not None}


@dataclass
class ValidationResult:
    dataset: str
    reports: list[TaskReport]
    dataset_problems: list[Problem]
    prediction_problems: list[Problem]

    @property
    def errors(self) -> int:
        return (sum(r.errors for r in self.reports) + len(self.dataset_problems)
                + len(self.prediction_problems))

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "ok": self.ok, "errors": self.errors,
                "tasks": [r.to_json() for r in self.reports],
                "dataset_problems": [p.to_json() for p in self.dataset_problems],
                "prediction_problems": [p.to_json() for p in self.prediction_problems]}


def iter_validate(dataset: Dataset, predictions: Predictions | None = None, *,
                  quick: int | None = None, decode: bool = True, tasks: list[str] | None = None,
                  keep: int = 50) -> Iterator[TaskReport]:
    """Reports task by task (streaming)."""
    for td in dataset.select(tasks):
        yield check_task(td, predictions, quick=quick, decode=decode, keep=keep)


def unmatched_problems(dataset: Dataset) -> list[Problem]:
    out = []
    for u in dataset.unmatched:
        if u.annotation is not None:
            out.append(Problem(str(u.annotation), u.reason, field="task"))
        else:
            out.append(Problem(str(u.path), u.reason))
    return out


def orphan_prediction_problems(dataset: Dataset, predictions: Predictions,
                               tasks: list[str] | None = None) -> list[Problem]:
    """Predictions for tasks the dataset does not hold (only among `tasks` when given: the
    other tasks' predictions are outside what was asked, not orphans)."""
    present = {td.task.id for td in dataset.select(tasks)}
    asked = set(tasks) if tasks else None
    return [Problem(str(predictions.sources[t].path), "task is not in the dataset", t, None, "task")
            for t in predictions.task_ids() if t not in present and (asked is None or t in asked)]


def validate(root: Path, catalog: Catalog, predictions: Path | None = None, *,
             quick: int | None = None, decode: bool = True, tasks: list[str] | None = None,
             keep: int = 50) -> ValidationResult:
    """Validate a dataset (and predictions) and collect every report."""
    dataset = open_dataset(root, catalog)
    preds = read_predictions(predictions, catalog) if predictions is not None else None
    task_ids = [catalog.resolve(t).id for t in tasks] if tasks else None
    reports = list(iter_validate(dataset, preds, quick=quick, decode=decode, tasks=task_ids, keep=keep))
    orphans = orphan_prediction_problems(dataset, preds, task_ids) if preds is not None else []
    return ValidationResult(str(root), reports, unmatched_problems(dataset), orphans)
