"""`generalbench validate`, `download` and `split`: dataset and predictions housekeeping."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts


class ReportFormat(str, Enum):
    table = "table"
    json = "json"


def validate(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (General-Bench layout).")],
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="Predictions folder or .zip (or an official tree) to check too.")] = None,
    quick: Annotated[int | None, typer.Option(
        min=1, help="Check only the fixed quick subset of N instances per task.")] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only these tasks (id or name); repeatable.")] = None,
    decode: Annotated[bool, typer.Option(
        "--decode/--no-decode", help="Decode every media file (default) or only check it exists.")] = True,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Report format.")] = ReportFormat.table,
    max_problems: Annotated[int, typer.Option(min=0, help="Problems listed per task.")] = 20,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Check annotations (schema, unique ids, media present and decodable) and predictions
    (every id present, no unknown ids, native type, artifacts decodable). Exit 1 on any error."""
    from generalbench.data import open_dataset, read_predictions
    from generalbench.data.validate import (
        ValidationResult,
        iter_validate,
        orphan_prediction_problems,
        unmatched_problems,
    )

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    ds = open_dataset(dataset, catalog)
    preds = read_predictions(predictions, catalog) if predictions is not None else None
    if quick is None and preds is not None and isinstance(preds.manifest.get("quick"), int):
        quick = preds.manifest["quick"]  # a run folder made with --quick: check that subset
    task_ids = [catalog.resolve(t).id for t in tasks] if tasks else None
    table = fmt is ReportFormat.table
    if table:
        typer.echo(f"{'task':<70} {'inst':>6} {'media':>6} {'preds':>6} {'errors':>6}")
    reports = []
    for report in iter_validate(ds, preds, quick=quick, decode=decode, tasks=task_ids,
                                keep=max_problems):
        reports.append(report)
        if table:
            p = "-" if report.predictions is None else str(report.predictions)
            mark = "ok" if report.errors == 0 else "FAIL"
            typer.echo(f"{report.task_id:<70} {report.instances:>6} {report.media:>6} {p:>6} "
                       f"{report.errors:>6} {mark}")
            for problem in report.problems:
                typer.echo(f"    {problem}")
            hidden = report.total_problems - len(report.problems)
            if hidden:
                typer.echo(f"    ... {hidden} more problem(s)")
    orphans = orphan_prediction_problems(ds, preds, task_ids) if preds is not None else []
    result = ValidationResult(str(dataset), reports, unmatched_problems(ds), orphans)
    if table:
        for problem in result.dataset_problems:
            typer.echo(f"dataset: {problem}")
        for problem in result.prediction_problems:
            typer.echo(f"predictions: {problem}")
        n_inst = sum(r.instances for r in reports)
        status = "no errors" if result.ok else f"{result.errors} error(s)"
        typer.echo(f"{len(reports)} task(s), {n_inst} instance(s), "
                   f"{len(result.dataset_problems)} unmatched folder(s): {status}")
    else:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    if not result.ok:
        sys.stdout.flush()
        raise SystemExit(1)  # typer.Exit(1) would be swallowed by click's standalone_mode=False


class Split(str, Enum):
    open = "open"
    closed = "closed"


def download(
    split: Annotated[Split, typer.Option("--split", help="open (with answers) or closed (inputs only).")],
    modality: Annotated[list[str] | None, typer.Option(
        "--modality", help="image, video, audio, 3d or language (nlp); repeatable or "
                           "comma-separated (default: all).")] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only these tasks (id or name); repeatable.")] = None,
    dest: Annotated[Path | None, typer.Option(
        "--dest", help="Target folder (default: ./General-Bench-Openset or -Closeset).")] = None,
    source: Annotated[Path | None, typer.Option(
        "--source", help="Copy from this local mirror instead of the Hugging Face hub.")] = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Download General-Bench (restricted to the chosen modalities / tasks) from the Hugging Face
    hub (needs the `hub` extra and network), or copy it from a local mirror with --source."""
    import os

    from generalbench.data.download import download as run_download

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    result = run_download(split.value, catalog, dest=dest, modalities=modality, tasks=tasks,
                          source=source, revision=revision, token=os.environ.get("HF_TOKEN"))
    sel = result.selection
    typer.echo(f"{len(sel.folders)} task folder(s), {result.files} file(s), "
               f"{result.bytes / 1e6:.1f} MB -> {result.dest}")
    for path in sel.unmatched:
        typer.echo(f"  not in the catalog (copied nothing): {path}", err=True)


def split(
    dataset: Annotated[Path, typer.Argument(help="A fully annotated dataset folder.")],
    out: Annotated[Path, typer.Option("--out", help="New folder for open/, closed/ and answers/.")],
    seed: Annotated[int, typer.Option(help="Seed of the id hash that assigns instances.")] = 0,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Split a dataset 2:3 per task (deterministic by id hash) into an open set, a closed set with
    inputs only, and an answer key (same layout) for leaderboard operators."""
    from generalbench.data.split import split_dataset

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    report = split_dataset(dataset, out, catalog, seed=seed)
    n_open = sum(t["open"] for t in report.tasks.values())
    n_closed = sum(t["closed"] for t in report.tasks.values())
    typer.echo(f"{len(report.tasks)} task(s): {n_open} open, {n_closed} closed instance(s) -> "
               f"{out}/open, {out}/closed, {out}/answers")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("download")(download)
    app.command("split")(split)
