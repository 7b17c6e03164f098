"""The JSON API over HTTP against the running app (uvicorn on a loopback port, a real worker)."""

from __future__ import annotations

import json
from urllib.parse import quote

from typer.testing import CliRunner

from generalbench.cli import app as cli_app


def _submit(svc, client, archive) -> dict:
    resp = client.post("/api/submissions", content=archive.read_bytes(),
                       headers={"Content-Type": "application/zip"})
    assert resp.status_code in (202, 422), resp.text
    return resp.json()


def test_submission_is_scored_like_the_score_command(service, bench, catalog):
    from generalbench.runner.score import score_predictions

    with service.client(service.token("api-team")) as client:
        doc = _submit(service, client, bench.oracle_zip)
        assert doc["state"] == "queued"
        assert service.wait(client, doc["id"])["state"] == "scored"
        result = client.get(f"/api/submissions/{doc['id']}/result").json()
    expected, _ = score_predictions(bench.oracle, bench.root, catalog)
    assert result == json.loads(json.dumps(expected.model_dump()))
    assert result["level"] is not None


def test_cli_submit_wait_prints_the_score_json(service, bench, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("GENERALBENCH_TOKEN", service.token("cli-team"))
    sub = runner.invoke(cli_app, ["submit", str(bench.partial), "--server", service.url, "--wait",
                                  "--format", "json"])
    assert sub.exit_code == 0, sub.output
    score = runner.invoke(cli_app, ["score", str(bench.partial), "--data", str(bench.root),
                                    "--format", "json"])
    assert score.exit_code == 0, score.output
    assert json.loads(sub.stdout) == json.loads(score.stdout)


def test_publish_boards_model_page_and_compare(service, bench):
    with service.client(service.token("board-team")) as client:
        ids = []
        for archive, name in ((bench.oracle_zip, "Oracle-1"), (bench.partial_zip, "Partial-1")):
            sid = _submit(service, client, archive)["id"]
            assert service.wait(client, sid)["state"] == "scored"
            r = client.post(f"/api/submissions/{sid}/publish",
                            json={"public": True, "model_name": name,
                                  "paper_url": "https://example.org/paper"})
            assert r.status_code == 200, r.text
            ids.append(sid)
        scopes = client.get("/api/boards").json()["scopes"]
        assert {"A", "B:image", "C:image-comprehension"} <= set(scopes)
        assert any(s.startswith("D:") for s in scopes)
        board = client.get("/api/boards/A").json()
        names = [r["model"] for r in board["rows"]]
        assert names.index("Oracle-1") < names.index("Partial-1")
        assert board["catalog"]["hash"]
        quick = client.get("/api/boards/A", params={"quick": True}).json()
        assert "Oracle-1" in [r["model"] for r in quick["rows"]]
        sample = [s for s in scopes if not s.startswith("D:")] + \
            [s for s in scopes if s.startswith("D:")][:4]
        for scope in sample:
            data = client.get(f"/api/boards/{quote(scope, safe=':')}").json()
            assert len(data["rows"]) >= 2, (scope, data)
        csv = client.get("/api/boards/B:image", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0].startswith("rank,")
        model = client.get(f"/api/models/{ids[0]}").json()
        assert model["provenance"]["archive_sha256"]
        assert model["provenance"]["catalog"]["hash"] == board["catalog"]["hash"]
        assert "tasks" not in model  # per-task scores only for the submitting team
        page = client.get(f"/models/{ids[0]}")
        assert page.status_code == 200 and "Oracle-1" in page.text
        cmp = client.get("/compare", params={"a": ids[0], "b": ids[1]})
        assert cmp.status_code == 200 and "Partial-1" in cmp.text
        assert "Oracle-1" in client.get("/").text


def test_sota_override_reranks_without_rescoring(service, bench, tmp_path):
    """Property-4: a SoTA update re-ranks from stored raw scores; nothing is scored again."""
    from sqlalchemy import func, select

    from generalbench.server.db import Submission, session_factory
    from generalbench.server.operators import add_catalog_file

    with service.client() as client:
        first = client.get("/api/boards/A")
        before = first.json()
    Session = session_factory(service.engine)
    with Session() as s:
        counts = s.scalar(select(func.sum(Submission.score_count)))
    overrides = tmp_path / "sota.csv"
    overrides.write_text("task,sota\nimage-comprehension-seed-counting,0.0001\n")
    with Session() as s:
        info = add_catalog_file(s, service.storage, overrides, "sota", "test")
        s.commit()
    with service.client() as client:  # a browser revalidating its copy gets the re-ranked board
        resp = client.get("/api/boards/A", headers={"If-None-Match": first.headers["etag"]})
        assert resp.status_code == 200 and resp.headers["etag"] != first.headers["etag"]
        after = resp.json()
    assert after["catalog"]["hash"] == info["hash"] != before["catalog"]["hash"]
    with Session() as s:
        assert s.scalar(select(func.sum(Submission.score_count))) == counts
