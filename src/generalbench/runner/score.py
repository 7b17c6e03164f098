"""Scoring: predictions folder + annotated dataset -> per-instance scores, per-task raw and
normalised scores, and the General-Level report.

A thin loop that plans, calls and records. Per task: read instances (open set references) and
predictions, parse each output into the task's native type (answers/), decode file-valued values
(data/native.py; references: answers/references.py), take the metric's options from the task
(metrics/options.py, named in specs.yaml), compute the metric once through the registry (which
applies the failure policy, metrics/failure.py), and record counts and provenance; output files
are runner/score_writer.py's. Nothing a model writes can crash a run. See docs/metrics.md
("Scoring pipeline").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from generalbench.answers import ParseResult, parse
from generalbench.answers.references import (
    CHOICE_TYPES,
    EXACT_MATCH,
    INLINE_TYPES,
    canonical_number,
    choices_of,
    label_vocabulary,
    numeric_reference,
    reference_value,
)
from generalbench.catalog import Catalog, Task
from generalbench.errors import (
    DataError,
    GeneralBenchError,
    MetricError,
    MissingWeightsError,
    PredictionError,
)
from generalbench.levels import LevelResult, evaluate
from generalbench.metrics.media_files import PredictedFiles
from generalbench.metrics.options import metric_options
from generalbench.metrics.registry import accumulator, compute_detailed, streams
from generalbench.metrics.specs import get_spec
from generalbench.runner.score_writer import RowSink, run_provenance, write_outputs

__all__ = ["INLINE_TYPES", "InstanceScore", "TaskDetail", "metric_options", "reference_value",
           "score_predictions", "score_task_predictions"]


@dataclass(slots=True)
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
    error: str | None = None
    """Why the task could not be scored at all: an exception inside the metric (a bug, not a
    property of the predictions) or an unreadable predictions file. `score` exits 3 on it."""

    def level_details(self) -> dict[str, Any]:
        return {"parsed": self.parsed, "failed": self.failed, "instances": self.instances,
                "note": self.note}


# --- one task ----------------------------------------------------------------------------------
_ID = attrgetter("id")
_MISSING = object()
"""No prediction for an instance (a prediction may itself be None)."""

MEMO_KINDS = frozenset({"label", "text", "number", "yes_no", "label_set"})
"""Output kinds whose parsed value is a str, a float or a list of str: a task's repeated answers
("A", "yes", a class name, "cat, dog") are parsed once (parsing is pure); a label set is handed
out as a fresh list each time, so no two instances share a mutable value."""


class _AnswerReader:
    """One task's answers read into native values, with what depends only on the task decided
    once (not per instance): the parse kind, whether a reference may be read as a number, the
    memo of repeated answers."""

    def __init__(self, task: Task, vocab: Sequence[str] | None,
                 predictions_folder: Path | None) -> None:
        self.output = task.output
        self.choice_kind = task.output in CHOICE_TYPES
        self.numeric = task.metric in EXACT_MATCH  # for kind "text": a number compares as one
        self.inline = task.output in INLINE_TYPES
        self.vocab = vocab
        self.folder = predictions_folder
        self.memo: dict[Any, ParseResult] = {}
        """Parse results of string answers of the MEMO_KINDS (parsing is pure)."""

    def read(self, raw: Any, ref: Any, choices: list[str] | None) -> tuple[Any, Any, str, Any]:
        """(prediction in native form or None, reference, failure reason, the parsed answer of
        a file-valued prediction before decoding: its file name, else None)."""
        kind = "label" if choices and self.choice_kind else self.output
        numeric = numeric_reference(ref) if kind == "text" and self.numeric else None
        if numeric is not None:
            ref = numeric
        key = None
        res = None
        if type(raw) is str and kind in MEMO_KINDS:
            key = (raw, numeric is not None, tuple(choices) if choices else None)
            res = self.memo.get(key)
        if res is not None:
            if type(res.value) is list:
                res = ParseResult(list(res.value), res.ok, res.reason)
        else:
            if numeric is not None:  # a numeric answer compares as a number ("x = 42" vs "42.0")
                res = parse("number", raw)
                res = ParseResult(canonical_number(res.value), True) if res.ok else res
            else:
                res = parse(kind, raw, choices=choices, labels=None if choices else self.vocab)
            if key is not None:
                if type(res.value) is not list:
                    self.memo[key] = res
                elif all(type(v) is str for v in res.value):  # kept apart from the value handed out
                    self.memo[key] = ParseResult(list(res.value), res.ok, res.reason)
        value, reason, file = res.value, res.reason, None
        if res.ok and not self.inline:
            from generalbench.data.native import load_native

            file = value
            try:
                value = load_native(self.output, value, self.folder)
            except (GeneralBenchError, OSError, ValueError) as exc:
                value, reason, file = None, f"cannot read the predicted {self.output}: {exc}", None
        return value, ref, reason, file


def score_task_predictions(task: Task, instances: list[Any], predictions: Mapping[str, Any] | None,
                           *, task_folder: Path | None = None,
                           predictions_folder: Path | None = None,
                           quick: int | None = None) -> tuple[TaskDetail, list[InstanceScore]]:
    """Score one task from its instances (with targets) and `{instance id: raw prediction}`.

    Plans, calls and records; what a failed instance becomes is the metric's policy (specs.yaml,
    applied in metrics/failure.py). A task with no predictions, or whose every prediction is
    missing or failed, is unsupported (raw None) with the failure count in its note. A text
    answer to an exact-match question whose reference is a number is read as a number. `quick`
    (the instances are a subset) silences the note about predictions for other instance ids.
    Never raises for model output; a metric that raises anything but MetricError is a bug,
    recorded in `detail.error` (the CLI exits 3 on it unless --keep-going).
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
    labels = label_vocabulary(task, (i.target for i in instances))
    vocab = tuple(labels) if labels else None  # a tuple: parse's per-vocabulary caches key on it
    options = metric_options(task, instances)
    # Metrics over file-valued predictions that can stream (mean metrics, and corpus metrics of
    # counts such as mIoU) are fed one instance at a time: each decoded map is scored and
    # dropped, so memory does not grow with the task (metrics/base.py).
    acc = (accumulator(task.metric, **options)
           if spec.needs == "none" and task.output not in INLINE_TYPES and streams(task.metric)
           else None)
    preds: list[Any] = []
    refs: list[Any] = []
    rows: list[InstanceScore] = []
    files = PredictedFiles(task.metric, task.output, predictions_folder)  # VBench reads files
    parsed = failed = missing = 0
    read = _AnswerReader(task, vocab, predictions_folder).read
    inline = task.output in INLINE_TYPES
    # an inline reference is the target itself unless a choice letter is resolved
    # (answers/references.reference_value): no call for it
    target_is_ref = inline and task.output not in CHOICE_TYPES
    tid, get, add_row, files_on = task.id, predictions.get, rows.append, files.enabled
    for inst in instances:
        iid, inputs = inst.id, inst.inputs
        choices = choices_of(inputs) if "choices" in inputs or "options" in inputs else None
        if target_is_ref or (inline and not choices):
            ref = inst.target
        else:
            try:
                ref = reference_value(task, inst.target, choices, task_folder)
            except GeneralBenchError as exc:
                return TaskDetail(task.id, task.metric, None, n, 0, 0, 0,
                                  f"bad reference for instance {iid!r}: {exc}"), []
        raw = get(iid, _MISSING)
        if raw is _MISSING:
            value = file = None
            missing += 1
            add_row(InstanceScore(tid, iid, "missing", None, "no prediction"))
        else:
            value, ref, reason, file = read(raw, ref, choices)
            if value is None:
                failed += 1
                add_row(InstanceScore(tid, iid, "failed", None, reason))
            else:
                parsed += 1
                add_row(InstanceScore(tid, iid, "ok", None, "", value if inline else None))
        if files_on:
            files.add(file)
        if acc is not None:
            try:
                acc.update(value, ref)
            except MetricError as exc:
                return _metric_failed(TaskDetail(task.id, task.metric, None, len(instances),
                                                 parsed, failed + missing, missing), rows, exc)
            except Exception as exc:  # noqa: BLE001 - a metric bug: recorded, the run goes on
                return _metric_failed(TaskDetail(task.id, task.metric, None, len(instances),
                                                 parsed, failed + missing, missing), rows, exc)
        else:
            preds.append(value)
            refs.append(ref)
    detail = TaskDetail(task.id, task.metric, None, len(instances), parsed, failed + missing,
                        missing)
    if parsed == 0:
        detail.note = (f"unsupported: all {len(instances)} predictions failed ({failed} unparseable "
                       f"or unusable, {missing} missing)")
        for row in rows:
            row.score = None
        return detail, rows
    options.update(files.options())
    try:
        result = acc.result() if acc is not None else compute_detailed(task.metric, preds, refs,
                                                                        **options)
    except Exception as exc:  # noqa: BLE001 - sorted by _metric_failed
        return _metric_failed(detail, rows, exc)
    rejected = acc.rejected if acc is not None else result.details.pop("rejected", {})
    for i, why in rejected.items():  # NaN/inf or wrong-shaped: failed under the metric's policy
        rows[i].status, rows[i].reason, rows[i].parsed = "failed", why, None
    detail.parsed, detail.failed = parsed - len(rejected), failed + missing + len(rejected)
    per = result.per_instance or result.details.get("instance_scores")
    if per is not None and len(per) == len(rows):
        for row, v in zip(rows, per, strict=True):
            row.score = None if v is None or v != v else float(v)  # NaN (v != v): no score
    prov = result.provenance.as_dict() if result.provenance is not None else {}
    detail.details = {k: v for k, v in result.details.items()
                      if k != "instance_scores" and isinstance(v, (int, float, str, bool))}
    detail.details.update(provenance=prov, failure_policy=spec.on_failure,
                          dropped=result.dropped)
    if detail.parsed == 0:
        detail.note = (f"unsupported: all {len(instances)} predictions failed "
                       f"({detail.failed - missing} unparseable or unusable, {missing} missing)")
        return detail, rows
    if prov.get("tiny_random_weights") or result.details.get("tiny_random_weights"):
        detail.note = (f"unsupported: metric model {result.details.get('model')!r} has TINY RANDOM "
                       "stand-in weights (metricmodels/tiny.py), so the value is meaningless")
        detail.details["value_with_stand_in_weights"] = float(result.value)
        return detail, rows
    detail.raw = float(result.value)
    notes = []
    known = set(map(_ID, instances))
    if len(known) == len(instances):  # unique ids: each instance not missing matched one
        extra = len(predictions) - (len(instances) - missing)  # prediction
    else:
        extra = sum(1 for k in predictions if k not in known)
    if extra and quick is None:
        notes.append(f"{extra} prediction(s) for unknown instance ids ignored")
    action = POLICY_NOTES[spec.on_failure]
    if missing:
        notes.append(f"{missing} instance(s) without a prediction {action}")
    if detail.failed - missing:
        notes.append(f"{detail.failed - missing} unparseable or unusable prediction(s) {action}")
    detail.note = "; ".join(notes) or None
    return detail, rows


POLICY_NOTES = {"zero": "scored as wrong (0)", "empty": "scored as wrong (empty prediction)",
                "worst": "scored as wrong (worst value)", "drop": "left out of the value (policy: drop)"}
"""How the note names what a failed instance became (specs.yaml on_failure)."""


def _metric_failed(detail: TaskDetail, rows: list[InstanceScore], exc: BaseException
                   ) -> tuple[TaskDetail, list[InstanceScore]]:
    """MetricError / MissingWeightsError: unsupported with a note; anything else is a bug."""
    for row in rows:
        row.score = None
    if isinstance(exc, MissingWeightsError):
        detail.note = f"needs a metric model: {exc}"
    elif isinstance(exc, MetricError):
        detail.note = f"metric error: {exc}"
    else:
        detail.error = f"{type(exc).__name__}: {exc}"
        detail.note = f"metric failed (bug) ({detail.error})"
    return detail, rows


# --- a whole predictions folder -----------------------------------------------------------------
@dataclass(frozen=True)
class _TaskJob:
    """One task's scoring, as sent to a worker process (small and picklable: the task's folder
    entry and where its predictions are, not the data itself)."""

    data: Any
    """The task's generalbench.data.TaskData."""
    predictions: Any
    """The task's generalbench.data.predictions.Source, or None (no predictions)."""
    root: Path
    quick: int | None
    encode: bool
    """Return the task's instances.jsonl lines (else no rows at all)."""


def _score_job(job: _TaskJob) -> tuple[TaskDetail, str]:
    """Read, score and (encode=True) encode one task: (detail, its instances.jsonl text)."""
    from generalbench.data.predictions import Predictions
    from generalbench.runner.score_writer import encode_rows

    td = job.data
    task_id = td.task.id
    try:
        instances = td.records(quick=job.quick)  # plain records: scoring reads no more
    except DataError as exc:
        return TaskDetail(task_id, td.task.metric, None, 0, 0, 0, 0,
                          f"cannot read the dataset: {exc}"), ""
    task_preds = None
    if job.predictions is not None:
        try:
            task_preds = Predictions(job.root, {task_id: job.predictions}).task(task_id)
        except PredictionError as exc:
            why = f"unreadable predictions: {exc}"  # the submission's file: exit 3 like a bug
            return TaskDetail(task_id, td.task.metric, None, len(instances), 0, 0,
                              len(instances), why, error=why), ""
    detail, rows = score_task_predictions(td.task, instances, task_preds, task_folder=td.folder,
                                          predictions_folder=job.root, quick=job.quick)
    return detail, encode_rows(rows) if job.encode else ""


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _warm_up(tasks: Iterable[Task]) -> None:
    """Import the tasks' metric modules and compile the parsing rules once, before the workers
    fork, instead of once in every worker."""
    from generalbench.answers.parse import rules
    from generalbench.metrics.base import library_versions
    from generalbench.metrics.registry import implementation

    rules()
    for metric in {t.metric for t in tasks}:
        try:
            spec, _ = implementation(metric)
            library_versions(spec.family)  # package metadata look-ups, memoised
        except GeneralBenchError:  # an unknown metric or a missing extra: the task's own
            continue               # scoring reports it (a bug elsewhere stays loud here)


def _poolable(job: _TaskJob) -> bool:
    """Whether a task may go to a worker: its metric needs no model (a metric model or judge
    stays in this process, loaded once, instead of once per worker on the same CPU or GPU)."""
    try:
        return get_spec(job.data.task.metric).needs == "none"
    except GeneralBenchError:
        return False  # an unknown metric: reported by the task's own scoring, here


FILE_VALUED_COST = 30
"""How much more a byte of a task with file-valued outputs (masks, depth maps: each instance
decodes files) costs to score than a byte of a task with inline answers, roughly (measured on
the scoring benchmark's mix: ~1 ms against ~30 us an instance, for similar annotation bytes)."""


def _job_cost(job: _TaskJob) -> float:
    """A task's estimated scoring cost, for ordering the pool's work: its annotation and
    predictions bytes, weighted for file-valued outputs."""
    size = job.data.size_hint()
    if job.predictions is not None:
        try:
            size += job.predictions.path.stat().st_size
        except OSError:
            pass
    return size * (1 if job.data.task.output in INLINE_TYPES else FILE_VALUED_COST)


def _score_jobs(jobs: list[_TaskJob], workers: int) -> Iterator[tuple[TaskDetail, str]]:
    """Each job's result, in the jobs' order: in this process (workers <= 1), else the tasks
    whose metric needs no model through a pool of worker processes, one task at a time each,
    largest first (so the workers finish together, not one of them on a large task at the end;
    memory: one task per worker plus the encoded rows of finished tasks not yet written),
    while this process scores the others."""
    light = [j for j in jobs if _poolable(j)]
    workers = min(workers, len(light))
    if workers <= 1:
        yield from map(_score_job, jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _warm_up(job.data.task for job in light)
    # fork: workers start with this process's imports (spawn would import everything again)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {id(job): pool.submit(_score_job, job)  # all submitted: runs meanwhile
                   for job in sorted(light, key=_job_cost, reverse=True)}
        try:
            for job in jobs:
                future = futures.pop(id(job), None)
                yield future.result() if future is not None else _score_job(job)
        finally:  # stopped early (an error, Ctrl-C): the tasks not started yet are not run
            for future in futures.values():
                future.cancel()


GC_GEN0_THRESHOLD = 100_000
"""Allocations between young-generation collections while scoring (CPython's default: 700).
Scoring allocates millions of short-lived acyclic objects (records, rows, tokens) that reference
counting frees at once; the default makes the cyclic collector run thousands of times over them
for nothing: ~14% of the CPU of a full-size run."""


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector run less often (older generations too) while scoring;
    the thresholds are restored after. Worker processes forked meanwhile inherit them."""
    import gc

    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_GEN0_THRESHOLD), max(old[1], 50), max(old[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def score_predictions(predictions_path: Path | str, dataset_root: Path | str, catalog: Catalog, *,
                      out_dir: Path | str | None = None, quick: int | None = None,
                      model: str | None = None, jobs: int = 1,
                      progress: Callable[[TaskDetail, int, int], None] | None = None,
                      ) -> tuple[LevelResult, dict[str, TaskDetail]]:
    """Score a predictions folder against an annotated dataset.

    Returns the General-Level result (with its `tasks` list: raw, normalised, parse counts,
    notes) and the per-task details. With `out_dir`, writes instances.jsonl, tasks.json,
    tasks.csv and report.json there. Tasks of the catalog absent from the dataset are
    unsupported ("not in the dataset"). `jobs` > 1 scores tasks in that many worker processes
    (the outputs are identical to jobs=1, in the same order); `progress(detail, done, total)` is
    called as each task is done, in order.
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
    work = [_TaskJob(td, preds.sources.get(task_id), preds.root, quick, out_dir is not None)
            for task_id, td in by_task.items()]
    sink = RowSink(Path(out_dir)) if out_dir is not None else None
    try:
        with _fewer_collections():
            for done, (job, (detail, text)) in enumerate(
                    zip(work, _score_jobs(work, jobs), strict=True), 1):
                details[job.data.task.id] = detail
                if sink is not None:
                    sink.write(text)
                if progress is not None:
                    progress(detail, done, len(work))
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    if sink is not None:
        sink.close()
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
    result.provenance = run_provenance(catalog.info(), preds.manifest)
    if out_dir is not None:
        write_outputs(Path(out_dir), result, details)
    return result, details
