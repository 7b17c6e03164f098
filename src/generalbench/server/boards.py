"""Boards: General-Level results recomputed from stored per-task raw scores, ranked per scope.

The math is generalbench.levels' (evaluate, Scope.board_value, rank). Each submission is
evaluated once per catalog into a small summary (its LevelResult without the per-task list, and
every scope's board values and supported/wins/task counts), which the worker stores next to the
raw scores; boards are built from summaries and cached until something changes (a new score,
publishing, hiding, a catalog or SoTA update), so a board read is a dictionary lookup and 1,000
submissions cost megabytes, not gigabytes. A catalog change re-evaluates from the stored raw
scores, never re-scores.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from generalbench.levels import LevelResult, Scope, evaluate, modalities_of, rank
from generalbench.server.config import Benchmark
from generalbench.server.db import Submission, Team, get_setting, unpack_json


@dataclass
class Entry:
    """One public submission as it appears on boards."""

    submission_id: int
    team: str
    model: str
    verified: bool
    result: LevelResult
    """Without its task list (tasks=None): enough for scopes A, B and C."""
    counts: dict[str, list[int]]
    """scope key -> [supported, wins, tasks]."""
    skills: dict[str, dict[str, float]]
    """"<modality>:<lower-cased skill>" -> Scope-D board values (one board per skill within a
    modality: skills of two modalities that share a name never merge)."""


def result_from(catalog, stored: dict, model: str) -> LevelResult:
    """A LevelResult from stored raw scores and the CURRENT catalog (added tasks count as
    unsupported, SoTA overrides change wins), without re-scoring anything."""
    raw = {k: v for k, v in stored["raw"].items() if k in catalog}
    details = {k: v for k, v in stored.get("details", {}).items() if k in catalog}
    return evaluate(catalog, raw, model, details=details)


def skill_key(modality: str | None, skill: str) -> str:
    """The key of one Scope-D board: a skill within a modality."""
    return f"{modality or ''}:{skill.lower()}"


def scope_key(scope: Scope) -> str:
    return f"{scope.kind}:{scope.modality or ''}:{scope.paradigm or ''}:{(scope.skill or '').lower()}"


def summarise(result: LevelResult) -> dict[str, Any]:
    """The board summary of a full result (JSON-able; stored by the worker)."""
    counts: dict[str, list[int]] = {}
    by_skill: dict[str, list] = {}
    for t in result.tasks or []:
        for scope in (Scope("A"), Scope("B", modality=t.modality),
                      Scope("C", modality=t.modality, paradigm=t.paradigm),
                      Scope("D", modality=t.modality, skill=t.skill or "")):
            c = counts.setdefault(scope_key(scope), [0, 0, 0])
            c[0] += int(t.supported)
            c[1] += int(t.win)
            c[2] += 1
        by_skill.setdefault(skill_key(t.modality, t.skill or ""), []).append(t)
    light = result.model_copy(update={"tasks": None})
    skills = {}
    for key, tasks in by_skill.items():  # Scope-D values from levels, on that skill's tasks only
        part = result.model_copy(update={"tasks": tasks})
        scope = Scope("D", modality=tasks[0].modality, skill=tasks[0].skill or "")
        skills[key] = {k: float(v) for k, v in scope.board_value(part).items()}
    return {"catalog": result.catalog.get("hash"), "result": light.model_dump(), "counts": counts,
            "skills": skills}


def scopes(catalog) -> list[str]:
    """Every board: A, B per modality, C per modality and paradigm, D per skill."""
    out = ["A"]
    mods = modalities_of(catalog)
    out += [f"B:{m}" for m in mods]
    out += [f"C:{m}-{p}" for m in mods for p in ("comprehension", "generation")]
    out += [f"D:{m}:{s}" for m, s in sorted({(t.modality, t.skill) for t in catalog if t.skill})]
    return out


class BoardCache:
    """Per-process cache of entries and boards, keyed by the database's board revision.

    Each value is built once per revision however many requests want it at once (the others
    wait for it: after a change, 200 concurrent first reads of a board rank and encode it once,
    not 200 times), and no build holds the lock that cached reads take, so reads of boards that
    are cached never wait behind one that is being built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._data: dict[Any, Any] = {}
        self._building: dict[tuple, threading.Event] = {}
        self._compute_lock = threading.Lock()
        """Serialises _compute (full and quick share the summary and entry memos)."""
        self._summaries: dict[tuple, dict[str, Any]] = {}
        """(submission, scored_at, quick, catalog hash) -> summary: after a new score only the
        new submission is read, not the whole board."""
        self._entries: dict[tuple, Entry] = {}
        """(summary key, team, model, verified) -> Entry: a new score re-validates one result,
        not every result on the board."""
        self._by_content: dict[tuple, tuple[tuple, Any]] = {}
        """key -> (signature of the entries and catalog it was built from, value): most
        revision changes (a score for a submission that is not public yet) leave a board's
        entries alone, and then its bytes are reused instead of ranked and encoded again."""

    def entries(self, session, quick: bool) -> tuple[list[Entry], Any]:
        return self._entries_signed(session, quick)[:2]

    def _entries_signed(self, session, quick: bool) -> tuple[list[Entry], Any, tuple]:
        """Entries, catalog and their signature: what a board is a function of."""
        revision = get_setting(session, "board_revision", "0")
        return self._once(revision, ("entries", quick), lambda: self._compute(session, quick))

    def _once(self, revision: str, key: tuple, build) -> Any:
        """The value of `key` for `revision`, built by one thread while the others wait."""
        while True:
            with self._lock:
                if revision != self._key:  # a new revision: everything cached is stale
                    self._data, self._key = {}, revision
                if key in self._data:
                    return self._data[key]
                pending = self._building.get((revision, key))
                if pending is None:
                    pending = self._building[(revision, key)] = threading.Event()
                    break
            pending.wait()  # then it is cached, or its build failed and this thread tries
        try:
            value = build()
            with self._lock:
                if revision == self._key:
                    self._data[key] = value
            return value
        finally:
            with self._lock:
                del self._building[(revision, key)]
            pending.set()

    def _compute(self, session, quick: bool) -> tuple[list[Entry], Any, tuple]:
        with self._compute_lock:
            return self._compute_locked(session, quick)

    def _compute_locked(self, session, quick: bool) -> tuple[list[Entry], Any, tuple]:
        bench = Benchmark.load(session)
        catalog = bench.catalog()
        rows = session.execute(
            select(Submission.id, Team.name, Submission.model_name, Submission.verified,
                   Submission.scored_at)
            .join(Team, Team.id == Submission.team_id)
            .where(Submission.state == "scored", Submission.public.is_(True),
                   Submission.hidden.is_(False))).all()
        chash = bench.catalog_info()["hash"]  # memoised: hashing 699 tasks is not free
        keys = {sid: (sid, scored_at, quick, chash) for sid, _t, _m, _v, scored_at in rows}
        missing = [sid for sid, k in keys.items() if k not in self._summaries]
        column = Submission.raw_quick_json if quick else Submission.raw_full_json
        for start in range(0, len(missing), 200):
            chunk = missing[start:start + 200]
            for sid, raw in session.execute(select(Submission.id, column)
                                            .where(Submission.id.in_(chunk))).all():
                if raw:
                    stored = unpack_json(raw)
                    summary = stored.get("summary")
                    if not summary or summary.get("catalog") != chash:
                        summary = summarise(result_from(catalog, stored, ""))
                    self._summaries[keys[sid]] = summary
        live = set(keys.values())
        for k in [k for k in self._summaries if k[2] == quick and k not in live]:
            del self._summaries[k]
        entries, reused = [], {}
        for sid, team, model, verified, _ in rows:
            summary = self._summaries.get(keys[sid])
            if summary is None:
                continue
            name = model or f"submission {sid}"
            ekey = (keys[sid], team, name, bool(verified))
            entry = self._entries.get(ekey)
            if entry is None:
                result = LevelResult.model_validate({**summary["result"], "model": name})
                entry = Entry(sid, team, name, bool(verified), result, summary["counts"],
                              summary["skills"])
            reused[ekey] = entry
            entries.append(entry)
        self._entries = {k: v for k, v in self._entries.items() if k[0][2] != quick} | reused
        signature = (tuple(sorted(bench.catalog_info().items())), tuple(reused))
        return entries, catalog, signature

    def cached(self, revision: str, key: tuple) -> Any:
        """The value memo() kept for `key` if it belongs to `revision`, else None: the hot read
        path, a dictionary lookup without a session, an ORM object or any recomputation."""
        with self._lock:
            if revision == self._key:
                return self._data.get(key)
        return None

    def memo(self, session, key: tuple, build, quick: bool | None = None) -> Any:
        """A computed board, kept until the revision changes (reads are then a lookup). With
        `quick` (the board's entries: full or quick) the value is a function of those entries
        and the catalog only, and is reused across revisions while they are unchanged."""
        revision = get_setting(session, "board_revision", "0")
        if quick is None:
            return self._once(revision, key, build)

        def build_or_reuse() -> Any:
            signature = self._entries_signed(session, quick)[2]
            with self._lock:
                kept = self._by_content.get(key)
            if kept is not None and kept[0] == signature:
                return kept[1]
            value = build()
            if self._entries_signed(session, quick)[2] == signature:  # built from those entries
                with self._lock:
                    self._by_content[key] = (signature, value)
            return value

        return self._once(revision, key, build_or_reuse)


_REVISION_SQL = "SELECT value FROM settings WHERE key = 'board_revision'"


class RevisionReader:
    """The database's board revision, read on every board read: workers in other processes bump
    it, and checking it is what keeps a cached board from going stale, so it has to cost next to
    nothing. A pooled connection's checkout, reset and return (and on PostgreSQL its pre-ping
    round trip) cost more than the query and, measured, half of a cached read's CPU; this reader
    keeps one DB-API connection of its own (detached from the pool, autocommit on PostgreSQL, so
    each read sees the latest commit and no transaction stays open) and reopens it once when it
    fails (a restarted database) or after a fork."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._conn: Any = None
        self._cur: Any = None
        self._pid = 0

    def __call__(self) -> str:
        with self._lock:
            try:
                return self._read()
            except self.engine.dialect.loaded_dbapi.Error:
                self.close()
                return self._read()  # once more on a new connection; a second failure is raised

    def _read(self) -> str:
        if self._cur is None or self._pid != os.getpid():
            self._open()
        self._cur.execute(_REVISION_SQL)
        rows = self._cur.fetchall()  # to the end: SQLite ends the statement's read there
        return rows[0][0] if rows else "0"

    def _open(self) -> None:
        conn = self.engine.raw_connection()
        conn.detach()  # ours until close(): the pool neither counts nor resets it
        raw = conn.dbapi_connection
        if self.engine.dialect.name == "postgresql":
            raw.autocommit = True
        self._conn, self._cur, self._pid = conn, raw.cursor(), os.getpid()

    def close(self) -> None:
        """Close the connection (the next read opens a new one)."""
        conn, self._conn, self._cur = self._conn, None, None
        if conn is not None and self._pid == os.getpid():
            try:
                conn.close()
            except self.engine.dialect.loaded_dbapi.Error:
                pass  # already broken: nothing left to release


def board(session, cache: BoardCache, scope_text: str, quick: bool = False) -> dict[str, Any]:
    """One ranked board as plain data (the JSON API, CSV, pages and static export share it)."""
    scope = Scope.parse(scope_text)
    return cache.memo(session, ("board", scope, quick),
                      lambda: _board(session, cache, scope, scope_text, quick), quick=quick)


def _rank_values(entries: list[Entry], values: dict[int, dict[str, float]]
                 ) -> list[tuple[int, Entry]]:
    """Scope-D order: by the board values in order, ties sharing a rank (as levels.rank)."""
    def key(e: Entry) -> tuple[float, ...]:
        return tuple(values[e.submission_id].values())

    ordered = sorted(entries, key=key, reverse=True)
    out: list[tuple[int, Entry]] = []
    for i, e in enumerate(ordered):
        out.append((out[-1][0], e) if i and key(e) == key(ordered[i - 1]) else (i + 1, e))
    return out


def _board(session, cache: BoardCache, scope: Scope, scope_text: str, quick: bool
           ) -> dict[str, Any]:
    entries, catalog = cache.entries(session, quick)
    if scope.kind in ("B", "C") and scope.modality not in modalities_of(catalog):
        from generalbench.errors import GeneralBenchError

        raise GeneralBenchError(f"no modality {scope.modality!r} in the catalog")
    if scope.kind == "D":  # D:<skill> names its modality when exactly one has that skill
        scope = scope.check(catalog)
    skey = scope_key(scope)
    if scope.kind == "D":
        skill = skill_key(scope.modality, scope.skill or "")
        values = {e.submission_id: e.skills.get(skill, {"score": 0.0, "wins": 0}) for e in entries}
        ranked = _rank_values(entries, values)
    else:
        by_result = {id(e.result): e for e in entries}
        ranked = [(pos, by_result[id(r)]) for pos, r in rank([e.result for e in entries], scope)]
        values = {e.submission_id: scope.board_value(e.result) for _, e in ranked}
    rows = []
    for position, e in ranked:
        row: dict[str, Any] = {"rank": position, "submission": e.submission_id, "model": e.model,
                               "team": e.team, "verified": e.verified, "level": e.result.level}
        row.update({k: round(float(v), 4) for k, v in values[e.submission_id].items()})
        supported, wins, total = e.counts.get(skey, [0, 0, 0])
        row.update(supported=supported, wins=wins, tasks=total)
        rows.append(row)
    info = Benchmark.load(session).catalog_info()
    return {"scope": scope_text, "quick": quick, "catalog": info, "rows": rows}


def to_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    rows = data["rows"]
    fields = list(rows[0]) if rows else ["rank", "submission", "model", "team", "level"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
