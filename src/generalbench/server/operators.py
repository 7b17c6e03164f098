"""Operator actions (the `generalbench admin` commands): benchmark, catalog, SoTA, rescoring,
moderation and static export. Every action is written to the audit log."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from sqlalchemy import select

from generalbench.errors import GeneralBenchError
from generalbench.server import queue
from generalbench.server.config import Benchmark, minibench_closed_set
from generalbench.server.db import AuditLog, Submission, User, bump_revision


def audit(s, actor: str, action: str, target: str = "", detail: str = "") -> None:
    s.add(AuditLog(actor=actor, action=action, target=target, detail=detail))


def ensure_benchmark(s, storage: Path, data: Path | None = None, answers: Path | None = None,
                     actor: str = "serve") -> Benchmark:
    """Load the given closed set and answer key, or keep the loaded one, or (nothing loaded yet)
    the built-in mini-bench."""
    bench = Benchmark.load(s)
    if data is not None or answers is not None:
        if data is None or answers is None:
            raise GeneralBenchError("give both --data (closed set) and --answers (answer key)")
        for p in (data, answers):
            if not Path(p).is_dir():
                raise GeneralBenchError(f"{p}: folder not found")
        bench.data, bench.answers = str(Path(data).resolve()), str(Path(answers).resolve())
        audit(s, actor, "load-benchmark", detail=json.dumps({"data": bench.data}))
    elif not bench.answers:
        mini = minibench_closed_set(storage)
        bench.data, bench.answers = mini.data, mini.answers
        audit(s, actor, "load-benchmark", detail="built-in mini-bench")
    bench.save(s)
    bump_revision(s)
    return bench


def _keep(storage: Path, file: Path, kind: str) -> str:
    """A copy of an operator's catalog file in storage, so every worker reads the same bytes."""
    if not file.is_file():
        raise GeneralBenchError(f"{file}: file not found")
    dest = storage / "catalog" / kind / file.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, dest)
    return str(dest.resolve())


def add_catalog_file(s, storage: Path, file: Path, kind: str, actor: str) -> dict[str, str]:
    """Add a catalog extra (kind 'extra') or SoTA overrides (kind 'sota'); boards re-rank from
    stored raw scores at once. Returns the new catalog info."""
    bench = Benchmark.load(s)
    path = _keep(storage, Path(file), kind)
    target = bench.catalog_extra if kind == "extra" else bench.sota_overrides
    if path not in target:
        target.append(path)
    info = bench.catalog_info()  # raises CatalogError on a bad file, before anything is saved
    bench.save(s)
    audit(s, actor, "add-tasks" if kind == "extra" else "sota-overrides", target=Path(file).name,
          detail=json.dumps(info))
    bump_revision(s)
    return info


def rescore_all(s, actor: str) -> int:
    """Queue every scored submission again (after a scorer or catalog change that changes raw
    scores). Returns how many were queued."""
    ids = s.scalars(select(Submission.id).where(Submission.state == "scored")).all()
    for sid in ids:  # the state stays 'scored': boards show the old numbers until new ones land
        queue.enqueue(s, sid)
    audit(s, actor, "rescore", detail=f"{len(ids)} submissions")
    return len(ids)


def add_admin(s, email: str, password: str) -> None:
    from generalbench.server.security import hash_password

    user = s.scalar(select(User).where(User.email == email))
    if user is None:
        s.add(User(email=email, password_hash=hash_password(password), is_admin=True))
    else:
        user.is_admin, user.password_hash = True, hash_password(password)
    audit(s, "cli", "add-admin", target=email)


def export_static(s, out: Path) -> list[Path]:
    """Every board (full and quick) as standalone HTML files plus an index."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from generalbench.server import boards

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html"]))
    cache = boards.BoardCache()
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    written = []
    links = []
    for scope in boards.scopes(Benchmark.load(s).catalog()):
        for quick in (False, True):
            data = boards.board(s, cache, scope, quick)
            name = scope.replace(":", "_").replace("/", "_").replace(" ", "_") + \
                ("-quick" if quick else "") + ".html"
            (out / name).write_text(env.get_template("export.html").render(board=data, exported=now),
                                    "utf-8")
            written.append(out / name)
            links.append(f'<li><a href="{name}">{scope}{" (quick)" if quick else ""}</a></li>')
    (out / "index.html").write_text("<!doctype html><meta charset='utf-8'><h1>General-Level "
                                    f"boards</h1><ul>{''.join(links)}</ul>", "utf-8")
    return written
