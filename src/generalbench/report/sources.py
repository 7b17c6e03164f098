"""What `generalbench report` reads: run folders, score folders and predictions folders, turned
into a General-Level result plus the per-instance samples the bootstrap resamples.

A score folder (instances.jsonl + report.json, written by `score --out` or by `run` under
<run>/score) is read as is. A run folder is read through its score/ folder; when it has none, or
for a plain predictions folder, the predictions are scored first (into a temporary folder)
against --data or the dataset its run.json records. References are read from the dataset only
for tasks whose resampling method needs them (stats/methods.yaml).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generalbench.catalog import Catalog
from generalbench.errors import GeneralBenchError
from generalbench.levels import LevelResult
from generalbench.stats import estimators as est
from generalbench.stats.bootstrap import TaskSample

SCORE_FILES = ("report.json", "instances.jsonl")


class ReportSourceError(GeneralBenchError):
    """A report source that is not a run, score or predictions folder."""


@dataclass
class Source:
    """One model's scored results as the report uses them."""

    path: Path
    result: LevelResult
    samples: dict[str, TaskSample] = field(default_factory=dict)
    data: Path | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportSourceError(f"{path}: not readable JSON ({exc})") from None


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "run.json"
    data = _read_json(path) if path.is_file() else {}
    return data if isinstance(data, dict) else {}


def _is_score_folder(folder: Path) -> bool:
    return all((folder / f).is_file() for f in SCORE_FILES)


def _read_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReportSourceError(f"{path}: line {n}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "task" not in row or "id" not in row:
                raise ReportSourceError(f"{path}: line {n}: expected an object with task and id")
            rows.setdefault(str(row["task"]), []).append(row)
    return rows


def _references(data: Path, catalog: Catalog, task_ids: set[str], quick: int | None
                ) -> dict[str, dict[str, Any]]:
    """{task: {instance id: reference in native form}} for the given tasks."""
    from generalbench.answers.references import choices_of, reference_value
    from generalbench.data import open_dataset

    out: dict[str, dict[str, Any]] = {}
    dataset = open_dataset(data, catalog)
    for td in dataset.tasks():
        if td.task.id not in task_ids:
            continue
        refs: dict[str, Any] = {}
        try:
            for inst in td.instances(quick=quick):
                if inst.target is not None:
                    refs[inst.id] = reference_value(td.task, inst.target, choices_of(inst.inputs),
                                                    td.folder)
        except GeneralBenchError:
            continue  # the bootstrap falls back to per-instance scores for this task
        out[td.task.id] = refs
    return out


def read_score_folder(folder: Path, catalog: Catalog, data: Path | None = None,
                      quick: int | None = None) -> Source:
    """A score folder's result and per-instance samples (references from `data` if given)."""
    from generalbench.runner.score import INLINE_TYPES

    report = _read_json(folder / "report.json")
    from pydantic import ValidationError

    try:
        result = LevelResult.model_validate(report)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "top level"
        raise ReportSourceError(f"{folder / 'report.json'}: not a generalbench report "
                                f"({where}: {first.get('msg')})") from None
    rows = _read_rows(folder / "instances.jsonl")
    raw = {t.id: t.raw for t in result.tasks or []}
    need = {tid for tid in rows if tid in catalog
            and est.method_of(catalog.get(tid).metric) in est.NEEDS_INPUTS
            and catalog.get(tid).output in INLINE_TYPES}
    refs = _references(data, catalog, need, quick) if data is not None and need else {}
    samples: dict[str, TaskSample] = {}
    for tid, task_rows in rows.items():
        if tid not in catalog:
            continue
        task = catalog.get(tid)
        ids = [str(r["id"]) for r in task_rows]
        scores = [None if r.get("score") is None else float(r["score"]) for r in task_rows]
        sample = TaskSample(task, raw.get(tid), ids, scores)
        task_refs = refs.get(tid)
        if task_refs is not None and all(i in task_refs for i in ids):
            sample.preds = [r.get("parsed") if r.get("status") == "ok" else None for r in task_rows]
            sample.refs = [task_refs[i] for i in ids]
        samples[tid] = sample
    return Source(folder, result, samples, data)


def load_source(path: Path, catalog: Catalog, data: Path | None = None,
                model: str | None = None) -> Source:
    """A run folder, score folder or predictions folder (with --data) as a report Source."""
    path = Path(path)
    if not path.exists():
        raise ReportSourceError(f"{path}: no such run, score or predictions folder")
    if path.is_file() and path.name in SCORE_FILES:  # report.json given for its score folder
        path = path.parent
    if not path.is_dir():
        raise ReportSourceError(f"{path}: expected a run, score or predictions folder")
    manifest = _manifest(path)
    quick = manifest.get("quick") if isinstance(manifest.get("quick"), int) else None
    recorded = Path(manifest["data"]) if isinstance(manifest.get("data"), str) else None
    data = data or (recorded if recorded is not None and recorded.is_dir() else None)
    if _is_score_folder(path):
        return read_score_folder(path, catalog, data, quick)
    if _is_score_folder(path / "score"):
        return read_score_folder(path / "score", catalog, data, quick)
    if not manifest and not any(path.glob("*.jsonl")):
        raise ReportSourceError(f"{path}: not a run folder (run.json), a score folder "
                                f"({' + '.join(SCORE_FILES)}) or a predictions folder")
    if data is None:
        raise ReportSourceError(f"{path}: a predictions folder needs --data DATASET to be scored")
    from generalbench.runner.score import score_predictions

    with tempfile.TemporaryDirectory(prefix="generalbench-report-") as tmp:
        score_predictions(path, data, catalog, out_dir=Path(tmp), quick=quick, model=model)
        source = read_score_folder(Path(tmp), catalog, data, quick)
    source.path = path
    return source
