"""The crash-proof response journal: an fsynced JSONL log, indexed in SQLite by request key.

The JSONL file is the truth and is written first; the SQLite index is derived from it and
re-synchronised on open (it stores how many bytes of the log it has indexed), so a kill -9 between
the two writes loses nothing. A record counts as done once its line is fsynced; a torn last line
(killed mid-write) is cut off on open. Writes are group-committed by one writer thread: many
completions share one fsync, which keeps the journal off the critical path at high concurrency.
An exclusive lock file keeps two processes from writing the same journal.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generalbench.errors import GeneralBenchError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, task TEXT, instance TEXT, status TEXT,
                                    offset INTEGER);
CREATE INDEX IF NOT EXISTS records_task ON records(task);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
"""


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
        self._db = sqlite3.connect(self.folder / "index.sqlite", check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._repair_tail()
        self._sync_index()
        self._fh = open(self.path, "ab")  # noqa: SIM115
        self._queue: queue.Queue[tuple[dict[str, Any], threading.Event | None] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._failure: BaseException | None = None
        self._writer.start()

    # --- opening ---------------------------------------------------------------------------
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
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            rows = []
            for line in fh:
                rec = json.loads(line)
                rows.append(self._row(rec, offset))
                offset += len(line)
        self._index(rows, offset)

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
        rows, data = [], bytearray()
        for rec, _ in batch:
            if not rec:  # a flush barrier
                continue
            line = (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode()
            rows.append(self._row(rec, offset + len(data)))
            data += line
        if data:
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._index(rows, offset + len(data))
        for _, event in batch:
            if event is not None:
                event.set()

    def append(self, record: dict[str, Any], wait: bool = False) -> None:
        """Queue a record {key, task, id, status, ...}; `wait` blocks until it is fsynced."""
        if self._failure is not None:
            raise GeneralBenchError(f"{self.path}: journal write failed: {self._failure}")
        event = threading.Event() if wait else None
        self._queue.put((record, event))
        if event is not None:
            event.wait()

    def flush(self) -> None:
        """Block until everything queued so far is on disk (a barrier item: nothing written)."""
        if self._writer.is_alive():
            self.append({}, wait=True)

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        self._fh.close()
        self._db.close()
        self._lock.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------
    def done(self) -> set[str]:
        return {k for (k,) in self._db.execute("SELECT key FROM records WHERE status='ok'")}

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record in log order (fsynced ones; call flush() first for the latest)."""
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):
                    yield json.loads(line)

    def latest(self) -> dict[str, dict[str, Any]]:
        """The record that counts per key: the success if any, else the last error."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            prev = out.get(rec["key"])
            if prev is None or prev["status"] != "ok":
                out[rec["key"]] = rec
        return out


def read_journal(folder: Path) -> dict[str, dict[str, Any]]:
    """The latest record per key of a journal folder, without taking its lock (read-only)."""
    path = Path(folder) / "journal.jsonl"
    out: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return out
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            rec = json.loads(line)
            prev = out.get(rec["key"])
            if prev is None or prev["status"] != "ok":
                out[rec["key"]] = rec
    return out
