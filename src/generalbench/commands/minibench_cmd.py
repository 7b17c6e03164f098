"""`generalbench make-mini`: generate the built-in mini-bench (and, optionally, oracle predictions)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def make_mini_cmd(
    dest: Annotated[Path, typer.Argument(help="Folder to write the mini-bench into.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 0,
    per_task: Annotated[int, typer.Option("--per-task", min=1, help="Instances per task.")] = 12,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only these tasks (id or name); repeatable.")] = None,
    oracle: Annotated[Path | None, typer.Option(
        "--oracle", help="Also write the references as a predictions folder here.")] = None,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Generate the built-in mini-bench: real catalog tasks in all five modalities, synthetic media."""
    from generalbench.data.minibench import make_mini, write_oracle_predictions

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    start = time.perf_counter()
    root = make_mini(dest, seed=seed, per_task=per_task, tasks=tasks, catalog=catalog)
    elapsed = time.perf_counter() - start
    n_tasks = sum(1 for _ in root.rglob("annotation.json"))
    typer.echo(f"mini-bench: {n_tasks} tasks, {_size(root) / 1e6:.1f} MB in {elapsed:.1f} s -> {root}")
    if oracle is not None:
        out = write_oracle_predictions(root, oracle, catalog=catalog)
        typer.echo(f"oracle predictions -> {out}")


def register(app: typer.Typer) -> None:
    app.command("make-mini")(make_mini_cmd)
