"""A scoring worker: claim a job, score it with the `score` command's code, store the per-task
raw scores, repeat. Any number of workers may run, in any process or machine sharing the database
and the storage folder; only workers ever read the answer key."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from generalbench import __version__
from generalbench.server import queue, reasons
from generalbench.server.config import Benchmark, Limits
from generalbench.server.db import bump_revision, pack_json, session_factory


def provenance(sha: str | None, manifest: dict, catalog_info: dict) -> dict:
    """Where every number of a submission comes from (shown on its model page)."""
    import hashlib

    models_yaml = Path(__file__).resolve().parents[1] / "metricmodels" / "models.yaml"
    lock = hashlib.sha256(models_yaml.read_bytes()).hexdigest()[:16] if models_yaml.exists() else ""
    return {"archive_sha256": sha, "generalbench": __version__, "catalog": catalog_info,
            "weights_lock": lock, "model": manifest.get("model"),
            "backend": manifest.get("backend"),
            "run_created": manifest.get("created"), "scored_at": time.time()}


class Worker:
    """One worker loop (a thread of `serve`, or the whole `generalbench worker` process)."""

    def __init__(self, engine: Engine, storage: Path, limits: Limits | None = None,
                 name: str | None = None, poll_s: float = 1.0) -> None:
        self.engine = engine
        self.storage = Path(storage)
        self.limits = limits or Limits()
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.Session = session_factory(engine)

    def run_forever(self) -> None:
        import logging

        log = logging.getLogger("generalbench.server.worker")
        while not self.stop.is_set():
            try:
                queue.expire(self.engine, self.limits.max_wait_s)
                if not self.run_once():
                    self.stop.wait(self.poll_s)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("worker %s: queue error; retrying in 5 s", self.name)
                self.stop.wait(5.0)

    def run_once(self) -> bool:
        """Claim and score one job; False when the queue is empty."""
        claim = queue.claim(self.engine, self.name, self.limits.lease_s)
        if claim is None:
            return False
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE submissions SET state = 'running' WHERE id = :id AND "
                              "state = 'queued'"), {"id": claim.submission_id})
        beat_stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, beat_stop), daemon=True)
        beat.start()
        try:
            self._score(claim)
        finally:
            beat_stop.set()
            beat.join()
        return True

    def _heartbeat(self, claim: queue.Claim, stop: threading.Event) -> None:
        while not stop.wait(self.limits.lease_s / 3):
            if not queue.heartbeat(self.engine, claim, self.name, self.limits.lease_s):
                return

    def _score(self, claim: queue.Claim) -> None:
        from generalbench.server.db import Submission
        from generalbench.server.scoring import score_folder
        from generalbench.server.upload import predictions_root

        with self.Session() as s:
            sub = s.get(Submission, claim.submission_id)
            bench = Benchmark.load(s)
            sha, manifest = sub.archive_sha256, json.loads(sub.manifest_json)
        try:
            catalog = bench.catalog()
            folder = predictions_root(self.storage / "extracted" / str(sha))
            work = self.storage / "scores" / str(claim.submission_id)
            shutil.rmtree(work, ignore_errors=True)
            full = score_folder(folder, Path(bench.answers), catalog, out_dir=work / "full",
                                quick=None)
            quick = score_folder(folder, Path(bench.answers), catalog, out_dir=work / "quick",
                                 quick=bench.quick)
            own_quick = manifest.get("quick") if isinstance(manifest.get("quick"), int) else None
            # the result `generalbench score RUN_DIR` prints: the run's own --quick, if it had one
            if own_quick is None:
                own = full
            elif own_quick == bench.quick:
                own = quick
            else:
                own = score_folder(folder, Path(bench.answers), catalog, out_dir=work / "own",
                                   quick=own_quick)
        except Exception as exc:  # noqa: BLE001 - a scoring bug fails one submission, not the worker
            self._fail(claim, reasons.SCORING_FAILED, f"{type(exc).__name__}: {exc}")
            return
        from generalbench.levels import LevelResult
        from generalbench.server.boards import summarise

        prov = provenance(sha, manifest, bench.catalog_info())
        # tasks absent from the answer key need no entry: evaluate counts them unsupported
        stored = {name: {"raw": {k: v for k, v in one.raw.items() if v is not None},
                         "details": {k: d for k, d in one.details.items() if d.get("instances")},
                         "summary": summarise(LevelResult.model_validate(one.result))}
                  for name, one in (("full", full), ("quick", quick))}
        with self.engine.begin() as conn:
            if not queue.finish(conn, claim, self.name, "done"):
                return  # our lease was taken over: the other worker's result counts
            conn.execute(text(
                "UPDATE submissions SET state = 'scored', reason = NULL, scored_at = :t, "
                "score_count = score_count + 1, raw_full_json = :full, raw_quick_json = :quick, "
                "result_json = :result, provenance_json = :prov WHERE id = :id"),
                {"t": time.time(), "id": claim.submission_id,
                 "full": pack_json(stored["full"]), "quick": pack_json(stored["quick"]),
                 "result": pack_json(own.result), "prov": json.dumps(prov)})
        with self.Session() as s:
            bump_revision(s)
            s.commit()

    def _fail(self, claim: queue.Claim, reason: str, internal: str) -> None:
        from generalbench.server.db import AuditLog

        with self.engine.begin() as conn:
            if not queue.finish(conn, claim, self.name, "failed", reason):
                return
            conn.execute(text("UPDATE submissions SET state = 'failed', reason = :r WHERE id = :id"),
                         {"r": reason, "id": claim.submission_id})
        with self.Session() as s:  # the exception text is for operators only
            s.add(AuditLog(actor=f"worker:{self.name}", action="scoring-error",
                           target=f"submission:{claim.submission_id}", detail=internal[:2000]))
            s.commit()
