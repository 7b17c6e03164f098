"""`generalbench submit`: zip a run folder, upload it with an API token and wait for the score."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from generalbench.errors import GeneralBenchError

TOKEN_ENV = "GENERALBENCH_TOKEN"
CONFIG = Path("~/.config/generalbench/token")


def read_token() -> str:
    """The API token from $GENERALBENCH_TOKEN or ~/.config/generalbench/token (never argv, so it
    stays out of shell history and process lists)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        path = CONFIG.expanduser()
        if path.is_file():
            token = path.read_text("utf-8").strip()
    if not token:
        raise GeneralBenchError(f"no API token: set ${TOKEN_ENV} or write it to {CONFIG}")
    return token


def submit(run_dir: Path, server: str, *, wait: bool, timeout_s: float = 3600.0,
           poll_s: float = 1.0) -> dict[str, Any]:
    """Upload `run_dir` (a predictions folder or a .zip of one); with `wait`, return the
    General-Level JSON once scored, else the submission's status."""
    import httpx

    from generalbench.data.predictions import zip_predictions

    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise GeneralBenchError(f"{run_dir}: predictions folder not found")
    headers = {"Authorization": f"Bearer {read_token()}", "Content-Type": "application/zip"}
    base = server.rstrip("/")
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=600) as client:
        archive = run_dir if run_dir.is_file() else zip_predictions(run_dir, Path(tmp) / "run.zip")
        try:
            with open(archive, "rb") as fh:
                resp = client.post(f"{base}/api/submissions", content=fh, headers=headers)
            doc = _json(resp)
            if not wait or doc.get("state") == "failed":
                return doc
            deadline = time.monotonic() + timeout_s
            while doc.get("state") in ("queued", "running"):
                if time.monotonic() > deadline:
                    raise GeneralBenchError(f"submission {doc['id']} not scored after "
                                            f"{timeout_s:.0f}s; check it later on the server")
                time.sleep(poll_s)
                doc = _json(client.get(f"{base}/api/submissions/{doc['id']}", headers=headers))
            if doc.get("state") != "scored":
                raise GeneralBenchError(f"submission {doc['id']} failed: {doc.get('reason')}")
            return _json(client.get(f"{base}/api/submissions/{doc['id']}/result", headers=headers))
        except httpx.HTTPError as exc:
            raise GeneralBenchError(f"{base}: cannot reach the leaderboard ({exc})") from None


def _json(resp) -> dict[str, Any]:
    try:
        doc = resp.json()
    except ValueError:
        doc = {"detail": resp.text[:200]}
    if resp.status_code >= 400 and resp.status_code != 422:
        raise GeneralBenchError(f"server said {resp.status_code}: {doc.get('detail')}")
    return doc
