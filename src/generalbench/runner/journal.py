"""The crash-proof response journal: an fsynced JSONL log, indexed in SQLite by request key.

The JSONL file is the truth and is written first; the SQLite index is derived from it and
re-synchronised on open (it stores how many bytes of the log it has indexed), so a kill -9 between
the two writes loses nothing. A record counts as done once its line is fsynced; a torn last line
(killed mid-write) is cut off on open. Writes are group-committed by one writer thread: many
completions share one fsync, which keeps the journal off the critical path at high concurrency.
The index runs in WAL mode with synchronous=NORMAL and is committed in batches (every
INDEX_BATCH records or INDEX_SECONDS, and at every flush): losing its last batch to a crash costs
nothing, since opening re-indexes the log from the last indexed offset. Damage other than a torn
last line is survived too: a garbled or non-UTF-8 line in the middle of the log is skipped and
counted with a warning, and an index SQLite cannot read is rebuilt from the log.
An exclusive lock file keeps two processes from writing the same journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from generalbench.errors import GeneralBenchError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, task TEXT, instance TEXT, status TEXT,
                                    offset INTEGER);
CREATE INDEX IF NOT EXISTS records_task ON records(task);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
"""


INDEX_BATCH = 512
"""Records per index commit (the log itself is fsynced per group of completions)."""
INDEX_SECONDS = 1.0
"""At most this long between index commits while records arrive."""


class JournalLockedError(GeneralBenchError):
    """Another process is writing this run's journal."""


class Journal:
    """Append-only record store. `done()` is the set of keys with a successful response."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "journal.jsonl"
        self._lock = open(self.folder / "journal.lock", "w")  # noqa: SIM115 - held while open
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise JournalLockedError(f"{self.folder}: another generalbench process is writing this "
                                     "run; wait for it or use another --out") from None
        self.skipped = 0
        """Damaged lines of the log skipped when it was last read (each warned about once)."""
        self._warned: set[int] = set()
        self._repair_tail()
        try:
            self._open_index()
        except sqlite3.DatabaseError as exc:  # "file is not a database", a truncated index, ...
            self._rebuild_index(exc)
        self._fh = open(self.path, "ab")  # noqa: SIM115
        self._opened_size = self._fh.tell()
        """Bytes of the log written before this open: `outcomes()` reads only these back."""
        self._session: dict[str, dict[str, Any]] = {}
        """The outcome per key of the records appended since open (see `outcomes()`)."""
        self._pending: list[tuple[str, str, str, str, int]] = []
        self._pending_offset = self._fh.tell()
        self._last_index = time.monotonic()
        self._index_ok = True
        self._queue: queue.Queue[tuple[dict[str, Any], threading.Event | None] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._failure: BaseException | None = None
        self._writer.start()

    # --- opening ---------------------------------------------------------------------------
    def _open_index(self) -> None:
        self._db = sqlite3.connect(self.folder / "index.sqlite", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._sync_index()

    def _rebuild_index(self, exc: Exception) -> None:
        """The index is derived data: a damaged one is deleted and rebuilt from the log."""
        with contextlib.suppress(Exception):
            self._db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            (self.folder / f"index.sqlite{suffix}").unlink(missing_ok=True)
        _warn(f"{self.folder / 'index.sqlite'}: damaged ({exc}); rebuilt from {self.path.name}")
        self._open_index()

    def _repair_tail(self) -> None:
        """Cut a torn last line (a kill -9 during a write) so appends start on a fresh line."""
        if not self.path.exists():
            self.path.touch()
            return
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb+") as fh:
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return
            # find the last newline
            pos = size
            chunk = 65536
            last_nl = -1
            while pos > 0 and last_nl < 0:
                start = max(0, pos - chunk)
                fh.seek(start)
                data = fh.read(pos - start)
                idx = data.rfind(b"\n")
                if idx >= 0:
                    last_nl = start + idx
                pos = start
            fh.truncate(last_nl + 1)
            fh.flush()
            os.fsync(fh.fileno())

    def _sync_index(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name='offset'").fetchone()
        offset = int(row[0]) if row else 0
        size = self.path.stat().st_size
        if offset > size:  # the log was replaced: rebuild
            self._db.execute("DELETE FROM records")
            offset = 0
        rows = [self._row(rec, start) for start, rec in self._scan(offset)]
        self._index(rows, size)

    def _scan(self, offset: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """(offset, record) of every readable complete line from `offset`; damaged lines (not
        JSON, not UTF-8, not a record) are skipped, counted in `skipped` and warned about."""
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            for line in fh:
                start, offset = offset, offset + len(line)
                if not line.endswith(b"\n"):
                    break
                rec = _parse(line)
                if rec is None:
                    if start not in self._warned:
                        self.skipped += 1
                        self._warned.add(start)
                        _warn(f"{self.path}: skipped a damaged line at byte {start} (not a "
                              "journal record); its instance is asked again")
                    continue
                yield start, rec

    @staticmethod
    def _row(rec: dict[str, Any], offset: int) -> tuple[str, str, str, str, int]:
        return (rec["key"], rec["task"], rec["id"], rec["status"], offset)

    def _index(self, rows: list[tuple[str, str, str, str, int]], offset: int) -> None:
        with self._db:
            # a success is never replaced by a later error for the same key
            self._db.executemany(
                "INSERT INTO records VALUES (?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
                "status=excluded.status, offset=excluded.offset WHERE records.status != 'ok' "
                "OR excluded.status = 'ok'", rows)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('offset', ?)", (str(offset),))

    # --- writing ---------------------------------------------------------------------------
    def _write_loop(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    self._close_index()
                    return
                batch = [item]
                while True:  # group commit: take everything already waiting
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)
                        break
                    batch.append(nxt)
                self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - surfaced to the caller on next use
            self._failure = exc

    def _commit(self, batch: list[tuple[dict[str, Any], threading.Event | None]]) -> None:
        offset = self._fh.tell()
        data = bytearray()
        barrier = False
        for rec, _ in batch:
            if not rec:  # a flush barrier
                barrier = True
                continue
            line = (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode()
            self._pending.append(self._row(rec, offset + len(data)))
            data += line
        if data:
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())  # the records are durable from here on
        self._pending_offset = offset + len(data)
        if self._pending and (barrier or len(self._pending) >= INDEX_BATCH
                              or time.monotonic() - self._last_index >= INDEX_SECONDS):
            self._flush_index()
        for _, event in batch:
            if event is not None:
                event.set()

    def _flush_index(self) -> None:
        """Commit the pending index rows; an index damaged while open is left behind (the log
        is the truth: done() then reads the log, and the next open rebuilds the index)."""
        if not self._index_ok:
            self._pending = []
            return
        try:
            self._index(self._pending, self._pending_offset)
        except sqlite3.DatabaseError as exc:
            self._index_ok = False
            _warn(f"{self.folder / 'index.sqlite'}: damaged ({exc}); using {self.path.name}")
        self._pending = []
        self._last_index = time.monotonic()

    def append(self, record: dict[str, Any], wait: bool = False) -> None:
        """Queue a record {key, task, id, status, ...}; `wait` blocks until it is fsynced."""
        if self._failure is not None:
            raise GeneralBenchError(f"{self.path}: journal write failed: {self._failure}")
        if record:
            prev = self._session.get(record["key"])
            if prev is None or prev["status"] != "ok":
                self._session[record["key"]] = {k: record[k] for k in _OUTCOME if k in record}
        event = threading.Event() if wait else None
        self._queue.put((record, event))
        if event is not None:
            event.wait()

    def flush(self) -> None:
        """Block until everything queued so far is on disk (a barrier item: nothing written)."""
        if self._writer.is_alive():
            self.append({}, wait=True)

    def _close_index(self) -> None:
        """The index's last commit and SQLite's close (its WAL checkpoint: 10-25 ms of I/O), in
        the writer thread once everything queued before is written."""
        if self._pending:
            self._flush_index()
        self._db.close()

    def close_soon(self) -> None:
        """Start closing while the caller goes on (a run writes its predictions meanwhile):
        the writer thread writes what is queued, then commits and closes the index; close()
        waits for it. Nothing may be appended or read after this."""
        if self._writer.is_alive():
            self._queue.put(None)

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        if self._pending and self._failure is None:
            self._flush_index()
        self._fh.close()
        self._db.close()
        self._lock.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------
    def done(self) -> set[str]:
        """Keys with a successful record (everything queued so far is written first)."""
        self.flush()
        if self._index_ok:
            try:
                return {k for (k,) in self._db.execute("SELECT key FROM records WHERE status='ok'")}
            except sqlite3.DatabaseError:  # damaged while open: the log still knows
                self._index_ok = False
        return {k for k, r in self.latest().items() if r["status"] == "ok"}

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record in log order (fsynced ones; call flush() first for the latest)."""
        for _, rec in self._scan(0):
            yield rec

    def latest(self) -> dict[str, dict[str, Any]]:
        """The record that counts per key: the success if any, else the last error."""
        return _latest(self.records())

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """What `latest()` says per key, reduced to status, prediction and error, without
        reading back what this process appended: only the log written before it opened the
        journal is read (nothing for a fresh run, where re-reading every record at the end cost
        about 40 µs per instance at the tail of the run). Everything appended is flushed first;
        if writing failed, the log is read whole (it alone says what is on disk)."""
        self.flush()
        if self._failure is not None:
            return {k: {f: r[f] for f in _OUTCOME if f in r} for k, r in self.latest().items()}
        out: dict[str, dict[str, Any]] = {}
        if self._opened_size:
            for start, rec in self._scan(0):
                if start >= self._opened_size:
                    break
                prev = out.get(rec["key"])
                if prev is None or prev["status"] != "ok":
                    out[rec["key"]] = {f: rec[f] for f in _OUTCOME if f in rec}
        for key, rec in self._session.items():
            prev = out.get(key)
            if prev is None or prev["status"] != "ok":
                out[key] = rec
        return out


_OUTCOME = ("status", "prediction", "error")
"""The fields of a record that say how its instance ended (what a predictions file needs)."""


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _parse(line: bytes) -> dict[str, Any] | None:
    """A journal record from one line, None if the line is damaged."""
    try:
        rec = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str)
                                            for k in ("key", "task", "id", "status")):
        return None
    return rec


def _latest(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        prev = out.get(rec["key"])
        if prev is None or prev["status"] != "ok":
            out[rec["key"]] = rec
    return out


def read_journal(folder: Path) -> dict[str, dict[str, Any]]:
    """The latest record per key of a journal folder, without taking its lock (read-only);
    damaged lines are skipped (and counted in one warning) as the Journal does."""
    path = Path(folder) / "journal.jsonl"
    if not path.exists():
        return {}

    def scan() -> Iterator[dict[str, Any]]:
        skipped = 0
        with open(path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                rec = _parse(line)
                if rec is None:
                    skipped += 1
                    continue
                yield rec
        if skipped:
            _warn(f"{path}: skipped {skipped} damaged lines")

    return _latest(scan())
