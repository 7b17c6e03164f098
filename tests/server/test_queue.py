"""The database-table queue on SQLite and on a real PostgreSQL server: migrations, 3 workers and
20 jobs each scored exactly once, a worker killed mid-job whose job another worker reruns, a
stale worker that cannot overwrite, and jobs that wait too long failing with a reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from generalbench.server import queue, reasons
from generalbench.server.config import Limits
from generalbench.server.db import Job, Submission, Team, make_engine, migrate, session_factory
from generalbench.server.operators import ensure_benchmark
from generalbench.server.upload import extract
from generalbench.server.worker import Worker

from .conftest import fresh_pg_db


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, catalog):
    """Two tasks of two instances: the queue, not the scorer, is under test here."""
    from generalbench.data.minibench import make_mini, write_oracle_predictions
    from generalbench.data.predictions import zip_predictions

    base = tmp_path_factory.mktemp("tiny")
    root = make_mini(base / "mini", tasks=["Seed Counting", "Music Pitch Analysis"], per_task=2)
    oracle = write_oracle_predictions(root, base / "oracle", catalog=catalog)
    return root, zip_predictions(oracle, base / "oracle.zip")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path, tiny):
    """A migrated database with the tiny bench loaded and its oracle archive extracted."""
    root, archive = tiny
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'q.db'}"
    else:
        url = fresh_pg_db(request.getfixturevalue("postgres_url"), f"q_{uuid.uuid4().hex[:8]}")
    migrate(url)
    migrate(url)  # idempotent
    engine = make_engine(url)
    storage = tmp_path / "storage"
    (storage / "extracted").mkdir(parents=True)
    extract(archive, storage / "extracted" / "oracle", Limits())
    with session_factory(engine)() as s:
        ensure_benchmark(s, storage, root, root)
        s.add(Team(name="q"))
        s.commit()
    yield url, engine, storage
    engine.dispose()


def _add_jobs(engine, n: int) -> list[int]:
    ids = []
    with session_factory(engine)() as s:
        team = s.scalar(select(Team))
        for _ in range(n):
            sub = Submission(team_id=team.id, archive_sha256="oracle", state="queued",
                             manifest_json=json.dumps({"model": "oracle"}))
            s.add(sub)
            s.flush()
            queue.enqueue(s, sub.id)
            ids.append(sub.id)
        s.commit()
    return ids


def _drain(workers: list[Worker], engine, timeout: float = 240) -> None:
    def loop(w: Worker) -> None:
        while w.run_once():
            pass

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM jobs WHERE state IN "
                                     "('queued', 'running')")).scalar()
        if not left:
            return
        time.sleep(0.3)
    raise AssertionError("queue not drained")


def test_migrations_create_every_table(db):
    _url, engine, _ = db
    from sqlalchemy import inspect

    names = set(inspect(engine).get_table_names())
    assert {"teams", "users", "api_tokens", "submissions", "jobs", "audit_log", "settings",
            "alembic_version"} <= names
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from generalbench.server.db import Base

    with engine.connect() as conn:  # the migration creates exactly what the models declare
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_three_workers_twenty_jobs_each_scored_once(db):
    _url, engine, storage = db
    ids = _add_jobs(engine, 20)
    workers = [Worker(engine, storage, Limits(lease_s=30), name=f"w{i}") for i in range(3)]
    _drain(workers, engine)
    with session_factory(engine)() as s:
        subs = s.scalars(select(Submission).where(Submission.id.in_(ids))).all()
        assert [x.state for x in subs] == ["scored"] * 20
        assert [x.score_count for x in subs] == [1] * 20
        assert s.scalar(select(func.count()).select_from(Job).where(Job.state == "done")) == 20
        by_worker = s.execute(select(Job.worker, func.count()).group_by(Job.worker)).all()
    assert sum(n for _, n in by_worker) == 20


CLAIM_AND_HANG = """
import sys, time
from generalbench.server.db import make_engine
from generalbench.server import queue
engine = make_engine(sys.argv[1])
c = queue.claim(engine, "doomed", 2.0)
print(c.job_id, flush=True)
time.sleep(600)
"""


def test_killed_worker_job_is_rerun_and_nothing_lost(db):
    url, engine, storage = db
    ids = _add_jobs(engine, 3)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", CLAIM_AND_HANG, url], stdout=subprocess.PIPE,
                            text=True, env=env)
    job_id = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)  # killed mid-job: no heartbeat, no result
    proc.wait()
    workers = [Worker(engine, storage, Limits(lease_s=2), name=f"w{i}") for i in range(2)]
    time.sleep(2.2)
    _drain(workers, engine)
    with session_factory(engine)() as s:
        job = s.get(Job, job_id)
        assert job.state == "done" and job.attempts == 2 and job.worker != "doomed"
        subs = s.scalars(select(Submission).where(Submission.id.in_(ids))).all()
        assert [(x.state, x.score_count) for x in subs] == [("scored", 1)] * 3


def test_stale_worker_cannot_store_a_result(db):
    _url, engine, _ = db
    _add_jobs(engine, 1)
    first = queue.claim(engine, "slow", 0.01)
    time.sleep(0.05)
    second = queue.claim(engine, "fast", 30)
    assert second is not None and second.job_id == first.job_id
    assert not queue.heartbeat(engine, first, "slow", 30)
    with engine.begin() as conn:
        assert not queue.finish(conn, first, "slow", "done")
        assert queue.finish(conn, second, "fast", "done")
    assert queue.claim(engine, "other", 30) is None


def test_jobs_waiting_too_long_fail_with_a_reason(db):
    _url, engine, _ = db
    (sid,) = _add_jobs(engine, 1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET created_at = created_at - 7200"))
    assert queue.expire(engine, max_wait_s=3600) == 1
    with session_factory(engine)() as s:
        sub = s.get(Submission, sid)
        assert (sub.state, sub.reason) == ("failed", reasons.QUEUE_TIMEOUT)
