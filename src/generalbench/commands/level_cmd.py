"""`generalbench level`: General-Level scores and leaderboards from per-task score files."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def level(
    files: Annotated[list[Path], typer.Argument(
        help="Score files: official result workbooks (.xlsx, one column per model), CSV "
             "(task,score[,model]) or JSON ([{task, score, model}], {model: {task: score}}, or a "
             "`generalbench score` report).", show_default=False)],
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Only these models (repeatable); with one CSV/JSON file and no model "
                        "column, the model's name.")] = None,
    scope: Annotated[str, typer.Option(
        help="Leaderboard scope: A (overall), B:<modality>, C:<modality>-<comprehension|generation>"
             ", D:[<modality>:]<skill> (one board per skill within a modality).")] = "A",
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = ReportFormat.table,
    xlsx: Annotated[Path | None, typer.Option(
        help="Also write an official-format workbook (template sheets, a column per model, a "
             "level-scores sheet).")] = None,
    with_tasks: Annotated[bool, typer.Option(
        "--tasks/--no-tasks", help="Include the per-task list in JSON output.")] = False,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Compute General-Level (Level-2..5) for one or more models and rank them.

    Every task of the catalog counts: a task without a score is unsupported (0 in every mean).
    Scores are normalised to [0, 100] per metric (see `generalbench metrics`, docs/scoring.md).
    """
    from generalbench.errors import ScoreFileError
    from generalbench.levels import Scope, evaluate
    from generalbench.report import render
    from generalbench.report.scorefiles import read_score_files

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    the_scope = Scope.parse(scope)
    models = read_score_files(files, catalog)
    if model:
        names = {m.model for m in models}
        if len(models) == 1 and len(model) == 1 and model[0] not in names:
            models[0].model = model[0]
        else:
            unknown = [m for m in model if m not in names]
            if unknown:
                raise ScoreFileError(f"model {unknown[0]!r} is not in the score files "
                                     f"(found: {', '.join(sorted(names))})")
            models = [m for m in models if m.model in model]
    if the_scope.kind == "B" and the_scope.modality not in {t.modality for t in catalog}:
        raise ScoreFileError(f"scope {scope!r}: the catalog has no modality {the_scope.modality!r}")
    results = [evaluate(catalog, m.raw, m.model, keep_tasks=True) for m in models]
    if xlsx is not None:
        from generalbench.report.workbook import write_workbook

        write_workbook(xlsx, catalog, models, results)
    if fmt is ReportFormat.json:
        sys.stdout.write(render.to_json(results, the_scope, with_tasks=with_tasks) + "\n")
    elif fmt is ReportFormat.csv:
        sys.stdout.write(render.to_csv(results, the_scope))
    elif fmt is ReportFormat.markdown:
        sys.stdout.write(render.to_markdown(results, the_scope))
    else:
        render.print_table(results, the_scope)
    if xlsx is not None:
        typer.echo(f"wrote {xlsx}", err=True)


def register(app: typer.Typer) -> None:
    app.command("level")(level)
