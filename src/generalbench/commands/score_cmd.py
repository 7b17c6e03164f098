"""`generalbench score`: score a predictions folder against an annotated dataset."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts

if TYPE_CHECKING:
    from generalbench.levels import LevelResult
    from generalbench.runner.score import TaskDetail


class ScoreFormat(str, Enum):
    table = "table"
    json = "json"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def score(
    predictions: Annotated[Path, typer.Argument(
        help="Predictions folder (run.json + <task_id>.jsonl), a .zip of one, or an official "
             "tree of prediction.json files.", show_default=False)],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Annotated dataset root (open set, with references). Default: the "
                       "dataset recorded in the run folder's run.json by `generalbench run`.",
        show_default=False)] = None,
    fmt: Annotated[ScoreFormat, typer.Option("--format", help="Output format.")] = ScoreFormat.table,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write instances.jsonl, tasks.json, tasks.csv and report.json here.")] = None,
    quick: Annotated[int | None, typer.Option(
        "--quick", min=1, help="Score only the fixed subset of N instances per task (default: "
                               "the run's --quick, when scoring a run folder).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Model name in the report (default: run.json's model).")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Score tasks in N worker processes (default: the number of "
                                    "usable CPUs; 1 scores in this process). The outputs are "
                                    "the same whatever N.", show_default=False)] = None,
    keep_going: Annotated[bool, typer.Option(
        "--keep-going", help="Exit 0 even when a metric raised an unexpected error (a bug) or "
                             "a task's predictions file is unreadable; those tasks are still "
                             "listed and unsupported.")] = False,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Score predictions and print the General-Level report with a per-task list.

    Failed answers follow each metric's failure policy (docs/metrics.md) and are counted per
    task; a task with no predictions, whose every answer failed, or whose metric cannot run here
    (a metric model not installed) is unsupported and its note says why. An unexpected error
    inside a metric is a bug, and a task's predictions file that cannot be read is an error of
    the submission: either way the task is named and the command exits 3 unless --keep-going.
    """
    from generalbench.runner.score import score_predictions, usable_cpus

    data, quick = _run_defaults(predictions, data, quick)
    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    with _progress_bar() as progress:
        result, details = score_predictions(predictions, data, catalog, out_dir=out, quick=quick,
                                            model=model, jobs=jobs or usable_cpus(),
                                            progress=progress)
    errors = {k: d.note for k, d in details.items() if d.error}
    if fmt is ScoreFormat.json:
        json.dump(result.model_dump(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        _print_tables(result, details, out, data)
    for task_id, note in errors.items():  # a metric bug or an unreadable predictions file
        sys.stderr.write(f"error: task {task_id}: {note}\n")
    if errors and not keep_going:
        raise typer.Exit(3)


@contextmanager
def _progress_bar() -> Iterator[Callable[[TaskDetail, int, int], None] | None]:
    """A transient tasks-done bar on a terminal's stderr (None elsewhere: logs stay clean)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # auto_refresh=False: no refresh thread, which `--jobs` would fork (a lock it held would
    # stay locked in the workers); the bar is redrawn as each task is done instead
    with Progress(TextColumn("scoring {task.fields[current]}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True, auto_refresh=False) as bar:
        handle = bar.add_task("tasks", total=None, current="")

        def step(detail: TaskDetail, done: int, total: int) -> None:
            bar.update(handle, completed=done, total=total, current=detail.task, refresh=True)

        yield step


def _print_tables(result: LevelResult, details: dict[str, TaskDetail], out: Path | None,
                  data: Path) -> None:
    """The General-Level table and the per-task list (parse counts and notes); a long list
    (a full run has hundreds of tasks) as a plain text table, which Rich took about a second to
    lay out."""
    from rich.console import Console

    from generalbench.report import render

    console = Console(width=200)
    render.print_table([result], console=console)
    columns = [(col, {"overflow": "fold", "justify": "right" if col in
                      {"raw", "norm", "sota", "parsed/failed/n"} else "left"})
               for col in ("task", "metric", "raw", "norm", "sota", "win", "parsed/failed/n",
                           "note")]
    rows = []
    for ts in result.tasks or []:
        d = details.get(ts.id)
        if d is None or d.note == "not in the dataset":
            continue
        rows.append([ts.id, ts.metric_name, _fmt(ts.raw), _fmt(ts.normalised), _fmt(ts.sota),
                     "yes" if ts.win else "", f"{d.parsed}/{d.failed}/{d.instances}",
                     render.note_cell(d.note, out / "tasks.csv" if out else None)])
    render.emit_tables([("tasks in the dataset", columns, rows)], console,
                       plain=len(rows) >= render.FAST_ROWS)
    if out is not None:
        console.print(f"per-instance scores and per-task files written to {out}")
        console.print(f"report with error bars: generalbench report {out} --data {data} "
                      f"--out {out / 'report.html'}")


def _run_defaults(predictions: Path, data: Path | None, quick: int | None
                  ) -> tuple[Path, int | None]:
    """--data and --quick from a run folder's run.json when not given on the command line."""
    from generalbench.errors import PredictionError

    manifest_path = predictions / "run.json"
    manifest: dict = {}
    if predictions.is_dir() and manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON or UTF-8
            raise PredictionError(f"{manifest_path}: not valid JSON ({exc})") from None
    if data is None:
        recorded = manifest.get("data") if isinstance(manifest, dict) else None
        if recorded is not None and not isinstance(recorded, str):
            raise PredictionError(f"{manifest_path}: field 'data' must be a folder path, got "
                                  f"{type(recorded).__name__}; pass --data DATASET")
        if not recorded:
            raise PredictionError(f"{predictions}: no --data given and no dataset recorded in "
                                  "run.json; pass --data DATASET")
        data = Path(recorded)
        if not data.exists():
            raise PredictionError(f"{manifest_path}: field 'data': dataset {data} does not exist; "
                                  "pass --data DATASET")
    if quick is None and isinstance(manifest, dict) and manifest.get("quick") is not None:
        recorded_quick = manifest["quick"]
        if type(recorded_quick) is not int or recorded_quick < 1:  # noqa: E721 - bool is no count
            raise PredictionError(f"{manifest_path}: field 'quick' must be a positive integer, got "
                                  f"{recorded_quick!r}; pass --quick N")
        quick = recorded_quick
    return data, quick


def register(app: typer.Typer) -> None:
    app.command("score")(score)
