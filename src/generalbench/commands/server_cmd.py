"""`generalbench serve`, `worker`, `admin ...` and `submit`: the leaderboard service (issue 14).

The service needs the `server` extra; these commands import it lazily so the core CLI stays light.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from generalbench.errors import GeneralBenchError

DEFAULT_STORAGE = Path("leaderboard")

Db = Annotated[str | None, typer.Option(
    "--db", help="Database URL (sqlite:///FILE or postgresql://...). Default: "
                 "<storage>/leaderboard.db.", show_default=False)]
Storage = Annotated[Path, typer.Option(
    "--storage", help="Folder for uploads, extracted archives and scores (shared by workers).")]


def _need_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ModuleNotFoundError as exc:
        raise GeneralBenchError(f"the leaderboard needs the server extra ({exc.name} is missing): "
                                "pip install 'generalbench[server]'") from None


def _engine(db: str | None, storage: Path):
    _need_extra()
    from generalbench.server.service import open_db

    return open_db(db, storage)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: Db = None,
    storage: Storage = DEFAULT_STORAGE,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Closed set (inputs only) participants evaluate on. Default: the built-in "
                       "mini-bench.", show_default=False)] = None,
    answers: Annotated[Path | None, typer.Option(
        "--answers", help="Answer key (the closed set with references); read by workers only.",
        show_default=False)] = None,
    workers: Annotated[int, typer.Option(help="Scoring worker threads in this process.")] = 1,
    processes: Annotated[int, typer.Option(
        "--processes", min=1, help="Web processes sharing the port (board reads use every core; "
                                   "each keeps its own board cache, kept fresh through the "
                                   "database).")] = 1,
) -> None:
    """Run the leaderboard: web pages, JSON API, SQLite (or --db) and one scoring worker."""
    _need_extra()
    from generalbench.server.service import serve as run

    run(host, port, db, storage, data, answers, workers, processes=processes)


def worker(db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Run a scoring worker (any number, on any machine sharing --db and --storage)."""
    from generalbench.server.worker import Worker

    engine = _engine(db, storage)
    w = Worker(engine, storage)
    typer.echo(f"worker {w.name} polling {engine.url.render_as_string(hide_password=True)}",
               err=True)
    w.run_forever()


admin = typer.Typer(help="Operator commands for the leaderboard (audit-logged).",
                    no_args_is_help=True)


def _session(db: str | None, storage: Path):
    from generalbench.server.db import session_factory

    return session_factory(_engine(db, storage))()


@admin.command("add-team")
def add_team(name: Annotated[str, typer.Argument(help="Team name (created if new).")],
             db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Create a team (if new) and print a new API token for it on stdout."""
    from generalbench.server.operators import audit
    from generalbench.server.security import add_team_token

    with _session(db, storage) as s:
        token = add_team_token(s, name)
        audit(s, "cli", "add-team", target=name)
        s.commit()
    typer.echo(token)


@admin.command("add-admin")
def add_admin(email: str, db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Create (or promote) an operator account; the password is read from stdin."""
    from generalbench.server.operators import add_admin as run

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else \
        typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise GeneralBenchError("the password needs 8 or more characters")
    with _session(db, storage) as s:
        run(s, email, password)
        s.commit()


@admin.command("load-benchmark")
def load_benchmark(data: Annotated[Path, typer.Option("--data", help="Closed set.")],
                   answers: Annotated[Path, typer.Option("--answers", help="Answer key.")],
                   db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Load a closed set and its answer key (e.g. from `generalbench split`)."""
    from generalbench.server.operators import ensure_benchmark

    with _session(db, storage) as s:
        ensure_benchmark(s, storage, data, answers, actor="cli")
        s.commit()


class CatalogKind(str, Enum):
    extra = "extra"
    sota = "sota"


@admin.command("catalog")
def catalog(file: Path, kind: Annotated[CatalogKind, typer.Option(
                "--kind", help="extra: add tasks; sota: specialist-score overrides.")],
            db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Add tasks or update SoTA scores; every board re-ranks from stored raw scores."""
    from generalbench.server.operators import add_catalog_file

    with _session(db, storage) as s:
        info = add_catalog_file(s, storage, file, kind.value, "cli")
        s.commit()
    typer.echo(json.dumps(info))


@admin.command("rescore")
def rescore(db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Queue every scored submission again (after a scorer change that changes raw scores)."""
    from generalbench.server.operators import rescore_all

    with _session(db, storage) as s:
        n = rescore_all(s, "cli")
        s.commit()
    typer.echo(f"{n} submissions queued for rescoring")


@admin.command("flag")
def flag(submission: int, action: Annotated[str, typer.Argument(
             help="hide, unhide, verify or unverify")],
         db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Hide or verify a submission."""
    from fastapi import HTTPException

    from generalbench.server.app import set_flag

    with _session(db, storage) as s:
        try:
            set_flag(s, submission, action, "cli")
        except HTTPException as exc:
            raise GeneralBenchError(str(exc.detail)) from None
        s.commit()


@admin.command("export-html")
def export_html(out: Path, db: Db = None, storage: Storage = DEFAULT_STORAGE) -> None:
    """Write every board as static HTML into OUT."""
    from generalbench.server.operators import export_static

    with _session(db, storage) as s:
        files = export_static(s, out)
    typer.echo(f"{len(files)} boards written to {out}")


class SubmitFormat(str, Enum):
    text = "text"
    json = "json"


def submit(
    run_dir: Annotated[Path, typer.Argument(help="Predictions folder (what `run` writes) or a .zip.")],
    server: Annotated[str, typer.Option("--server", help="Leaderboard URL.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it is scored.")] = False,
    fmt: Annotated[SubmitFormat, typer.Option("--format", help="Output format.")] = SubmitFormat.text,
) -> None:
    """Upload predictions to a leaderboard (token from $GENERALBENCH_TOKEN)."""
    from generalbench.server.client import submit as run

    doc = run(run_dir, server, wait=wait)
    if fmt is SubmitFormat.json:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif "scores" in doc:
        typer.echo(f"{doc['model']}: General-Level {doc['level']} " + " ".join(
            f"{k}={v:.4g}" for k, v in doc["scores"].items()))
    else:
        typer.echo(f"submission {doc.get('id')}: {doc.get('state')}"
                   + (f" ({doc['reason']})" if doc.get("reason") else ""))
    if doc.get("state") == "failed":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("submit")(submit)
    app.add_typer(admin, name="admin")
