"""One evaluation run: plan the requests, answer the missing ones, write predictions, score.

The journal under RUN_DIR/journal is the source of truth; predictions are (re)written from it at
the end, so a run killed at any point and started again redoes only unanswered instances. RUN_DIR
itself is a predictions folder (data layer format) that `generalbench score RUN_DIR` accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generalbench.atomic import atomic_write_text
from generalbench.catalog import Catalog, Task
from generalbench.errors import GeneralBenchError
from generalbench.models.api import ModelRequest
from generalbench.models.config import ModelConfig
from generalbench.runner import sources
from generalbench.runner.executor import ExecStats, execute
from generalbench.runner.fingerprint import request_key, task_version
from generalbench.runner.journal import Journal
from generalbench.runner.progress import RunProgress
from generalbench.runner.shard import Shard

RUN_FILE = "run-info.json"


@dataclass
class RunOptions:
    data: Path
    out: Path
    scope: str | None = None
    tasks: list[str] | None = None
    quick: int | None = None
    shard: Shard = field(default_factory=lambda: Shard(0, 1))
    concurrency: int | None = None
    max_retries: int | None = None
    backoff: float | None = None
    quiet: bool = False
    progress_interval: float = 30.0
    """Seconds between progress lines when stderr is not a terminal (a log file, CI)."""


@dataclass
class TaskPlan:
    task: Task
    config: ModelConfig | None
    """The config that answers this task; None = unsupported by the model."""
    requests: list[ModelRequest] = field(default_factory=list)
    instances: list[Any] = field(default_factory=list)
    all_instances: list[Any] = field(default_factory=list)
    """Every instance of the task in this run, all shards together (for per-task statistics a
    backend computes in `prepare`, so that a shard predicts what the whole run would); complete
    once `planned` is set."""
    render_errors: dict[str, str] = field(default_factory=dict)
    planned: bool = False
    """Whether every instance has been read and rendered (plan_requests ran to its end)."""


@dataclass
class RunSummary:
    out: Path
    model: str
    tasks: int = 0
    unsupported: list[str] = field(default_factory=list)
    missing_data: list[str] = field(default_factory=list)
    instances: int = 0
    cached: int = 0
    answered: int = 0
    failed: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: dict[str, str] = field(default_factory=dict)
    """One message per error type, to say what went wrong without reading the journal."""
    failed_by_task: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    infer_seconds: float = 0.0
    """Time spent calling the model (the executor), excluding planning and writing."""
    predictions: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["out"] = str(self.out)
        return d


def select_tasks(catalog: Catalog, scope: str | None, names: list[str] | None) -> list[Task]:
    tasks = list(catalog)
    if scope:  # levels (and what it imports) only when a scope is given
        from generalbench.levels import Scope

        tasks = Scope.parse(scope).select(catalog)
    if names:
        wanted = {catalog.resolve(n).id for n in names}
        tasks = [t for t in tasks if t.id in wanted]
    if not tasks:
        raise GeneralBenchError(f"no task matches scope {scope!r} and --tasks {names!r}")
    return tasks


def plan(config: ModelConfig, catalog: Catalog, dataset: Any, opts: RunOptions
         ) -> tuple[list[TaskPlan], list[str], list[str]]:
    """(task plans, unsupported task ids, task ids without data in the dataset), every prompt
    rendered."""
    plans, unsupported, missing = plan_routes(config, catalog, dataset, opts)
    for tp in plans:
        for _ in plan_requests(tp, dataset, opts):
            pass
    return plans, unsupported, missing


def plan_routes(config: ModelConfig, catalog: Catalog, dataset: Any, opts: RunOptions
                ) -> tuple[list[TaskPlan], list[str], list[str]]:
    """The tasks of the run and the config answering each, without reading their instances:
    cheap, so a run that cannot start (no task in scope) fails before anything else."""
    available = set(sources.dataset_task_ids(dataset))
    plans, unsupported, missing = [], [], []
    for task in select_tasks(catalog, opts.scope, opts.tasks):
        if task.id not in available:
            missing.append(task.id)
            continue
        route = config.route(task)
        if route is None:
            unsupported.append(task.id)
            continue
        plans.append(TaskPlan(task, route))
    return plans, unsupported, missing


def plan_requests(tp: TaskPlan, dataset: Any, opts: RunOptions, chunk: int = 0
                  ) -> Iterator[list[ModelRequest]]:
    """Read a task's instances and render their prompts into `tp`, yielding the new requests
    every `chunk` instances (0: once, at the end), so an API run can send the first requests
    while the rest are read and rendered (planning 325k instances takes about a minute; the
    first request leaves after the first `chunk` instances of the file, not after all of it).
    `tp.all_instances` is complete once `tp.planned` is set."""
    task, route = tp.task, tp.config
    assert route is not None
    root = opts.out.resolve()
    data = sources.task_data(dataset, task)
    tv = task_version(task, sources.task_data_version(data))
    fp = route.fingerprint()
    gen = route.generation.model_dump(mode="json")
    artifact_dir = sources.artifacts_dir(root, task.id)
    annotation_type = getattr(data, "annotation_type", None)
    tp.all_instances, tp.instances, tp.requests, tp.render_errors = [], [], [], {}
    tp.planned = False
    new: list[ModelRequest] = []
    for inst in sources.iter_task_instances(data, opts.quick):
        if isinstance(inst, sources.InstanceProblem):
            if opts.shard.holds(task.id, inst.id):
                tp.render_errors[inst.id] = inst.message
            continue
        tp.all_instances.append(inst)
        if not opts.shard.holds(task.id, inst.id):
            continue
        tp.instances.append(inst)
        try:
            prompt = sources.render(task, inst, annotation_type)
        except GeneralBenchError as exc:
            tp.render_errors[inst.id] = f"{type(exc).__name__}: {exc}"
            continue
        key = request_key(task_version=tv, instance_id=inst.id,
                          prompt_version=str(prompt.version), prompt_hash=str(prompt.hash),
                          model_fingerprint=fp, generation=gen)
        new.append(ModelRequest(key=key, task=task, instance=inst, messages=prompt.messages,
                                settings=route.generation, artifact_dir=artifact_dir))
        if chunk and len(new) >= chunk:
            tp.requests += new
            yield new
            new = []
    tp.requests += new
    tp.planned = True
    yield new


def _relativize(value: Any, root: Path) -> Any:
    """Absolute artifact paths under the run folder become paths relative to it."""
    if isinstance(value, str) and os.path.isabs(value):
        try:
            return Path(value).resolve().relative_to(root).as_posix()
        except ValueError:
            return value
    if isinstance(value, list):
        return [_relativize(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _relativize(v, root) for k, v in value.items()}
    return value


def _setting(config: ModelConfig, override: Any, name: str, default: Any) -> Any:
    return override if override is not None else config.params.get(name, default)


PLAN_CHUNK = 8
"""Instances rendered between two turns of the event loop while an API run plans (~2 ms: a
reply that arrives meanwhile waits at most that long)."""

MEANWHILE_DELAY = 0.02
"""Seconds after the first calls start before `meanwhile` runs: their requests are out by then
and their replies still on the way (a model takes longer than that to answer)."""


async def _infer(plans: list[TaskPlan], dataset: Any, journal: Journal, opts: RunOptions,
                 summary: RunSummary, lines: PredictionLines,
                 meanwhile: Callable[[], Any] | None = None) -> None:
    """Answer the plans' unanswered requests. `meanwhile`: work for the end of the run that
    does not depend on the answers, done while the first calls are in flight instead of after
    the last reply."""
    from generalbench.models.registry import create_backend

    done = journal.done()
    by_config: dict[str, tuple[ModelConfig, list[TaskPlan]]] = {}
    for tp in plans:
        assert tp.config is not None
        by_config.setdefault(tp.config.fingerprint(), (tp.config, []))[1].append(tp)
    with RunProgress(opts.quiet, interval=opts.progress_interval) as progress:
        def todo(tp: TaskPlan, requests: list[ModelRequest]) -> list[ModelRequest]:
            """The requests not answered in the journal yet (the rest counted as cached)."""
            left = [r for r in requests if r.key not in done]
            summary.cached += len(requests) - len(left)
            progress.add_task(tp.task.id, len(requests), len(requests) - len(left))
            return left

        def on_result(req: ModelRequest, rec: dict[str, Any]) -> None:
            summary.answered += rec["status"] == "ok"
            if rec["status"] == "ok":
                lines.add(req.key, req.task.id, req.instance.id, rec.get("prediction"))
            progress.advance(req.task.id, rec["status"] == "ok")

        def on_failure(req: ModelRequest, err: Any, retrying: bool) -> None:
            summary.retries += retrying
            progress.failed_attempt(req.task.id, retrying=retrying,
                                    timeout=bool(err.overloaded and not err.rate_limited))

        for config, tps in by_config.values():
            stream = _stream(tps, dataset, opts, todo)
            first = await anext(stream, None)
            if first is None:  # everything answered in the journal: no backend to start
                continue
            concurrency = int(_setting(config, opts.concurrency, "concurrency", 32))
            # the backend's connection pool follows the executor's limit (a runtime parameter,
            # so the journal fingerprint does not change)
            backend = create_backend(config.model_copy(
                update={"params": {**config.params, "concurrency": concurrency}}))
            try:
                pending: list[ModelRequest] | AsyncIterator[list[ModelRequest]]
                pending = _prepared(backend, first, stream)
                if backend.batch_size != 1:  # batches span a task's requests: plan them all
                    pending = [r async for chunk in pending for r in chunk]
                if meanwhile is not None:
                    asyncio.get_running_loop().call_later(MEANWHILE_DELAY, meanwhile)
                    meanwhile = None
                stats: ExecStats = await execute(
                    backend, pending, journal, concurrency=concurrency,
                    max_retries=int(_setting(config, opts.max_retries, "max_retries", 3)),
                    backoff=float(_setting(config, opts.backoff, "retry_backoff", 0.5)),
                    adaptive=bool(config.params.get("adaptive", True)),
                    max_unreachable=int(config.params.get("max_unreachable", 20)),
                    on_result=on_result, on_failure=on_failure)
            finally:
                await backend.aclose()
            summary.infer_seconds = round(summary.infer_seconds + stats.seconds, 3)


async def _prepared(backend: Any, first: tuple[TaskPlan, list[ModelRequest]],
                    rest: AsyncIterator[tuple[TaskPlan, list[ModelRequest]]]
                    ) -> AsyncIterator[list[ModelRequest]]:
    """The request chunks of `first` and `rest`, the backend prepared (`prepare(task,
    all_instances)`, per-task statistics) for each task before its first request."""
    if not hasattr(backend, "prepare"):
        yield first[1]
        async for _, requests in rest:
            yield requests
        return
    # a backend with per-task statistics waits for the task's last instance to be read: its
    # requests are held until then (the chunks of one task arrive in a row)
    held: list[ModelRequest] = []
    holder: TaskPlan | None = None

    async def chunks() -> AsyncIterator[tuple[TaskPlan, list[ModelRequest]]]:
        yield first
        async for item in rest:
            yield item

    async for tp, requests in chunks():
        if holder is not None and tp is not holder:
            backend.prepare(holder.task, holder.all_instances)
            yield held
            held = []
        holder = tp
        held += requests
        if tp.planned:
            backend.prepare(tp.task, tp.all_instances)
            yield held
            held, holder = [], None
    if holder is not None:
        assert holder.planned
        backend.prepare(holder.task, holder.all_instances)
        yield held


async def _stream(tps: list[TaskPlan], dataset: Any, opts: RunOptions, todo: Any
                  ) -> AsyncIterator[tuple[TaskPlan, list[ModelRequest]]]:
    """(task plan, its unanswered requests), rendered PLAN_CHUNK instances at a time between
    turns of the event loop: the first requests are in flight while the rest are rendered."""
    for tp in tps:
        for requests in plan_requests(tp, dataset, opts, chunk=PLAN_CHUNK):
            left = todo(tp, requests)
            if left:
                yield tp, left
            await asyncio.sleep(0)  # let the loop send requests and read replies


def _count_error(summary: RunSummary, message: str) -> None:
    name = message.split(":", 1)[0]
    summary.errors[name] = summary.errors.get(name, 0) + 1
    summary.error_examples.setdefault(name, message[:300])


class PredictionLines:
    """Predictions-file lines formatted as the answers arrive, while the run mostly waits on the
    server, so that writing the predictions at the end does not format them all again (about
    40 µs per instance after the last reply). A line is used only for the very prediction it
    was formatted from; anything else is formatted at the end."""

    def __init__(self, out: Path) -> None:
        self.root = out.resolve()
        self._lines: dict[str, tuple[Any, list[Any], str]] = {}

    def add(self, key: str, task_id: str, instance_id: str, prediction: Any) -> None:
        if prediction is None:
            return
        try:
            self._lines[key] = (prediction, sources.natural_key(instance_id),
                                self._format(task_id, instance_id, prediction))
        except Exception:  # noqa: BLE001 - formatted again (and its error raised) at the end
            pass

    def row(self, key: str, task_id: str, instance_id: str, prediction: Any
            ) -> tuple[list[Any], str]:
        """(sort key, line) of an answer."""
        hit = self._lines.get(key)
        if hit is not None and hit[0] is prediction:
            return hit[1], hit[2]
        return sources.natural_key(instance_id), self._format(task_id, instance_id, prediction)

    def _format(self, task_id: str, instance_id: str, prediction: Any) -> str:
        return sources.prediction_line(task_id, instance_id, _relativize(prediction, self.root))


def collect(plans: list[TaskPlan], journal_records: dict[str, dict[str, Any]], out: Path,
            summary: RunSummary, lines: PredictionLines | None = None) -> dict[str, list[str]]:
    """Per-task predictions-file lines (instance order by id) from the journal; counts
    failures. `lines`: those formatted during the run."""
    lines = lines or PredictionLines(out)
    per_task: dict[str, list[str]] = {}
    for tp in plans:
        if not tp.requests and not tp.render_errors and tp.all_instances:
            continue  # another shard holds every instance of this task: its file comes from there
        rows = []
        silent = 0
        failed = len(tp.render_errors)
        for message in tp.render_errors.values():
            _count_error(summary, message)
        for req in tp.requests:
            rec = journal_records.get(req.key)
            if rec is None or rec["status"] != "ok":
                failed += 1
                if rec is not None:
                    _count_error(summary, rec.get("error", "error"))
                continue
            if rec.get("prediction") is None:
                silent += 1  # the backend produced no prediction (a baseline with nothing to say)
                continue
            rows.append(lines.row(req.key, tp.task.id, req.instance.id, rec["prediction"]))
        if tp.requests and silent == len(tp.requests):
            # nothing to say for the whole task: unsupported (no task file), not a folder that
            # fails `validate` with every instance missing
            summary.unsupported.append(tp.task.id)
            continue
        rows.sort(key=lambda r: r[0])
        per_task[tp.task.id] = [line for _, line in rows]
        summary.predictions += len(rows)
        if failed:
            summary.failed_by_task[tp.task.id] = failed
        summary.failed += failed
    return per_task


class RunInterrupted(GeneralBenchError):
    """Ctrl-C or SIGTERM: what was answered is saved, and rerunning resumes."""

    exit_code = 130


class RunFolderInUse(GeneralBenchError):
    """--out holds the run of another model (another backend or weights)."""


def _check_same_model(config: ModelConfig, out: Path) -> None:
    """Refuse a run folder that holds another model's run: `openai:/x/m` and `hf:/x/m` both
    default to runs/m, and one must not silently overwrite the other's predictions."""
    try:
        old = json.loads((out / RUN_FILE).read_text("utf-8"))["manifest"]["model_config"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # no run yet (or an unreadable one, which this run rewrites)
    if not isinstance(old, dict) or config.identity() == ModelConfig.identity_of(old):
        return
    raise RunFolderInUse(f"--out {out}: holds a run of {old.get('backend')}:"
                         f"{old.get('name')} (another backend or model than this run's "
                         f"{config.backend}:{config.name}); pass another --out")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the run like Ctrl-C does (answers saved, a message on how to resume)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        # Handed on as SIGINT, so asyncio.run's own Ctrl-C handling cancels the main task and
        # raises KeyboardInterrupt once the tasks are unwound; raised directly here it could land
        # inside another task, whose never-retrieved exception asyncio then logs as a traceback.
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run(coro)`, on uvloop's event loop when it is installed (it ships with the
    `server` and `test` extras; GENERALBENCH_UVLOOP=0 turns it off): its loop costs about a
    tenth less CPU per request at 64 calls in flight. Ctrl-C and SIGTERM stop it as they stop
    asyncio's own loop (both go through asyncio.Runner's SIGINT handling)."""
    if os.environ.get("GENERALBENCH_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


def run_eval(config: ModelConfig, catalog: Catalog, opts: RunOptions) -> RunSummary:
    """Infer every planned instance not already journaled, then write the predictions folder.

    If the run stops early (Ctrl-C, SIGTERM, a dead server, bad credentials) the predictions are
    still written from the journal, then the error is raised: nothing answered is lost.
    """
    start = time.perf_counter()
    if opts.out.exists() and not opts.out.is_dir():
        raise GeneralBenchError(f"--out {opts.out}: is a file, not a run folder; choose a folder")
    _check_same_model(config, opts.out)
    dataset = sources.open_data(opts.data, catalog)
    plans, unsupported, missing = plan_routes(config, catalog, dataset, opts)  # may reject the run
    summary = RunSummary(out=opts.out, model=config.name, tasks=len(plans),
                         unsupported=unsupported, missing_data=missing)
    created = not opts.out.exists()
    lines = PredictionLines(opts.out)
    manifest = _Manifest(config, catalog, opts)
    stopped: BaseException | None = None
    journal: Journal | None = None
    try:
        opts.out.mkdir(parents=True, exist_ok=True)
        journal = Journal(opts.out / "journal")
        try:
            with _sigterm_interrupts():
                run_async(_infer(plans, dataset, journal, opts, summary, lines,
                                 meanwhile=manifest.start))
        except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - re-raised below,
            stopped = exc  # after the predictions of everything journaled are written
        finally:
            journal.flush()
        records = journal.outcomes()
    except BaseException:
        if journal is not None:
            journal.close()
        if created:
            _remove_if_unused(opts.out)
        raise
    if stopped is not None and created and not records:
        journal.close()
        _remove_if_unused(opts.out)
        raise _stop_error(stopped, 0, opts.out)
    # every answer is fsynced in the log by now; the index commits and closes while the
    # predictions are written (the journal stays locked until they are)
    journal.close_soon()
    try:
        return _write_run(plans, dataset, records, lines, manifest, summary, opts, stopped,
                          start)
    finally:
        journal.close()


def _write_run(plans: list[TaskPlan], dataset: Any, records: dict[str, dict[str, Any]],
               lines: PredictionLines, manifest: _Manifest, summary: RunSummary,
               opts: RunOptions, stopped: BaseException | None, start: float) -> RunSummary:
    """The predictions folder and run-info.json from the journaled outcomes; raises the error
    that stopped the run, if any, once they are written."""
    for tp in plans:  # a run stopped while planning: the rest is planned (its answers missing)
        if not tp.planned:
            for _ in plan_requests(tp, dataset, opts):
                pass
    summary.instances = sum(len(tp.instances) for tp in plans)
    per_task = collect(plans, records, opts.out, summary, lines)
    summary.seconds = round(time.perf_counter() - start, 3)
    run_manifest = {
        **manifest.start(),
        "routes": {tp.task.id: tp.config.name for tp in plans
                   if tp.config and tp.task.id in per_task},
        # tasks the model left without any prediction are unsupported, not routed
    }
    sources.write_prediction_lines(opts.out, per_task, run_manifest)
    info = {"manifest": run_manifest, "summary": summary.as_dict(), "complete": stopped is None}
    atomic_write_text(opts.out / RUN_FILE, json.dumps(info, indent=2, default=str))
    if stopped is not None:
        raise _stop_error(stopped, summary.predictions, opts.out)
    return summary


class _Manifest:
    """The run manifest's fields known before any answer, computed once: while the first calls
    are in flight (`_infer`'s `meanwhile`), or at the end for a run that made none. The catalog
    hash in it cost about 25 ms between the last reply and the end of the process."""

    def __init__(self, config: ModelConfig, catalog: Catalog, opts: RunOptions) -> None:
        self._args = (config, catalog, opts)
        self._fields: dict[str, Any] | None = None

    def start(self) -> dict[str, Any]:
        if self._fields is None:
            config, catalog, opts = self._args
            self._fields = {
                "model": config.name, "model_config": config.public_dump(),
                "catalog": catalog.info(), "data": str(Path(opts.data).resolve()),
                "scope": opts.scope, "tasks": opts.tasks, "quick": opts.quick,
                "shard": str(opts.shard)}
        return self._fields


def _stop_error(exc: BaseException, saved: int, out: Path) -> BaseException:
    """The error a stopped run ends with: Ctrl-C/SIGTERM become one line saying what is saved."""
    if isinstance(exc, KeyboardInterrupt):
        return RunInterrupted(f"interrupted: {saved} answers are saved in {out}; rerun the same "
                              "command to resume (answered instances are not asked again)")
    return exc


def _remove_if_unused(out: Path) -> None:
    """Remove a run folder this run created if nothing was journaled in it (a rejected run
    leaves no empty folder behind; one with answers is kept, since rerunning resumes it)."""
    log = out / "journal" / "journal.jsonl"
    if log.exists() and log.stat().st_size > 0:
        return
    if any(p.is_file() and p.stat().st_size > 0 and "journal" not in p.parts[len(out.parts):]
           for p in out.rglob("*")):
        return
    shutil.rmtree(out, ignore_errors=True)
