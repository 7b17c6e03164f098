"""`generalbench tasks` and `generalbench metrics`: browse the catalog and metric specs."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from typing import Annotated

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def tasks(
    modality: Annotated[list[str] | None, typer.Option(
        help="image, video, audio, 3d or language (nlp); repeatable or comma-separated.")] = None,
    paradigm: Annotated[list[str] | None, typer.Option(
        help="comprehension, generation or language; repeatable or comma-separated.")] = None,
    skill: Annotated[str | None, typer.Option(help="Substring of the skill (meta-task).")] = None,
    metric: Annotated[str | None, typer.Option(help="Canonical metric or official spelling.")] = None,
    search: Annotated[str | None, typer.Option(help="Substring of name, short name or id.")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """List and filter the General-Bench tasks (id, name, modality, skill, metric, SoTA)."""
    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    found = catalog.filter(modality=catalog.parse_modalities(modality),
                           paradigm=catalog.parse_paradigms(paradigm), skill=skill, metric=metric,
                           search=search)
    if fmt is ListFormat.json:
        json.dump([t.model_dump() for t in found], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif fmt is ListFormat.csv:
        from generalbench.catalog.catalog import write_catalog_csv

        write_catalog_csv(found, sys.stdout)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(found)} of {len(catalog)} tasks ({catalog.version}, {catalog.hash})")
        for col in ("id", "modality", "paradigm", "skill", "metric", "sota"):
            table.add_column(col, overflow="fold")
        for t in found:
            table.add_row(t.id, t.modality, t.paradigm, t.skill, t.metric_name, f"{t.sota:g}")
        Console(width=200).print(table)


def metrics() -> None:
    """List the metric specs: spellings, unit, direction, normalisation and requirements."""
    from rich.console import Console
    from rich.table import Table

    from generalbench.metrics.specs import load_specs

    table = Table(title="metric specs")
    for col in ("metric", "spellings", "family", "unit", "better", "normalise", "needs"):
        table.add_column(col)
    for spec in load_specs().values():
        table.add_row(spec.name, ", ".join(spec.spellings), spec.family, spec.unit, spec.direction,
                      spec.normalise.describe(), spec.needs)
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks)
    app.command("metrics")(metrics)


_ = csv  # csv output goes through write_catalog_csv
