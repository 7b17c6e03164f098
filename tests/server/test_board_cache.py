"""Cached boards are never stale: reads are served from encoded bytes kept per board revision,
and publishing, hiding or un-hiding a submission changes what the next read returns. Boards carry
an ETag and a short max-age; a client that holds the current bytes gets a bodiless 304."""

from __future__ import annotations

import csv
import io

import pytest


def _models(client, scope: str = "A", **params) -> list[str]:
    resp = client.get(f"/api/boards/{scope}", params=params)
    assert resp.status_code == 200, resp.text
    if params.get("format") == "csv":
        return [row["model"] for row in csv.DictReader(io.StringIO(resp.text))]
    return [r["model"] for r in resp.json()["rows"]]


def test_publish_and_hide_change_the_cached_board(service, bench):
    from generalbench.server.app import set_flag
    from generalbench.server.db import session_factory

    with service.client(service.token("cache-team")) as client:
        sid = client.post("/api/submissions", content=bench.oracle_zip.read_bytes(),
                          headers={"Content-Type": "application/zip"}).json()["id"]
        assert service.wait(client, sid)["state"] == "scored"
        # warm every cached form (JSON, quick, CSV) before the change
        assert "Cache-Oracle" not in _models(client)
        assert "Cache-Oracle" not in _models(client, quick=True)
        assert "Cache-Oracle" not in _models(client, format="csv")
        assert _models(client) == _models(client)  # a second read is the cached one
        etag = client.get("/api/boards/A").headers["etag"]

        r = client.post(f"/api/submissions/{sid}/publish",
                        json={"public": True, "model_name": "Cache-Oracle"})
        assert r.status_code == 200, r.text
        # a browser revalidating its copy gets the new board, not a 304
        again = client.get("/api/boards/A", headers={"If-None-Match": etag})
        assert again.status_code == 200 and again.headers["etag"] != etag
        assert "Cache-Oracle" in [row["model"] for row in again.json()["rows"]]
        assert "Cache-Oracle" in _models(client)
        assert "Cache-Oracle" in _models(client, quick=True)
        assert "Cache-Oracle" in _models(client, format="csv")

        Session = session_factory(service.engine)
        with Session() as s:  # an operator hides it (as the admin page and CLI do)
            set_flag(s, sid, "hide", "test")
            s.commit()
        assert "Cache-Oracle" not in _models(client)
        assert "Cache-Oracle" not in _models(client, format="csv")
        with Session() as s:
            set_flag(s, sid, "unhide", "test")
            s.commit()
        assert "Cache-Oracle" in _models(client)


def test_unknown_scope_is_404_and_not_cached(service):
    with service.client() as client:
        for _ in range(2):
            resp = client.get("/api/boards/Z:nothing")
            assert resp.status_code == 404


def test_board_is_gzip_for_clients_that_accept_it(service):
    import httpx

    plain = httpx.get(service.url + "/api/boards/A", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = httpx.get(service.url + "/api/boards/A", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in raw.headers["vary"].lower()
    assert raw.json() == plain.json()  # httpx decodes it, as browsers do
    assert raw.num_bytes_downloaded < len(plain.content)


def test_cached_and_built_boards_answer_alike(service):
    """The first read builds the board, the next ones are answered from the cache (fastpath):
    same status, headers and bytes."""
    import httpx

    from generalbench.server.db import bump_revision, session_factory

    with session_factory(service.engine)() as s:
        bump_revision(s)
        s.commit()
    for params in ({}, {"format": "csv"}, {"quick": "1"}):
        for enc in ("gzip", "identity"):
            first, again = (httpx.get(service.url + "/api/boards/B:image", params=params,
                                      headers={"Accept-Encoding": enc}) for _ in range(2))
            assert first.status_code == again.status_code == 200
            assert first.content == again.content
            for name in ("content-type", "content-encoding", "vary", "content-length", "etag",
                         "cache-control"):
                assert first.headers.get(name) == again.headers.get(name), (params, enc, name)


def test_etag_and_304_from_the_cached_and_the_built_path(service):
    """A client holding the current bytes gets 304 without a body, from BoardApp (warm)
    and right after a revision change whose board did not change (the
    ETag hashes the bytes, not the revision)."""
    import httpx

    from generalbench.server.db import bump_revision, session_factory

    url = service.url + "/api/boards/A"
    for enc in ("gzip", "identity"):
        first = httpx.get(url, headers={"Accept-Encoding": enc})
        etag = first.headers["etag"]
        assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"')
        assert first.headers["cache-control"] == "public, max-age=5"
        for inm in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            hit = httpx.get(url, headers={"Accept-Encoding": enc, "If-None-Match": inm})
            assert hit.status_code == 304, inm
            assert hit.content == b"" and hit.headers["etag"] == etag
            assert hit.headers["cache-control"] == first.headers["cache-control"]
            assert "content-length" not in hit.headers or hit.headers["content-length"] == "0"
        miss = httpx.get(url, headers={"Accept-Encoding": enc, "If-None-Match": '"other"'})
        assert miss.status_code == 200 and miss.content == first.content

        with session_factory(service.engine)() as s:  # the next read is built by the route
            bump_revision(s)
            s.commit()
        built = httpx.get(url, headers={"Accept-Encoding": enc, "If-None-Match": etag})
        assert built.status_code == 304 and built.headers["etag"] == etag
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"}).headers["etag"]
    gz = httpx.get(url, headers={"Accept-Encoding": "gzip"}).headers["etag"]
    assert plain != gz  # two representations, two strong validators


def test_if_none_match_parsing():
    from generalbench.server.fastpath import not_modified

    tag = b'"abc"'
    assert not_modified(b'"abc"', tag) and not_modified(b'W/"abc"', tag)
    assert not_modified(b'"x", "abc"', tag) and not_modified(b' * ', tag)
    assert not not_modified(None, tag) and not not_modified(b"", tag)
    assert not not_modified(b'"abcd"', tag) and not not_modified(b"abc", tag)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_revision_reader_sees_every_bump_and_survives_a_lost_connection(request, tmp_path, kind):
    """The revision check's own connection sees commits made through other connections at once
    (no transaction or snapshot stays open), and is reopened when the database drops it."""
    import uuid

    from sqlalchemy import text

    from generalbench.server.boards import RevisionReader
    from generalbench.server.db import (
        bump_revision,
        get_setting,
        make_engine,
        migrate,
        session_factory,
    )

    from .conftest import fresh_pg_db

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'rev.db'}"
    else:
        url = fresh_pg_db(request.getfixturevalue("postgres_url"), f"rev_{uuid.uuid4().hex[:8]}")
    migrate(url)
    engine = make_engine(url)
    writer = make_engine(url)  # another process's connections, as a worker's
    reader = RevisionReader(engine)
    try:
        assert reader() == "0"
        Session = session_factory(writer)
        for _ in range(3):
            with Session() as s:
                bump_revision(s)
                s.commit()
                expected = get_setting(s, "board_revision")
            assert reader() == expected
        if kind == "sqlite":
            reader._conn.dbapi_connection.close()  # gone underneath the reader
        else:
            with writer.connect() as conn:
                pid = reader._conn.dbapi_connection.info.backend_pid
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert reader() == expected
        assert engine.pool.checkedout() == 0  # detached: it never holds a pool slot
    finally:
        reader.close()
        engine.dispose()
        writer.dispose()


def test_concurrent_first_reads_build_a_board_once_and_cached_reads_never_wait(service):
    """After a change, many requests wanting the same board build it once (the others wait for
    that build); a build in progress does not hold up reads of boards already cached."""
    import threading

    from generalbench.server.boards import BoardCache
    from generalbench.server.db import get_setting, session_factory

    Session = session_factory(service.engine)
    cache = BoardCache()
    with Session() as s:
        revision = get_setting(s, "board_revision", "0")
        assert cache.memo(s, ("ready",), lambda: b"ready") == b"ready"
    builds, release, started = [], threading.Event(), threading.Event()

    def build() -> bytes:
        builds.append(1)
        started.set()
        assert release.wait(30)
        return b"built"

    results: list[bytes] = []

    def read() -> None:
        with Session() as s:
            results.append(cache.memo(s, ("slow",), build))

    threads = [threading.Thread(target=read) for _ in range(20)]
    for t in threads:
        t.start()
    assert started.wait(30)
    assert cache.cached(revision, ("ready",)) == b"ready"  # answered while "slow" builds
    assert cache.cached(revision, ("slow",)) is None
    release.set()
    for t in threads:
        t.join(30)
    assert results == [b"built"] * 20 and len(builds) == 1
    assert cache.cached(revision, ("slow",)) == b"built"


def test_a_failed_build_is_not_cached_and_the_next_read_retries(service):
    from generalbench.server.boards import BoardCache
    from generalbench.server.db import session_factory

    Session = session_factory(service.engine)
    cache = BoardCache()
    calls: list[int] = []

    def build() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first build fails")
        return "ok"

    with Session() as s:
        with pytest.raises(ValueError):
            cache.memo(s, ("k",), build)
        assert cache.memo(s, ("k",), build) == "ok" and len(calls) == 2
        assert cache.memo(s, ("k",), build) == "ok" and len(calls) == 2


def test_a_board_is_reused_across_revisions_while_its_entries_are_unchanged(service):
    """A revision change that leaves a board's entries and catalog alone (a score for a
    submission that is not public) reuses its value instead of ranking it again."""
    from generalbench.server.boards import BoardCache
    from generalbench.server.db import bump_revision, session_factory

    Session = session_factory(service.engine)
    cache = BoardCache()
    builds: list[int] = []

    def build() -> str:
        builds.append(1)
        return f"board {len(builds)}"

    with Session() as s:
        assert cache.memo(s, ("b", "A", False), build, quick=False) == "board 1"
    with Session() as s:
        bump_revision(s)
        s.commit()
    with Session() as s:
        assert cache.memo(s, ("b", "A", False), build, quick=False) == "board 1"
        assert cache.memo(s, ("b", "A", True), build, quick=True) == "board 2"  # other entries
        assert cache.memo(s, ("plain",), build) == "board 3"
    with Session() as s:
        bump_revision(s)
        s.commit()
    with Session() as s:  # without `quick` a value lives for one revision only
        assert cache.memo(s, ("plain",), build) == "board 4"


def test_concurrent_reads_right_after_a_change_all_get_the_board(service):
    """Reads that arrive while the board is being rebuilt await that one build: each gets the
    whole board with the same bytes and ETag."""
    import asyncio

    import httpx

    from generalbench.server.db import bump_revision, session_factory

    with session_factory(service.engine)() as s:
        bump_revision(s)
        s.commit()

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
            return await asyncio.gather(*(client.get("/api/boards/B:image", headers={
                "Accept-Encoding": "gzip"}) for _ in range(40)))

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["etag"] for r in responses}) == 1
