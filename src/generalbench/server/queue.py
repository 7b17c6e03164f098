"""The scoring queue: a database table, no broker.

A worker claims the oldest runnable job with ONE atomic `UPDATE ... RETURNING` (PostgreSQL adds
`FOR UPDATE SKIP LOCKED` so concurrent claimers never wait on each other; SQLite serialises
writers, so its single statement is atomic already). A claim holds a lease that the worker renews
(heartbeat); a job whose lease ran out (its worker crashed or was killed) is runnable again. A
result is only stored while the worker still owns the job, so every submission is scored exactly
once even when a slow worker comes back after its lease was taken over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

MAX_ATTEMPTS = 3
"""A job whose worker died this many times fails (a submission that kills workers)."""


@dataclass(frozen=True)
class Claim:
    job_id: int
    submission_id: int
    attempts: int


def enqueue(session, submission_id: int) -> None:
    from generalbench.server.db import Job

    session.add(Job(submission_id=submission_id, state="queued", attempts=0, created_at=time.time()))


def claim(engine: Engine, worker: str, lease_s: float) -> Claim | None:
    """Claim one job (queued, or running with an expired lease) or return None."""
    now = time.time()
    lock = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    sql = text(
        "UPDATE jobs SET state = 'running', worker = :worker, lease_until = :lease, "
        "attempts = attempts + 1 "
        "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' "
        "OR (state = 'running' AND lease_until < :now) ORDER BY id LIMIT 1" + lock + ") "
        "AND (state = 'queued' OR (state = 'running' AND lease_until < :now)) "
        "RETURNING id, submission_id, attempts")
    with engine.begin() as conn:
        row = conn.execute(sql, {"worker": worker, "lease": now + lease_s, "now": now}).first()
    return None if row is None else Claim(int(row[0]), int(row[1]), int(row[2]))


def heartbeat(engine: Engine, claim: Claim, worker: str, lease_s: float) -> bool:
    """Renew the lease; False when the job is no longer ours (taken over or finished)."""
    with engine.begin() as conn:
        n = conn.execute(text("UPDATE jobs SET lease_until = :lease WHERE id = :id AND "
                              "worker = :worker AND state = 'running'"),
                         {"lease": time.time() + lease_s, "id": claim.job_id,
                          "worker": worker}).rowcount
    return n == 1


def finish(conn, claim: Claim, worker: str, state: str, error: str | None = None) -> bool:
    """Mark the job done/failed inside the caller's transaction; False when it is not ours."""
    n = conn.execute(text("UPDATE jobs SET state = :state, finished_at = :now, error = :error "
                          "WHERE id = :id AND worker = :worker AND state = 'running'"),
                     {"state": state, "now": time.time(), "error": error, "id": claim.job_id,
                      "worker": worker}).rowcount
    return n == 1


def expire(engine: Engine, max_wait_s: float) -> int:
    """Fail jobs that waited too long for a worker, and jobs whose workers died too often.

    Returns how many jobs failed; their submissions get a reason from the fixed list.
    """
    from generalbench.server.reasons import QUEUE_TIMEOUT, WORKER_LOST

    now = time.time()
    failed = 0
    with engine.begin() as conn:
        for reason, where, params in (
            (QUEUE_TIMEOUT, "state = 'queued' AND created_at < :cutoff", {"cutoff": now - max_wait_s}),
            (WORKER_LOST, "state = 'running' AND lease_until < :now AND attempts >= :max",
             {"now": now, "max": MAX_ATTEMPTS}),
        ):
            rows = conn.execute(text(f"UPDATE jobs SET state = 'failed', finished_at = :t, "
                                     f"error = :reason WHERE {where} RETURNING submission_id"),
                                {"t": now, "reason": reason, **params}).fetchall()
            for (sid,) in rows:
                conn.execute(text("UPDATE submissions SET state = 'failed', reason = :reason "
                                  "WHERE id = :id AND state IN ('queued', 'running')"),
                             {"reason": reason, "id": sid})
            failed += len(rows)
    return failed
