"""`generalbench report`: a report people read (HTML, Markdown, LaTeX, CSV, JSON) with bootstrap
intervals, level probabilities and, for several runs, paired comparisons."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts
from generalbench.errors import GeneralBenchError


class ReportFormat(str, Enum):
    html = "html"
    md = "md"
    tex = "tex"
    csv = "csv"
    json = "json"


_SUFFIX = {".html": ReportFormat.html, ".htm": ReportFormat.html, ".md": ReportFormat.md,
           ".tex": ReportFormat.tex, ".csv": ReportFormat.csv, ".json": ReportFormat.json}


def build_report(sources: list[Path], catalog: Any, *, data: Path | None = None,
                 resamples: int = 1000, seed: int = 0, confidence: float = 0.95,
                 quiet: bool = False) -> tuple[list[Any], list[dict[str, Any]]]:
    """Bootstraps of every source and paired comparisons of each pair (in argument order)."""
    from generalbench.report.sources import load_source
    from generalbench.stats.bootstrap import bootstrap_model
    from generalbench.stats.compare import compare

    tasks = list(catalog)
    boots = []
    seen: dict[str, int] = {}
    for path in sources:
        src = load_source(path, catalog, data)
        name = src.result.model
        if name in seen:  # the same model twice (two runs): tell them apart by folder
            name = f"{name} ({path.name})"
        seen[name] = 1
        if not quiet:
            typer.echo(f"report: {name}: {resamples} bootstrap resamples ...", err=True)
        boots.append(bootstrap_model(name, src.result, tasks, src.samples, resamples, seed,
                                     confidence))
    comparisons = [compare(a, b) for i, a in enumerate(boots) for b in boots[i + 1:]]
    return boots, comparisons


def render_report(boots: list[Any], comparisons: list[dict[str, Any]], fmt: ReportFormat) -> str:
    from generalbench.report import formats, tables

    if fmt is ReportFormat.json:
        out = []
        for b in boots:
            s = b.summary()
            s["comparisons"] = [c for c in comparisons if b.model in (c["a"], c["b"])]
            out.append(s)
        return json.dumps(out[0] if len(out) == 1 else out, indent=1, ensure_ascii=False) + "\n"
    all_tables = tables.all_tables(boots, comparisons)
    if fmt is ReportFormat.md:
        return formats.to_markdown(all_tables)
    if fmt is ReportFormat.tex:
        return formats.to_latex(all_tables)
    if fmt is ReportFormat.csv:
        return formats.to_csv(all_tables)
    from generalbench.report.html import to_html

    return to_html(boots, all_tables)


def write_report(sources: list[Path], out: Path, catalog: Any, *, data: Path | None = None,
                 resamples: int = 1000, seed: int = 0, quiet: bool = True) -> Path:
    """Write a report file (format from the suffix); `run`, `score` and `demo` call this."""
    fmt = _SUFFIX.get(out.suffix.lower(), ReportFormat.html)
    boots, comparisons = build_report(sources, catalog, data=data, resamples=resamples,
                                      seed=seed, quiet=quiet)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(boots, comparisons, fmt), encoding="utf-8")
    return out


def report(
    sources: Annotated[list[Path], typer.Argument(
        help="Run folders, score folders (instances.jsonl + report.json) or predictions folders "
             "(with --data).", show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output file (default: stdout for md/tex/csv/json, report.html for html).")] = None,
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", help="html, md, tex, csv or json (default: from --out's suffix, else html).")] = None,
    resamples: Annotated[int, typer.Option(
        "--resamples", min=1, max=20_000, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Bootstrap seed.")] = 0,
    confidence: Annotated[float, typer.Option(
        "--confidence", min=0.5, max=0.999, help="Interval coverage.")] = 0.95,
    figures: Annotated[Path | None, typer.Option(
        "--figures", help="Also write each chart as SVG and PNG into this folder.")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Dataset with references: scores predictions folders and lets corpus "
                       "metrics (micro-F1, BLEU-4, ...) be recomputed per resample (default: the "
                       "dataset a run folder records).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Write a report with bootstrap confidence intervals: the General-Level leaderboard with
    level probabilities, per-modality and per-skill tables and charts, the per-task table and,
    with two or more runs, paired comparisons (method: docs/statistics.md)."""
    if fmt is None:
        fmt = _SUFFIX.get(out.suffix.lower(), ReportFormat.html) if out else ReportFormat.html
    if data is not None and not data.is_dir():
        raise GeneralBenchError(f"{data}: dataset folder not found")
    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    boots, comparisons = build_report(sources, catalog, data=data, resamples=resamples, seed=seed,
                                      confidence=confidence, quiet=quiet)
    text = render_report(boots, comparisons, fmt)
    if out is None and fmt is ReportFormat.html:
        out = Path("report.html")
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"report: {out}", err=True)
    if figures is not None:
        from generalbench.report.figures import write_figures

        written = write_figures(boots, figures)
        typer.echo(f"figures: {len(written)} files in {figures}", err=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
