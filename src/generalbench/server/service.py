"""`generalbench serve`: migrate the database, make sure a benchmark is loaded, run one worker
thread in-process and the web app under uvicorn."""

from __future__ import annotations

import threading
from pathlib import Path

from generalbench.server.config import Limits
from generalbench.server.db import default_url, make_engine, migrate, session_factory


def open_db(db: str | None, storage: Path):
    storage.mkdir(parents=True, exist_ok=True)
    url = db or default_url(storage)
    migrate(url)
    return make_engine(url)


def serve(host: str, port: int, db: str | None, storage: Path, data: Path | None,
          answers: Path | None, workers: int = 1, limits: Limits | None = None) -> None:
    import uvicorn

    from generalbench.server.app import create_app
    from generalbench.server.operators import ensure_benchmark
    from generalbench.server.worker import Worker

    engine = open_db(db, storage)
    with session_factory(engine)() as s:
        ensure_benchmark(s, storage, data, answers)
        s.commit()
    threads = []
    loops = [Worker(engine, storage, limits) for _ in range(workers)]
    for w in loops:
        t = threading.Thread(target=w.run_forever, daemon=True, name="scoring-worker")
        t.start()
        threads.append(t)
    try:
        # no per-request access log: formatting and writing a line per board read cost about as
        # much CPU as serving the cached board (the reverse proxy in front keeps access logs);
        # uvicorn uses httptools and uvloop by itself when installed (pip install uvicorn[standard])
        uvicorn.run(create_app(engine, storage, limits), host=host, port=port, log_level="info",
                    access_log=False)
    finally:
        for w in loops:
            w.stop.set()
