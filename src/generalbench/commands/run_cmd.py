"""`generalbench run`, `generalbench demo` and `generalbench merge`: evaluate a model end to end."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from generalbench.cli import CatalogExtra, SotaOverrides, load_catalog_opts
from generalbench.errors import GeneralBenchError


class Executor(str, Enum):
    local = "local"
    ray = "ray"


def _params(items: list[str] | None) -> dict[str, Any]:
    import yaml  # here, not at module level: every CLI start-up imports this module

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GeneralBenchError(f"--param {item!r}: use KEY=VALUE (VALUE parsed as YAML)")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            why = str(getattr(exc, "problem", None) or exc).splitlines()[0]
            raise GeneralBenchError(f"--param {item!r}: VALUE is not valid YAML ({why}); quote "
                                    "text values") from None
    return out


def _check_out_folder(out: Path) -> None:
    """`--out` must be a folder (or not exist yet): a file there is one clear error."""
    if out.exists() and not out.is_dir():
        raise GeneralBenchError(f"--out {out}: is a file, not a folder; choose another --out")


def _echo_summary(summary: dict[str, Any], quiet: bool) -> None:
    s = summary
    typer.echo(f"run: {s['model']}: {s.get('tasks', '?')} tasks, {s['instances']} instances: "
               f"{s['answered']} answered, {s['cached']} from the journal, {s['failed']} failed "
               f"({s['retries']} retries); {s['predictions']} predictions; {s.get('seconds', 0):.1f}s",
               err=True)
    if s.get("errors"):
        kinds = ", ".join(f"{k} x{v}" for k, v in sorted(s["errors"].items()))
        typer.echo(f"  failures by type: {kinds}", err=True)
        for example in s.get("error_examples", {}).values():
            typer.echo(f"  e.g. {example}", err=True)
        if not quiet:
            for task, n in sorted(s.get("failed_by_task", {}).items()):
                typer.echo(f"  {task}: {n} failed", err=True)
    if s.get("unsupported"):
        typer.echo(f"  {len(s['unsupported'])} tasks not supported by the model (count as "
                   "unsupported)", err=True)


def score_run(run_dir: Path, data: Path, catalog: Any, *, quick: int | None, scope: str | None,
              quiet: bool) -> Any:
    """Score a run folder with the scoring pipeline and print the General-Level report."""
    from generalbench.report.render import print_table
    from generalbench.runner.score import score_predictions

    result, _ = score_predictions(run_dir, data, catalog, out_dir=run_dir / "score", quick=quick)
    import shutil

    from rich.console import Console

    from generalbench.levels import Scope

    # wide enough for the report's columns even when stdout is not a terminal
    width = max(120, shutil.get_terminal_size((160, 40)).columns)
    print_table([result], Scope.parse(scope) if scope else None, console=Console(width=width))
    return result


_exit_unswept: list[bool] = []


@contextlib.contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """Keep what exists before the run (modules, the catalog) out of the garbage collector's
    full passes while the run lasts, and every object out of the last pass at the process's
    exit, which otherwise walks all of them once more (about 0.1 s between the last answer and
    the end of `run`). Unfrozen after the run: a process that goes on (tests calling the CLI in
    process) keeps collecting everything."""
    import atexit
    import gc

    if not _exit_unswept:
        _exit_unswept.append(True)
        atexit.register(gc.freeze)
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run(
    model: Annotated[str, typer.Option(
        help="Model: a YAML config, a preset (demo), or BACKEND:TARGET: openai:<model> (with "
             "--base-url), hf:<path>, vllm:<path>, replay:<predictions dir>, baseline.")],
    data: Annotated[Path, typer.Option(help="Dataset folder (open set or the mini-bench).")],
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL (…/v1).")] = None,
    api_key: Annotated[str | None, typer.Option(
        help="API key (default: OPENAI_API_KEY). Never written to any file.")] = None,
    scope: Annotated[str | None, typer.Option(
        help="A, B:<modality>, C:<modality>-<comprehension|generation>, L (language tasks), "
             "D:<skill> or D:<modality>:<skill>.")] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only these tasks (ids or names; repeatable).")] = None,
    quick: Annotated[int | None, typer.Option(
        min=1, help="At most N instances per task (fixed subset).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default runs/<model name>); rerunning resumes from its journal.")] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="Only write predictions.")] = False,
    shard: Annotated[str | None, typer.Option(help="Run shard I/N (0 <= I < N) only.")] = None,
    executor: Annotated[Executor, typer.Option(help="local, or ray (shards as Ray tasks).")] = Executor.local,
    ray_shards: Annotated[int, typer.Option(min=1, help="Shards for --executor ray.")] = 2,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster (default: local).")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Calls in flight (API backends).")] = None,
    max_retries: Annotated[int | None, typer.Option(min=0, help="Retries of a retryable failure.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Backend parameter KEY=VALUE (repeatable), e.g. batch_size=16.")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        help="Most tokens per answer (a generation setting: changing it re-asks the model).",
        min=1)] = None,
    temperature: Annotated[float | None, typer.Option(
        help="Sampling temperature (a generation setting; default 0).", min=0.0)] = None,
    allow_failures: Annotated[bool, typer.Option(
        "--allow-failures", help="Exit 0 even if some instances failed (they score 0).")] = False,
    progress_interval: Annotated[float, typer.Option(
        help="Seconds between progress lines when stderr is not a terminal.", min=1.0)] = 30.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live progress (CI).")] = False,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Evaluate a model: render prompts, call it, write predictions, score, print General-Level.

    Exits 1 when instances failed (after their retries; rerunning retries them) unless
    --allow-failures, 130 when interrupted (rerunning resumes), 2 on a usage or setup error.
    A server that cannot be reached many times in a row stops the run
    (--param max_unreachable=N, default 20; 0 never stops)."""
    from generalbench.models.config import parse_model_spec
    from generalbench.runner.run import RunOptions, run_eval
    from generalbench.runner.shard import Shard

    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    if scope:  # checked before the run, not after it (an unknown skill would give an empty board)
        from generalbench.levels import Scope

        scope = Scope.parse(scope).check(catalog).label()
    config = parse_model_spec(model, base_url=base_url, api_key=api_key, overrides=_params(param))
    generation = {k: v for k, v in (("max_tokens", max_tokens), ("temperature", temperature))
                  if v is not None}
    if generation:
        config = config.model_copy(update={"generation": config.generation.model_copy(
            update=generation)})
    if not data.is_dir():
        raise GeneralBenchError(f"{data}: dataset folder not found (try `generalbench demo` or "
                                "`generalbench make-mini DIR`)")
    out = out or Path("runs") / config.name.replace("/", "_")
    _check_out_folder(out)
    opts = RunOptions(data=data, out=out, scope=scope, tasks=tasks, quick=quick,
                      shard=Shard.parse(shard), concurrency=concurrency, max_retries=max_retries,
                      quiet=quiet, progress_interval=progress_interval)
    with _long_lived_frozen():
        if executor is Executor.ray:
            from generalbench.runner.ray_executor import run_with_ray

            summary = run_with_ray(config, catalog, opts, shards=ray_shards,
                                   address=ray_address)["summary"]
        else:
            summary = run_eval(config, catalog, opts).as_dict()
    _echo_summary(summary, quiet)
    typer.echo(f"predictions: {out}", err=True)
    if no_score or opts.shard.count > 1:
        if opts.shard.count > 1:
            typer.echo("shard run: merge the shards with `generalbench merge`, then score", err=True)
    else:
        score_run(out, data, catalog, quick=quick, scope=scope, quiet=quiet)
        typer.echo(f"report: {out / 'score'}", err=True)
        typer.echo(f"report with error bars: generalbench report {out} --out {out / 'report.html'}",
                   err=True)
    if summary["failed"] and not allow_failures:
        raise RunFailedError(f"{summary['failed']} of {summary['instances']} instances failed "
                             "(they score 0); rerun the same command to retry them, or pass "
                             "--allow-failures to accept the run as it is")


class RunFailedError(GeneralBenchError):
    """The run finished, but some instances have no answer: exit 1, not a silent success."""

    exit_code = 1


def merge(
    runs: Annotated[list[Path], typer.Argument(help="Shard run folders.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Merged run folder.")],
    data: Annotated[Path | None, typer.Option(help="Dataset (default: the shards' --data).")] = None,
    no_score: Annotated[bool, typer.Option("--no-score")] = False,
    allow_partial: Annotated[bool, typer.Option(help="Merge even if shards are missing.")] = False,
    catalog_extra: CatalogExtra = None,
    sota_overrides: SotaOverrides = None,
) -> None:
    """Merge `--shard` runs into one run folder (same predictions and scores as one run)."""
    from generalbench.runner.merge import merge_runs

    _check_out_folder(out)
    info = merge_runs(runs, out, allow_partial=allow_partial)
    _echo_summary(info["summary"], True)
    typer.echo(f"merged predictions: {out}", err=True)
    if no_score:
        return
    manifest = info["manifest"]
    catalog = load_catalog_opts(catalog_extra, sota_overrides)
    score_run(out, data or Path(manifest["data"]), catalog, quick=manifest.get("quick"),
              scope=manifest.get("scope"), quiet=True)


def default_cache() -> Path:
    from generalbench.datafiles import cache_root

    return cache_root()


def demo(
    out: Annotated[Path, typer.Option(help="Run folder.")] = Path("runs/demo"),
    data: Annotated[Path | None, typer.Option(
        help="Mini-bench folder (default: <cache>/mini-bench, generated if missing).")] = None,
    model: Annotated[str, typer.Option(help="Model (default: the demo preset).")] = "demo",
    quick: Annotated[int | None, typer.Option(min=1, help="Instances per task.")] = 6,
    quiet: Annotated[bool, typer.Option("--quiet")] = False,
) -> None:
    """Generate the mini-bench if needed, evaluate SmolLM2-135M-Instruct (text tasks) and the
    reference baselines (the rest) on it, and print the General-Level report."""
    import time

    from generalbench.data.minibench import MARKER, is_current, make_mini
    from generalbench.models.config import parse_model_spec
    from generalbench.runner.run import RunOptions, run_eval

    start = time.perf_counter()
    catalog = load_catalog_opts(None, None)
    data = data or default_cache() / "mini-bench"
    if not is_current(data):
        what = "regenerating the mini-bench (made by an older version)" if (data / MARKER).exists() \
            else "generating the mini-bench"
        typer.echo(f"{what} in {data} ...", err=True)
        make_mini(data)
    config = parse_model_spec(model)
    summary = run_eval(config, catalog, RunOptions(data=data, out=out, quick=quick, quiet=quiet))
    _echo_summary(summary.as_dict(), quiet)
    score_run(out, data, catalog, quick=quick, scope=None, quiet=quiet)
    typer.echo(f"note: the mini-bench holds {summary.tasks} of the catalog's {len(catalog)} tasks; "
               "every other task counts as unsupported (0), as General-Level prescribes, so these "
               "levels are far below what a full run gives. Per-task scores: "
               f"generalbench score {out}", err=True)
    from generalbench.commands.report_cmd import write_report

    html = write_report([out], out / "report.html", catalog, data=data)
    typer.echo(f"mini-bench: {data}\npredictions and journal: {out}\nreport: {out / 'score'}\n"
               f"HTML report (bootstrap intervals, charts): {html}\n"
               f"took {time.perf_counter() - start:.0f}s", err=True)
    (out / "demo.json").write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1),
                                               "model": config.name}))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("merge")(merge)
    app.command("demo")(demo)
