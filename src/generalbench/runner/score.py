"""Scoring: predictions folder + annotated dataset -> per-instance scores, per-task raw and
normalised scores, and the General-Level report.

Flow per task: read instances (open set references) and predictions, parse each output into the
task's native type (generalbench.answers), decode file-valued values, compute the task's metric
through the registry, and record parse counts. Nothing a model writes can crash a run: an
unparseable or missing answer scores as wrong for its instance, and a task whose metric cannot
run (a metric model not installed, an extra missing, malformed files) is reported unsupported
with a note. See docs/metrics.md ("Scoring pipeline").
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from generalbench.answers import ParseResult, parse
from generalbench.catalog import Catalog, Task
from generalbench.errors import (
    DataError,
    GeneralBenchError,
    MetricError,
    MissingWeightsError,
    PredictionError,
)
from generalbench.levels import LevelResult, evaluate
from generalbench.metrics.registry import compute_detailed
from generalbench.metrics.specs import get_spec

INLINE_TYPES = frozenset({"text", "label", "label_set", "number", "number_series", "boxes",
                          "track", "poses", "boxes3d", "tracks3d", "yes_no"})
"""Native types whose values are small JSON: they are written into the per-instance JSONL."""

_LETTER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHOICE_TYPES = frozenset({"label", "text"})
"""Types read as a choice (option text or letter) when the instance lists `choices`."""


@dataclass
class InstanceScore:
    """One scored instance, as written to instances.jsonl (no media content, paths only)."""

    task: str
    id: str
    status: str
    """ok | failed (unparseable or undecodable) | missing (no prediction)."""
    score: float | None
    reason: str = ""
    parsed: Any = None


@dataclass
class TaskDetail:
    """One task's scoring outcome (the raw value goes to General-Level; the rest is reported)."""

    task: str
    metric: str
    raw: float | None
    instances: int
    parsed: int
    failed: int
    missing: int
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def level_details(self) -> dict[str, Any]:
        return {"parsed": self.parsed, "failed": self.failed, "instances": self.instances,
                "note": self.note}


# --- references and predictions in native form -------------------------------------------------
def _choices(inputs: Mapping[str, Any]) -> list[str] | None:
    ch = inputs.get("choices") or inputs.get("options")
    if isinstance(ch, list) and ch and all(isinstance(c, str) for c in ch):
        return ch
    return None


def reference_value(task: Task, target: Any, choices: list[str] | None, base: Path | None) -> Any:
    """A reference in the metric's native Python form (files decoded, choice letters resolved)."""
    if task.output in CHOICE_TYPES and choices and isinstance(target, str):
        t = target.strip().strip("().")
        if len(t) == 1 and t.upper() in _LETTER[:len(choices)] and target not in choices:
            return choices[_LETTER.index(t.upper())]
    if task.output in INLINE_TYPES:
        return target
    from generalbench.data.instances import MediaRef
    from generalbench.data.native import load_native

    # Decode files by path against their own folder: load_native reads paths for every type,
    # while a MediaRef of kind 'array' (point_labels) would come back undecoded.
    items = target if isinstance(target, list) else [target]
    if any(isinstance(t, MediaRef) for t in items):
        base = next((t.base for t in items if isinstance(t, MediaRef) and t.base), base)
        items = [t.path if isinstance(t, MediaRef) else t for t in items]
        target = items if isinstance(target, list) else items[0]
    return load_native(task.output, target, base)


EXACT_MATCH = frozenset({"accuracy", "em_at_1"})


def _canonical_number(x: float) -> str:
    return format(float(x) + 0.0, ".12g")


def _numeric_reference(target: Any) -> list[str] | None:
    """Canonical strings of a reference whose every acceptable answer is a number, else None."""
    from generalbench.answers.parse import parse_number

    items = target if isinstance(target, list) else [target]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            return None
        text = str(item).strip().replace(",", "")
        try:
            value = float(text)
        except ValueError:
            return None
        if not math.isfinite(value) or parse_number(text).value != value:
            return None
        out.append(_canonical_number(value))
    return out or None


def _label_vocabulary(task: Task, targets: Iterable[Any]) -> list[str] | None:
    if task.output not in ("label", "label_set"):
        return None
    vocab: set[str] = set()
    for t in targets:
        for item in t if isinstance(t, list) else [t]:
            if isinstance(item, str):
                vocab.add(item)
    return sorted(vocab) or None


def metric_options(task: Task, instances: list[Any]) -> dict[str, Any]:
    """Options a metric takes from the task (class labels compare as labels, code language)."""
    if task.metric in ("accuracy", "em_at_1") and task.output == "label":
        return {"normalize": "label"}
    if task.metric == "codebleu" and instances:
        lang = str(instances[0].inputs.get("language") or "python").lower()
        return {"lang": lang}
    if get_spec(task.metric).family in ("features", "judge"):  # model-based: per-task variants
        def text(inst: Any, *keys: str) -> str | None:
            return next((str(inst.inputs[k]) for k in keys if inst.inputs.get(k)), None)

        options = {"task": task.id, "prompts": [text(i, "prompt", "text", "question") for i in instances],
                   "questions": [text(i, "question", "prompt", "text") for i in instances]}
        audio = [_input_file(i, "audio") for i in instances]
        if any(a is not None for a in audio):  # e.g. E-Acc reads the piano input it orchestrates
            options["input_audio"] = audio
        return options
    return {}


def _input_file(inst: Any, key: str) -> str | None:
    """The absolute path of an instance's input media file under `key` (None when absent)."""
    from generalbench.data.instances import MediaRef

    ref = inst.inputs.get(key)
    if not isinstance(ref, MediaRef):
        return None
    try:
        return str(ref.resolve())
    except GeneralBenchError:
        return None


def reads_video_files(metric: str) -> bool:
    """Whether a metric reads the predicted video FILES rather than frames (VBench does; the
    Optical Flow Score needs the file's frame rate).

    Decided from data: metricmodels/models.yaml's `metrics:` entry says `reads_video_files: true`
    or lists a model whose loader is `vbench`, as its default or in `also`.
    """
    from generalbench.metricmodels.registry import all_models, metric_models

    entry = metric_models(metric)
    if entry.get("reads_video_files"):
        return True
    models = all_models()
    ids = [entry.get("default"), *entry.get("also", [])]
    return any(i in models and models[i].loader == "vbench" for i in ids)


def _prediction_file(task: Task, value: Any, folder: Path | None) -> str | None:
    """The absolute path of a prediction's single media file (None: inline, several files, a
    frame folder, or not on disk)."""
    from generalbench.data.native import artifact_refs

    try:
        refs = artifact_refs(task.output, value, folder)
        path = refs[0].resolve() if len(refs) == 1 else None
    except GeneralBenchError:
        return None
    return str(path) if path is not None and path.is_file() else None


# --- one task ----------------------------------------------------------------------------------
def score_task(task: Task, instances: list[Any], predictions: Mapping[str, Any] | None, *,
               task_folder: Path | None = None, predictions_folder: Path | None = None,
               quick: int | None = None) -> tuple[TaskDetail, list[InstanceScore]]:
    """Score one task from its instances (with targets) and `{instance id: raw prediction}`.

    Missing predictions count as wrong for their instances; `predictions=None` (the task has no
    predictions at all) makes the task unsupported. A text answer to an exact-match question
    whose reference is a number is read as a number (so "x = 42" matches "42.0"). `quick` (the
    instances are a subset) silences the note about predictions for other instance ids. Never raises for model output or metric
    failures: those become the task's note.
    """
    spec = get_spec(task.metric)
    n = len(instances)
    if spec.needs == "human":
        return TaskDetail(task.id, task.metric, None, n, 0, 0, n,
                          "needs a human preference study: cannot be scored automatically"), []
    if predictions is None:
        return TaskDetail(task.id, task.metric, None, n, 0, 0, n, "no predictions"), []
    if n == 0:
        return TaskDetail(task.id, task.metric, None, 0, 0, 0, 0, "no instances"), []
    usable = [i for i in instances if i.target is not None]
    if not usable:
        return TaskDetail(task.id, task.metric, None, n, 0, 0, 0,
                          "no references (closed set?): cannot score"), []
    instances = usable
    vocab = _label_vocabulary(task, (i.target for i in instances))
    preds: list[Any] = []
    refs: list[Any] = []
    rows: list[InstanceScore] = []
    video_paths: list[str | None] | None = [] if reads_video_files(task.metric) else None
    parsed = failed = missing = 0
    for inst in instances:
        choices = _choices(inst.inputs)
        try:
            refs.append(reference_value(task, inst.target, choices, task_folder))
        except GeneralBenchError as exc:
            return TaskDetail(task.id, task.metric, None, n, 0, 0, 0,
                              f"bad reference for instance {inst.id!r}: {exc}"), []
        raw = predictions.get(inst.id)
        if video_paths is not None:  # aligned with preds; None unless a readable file is found
            video_paths.append(None)
        if inst.id not in predictions:
            preds.append(None)
            missing += 1
            rows.append(InstanceScore(task.id, inst.id, "missing", None, "no prediction"))
            continue
        kind = "label" if choices and task.output in CHOICE_TYPES else task.output
        numeric = (_numeric_reference(refs[-1]) if kind == "text" and task.metric in EXACT_MATCH
                   else None)
        if numeric is not None:  # a numeric answer compares as a number ("x = 42" vs "42.0")
            refs[-1] = numeric
            res = parse("number", raw)
            res = ParseResult(_canonical_number(res.value), True) if res.ok else res
        else:
            res = parse(kind, raw, choices=choices, labels=None if choices else vocab)
        value, reason = res.value, res.reason
        if res.ok and task.output not in INLINE_TYPES:
            from generalbench.data.native import load_native

            file = _prediction_file(task, value, predictions_folder) if video_paths is not None else None
            try:
                value = load_native(task.output, value, predictions_folder)
            except (GeneralBenchError, OSError, ValueError) as exc:
                value, reason = None, f"cannot read the predicted {task.output}: {exc}"
            if video_paths is not None and value is not None:
                video_paths[-1] = file
        if value is None:
            preds.append(None)
            failed += 1
            rows.append(InstanceScore(task.id, inst.id, "failed", None, reason))
            continue
        preds.append(value)
        parsed += 1
        rows.append(InstanceScore(task.id, inst.id, "ok", None, "",
                                  value if task.output in INLINE_TYPES else None))
    options = metric_options(task, instances)
    if video_paths is not None:  # VBench reads the files the model wrote (metrics/features.py)
        options["video_paths"] = video_paths
    if spec.needs == "none":
        rejected = _reject_malformed(task, preds, refs, rows, options)
        parsed, failed = parsed - rejected, failed + rejected
    detail = TaskDetail(task.id, task.metric, None, len(instances), parsed, failed + missing,
                        missing)
    try:
        result = compute_detailed(task.metric, preds, refs, **options)
    except MissingWeightsError as exc:
        detail.note = f"needs a metric model: {exc}"
        return detail, rows
    except MetricError as exc:
        detail.note = f"metric error: {exc}"
        return detail, rows
    except Exception as exc:  # noqa: BLE001 - one task's metric bug must not end the whole run
        detail.note = f"metric failed ({type(exc).__name__}: {exc})"
        return detail, rows
    detail.raw = float(result.value)
    per = result.per_instance or result.details.get("instance_scores")
    if per is not None and len(per) == len(rows):
        for row, s in zip(rows, per, strict=True):
            row.score = None if s is None or (isinstance(s, float) and math.isnan(s)) else float(s)
    detail.details = {k: v for k, v in result.details.items()
                      if k != "instance_scores" and isinstance(v, (int, float, str, bool))}
    notes = []
    if result.details.get("tiny_random_weights"):  # metricmodels/tiny.py stand-ins
        notes.append(f"metric model {result.details.get('model')!r} has TINY RANDOM weights: "
                     "the value is meaningless")
    known = {i.id for i in instances}
    extra = sum(1 for k in predictions if k not in known)
    if extra and quick is None:
        notes.append(f"{extra} prediction(s) for unknown instance ids ignored")
    if missing:
        notes.append(f"{missing} instance(s) without a prediction scored as wrong")
    if failed:
        notes.append(f"{failed} unparseable or unusable prediction(s) scored as wrong")
    detail.note = "; ".join(notes) or None
    return detail, rows


def _reject_malformed(task: Task, preds: list[Any], refs: list[Any], rows: list[InstanceScore],
                      options: Mapping[str, Any]) -> int:
    """Turn predictions the metric cannot use (a wrong shape, an empty pose list) into failures.

    Only when the whole batch fails: each parsed prediction is then tried alone, and one the
    metric rejects is scored like a missing prediction (wrong), with the metric's reason, so one
    malformed answer never makes the whole task unsupported. Returns how many were rejected.
    """
    try:
        compute_detailed(task.metric, preds, refs, **options)
        return 0
    except MetricError:
        pass
    except Exception:  # noqa: BLE001 - reported by the caller's own computation
        return 0
    rejected = 0
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        if pred is None:
            continue
        try:
            compute_detailed(task.metric, [pred], [ref], **options)
        except MetricError as exc:
            preds[i] = None
            rows[i] = InstanceScore(task.id, rows[i].id, "failed", None,
                                    f"prediction rejected by the metric: {exc}")
            rejected += 1
        except Exception:  # noqa: BLE001 - not a per-instance problem
            continue
    return rejected


# --- a whole predictions folder -----------------------------------------------------------------
def score_predictions(predictions_path: Path | str, dataset_root: Path | str, catalog: Catalog, *,
                      out_dir: Path | str | None = None, quick: int | None = None,
                      model: str | None = None) -> tuple[LevelResult, dict[str, TaskDetail]]:
    """Score a predictions folder against an annotated dataset.

    Returns the General-Level result (with its `tasks` list: raw, normalised, parse counts,
    notes) and the per-task details. With `out_dir`, writes instances.jsonl, tasks.json,
    tasks.csv and report.json there. Tasks of the catalog absent from the dataset are
    unsupported ("not in the dataset").
    """
    from generalbench.data import open_dataset
    from generalbench.data.predictions import read_predictions

    predictions_path = Path(predictions_path)
    preds = read_predictions(predictions_path, catalog)
    dataset = open_dataset(dataset_root, catalog)
    by_task = {td.task.id: td for td in dataset.tasks()}
    if not by_task:
        raise DataError(f"{dataset_root}: no task folder matches the catalog; check --data")
    unknown = [t for t in preds.task_ids() if t not in by_task]
    details: dict[str, TaskDetail] = {}
    rows_out: list[InstanceScore] = []
    for task_id, td in by_task.items():
        try:
            instances = list(td.instances(quick=quick))
        except DataError as exc:
            details[task_id] = TaskDetail(task_id, td.task.metric, None, 0, 0, 0, 0,
                                          f"cannot read the dataset: {exc}")
            continue
        try:
            task_preds = preds.task(task_id) if task_id in preds else None
        except PredictionError as exc:
            details[task_id] = TaskDetail(task_id, td.task.metric, None, len(instances), 0, 0,
                                          len(instances), f"unreadable predictions: {exc}")
            continue
        detail, rows = score_task(td.task, instances, task_preds, task_folder=td.folder,
                                  predictions_folder=preds.root, quick=quick)
        details[task_id] = detail
        rows_out.extend(rows)
    for task in catalog:
        if task.id not in details:
            details[task.id] = TaskDetail(task.id, task.metric, None, 0, 0, 0, 0,
                                          "not in the dataset")
    for task_id in unknown:
        if task_id in details and details[task_id].note == "not in the dataset":
            details[task_id].note = "predictions given but the task is not in the dataset"
    raw = {k: d.raw for k, d in details.items()}
    result = evaluate(catalog, raw, model or str(preds.manifest.get("model") or predictions_path.name),
                      details={k: d.level_details() for k, d in details.items()})
    if out_dir is not None:
        write_outputs(Path(out_dir), result, details, rows_out)
    return result, details


def write_outputs(out_dir: Path, result: LevelResult, details: Mapping[str, TaskDetail],
                  rows: Iterable[InstanceScore]) -> None:
    """instances.jsonl (one line per instance), tasks.json / tasks.csv, report.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "instances.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(asdict(row), ensure_ascii=False, default=str) + "\n")
    table = []
    for ts in result.tasks or []:
        d = details.get(ts.id)
        table.append({"id": ts.id, "name": ts.name, "modality": ts.modality,
                      "paradigm": ts.paradigm, "metric": ts.metric, "metric_name": ts.metric_name,
                      "raw": ts.raw, "normalised": ts.normalised, "sota": ts.sota,
                      "sota_normalised": ts.sota_normalised, "supported": ts.supported,
                      "win": ts.win, "instances": d.instances if d else 0,
                      "parsed": d.parsed if d else 0, "failed": d.failed if d else 0,
                      "missing": d.missing if d else 0, "note": d.note if d else None})
    (out_dir / "tasks.json").write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")
    with open(out_dir / "tasks.csv", "w", encoding="utf-8", newline="") as fh:
        if table:
            writer = csv.DictWriter(fh, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    (out_dir / "report.json").write_text(
        json.dumps(result.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
