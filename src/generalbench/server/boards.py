"""Boards: General-Level results recomputed from stored per-task raw scores, ranked per scope.

The math is generalbench.levels' (evaluate, Scope, rank); this module only chooses which
submissions enter a board and caches the computed results until something changes (a new score,
publishing, hiding, a catalog or SoTA update), so a board read is a dictionary lookup.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from generalbench.levels import LevelResult, Scope, evaluate, modalities_of, rank
from generalbench.server.config import Benchmark
from generalbench.server.db import Submission, Team, get_setting


@dataclass
class Entry:
    """One public submission as it appears on boards."""

    submission_id: int
    team: str
    model: str
    verified: bool
    result: LevelResult


def result_from(catalog, stored: dict, model: str) -> LevelResult:
    """A LevelResult from stored raw scores and the CURRENT catalog (added tasks count as
    unsupported, SoTA overrides change wins), without re-scoring anything."""
    raw = {k: v for k, v in stored["raw"].items() if k in catalog}
    details = {k: v for k, v in stored.get("details", {}).items() if k in catalog}
    return evaluate(catalog, raw, model, details=details)


def scopes(catalog) -> list[str]:
    """Every board: A, B per modality, C per modality and paradigm, D per skill."""
    out = ["A"]
    mods = modalities_of(catalog)
    out += [f"B:{m}" for m in mods]
    out += [f"C:{m}-{p}" for m in mods for p in ("comprehension", "generation")]
    out += [f"D:{s}" for s in sorted({t.skill for t in catalog if t.skill})]
    return out


class BoardCache:
    """Per-process cache of computed entries, keyed by the database's board revision."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._data: dict[str, Any] = {}

    def entries(self, session, quick: bool) -> tuple[list[Entry], Any]:
        key = get_setting(session, "board_revision", "0")
        with self._lock:
            if key != self._key:
                self._data, self._key = {}, key
            name = "quick" if quick else "full"
            if name not in self._data:
                self._data[name] = _compute(session, quick)
            return self._data[name]

    def memo(self, session, key: tuple, build) -> Any:
        """A computed board, kept until the revision changes (reads are then a lookup)."""
        revision = get_setting(session, "board_revision", "0")
        with self._lock:
            if revision == self._key and key in self._data:
                return self._data[key]
        value = build()
        with self._lock:
            if revision == self._key:
                self._data[key] = value
        return value


def _compute(session, quick: bool) -> tuple[list[Entry], Any]:
    catalog = Benchmark.load(session).catalog()
    column = Submission.raw_quick_json if quick else Submission.raw_full_json
    rows = session.execute(
        select(Submission.id, Team.name, Submission.model_name, Submission.verified, column)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.state == "scored", Submission.public.is_(True),
               Submission.hidden.is_(False))).all()
    entries = [Entry(sid, team, model, bool(verified),
                     result_from(catalog, json.loads(raw), model or f"submission {sid}"))
               for sid, team, model, verified, raw in rows if raw]
    return entries, catalog


def board(session, cache: BoardCache, scope_text: str, quick: bool = False) -> dict[str, Any]:
    """One ranked board as plain data (the JSON API, CSV, pages and static export share it)."""
    scope = Scope.parse(scope_text)
    return cache.memo(session, ("board", scope, quick),
                      lambda: _board(session, cache, scope, scope_text, quick))


def _board(session, cache: BoardCache, scope: Scope, scope_text: str, quick: bool
           ) -> dict[str, Any]:
    entries, catalog = cache.entries(session, quick)
    if scope.kind in ("B", "C") and scope.modality not in modalities_of(catalog):
        from generalbench.errors import GeneralBenchError

        raise GeneralBenchError(f"no modality {scope.modality!r} in the catalog")
    by_result = {id(e.result): e for e in entries}
    rows = []
    for position, result in rank([e.result for e in entries], scope):
        e = by_result[id(result)]
        row: dict[str, Any] = {"rank": position, "submission": e.submission_id, "model": e.model,
                               "team": e.team, "verified": e.verified, "level": result.level}
        tasks = [t for t in result.tasks or [] if _in_scope(t, scope)]
        row.update({k: round(float(v), 4) for k, v in scope.board_value(result).items()})
        row["supported"] = sum(t.supported for t in tasks)
        row["wins"] = sum(t.win for t in tasks)
        row["tasks"] = len(tasks)
        rows.append(row)
    return {"scope": scope_text, "quick": quick, "catalog": catalog.info(), "rows": rows}


def _in_scope(task, scope: Scope) -> bool:
    if scope.kind == "A":
        return True
    if scope.kind == "B":
        return task.modality == scope.modality
    if scope.kind == "C":
        return task.modality == scope.modality and task.paradigm == scope.paradigm
    return (task.skill or "").lower() == (scope.skill or "").lower()


def to_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    rows = data["rows"]
    fields = list(rows[0]) if rows else ["rank", "submission", "model", "team", "level"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
