"""Operator commands against a running service: admin account, added tasks, hide/verify with an
audit log, rescoring, static HTML export."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from typer.testing import CliRunner

from generalbench.cli import app as cli_app
from generalbench.server.db import AuditLog, Submission, session_factory


def _admin(service, *args: str, stdin: str | None = None):
    result = CliRunner().invoke(cli_app, ["admin", *args, "--db", service.db_url, "--storage",
                                          str(service.storage)], input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_operators_moderate_add_tasks_rescore_and_export(service, bench, tmp_path):
    token = _admin(service, "add-team", "ops-team").strip()
    assert token.startswith("gb_")
    with service.client(token) as client:
        sid = client.post("/api/submissions", content=bench.oracle_zip.read_bytes()).json()["id"]
        assert service.wait(client, sid)["state"] == "scored"
        client.post(f"/api/submissions/{sid}/publish", json={"public": True, "model_name": "Ops"})
        before = client.get("/api/boards/A").json()
        assert "Ops" in [r["model"] for r in before["rows"]]

        _admin(service, "flag", str(sid), "hide")
        assert "Ops" not in [r["model"] for r in client.get("/api/boards/A").json()["rows"]]
        _admin(service, "flag", str(sid), "unhide")
        _admin(service, "flag", str(sid), "verify")
        row = [r for r in client.get("/api/boards/A").json()["rows"] if r["model"] == "Ops"][0]
        assert row["verified"]

        extra = tmp_path / "extra.csv"
        extra.write_text("modality,paradigm,task_name,metric,sota\n"
                         "image,comprehension,Operator Added Counting,accuracy,90\n")
        info = json.loads(_admin(service, "catalog", str(extra), "--kind", "extra"))
        after = client.get("/api/boards/A").json()
        assert after["catalog"] == info != before["catalog"]
        ops_row = [r for r in after["rows"] if r["model"] == "Ops"][0]
        assert ops_row["tasks"] == [r for r in before["rows"] if r["model"] == "Ops"][0]["tasks"] + 1

        assert re.match(r"\d+ submissions queued", _admin(service, "rescore"))
        with session_factory(service.engine)() as s:
            assert s.get(Submission, sid).state == "scored"  # stays on the boards meanwhile
        import time

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with session_factory(service.engine)() as s:
                if s.get(Submission, sid).score_count == 2:
                    break
            time.sleep(0.3)
        with session_factory(service.engine)() as s:
            assert s.get(Submission, sid).score_count == 2
            actions = s.scalars(select(AuditLog.action)).all()
    assert {"add-team", "hide", "unhide", "verify", "add-tasks", "rescore"} <= set(actions)

    _admin(service, "add-admin", "ops@example.org", stdin="operator-password\n")
    out = _admin(service, "export-html", str(tmp_path / "html"))
    assert "boards written" in out
    index = (tmp_path / "html" / "index.html").read_text()
    assert "A.html" in index and "Ops" in (tmp_path / "html" / "A.html").read_text()


def test_serve_and_worker_commands(tmp_path, bench):
    """The real entry points: `serve` (no in-process worker) and a separate `worker` process."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from .conftest import free_port

    storage, port = tmp_path / "lb", free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    base = [sys.executable, "-m", "generalbench"]
    common = ["--storage", str(storage)]
    serve = subprocess.Popen([*base, "serve", "--port", str(port), *common, "--data", str(bench.root),
                              "--answers", str(bench.root), "--workers", "0"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                assert serve.poll() is None, serve.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert "General-Level board A" in httpx.get(url + "/").text
        token = subprocess.run([*base, "admin", "add-team", "cmd-team", *common], env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        worker = subprocess.Popen([*base, "worker", *common], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        sub = subprocess.run([*base, "submit", str(bench.partial), "--server", url, "--wait"],
                             env={**env, "GENERALBENCH_TOKEN": token}, capture_output=True,
                             text=True, timeout=300)
        assert sub.returncode == 0, sub.stderr
        assert sub.stdout.startswith("partial: General-Level")
        bad = subprocess.run([*base, "submit", str(bench.partial), "--server", url],
                             env={**env, "GENERALBENCH_TOKEN": "gb_revoked"}, capture_output=True,
                             text=True, timeout=120)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "401" in bad.stderr
    finally:
        for proc in (worker, serve):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
