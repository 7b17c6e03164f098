"""The journal keeps every fsynced record across crashes and never loses a success."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.runner.journal import Journal, JournalLockedError, read_journal


def rec(key: str, status: str = "ok", **extra) -> dict:
    return {"key": key, "task": "t", "id": key, "status": status, **extra}


def test_records_survive_reopen_and_index_matches_log(tmp_path):
    with Journal(tmp_path) as j:
        for i in range(50):
            j.append(rec(f"k{i}", "ok" if i % 5 else "error", prediction=i))
        j.flush()
        assert j.done() == {f"k{i}" for i in range(50) if i % 5}
    with Journal(tmp_path) as j:
        assert j.done() == {f"k{i}" for i in range(50) if i % 5}
        assert j.latest()["k7"]["prediction"] == 7


def test_success_is_never_replaced_by_a_later_error(tmp_path):
    with Journal(tmp_path) as j:
        j.append(rec("a", "error"))
        j.append(rec("a", "ok", prediction="x"))
        j.append(rec("a", "error"))
        j.flush()
        assert j.done() == {"a"}
        assert j.latest()["a"]["prediction"] == "x"
    assert read_journal(tmp_path)["a"]["status"] == "ok"


def test_torn_last_line_is_cut_and_lost_index_is_rebuilt(tmp_path):
    with Journal(tmp_path) as j:
        j.append(rec("a"))
        j.append(rec("b"), wait=True)
    log = tmp_path / "journal.jsonl"
    with open(log, "ab") as fh:  # a kill -9 in the middle of writing record c
        fh.write(json.dumps(rec("c"))[:20].encode())
    (tmp_path / "index.sqlite").unlink()  # and the index never written
    with Journal(tmp_path) as j:
        assert j.done() == {"a", "b"}
        j.append(rec("d"), wait=True)
    lines = log.read_text().splitlines()
    assert [json.loads(x)["key"] for x in lines] == ["a", "b", "d"]


def test_index_behind_the_log_catches_up(tmp_path):
    """JSONL is written before SQLite: an index that lags (killed between the two) is synced."""
    with Journal(tmp_path) as j:
        j.append(rec("a"), wait=True)
    db = sqlite3.connect(tmp_path / "index.sqlite")
    with db:
        db.execute("DELETE FROM records")
        db.execute("UPDATE meta SET value='0' WHERE name='offset'")
    db.close()
    with Journal(tmp_path) as j:
        assert j.done() == {"a"}


def test_second_writer_is_refused(tmp_path):
    with Journal(tmp_path):
        with pytest.raises(JournalLockedError):
            Journal(tmp_path)


@settings(max_examples=30, deadline=None)
@given(statuses=st.lists(st.booleans(), min_size=1, max_size=30), cut=st.floats(0, 1))
def test_any_crash_point_keeps_exactly_the_complete_records(tmp_path_factory, statuses, cut):
    folder = tmp_path_factory.mktemp("j")
    with Journal(folder) as j:
        for i, ok in enumerate(statuses):
            j.append(rec(f"k{i}", "ok" if ok else "error"))
    log = folder / "journal.jsonl"
    data = log.read_bytes()
    keep = int(len(data) * cut)
    log.write_bytes(data[:keep])
    (folder / "index.sqlite").unlink()
    complete = data[:keep].count(b"\n")
    with Journal(folder) as j:
        assert j.done() == {f"k{i}" for i, ok in enumerate(statuses[:complete]) if ok}
