"""Security over HTTP: tokens, other teams, upload limits and archive checks, SQL-injection
strings, CSRF, daily limits, and no response that ever contains a closed-set reference value."""

from __future__ import annotations

import re
import struct
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from generalbench.server import reasons
from generalbench.server.db import ApiToken, Submission, Team, session_factory

from .conftest import make_zip, start_service, stop_service

INJECTIONS = ["'; DROP TABLE teams; --", "\" OR 1=1 --", "x' UNION SELECT token_sha256 FROM api_tokens --",
              "Robert'); DELETE FROM submissions;--"]


def _post_zip(client, data: bytes):
    return client.post("/api/submissions", content=data, headers={"Content-Type": "application/zip"})


def _csrf(client, path: str) -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_tokens_wrong_missing_revoked(service):
    token = service.token("tok-team")
    with service.client() as anon:
        assert anon.get("/api/submissions/1").status_code == 401
        assert _post_zip(anon, b"PK").status_code == 401
    with service.client("gb_wrong") as wrong:
        assert wrong.get("/api/submissions/1").status_code == 401
    with session_factory(service.engine)() as s:
        row = s.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        row.revoked_at = time.time()
        s.commit()
    with service.client(token) as revoked:
        assert _post_zip(revoked, b"PK").status_code == 401


def test_another_teams_submission_is_invisible(service, bench):
    with service.client(service.token("owner")) as owner:
        sid = _post_zip(owner, bench.oracle_zip.read_bytes()).json()["id"]
        assert service.wait(owner, sid)["state"] == "scored"
    with service.client(service.token("intruder")) as other:
        assert other.get(f"/api/submissions/{sid}").status_code == 404
        assert other.get(f"/api/submissions/{sid}/result").status_code == 404
        assert other.post(f"/api/submissions/{sid}/publish", json={"public": True}).status_code == 404


def _stored(storage: Path) -> set[Path]:
    return {p for p in storage.rglob("*") if p.is_file() and ("tmp" in p.parts or "archives" in p.parts)}


def test_oversize_upload_rejected_before_it_is_stored(service):
    before = _stored(service.storage)
    big = b"PK" + b"\0" * (3 * 1024**2)
    with service.client(service.token("big")) as client:
        assert _post_zip(client, big).status_code == 413

        def chunks():  # no Content-Length: counted while it streams
            for _ in range(48):
                yield b"\0" * 65536

        assert client.post("/api/submissions", content=chunks()).status_code == 413
    assert _stored(service.storage) == before


def _lying_zip(path: Path) -> Path:
    """A member whose headers claim 10 bytes but which inflates to 4 MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("run.json", b"{}")
        zf.writestr("image-comprehension-seed-counting.jsonl", b"\n" * (4 * 1024**2))
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            name_len = struct.unpack_from("<H", data, i + (26 if sig == b"PK\x03\x04" else 28))[0]
            name = data[i + (30 if sig == b"PK\x03\x04" else 46):][:name_len]
            if name.endswith(b".jsonl"):
                struct.pack_into("<I", data, i + offset, 10)
            start = i + 4
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("case", ["bomb", "lying", "traversal", "absolute", "backslash", "symlink",
                                  "duplicate", "count", "notzip", "unknown_task", "empty"])
def test_bad_archives_fail_with_a_fixed_reason(service, tmp_path, case):
    ok = [("run.json", b'{"model": "x"}')]
    path = tmp_path / "a.zip"
    expected = {reasons.UNSAFE_MEMBER}
    if case == "bomb":
        make_zip(path, ok + [("image-comprehension-seed-counting.jsonl", b"\0" * (20 * 1024**2))])
        expected = {reasons.TOO_BIG_UNPACKED}
    elif case == "lying":
        _lying_zip(path)
        expected = {reasons.TOO_BIG_UNPACKED, reasons.NOT_ZIP}
    elif case == "traversal":
        make_zip(path, ok + [("../../evil.jsonl", b"x")])
    elif case == "absolute":
        make_zip(path, ok + [("/tmp/evil.jsonl", b"x")])
    elif case == "backslash":
        make_zip(path, ok + [("..\\evil.jsonl", b"x")])
    elif case == "symlink":
        make_zip(path, ok, symlink="image-comprehension-seed-counting.jsonl")
    elif case == "duplicate":
        make_zip(path, ok + [("RUN.json", b"{}")])
    elif case == "count":
        make_zip(path, ok + [(f"artifacts/f{i}", b"") for i in range(250)])
        expected = {reasons.TOO_MANY_FILES}
    elif case == "notzip":
        path.write_bytes(b"this is not a zip")
        expected = {reasons.NOT_ZIP}
    elif case == "unknown_task":
        make_zip(path, ok + [("no-such-task.jsonl", b'{"id": "1", "prediction": "a"}\n')])
        expected = {reasons.UNKNOWN_TASK}
    else:
        make_zip(path, [("readme.txt", b"hi")])
        expected = {reasons.NO_PREDICTIONS}
    with service.client(service.token(f"bad-{case}")) as client:
        resp = _post_zip(client, path.read_bytes())
    assert resp.status_code == 422, resp.text
    assert resp.json()["state"] == "failed" and resp.json()["reason"] in expected
    assert not (tmp_path.parent / "evil.jsonl").exists() and not Path("/tmp/evil.jsonl").exists()
    assert not list(service.storage.glob("extracted/.extract-*"))


def test_sql_injection_strings_are_plain_text(service, bench):
    from sqlalchemy import inspect

    with service.client() as web:
        for i, evil in enumerate(INJECTIONS):
            csrf = _csrf(web, "/signup")
            r = web.post("/signup", data={"csrf": csrf, "email": f"u{i}{evil}@x.org",
                                          "password": evil + "pw123456", "team": f"{evil}{i}"})
            assert r.status_code in (200, 303), r.text
            web.cookies.delete("gb_session")
            csrf = _csrf(web, "/login")
            r = web.post("/login", data={"csrf": csrf, "email": evil, "password": evil})
            assert r.status_code == 400
            assert web.get(f"/api/boards/{evil}").status_code == 404
            assert web.get("/", params={"scope": evil}).status_code == 404
    with service.client(service.token(INJECTIONS[0])) as client:
        sid = _post_zip(client, bench.partial_zip.read_bytes()).json()["id"]
        assert service.wait(client, sid)["state"] == "scored"
        for evil in INJECTIONS:
            r = client.post(f"/api/submissions/{sid}/publish",
                            json={"model_name": evil, "public": True})
            assert r.status_code == 200 and r.json()["model"] == evil
        assert client.get(f"/api/submissions/{INJECTIONS[0]}").status_code == 422
    with session_factory(service.engine)() as s:
        assert {"teams", "submissions", "api_tokens"} <= set(inspect(service.engine).get_table_names())
        assert s.scalar(select(func.count()).select_from(Team).where(
            Team.name == f"{INJECTIONS[1]}1")) == 1
        assert s.get(Submission, sid).model_name == INJECTIONS[-1]


def test_form_posts_need_their_csrf_token(service, bench):
    with service.client() as web:
        csrf = _csrf(web, "/signup")
        form = {"email": "csrf@x.org", "password": "password123", "team": "csrf-team"}
        assert web.post("/signup", data=form).status_code == 403
        assert web.post("/signup", data={**form, "csrf": "forged"}).status_code == 403
        assert web.post("/signup", data={**form, "csrf": csrf}).status_code == 303
        files = {"archive": ("p.zip", bench.partial_zip.read_bytes(), "application/zip")}
        assert web.post("/submit", files=files).status_code == 403
        assert web.post("/submit", files=files, data={"csrf": "forged"}).status_code == 403
        assert web.post("/team/tokens").status_code == 403
        r = web.post("/submit", files=files, data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/submissions/")


@pytest.fixture(scope="module")
def limited(tmp_path_factory, bench):
    """A service without a worker (tests drain the queue themselves) and tight limits."""
    from generalbench.server.config import Limits

    storage = tmp_path_factory.mktemp("lb_limits")
    limits = Limits(daily_submissions=2, daily_failed=3, concurrent_jobs=1, total_submissions=10)
    svc, server, threads = start_service(f"sqlite:///{storage / 'lb.db'}", storage, bench, limits,
                                         workers=0)
    yield svc, limits
    stop_service(svc, server, threads)


def test_daily_failed_and_concurrent_limits(limited, bench):
    from generalbench.server.worker import Worker

    svc, limits = limited
    worker = Worker(svc.engine, svc.storage, limits)
    with svc.client(svc.token("limited")) as client:
        assert _post_zip(client, bench.partial_zip.read_bytes()).status_code == 202
        busy = _post_zip(client, bench.partial_zip.read_bytes())
        assert busy.status_code == 429 and "at once" in busy.json()["detail"]
        assert worker.run_once()
        for _ in range(2):  # failed submissions do not use the daily limit
            assert _post_zip(client, b"not a zip").status_code == 422
        assert _post_zip(client, bench.oracle_zip.read_bytes()).status_code == 202
        assert worker.run_once()
        daily = _post_zip(client, bench.oracle_zip.read_bytes())
        assert daily.status_code == 429
        assert re.search(r"resets at \d{4}-\d\d-\d\d 00:00 UTC", daily.json()["detail"])
    with svc.client(svc.token("junk")) as client:
        for _ in range(3):
            assert _post_zip(client, b"not a zip").status_code == 422
        capped = _post_zip(client, b"not a zip")
        assert capped.status_code == 429 and "failed" in capped.json()["detail"]


def test_no_response_ever_contains_a_reference_value(service, bench):
    """Runs last: every body this module's service sent (API, pages, CSV, errors) is scanned."""
    with service.client(service.token("leak-check")) as client:
        sid = _post_zip(client, bench.oracle_zip.read_bytes()).json()["id"]
        assert service.wait(client, sid)["state"] == "scored"
        client.post(f"/api/submissions/{sid}/publish", json={"public": True, "model_name": "leak"})
        client.get(f"/api/submissions/{sid}/result")
        for scope in client.get("/api/boards").json()["scopes"][:20]:
            client.get("/api/boards/" + scope.replace("/", "%2F"), params={"format": "csv"})
        client.get(f"/api/models/{sid}")
        client.get(f"/models/{sid}")
    with service.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submissions")).scalar() > 3
    assert len(bench.references) >= 4
    bodies = b"\n".join(service.bodies).decode("utf-8", "replace")
    assert len(service.bodies) > 50
    leaked = [r for r in bench.references if r in bodies]
    assert not leaked
