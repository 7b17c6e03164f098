"""Leaderboard fixtures: one small mini-bench for the whole session, services on loopback ports
(uvicorn in a thread, the real ASGI stack), and an optional real PostgreSQL server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the leaderboard needs the server extra")

SMALL_TASKS = ["Seed Counting", "Geometry Visual Question Answering", "Letter and Number OCR",
               "Music Pitch Analysis", "3D Structure Classification"]


@dataclass
class Bench:
    root: Path
    oracle: Path
    partial: Path
    oracle_zip: Path
    partial_zip: Path
    references: list[str]


def _zip(folder: Path, out: Path) -> Path:
    from generalbench.data.predictions import zip_predictions

    return zip_predictions(folder, out)


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory, catalog) -> Bench:
    """A 5-task mini-bench (4 instances each), its oracle predictions and a partial run."""
    from generalbench.data.minibench import make_mini, write_oracle_predictions

    base = tmp_path_factory.mktemp("lb_bench")
    root = make_mini(base / "mini", tasks=SMALL_TASKS, per_task=4)
    oracle = write_oracle_predictions(root, base / "oracle", catalog=catalog)
    partial = base / "partial"
    shutil.copytree(oracle, partial)
    jsonl = sorted(partial.glob("*.jsonl"))
    for f in jsonl[2:]:
        f.unlink()
    manifest = json.loads((partial / "run.json").read_text())
    manifest["model"] = "partial"
    (partial / "run.json").write_text(json.dumps(manifest))
    refs: list[str] = []
    for ann in root.rglob("annotation.json"):
        for rec in json.loads(ann.read_text())["data"]:
            out = rec.get("output")
            vals = out.values() if isinstance(out, dict) else [out]
            refs += [v for v in vals if isinstance(v, str) and len(v) >= 6 and " " not in v
                     and "/" not in v and "." not in v]
    return Bench(root, oracle, partial, _zip(oracle, base / "oracle.zip"),
                 _zip(partial, base / "partial.zip"), refs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    url: str
    engine: object
    storage: Path
    db_url: str
    workers: list = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def token(self, team: str) -> str:
        from generalbench.server.db import session_factory
        from generalbench.server.security import add_team_token

        with session_factory(self.engine)() as s:
            token = add_team_token(s, team)
            s.commit()
        return token

    def client(self, token: str | None = None):
        """An httpx client that records every response body (the no-leak check reads them)."""
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}

        def record(resp):
            resp.read()
            self.bodies.append(resp.content)

        return httpx.Client(base_url=self.url, headers=headers, timeout=60,
                            event_hooks={"response": [record]})

    def wait(self, client, sid: int, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = client.get(f"/api/submissions/{sid}").json()
            if doc["state"] in ("scored", "failed") or time.monotonic() > deadline:
                return doc
            time.sleep(0.2)


def start_service(db_url: str, storage: Path, bench: Bench, limits=None,
                  workers: int = 1) -> tuple[Service, object, list[threading.Thread]]:
    import uvicorn

    from generalbench.server.app import create_app
    from generalbench.server.db import make_engine, migrate, session_factory
    from generalbench.server.operators import ensure_benchmark
    from generalbench.server.worker import Worker

    migrate(db_url)
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        ensure_benchmark(s, storage, bench.root, bench.root)
        s.commit()
    port = free_port()
    config = uvicorn.Config(create_app(engine, storage, limits), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    threads = [threading.Thread(target=server.run, daemon=True)]
    svc = Service(f"http://127.0.0.1:{port}", engine, storage, db_url)
    for _ in range(workers):
        w = Worker(engine, storage, limits, poll_s=0.1)
        svc.workers.append(w)
        threads.append(threading.Thread(target=w.run_forever, daemon=True))
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return svc, server, threads


def stop_service(svc: Service, server, threads) -> None:
    server.should_exit = True
    for w in svc.workers:
        w.stop.set()
    for t in threads:
        t.join(timeout=30)
    svc.engine.dispose()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, bench: Bench) -> Iterator[Service]:
    """A running service on SQLite with one in-process worker and small limits."""
    from generalbench.server.config import Limits

    storage = tmp_path_factory.mktemp("lb_storage")
    limits = Limits(max_upload_bytes=2 * 1024**2, max_files=200, max_unpacked_bytes=8 * 1024**2,
                    daily_submissions=50, daily_failed=50, concurrent_jobs=5)
    svc, server, threads = start_service(f"sqlite:///{storage / 'lb.db'}", storage, bench, limits)
    yield svc
    stop_service(svc, server, threads)


def make_zip(path: Path, members: list[tuple[str, bytes]], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return path


# --- PostgreSQL --------------------------------------------------------------------------------
def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server in a temporary folder (Debian's postgresql package, which
    .ci/run installs), run as the unprivileged `postgres` user when the tests run as root."""
    binaries = _pg_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    import tempfile

    # its own folder directly under the temp dir: pytest's basetemp is private to root (0700)
    # and shared with other pytest sessions that prune it
    folder = Path(tempfile.mkdtemp(prefix="generalbench-pg-"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    init = subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "gb", "-A",
                           "trust", "--no-sync"], capture_output=True, text=True)
    assert init.returncode == 0, f"initdb failed: {init.stdout}\n{init.stderr}"
    proc = subprocess.Popen([*as_user, str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                             "-k", str(sock), "-h", "127.0.0.1", "-F", "-c", "fsync=off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql://gb@127.0.0.1:{port}/postgres"
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=gb dbname=postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


def fresh_pg_db(url: str, name: str) -> str:
    """A new, empty database on the test server (each test module migrates its own)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
