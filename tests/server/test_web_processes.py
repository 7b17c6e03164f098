"""`serve --processes N`: several web processes behind one port, each with its own board cache,
and no process ever answers a board that another one (or a worker) has changed since."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import free_port


def _web_processes(pid: int) -> list[int]:
    """The web processes uvicorn's supervisor `pid` spawned (multiprocessing spawn children)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


def _fresh_reads(url: str, n: int) -> list[httpx.Response]:
    """`n` reads of board A, each on a new connection (so the kernel spreads them over the
    processes)."""
    return [httpx.get(url + "/api/boards/A", headers={"Accept-Encoding": "gzip"})
            for _ in range(n)]


def test_two_web_processes_share_the_port_and_stay_fresh(tmp_path, bench):
    from generalbench.server.db import make_engine, session_factory
    from generalbench.server.security import add_team_token

    storage, port = tmp_path / "lb", free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    serve = subprocess.Popen([sys.executable, "-m", "generalbench", "serve", "--port", str(port),
                              "--storage", str(storage), "--data", str(bench.root), "--answers",
                              str(bench.root), "--workers", "1", "--processes", "2"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while len(_web_processes(serve.pid)) < 2 or not _healthy(url):
            assert serve.poll() is None, serve.stderr.read()
            assert time.monotonic() < deadline, "two web processes did not come up"
            time.sleep(0.3)
        engine = make_engine(f"sqlite:///{storage / 'leaderboard.db'}")
        with session_factory(engine)() as s:
            token = add_team_token(s, "procs-team")
            s.commit()
        engine.dispose()
        auth = {"Authorization": f"Bearer {token}"}
        sid = httpx.post(url + "/api/submissions", content=bench.oracle_zip.read_bytes(),
                         headers={**auth, "Content-Type": "application/zip"}).json()["id"]
        deadline = time.monotonic() + 120
        while httpx.get(f"{url}/api/submissions/{sid}", headers=auth).json()["state"] != "scored":
            assert time.monotonic() < deadline
            time.sleep(0.2)

        before = _fresh_reads(url, 20)  # every process caches the board without it
        assert all(r.status_code == 200 and r.json()["rows"] == [] for r in before)
        assert len({r.headers["etag"] for r in before}) == 1  # same bytes in every process

        r = httpx.post(f"{url}/api/submissions/{sid}/publish", headers=auth,
                       json={"public": True, "model_name": "Two-Procs"})
        assert r.status_code == 200, r.text
        after = _fresh_reads(url, 20)  # whichever process answers, it sees the change at once
        assert all([row["model"] for row in r.json()["rows"]] == ["Two-Procs"] for r in after)
        assert len({r.headers["etag"] for r in after}) == 1
        assert after[0].headers["etag"] != before[0].headers["etag"]
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert not _web_processes(serve.pid)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/api/health").status_code == 200
    except httpx.HTTPError:
        return False
