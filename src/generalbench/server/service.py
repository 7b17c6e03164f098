"""`generalbench serve`: migrate the database, make sure a benchmark is loaded, run one worker
thread in-process and the web app under uvicorn, in one web process or several."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import threading
from pathlib import Path

from generalbench.server.config import Limits
from generalbench.server.db import default_url, make_engine, migrate, session_factory


def open_db(db: str | None, storage: Path):
    storage.mkdir(parents=True, exist_ok=True)
    url = db or default_url(storage)
    migrate(url)
    return make_engine(url)


APP_ENV = "GENERALBENCH_SERVE_APP"
"""Where `serve --processes N` leaves the settings of its web processes: uvicorn starts each one
from an import string (app_from_env), so the settings travel in the environment it inherits."""


def app_from_env():
    """The app of one web process started by `serve --processes N` (its own engine and board
    cache: the board revision in the database keeps every process's cache consistent)."""
    from generalbench.server.app import create_app

    conf = json.loads(os.environ[APP_ENV])
    app = create_app(make_engine(conf["db"]), Path(conf["storage"]), Limits(**conf["limits"]))
    settle_heap()
    return app


def settle_heap() -> None:
    """Move everything alive after start-up (modules, the app, ~100k objects) out of the
    garbage collector's reach: a full collection otherwise walks them all, a pause of 30-50 ms
    of CPU that lands on whichever requests are waiting (gc.freeze, as for forking servers)."""
    gc.collect()
    gc.freeze()


def serve(host: str, port: int, db: str | None, storage: Path, data: Path | None,
          answers: Path | None, workers: int = 1, limits: Limits | None = None,
          processes: int = 1) -> None:
    """Run the service; `processes` > 1 runs that many web processes behind one listening socket
    (uvicorn's supervisor restarts any that dies), so board reads use every core. Scoring worker
    threads stay in this process, beside the supervisor."""
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
        if processes > 1:
            os.environ[APP_ENV] = json.dumps({
                "db": engine.url.render_as_string(hide_password=False),
                "storage": str(Path(storage).resolve()),
                "limits": dataclasses.asdict(limits or Limits())})
            uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=processes, host=host,
                        port=port, log_level="info", access_log=False)
        else:
            app = create_app(engine, storage, limits)
            settle_heap()
            uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        for w in loops:
            w.stop.set()
