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


def test_a_garbled_middle_line_or_invalid_utf8_is_skipped_and_counted(tmp_path, capsys):
    with Journal(tmp_path) as j:
        for k in "abcd":
            j.append(rec(k, prediction=k))
    log = tmp_path / "journal.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"key": "b", "task"\n'  # garbled
    lines[2] = b'{"key": "c\xff\xfe", "task": "t"}\n'  # invalid UTF-8
    log.write_bytes(b"".join(lines))
    (tmp_path / "index.sqlite").unlink()
    with Journal(tmp_path) as j:
        assert j.done() == {"a", "d"} and j.skipped == 2
        assert set(j.latest()) == {"a", "d"}
        j.append(rec("b", prediction="again"), wait=True)
        assert j.done() == {"a", "b", "d"}
    err = capsys.readouterr().err
    assert err.count("skipped a damaged line") == 2
    assert set(read_journal(tmp_path)) == {"a", "b", "d"}


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty-header"])
def test_a_damaged_index_is_rebuilt_from_the_log(tmp_path, damage, capsys):
    with Journal(tmp_path) as j:
        for i in range(300):
            j.append(rec(f"k{i}", "ok" if i % 3 else "error"))
    index = tmp_path / "index.sqlite"
    data = index.read_bytes()
    if damage == "garbage":
        index.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        index.write_bytes(data[: len(data) // 3])
    else:
        index.write_bytes(b"\0" * len(data))
    with Journal(tmp_path) as j:
        assert j.done() == {f"k{i}" for i in range(300) if i % 3}
        j.append(rec("new"), wait=True)
    with Journal(tmp_path) as j:
        assert "new" in j.done()
    assert "Traceback" not in capsys.readouterr().err


def test_the_index_uses_wal_and_batches_its_commits(tmp_path):
    with Journal(tmp_path) as j:
        assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        commits = []
        real = j._index
        j._index = lambda rows, offset: (commits.append(len(rows)), real(rows, offset))
        for i in range(2000):
            j.append(rec(f"k{i}"))
        j.flush()
        assert len(j.done()) == 2000
    assert sum(commits) == 2000 and len(commits) < 2000 / 10


WRITER = """
import sys
from generalbench.runner.journal import Journal
j = Journal(sys.argv[1])
i = 0
while True:
    j.append({"key": f"k{i}", "task": "t", "id": str(i), "status": "ok", "pad": "x" * 200})
    i += 1
    if i == 3000:
        j.flush()
        print("ready", flush=True)
"""


def test_sigkill_during_a_batch_keeps_exactly_the_fsynced_records(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    logged = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_bytes().splitlines()
              if x.endswith(b"}")]
    with Journal(tmp_path) as j:  # the index lagged the log by up to a batch: caught up
        done = j.done()
    assert len(done) >= 3000 and done == {r["key"] for r in logged[:len(done)]}
    assert done == {f"k{i}" for i in range(len(done))}


_STATUSES = st.lists(st.tuples(st.sampled_from("abcd"), st.booleans(), st.integers(0, 9)),
                     max_size=30)


@settings(deadline=None, max_examples=40)
@given(before=_STATUSES, after=_STATUSES)
def test_outcomes_agree_with_reading_the_whole_log(tmp_path_factory, before, after):
    """`outcomes()` reads back only what an earlier process wrote, keeps this process's records
    in memory, and still says what `latest()` says (a success is never replaced by an error,
    whichever session wrote either)."""
    folder = tmp_path_factory.mktemp("j")
    for batch in (before, after):
        with Journal(folder) as j:
            for key, ok, value in batch:
                j.append(rec(key, "ok" if ok else "error", prediction=value, error=f"E: {value}",
                             prompt="long text kept out of memory"))
            j.flush()
            slim = {k: {f: r[f] for f in ("status", "prediction", "error")}
                    for k, r in j.latest().items()}
            assert j.outcomes() == slim


def test_close_soon_commits_the_index_in_the_writer_and_keeps_the_lock_until_close(tmp_path):
    j = Journal(tmp_path)
    for i in range(300):  # fewer than a batch: the index rows are still pending
        j.append(rec(f"k{i}", prediction=i))
    j.close_soon()
    j._writer.join(10)
    assert not j._writer.is_alive() and not j._pending  # committed, SQLite closed there
    with pytest.raises(JournalLockedError):  # still this process's run until close()
        Journal(tmp_path)
    j.close()
    j.close()  # twice is harmless
    db = sqlite3.connect(tmp_path / "index.sqlite")
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 300
    db.close()
    with Journal(tmp_path) as again:
        assert again.done() == {f"k{i}" for i in range(300)}
