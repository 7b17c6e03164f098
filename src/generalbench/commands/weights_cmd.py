"""`generalbench weights list|fetch|verify`: the metric models' weights, where they are, their hashes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from generalbench.errors import GeneralBenchError, MissingWeightsError

weights_app = typer.Typer(help="Metric-model weights: list what each metric needs, fetch, verify.",
                          no_args_is_help=True)


def _status(model_id: str) -> tuple[str, str]:
    from generalbench.metricmodels.weights import resolve

    try:
        found = resolve(model_id)
    except GeneralBenchError:
        return "missing", ""
    return found.origin, str(found.root)


@weights_app.command("list")
def list_weights(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each metric model: the metrics that use it, its pinned source, licence and local status."""
    from generalbench.metricmodels.registry import all_models, metrics_using

    rows = []
    for model in all_models().values():
        origin, where = _status(model.id)
        rows.append({"model": model.id, "metrics": metrics_using(model.id),
                     "source": model.source.describe(), "sha256": model.sha256,
                     "licence": model.licence, "extra": model.extra, "status": origin,
                     "path": where, "reference": model.reference})
    if as_json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="metric models (GENERALBENCH_WEIGHTS folder, installed packages, HF cache)")
    for col in ("model", "metrics", "source", "licence", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["model"], ", ".join(r["metrics"]), r["source"], r["licence"], r["status"])
    Console(width=200).print(table)


@weights_app.command("fetch")
def fetch_weights(
    models: Annotated[list[str], typer.Argument(help="Model ids (see `weights list`) or metric names.")],
    dest: Annotated[Path | None, typer.Option(help="Weights folder (default $GENERALBENCH_WEIGHTS).")] = None,
) -> None:
    """Download models from the hub or their URL into the weights folder and check their hashes."""
    from generalbench.metricmodels.weights import fetch

    for model_id in _expand(models):
        target = fetch(model_id, dest)
        typer.echo(f"{model_id}: {target}")


@weights_app.command("verify")
def verify_weights(
    models: Annotated[list[str] | None, typer.Argument(help="Model ids or metric names (default: all found).")] = None,
    path: Annotated[Path | None, typer.Option(help="Check this file/folder for the (single) model given.")] = None,
) -> None:
    """Hash the local weights and compare with the recorded sha256 (exit 2 on a mismatch)."""
    from generalbench.metricmodels.registry import all_models
    from generalbench.metricmodels.weights import resolve, verify

    ids = _expand(models) if models else list(all_models())
    if path is not None and len(ids) != 1:
        raise MissingWeightsError("--path needs exactly one model id")
    bad = 0
    for model_id in ids:
        try:
            found = resolve(model_id, path=path)
        except MissingWeightsError:
            if models:
                raise
            typer.echo(f"{model_id}: not present")
            continue
        for check in verify(found):
            state = {True: "ok", False: "MISMATCH", None: "no recorded hash"}[check.ok]
            bad += check.ok is False
            typer.echo(f"{model_id}: {check.name}: {state} sha256={check.actual}")
    if bad:
        raise MissingWeightsError(f"{bad} weight file(s) do not match their recorded sha256")


@weights_app.command("make-tiny")
def make_tiny_weights(
    dest: Annotated[Path, typer.Argument(help="Folder to use as GENERALBENCH_WEIGHTS.")],
    models: Annotated[list[str] | None, typer.Option("--model", help="Only these model ids or metrics.")] = None,
) -> None:
    """Write tiny RANDOM-weight stand-ins (meaningless scores) to exercise every metric offline."""
    from generalbench.metricmodels.tiny import make_tiny

    for folder in make_tiny(dest, _expand(models) if models else None):
        typer.echo(f"{folder.name}: {folder}")
    typer.echo(f"export GENERALBENCH_WEIGHTS={dest}   # results carry tiny_random_weights=true")


def _expand(names: list[str]) -> list[str]:
    """Accept metric names too: 'fid' -> its default model (and head)."""
    from generalbench.metricmodels.registry import all_models, metric_models

    out: list[str] = []
    for name in names:
        if name in all_models():
            out.append(name)
            continue
        entry = metric_models(name)
        if not entry:
            from generalbench.metricmodels.registry import get_model

            get_model(name)  # raises with suggestions
        out += [entry[k] for k in ("default", "head") if k in entry]
    return list(dict.fromkeys(out))


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")
