"""The web tier: JSON API and server-rendered pages (FastAPI + Jinja2).

It never reads the answer key: uploads are checked, extracted and validated for ids and types
here, scoring happens in workers. Public pages show aggregates by scope only; per-task scores
are shown to the submitting team alone, and per-instance results never leave the workers.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from generalbench import __version__
from generalbench.errors import GeneralBenchError
from generalbench.server import boards, fastpath, queue, reasons, security
from generalbench.server.config import Benchmark, Limits
from generalbench.server.db import AuditLog, Submission, Team, User, bump_revision, session_factory
from generalbench.server.upload import (
    UploadRejected,
    extract,
    predictions_root,
    save_stream,
    validate,
)

TEMPLATES = Path(__file__).parent / "templates"


class BodyLimit:
    """ASGI middleware: a request body larger than the upload limit is refused while it streams
    in (Content-Length first, then by counting), before anything reaches storage."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        slack = 64 * 1024  # multipart framing around the file
        if length is not None and length.isdigit() and int(length) > self.limit + slack:
            return await _too_large(send)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit + slack:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send) -> None:
    body = json.dumps({"detail": reasons.TOO_LARGE}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def next_utc_midnight(now: float) -> dt.datetime:
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0)
    return today + dt.timedelta(days=1)


def create_app(engine, storage: Path, limits: Limits | None = None) -> FastAPI:
    """The ASGI app over an engine whose schema is migrated and a storage folder."""
    limits = limits or Limits()
    storage = Path(storage)
    Session = session_factory(engine)
    cache = boards.BoardCache()
    revision = boards.RevisionReader(engine)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["utc"] = lambda t: "" if t is None else dt.datetime.fromtimestamp(
        t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    templates.env.filters["num"] = lambda x: "-" if x is None else (
        f"{x:.2f}" if isinstance(x, float) else str(x))
    app = fastpath.BoardApp(title="General-Level leaderboard", version=__version__)
    app.add_middleware(BodyLimit, limit=limits.max_upload_bytes)

    # --- helpers --------------------------------------------------------------------------
    def api_team(request: Request, s) -> Team:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        team = security.team_for_token(s, token)
        if team is None:
            raise HTTPException(401, "missing, wrong or revoked API token")
        return team

    def web_user(request: Request, s) -> User | None:
        return security.user_for_session(s, request.cookies.get(security.SESSION_COOKIE))

    def page(request: Request, name: str, ctx: dict[str, Any], s, status: int = 200) -> Response:
        user = web_user(request, s)
        csrf = request.cookies.get(security.CSRF_COOKIE) or secrets.token_urlsafe(16)
        bench = Benchmark.load(s)
        resp = templates.TemplateResponse(request, name, {
            **ctx, "user": user, "csrf": csrf, "version": __version__,
            "catalog": ctx.get("catalog_info") or _catalog_info(bench)}, status_code=status)
        if request.cookies.get(security.CSRF_COOKIE) != csrf:
            resp.set_cookie(security.CSRF_COOKIE, csrf, httponly=True, samesite="lax")
        return resp

    def _catalog_info(bench: Benchmark) -> dict[str, str]:
        return bench.catalog_info()

    async def form_checked(request: Request) -> Any:
        form = await request.form()
        if not security.csrf_ok(request.cookies.get(security.CSRF_COOKIE), form.get("csrf")):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
        return form

    def check_quota(s, team_id: int) -> None:
        now = time.time()
        reset = next_utc_midnight(now)
        day_start = (reset - dt.timedelta(days=1)).timestamp()
        mine = select(func.count()).select_from(Submission).where(Submission.team_id == team_id)
        running = s.scalar(mine.where(Submission.state.in_(("queued", "running"))))
        if running >= limits.concurrent_jobs:
            raise HTTPException(429, f"at most {limits.concurrent_jobs} submissions of a team can "
                                     "wait or be scored at once; try again when one finishes")
        today = s.scalar(mine.where(Submission.state != "failed", Submission.created_at >= day_start))
        if today >= limits.daily_submissions:
            raise HTTPException(429, f"daily limit of {limits.daily_submissions} submissions "
                                     f"reached; it resets at {reset:%Y-%m-%d %H:%M} UTC")
        failed_today = s.scalar(mine.where(Submission.state == "failed",
                                           Submission.created_at >= day_start))
        if failed_today >= limits.daily_failed:
            raise HTTPException(429, f"daily limit of {limits.daily_failed} failed submissions "
                                     f"reached; it resets at {reset:%Y-%m-%d %H:%M} UTC")
        total = s.scalar(mine.where(Submission.state != "failed"))
        if total >= limits.total_submissions:
            raise HTTPException(429, f"total limit of {limits.total_submissions} submissions reached")

    async def accept(team_id: int, chunks) -> tuple[int, str, str | None]:
        """Store, check, validate and queue one upload: (submission id, state, reason)."""
        def quota() -> None:
            with Session() as s:
                check_quota(s, team_id)

        await run_in_threadpool(quota)  # database calls never block the event loop
        try:
            path, sha = await save_stream(chunks, storage, limits.max_upload_bytes)
        except UploadRejected as exc:
            raise HTTPException(exc.status, exc.reason) from None
        manifest: dict = {}
        try:
            dest = storage / "extracted" / sha
            dest.parent.mkdir(parents=True, exist_ok=True)
            await run_in_threadpool(extract, path, dest, limits)
            manifest = await run_in_threadpool(_validate, dest)
            state, reason = "queued", None
        except UploadRejected as exc:
            state, reason = "failed", exc.reason
            path.unlink(missing_ok=True)
            sha = None

        def record() -> int:
            with Session() as s:
                sub = Submission(team_id=team_id, archive_sha256=sha, state=state, reason=reason,
                                 model_name=str(manifest.get("model") or "")[:200],
                                 manifest_json=json.dumps(_public_manifest(manifest)))
                s.add(sub)
                s.flush()
                if state == "queued":
                    queue.enqueue(s, sub.id)
                s.commit()
                return sub.id

        return await run_in_threadpool(record), state, reason

    def _validate(dest: Path) -> dict:
        with Session() as s:
            catalog = Benchmark.load(s).catalog()
        return validate(predictions_root(dest), catalog)

    def own_submission(s, sid: int, team_id: int | None) -> Submission:
        sub = s.get(Submission, sid)
        if sub is None or team_id is None or sub.team_id != team_id:
            raise HTTPException(404, "no such submission of your team")
        return sub

    def status_doc(sub: Submission) -> dict[str, Any]:
        return {"id": sub.id, "state": sub.state, "reason": sub.reason, "model": sub.model_name,
                "public": sub.public, "hidden": sub.hidden, "verified": sub.verified,
                "created_at": sub.created_at, "scored_at": sub.scored_at}

    # --- JSON API -------------------------------------------------------------------------
    @app.post("/api/submissions", status_code=202)
    async def api_submit(request: Request) -> JSONResponse:
        def team_id() -> int:
            with Session() as s:
                return api_team(request, s).id

        sid, state, reason = await accept(await run_in_threadpool(team_id), request.stream())
        status = 202 if state == "queued" else 422
        return JSONResponse({"id": sid, "state": state, "reason": reason}, status_code=status)

    @app.get("/api/submissions/{sid}")
    def api_status(sid: int, request: Request) -> dict[str, Any]:
        with Session() as s:
            return status_doc(own_submission(s, sid, api_team(request, s).id))

    @app.get("/api/submissions/{sid}/result")
    def api_result(sid: int, request: Request) -> dict[str, Any]:
        """The General-Level JSON, as `generalbench score --format json` prints it (team only)."""
        with Session() as s:
            sub = own_submission(s, sid, api_team(request, s).id)
            if sub.state != "scored":
                raise HTTPException(409, f"submission {sid} is {sub.state}, not scored")
            return sub.doc("result")

    @app.post("/api/submissions/{sid}/publish")
    async def api_publish(sid: int, request: Request) -> dict[str, Any]:
        body = await request.json()

        def _run() -> Any:
            with Session() as s:
                team = api_team(request, s)
                sub = own_submission(s, sid, team.id)
                _publish(s, sub, body, f"team:{team.name}")
                s.commit()
                return status_doc(sub)

        return await run_in_threadpool(_run)

    @app.get("/api/boards")
    def api_boards() -> dict[str, Any]:
        with Session() as s:
            return {"scopes": boards.scopes(Benchmark.load(s).catalog())}

    @app.get("/api/boards/{scope:path}")
    async def api_board(request: Request, scope: str) -> Response:
        """A board read the way BoardApp answers it in front of the framework (which leaves
        only errors, e.g. an unknown scope, to this route): cached, or built in the threadpool.
        ?quick= and ?format= are read as BoardApp reads them. Clients that accept gzip get
        gzip bytes kept beside the plain ones (a 1,000-row board is ~200 KiB of JSON); every
        answer carries an ETag and a short max-age (fastpath)."""
        key = fastpath.board_key(scope, dict(request.query_params),
                                 request.headers.get("accept-encoding", ""))
        entry = await app.cached_boards.entry(key)
        inm = request.headers.get("if-none-match")
        status, headers, body = fastpath.answer(entry, inm.encode("latin-1") if inm else None)
        response = Response(body, status_code=status)
        response.raw_headers = list(headers)
        return response

    def encoded_board(key: tuple) -> fastpath.Encoded:
        """Build the board `key` (in the threadpool: see CachedBoards.entry)."""
        _, scope, quick, csv, gz = key
        with Session() as s:
            try:
                data = boards.board(s, cache, scope, quick)
            except GeneralBenchError as exc:
                raise HTTPException(404, str(exc)) from None
            plain_key = key[:-1] + (False,)
            plain = cache.memo(s, plain_key, lambda: fastpath.encode(plain_key, (
                boards.to_csv(data) if csv else json.dumps(data, ensure_ascii=False)).encode(),
                limits.board_max_age_s), quick=quick)
            if not gz:
                return plain
            # mtime=0: the same board gives the same bytes (and ETag) in every web process
            return cache.memo(s, key, lambda: fastpath.encode(
                key, gzip.compress(plain.body, 6, mtime=0), limits.board_max_age_s), quick=quick)

    @app.get("/api/models/{sid}")
    def api_model(sid: int) -> dict[str, Any]:
        with Session() as s:
            return model_doc(s, sid)

    def model_doc(s, sid: int) -> dict[str, Any]:
        sub = s.get(Submission, sid)
        if sub is None or sub.state != "scored" or not sub.public or sub.hidden:
            raise HTTPException(404, "no such public model")
        bench = Benchmark.load(s)
        catalog = bench.catalog()
        result = boards.result_from(catalog, sub.doc("raw_full"), sub.model_name)
        team = s.get(Team, sub.team_id)
        return {"submission": sub.id, "model": sub.model_name, "team": team.name,
                "paper_url": sub.paper_url, "code_url": sub.code_url, "verified": sub.verified,
                "level": result.level, "scores": result.scores,
                "modalities": {k: v.model_dump() for k, v in result.modalities.items()},
                "language": result.language.model_dump(),
                "skills": [k.model_dump() for k in result.skills()],
                "catalog": bench.catalog_info(), "provenance": sub.doc("provenance")}

    @app.get("/api/health")
    async def health() -> dict[str, Any]:  # async: no threadpool hop for a constant
        return {"ok": True, "version": __version__}

    # --- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, scope: str = "A", quick: bool = False) -> Response:
        return board_page(request, scope, quick)

    @app.get("/boards/{scope:path}", response_class=HTMLResponse)
    def board_page(request: Request, scope: str, quick: bool = False) -> Response:
        with Session() as s:
            try:
                data = boards.board(s, cache, scope, quick)
            except GeneralBenchError as exc:
                raise HTTPException(404, str(exc)) from None
            all_scopes = boards.scopes(Benchmark.load(s).catalog())
            return page(request, "board.html", {"board": data, "scopes": all_scopes,
                                                "catalog_info": data["catalog"]}, s)

    @app.get("/models/{sid}", response_class=HTMLResponse)
    def model_page(request: Request, sid: int) -> Response:
        with Session() as s:
            return page(request, "model.html", {"m": model_doc(s, sid)}, s)

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, a: int, b: int) -> Response:
        with Session() as s:
            return page(request, "compare.html", {"a": model_doc(s, a), "b": model_doc(s, b)}, s)

    @app.get("/signup", response_class=HTMLResponse)
    def signup_form(request: Request) -> Response:
        with Session() as s:
            return page(request, "signup.html", {"error": None}, s)

    @app.post("/signup")
    async def signup(request: Request) -> Response:
        form = await form_checked(request)

        def _run() -> Any:
            email, password = str(form.get("email", "")).strip()[:200], str(form.get("password", ""))
            team_name = str(form.get("team", "")).strip()[:100]
            with Session() as s:
                error = None
                if "@" not in email or len(password) < 8 or not team_name:
                    error = "give an e-mail address, a password of 8 or more characters and a team name"
                elif s.scalar(select(User).where(User.email == email)) is not None:
                    error = "that e-mail address already has an account"
                elif s.scalar(select(Team).where(Team.name == team_name)) is not None:
                    error = "that team name is taken"
                if error:
                    return page(request, "signup.html", {"error": error}, s, status=400)
                team = Team(name=team_name)
                s.add(team)
                s.flush()
                user = User(email=email, password_hash=security.hash_password(password), team_id=team.id)
                s.add(user)
                s.flush()
                sid = security.new_session(s, user.id)
                s.commit()
            return _signed_in(sid)

        return await run_in_threadpool(_run)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        with Session() as s:
            return page(request, "login.html", {"error": None}, s)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await form_checked(request)

        def _run() -> Any:
            email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
            with Session() as s:
                user = s.scalar(select(User).where(User.email == email))
                if user is None or not security.check_password(user.password_hash, password):
                    return page(request, "login.html", {"error": "wrong e-mail or password"}, s, 400)
                sid = security.new_session(s, user.id)
                s.commit()
            return _signed_in(sid)

        return await run_in_threadpool(_run)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await form_checked(request)
        resp = RedirectResponse("/", 303)
        resp.delete_cookie(security.SESSION_COOKIE)
        return resp

    def require_user(request: Request, s) -> User:
        user = web_user(request, s)
        if user is None:
            raise HTTPException(401, "sign in first")
        return user

    @app.get("/submit", response_class=HTMLResponse)
    def submit_form(request: Request) -> Response:
        with Session() as s:
            require_user(request, s)
            return page(request, "submit.html", {"error": None}, s)

    @app.post("/submit")
    async def submit_upload(request: Request) -> Response:
        form = await form_checked(request)

        def team_id() -> int:
            with Session() as s:
                return require_user(request, s).team_id

        team = await run_in_threadpool(team_id)
        upload = form.get("archive")
        if upload is None or not hasattr(upload, "read"):
            raise HTTPException(400, "choose a zipped predictions folder to upload")

        async def chunks():
            while chunk := await upload.read(1 << 16):
                yield chunk

        sid, _state, _reason = await accept(team, chunks())
        return RedirectResponse(f"/submissions/{sid}", 303)

    @app.get("/submissions/{sid}", response_class=HTMLResponse)
    def submission_page(request: Request, sid: int) -> Response:
        with Session() as s:
            user = require_user(request, s)
            sub = own_submission(s, sid, user.team_id)
            result = sub.doc("result")
            return page(request, "submission.html", {"sub": sub, "result": result}, s)

    @app.post("/submissions/{sid}/publish")
    async def publish_form(request: Request, sid: int) -> Response:
        form = await form_checked(request)

        def _run() -> Any:
            with Session() as s:
                user = require_user(request, s)
                sub = own_submission(s, sid, user.team_id)
                _publish(s, sub, {"public": form.get("public") == "on",
                                  "model_name": form.get("model_name"),
                                  "paper_url": form.get("paper_url"),
                                  "code_url": form.get("code_url")}, f"user:{user.email}")
                s.commit()
            return RedirectResponse(f"/submissions/{sid}", 303)

        return await run_in_threadpool(_run)

    @app.get("/team", response_class=HTMLResponse)
    def team_page(request: Request) -> Response:
        with Session() as s:
            user = require_user(request, s)
            subs = s.scalars(select(Submission).where(Submission.team_id == user.team_id)
                             .order_by(Submission.id.desc())).all()
            reset = next_utc_midnight(time.time())
            return page(request, "team.html", {"subs": subs, "team": s.get(Team, user.team_id),
                                               "limits": limits, "reset": reset,
                                               "token": None}, s)

    @app.post("/team/tokens", response_class=HTMLResponse)
    async def new_token(request: Request) -> Response:
        await form_checked(request)

        def _run() -> Any:
            with Session() as s:
                user = require_user(request, s)
                team = s.get(Team, user.team_id)
                token = security.add_team_token(s, team.name)
                s.commit()
                return page(request, "team.html", {"subs": [], "team": team, "limits": limits,
                                                   "reset": next_utc_midnight(time.time()),
                                                   "token": token}, s)

        return await run_in_threadpool(_run)

    @app.get("/admin", response_class=HTMLResponse)
    def admin_page(request: Request) -> Response:
        with Session() as s:
            user = require_user(request, s)
            if not user.is_admin:
                raise HTTPException(403, "operators only")
            subs = s.scalars(select(Submission).order_by(Submission.id.desc()).limit(200)).all()
            log = s.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(200)).all()
            return page(request, "admin.html", {"subs": subs, "log": log}, s)

    @app.post("/admin/submissions/{sid}/{action}")
    async def admin_action(request: Request, sid: int, action: str) -> Response:
        await form_checked(request)

        def _run() -> Any:
            with Session() as s:
                user = require_user(request, s)
                if not user.is_admin:
                    raise HTTPException(403, "operators only")
                set_flag(s, sid, action, f"admin:{user.email}")
                s.commit()
            return RedirectResponse("/admin", 303)

        return await run_in_threadpool(_run)

    # board reads are answered first, in front of the framework (fastpath)
    app.cached_boards = fastpath.CachedBoards(cache, revision, encoded_board)
    app.state.Session = Session
    app.state.cache = cache
    app.state.revision = revision
    return app


def set_flag(s, sid: int, action: str, actor: str) -> None:
    """hide / unhide / verify / unverify a submission, with an audit-log entry."""
    flags = {"hide": ("hidden", True), "unhide": ("hidden", False),
             "verify": ("verified", True), "unverify": ("verified", False)}
    if action not in flags:
        raise HTTPException(404, f"unknown action {action!r}")
    sub = s.get(Submission, sid)
    if sub is None:
        raise HTTPException(404, "no such submission")
    setattr(sub, flags[action][0], flags[action][1])
    s.add(AuditLog(actor=actor, action=action, target=f"submission:{sid}"))
    bump_revision(s)


def _publish(s, sub: Submission, body: dict, actor: str) -> None:
    """A team chooses whether a scored submission is on the public boards, and its links."""
    if "public" in body:
        if body["public"] and sub.state != "scored":
            raise HTTPException(409, "only a scored submission can be made public")
        sub.public = bool(body["public"])
    for key, size in (("model_name", 200), ("paper_url", 500), ("code_url", 500)):
        value = body.get(key)
        if value is not None:
            value = str(value).strip()[:size]
            if key != "model_name" and value and not value.startswith(("https://", "http://")):
                raise HTTPException(400, f"{key} must be an http(s) link")
            setattr(sub, key, value)
    s.add(AuditLog(actor=actor, action="publish" if sub.public else "unpublish",
                   target=f"submission:{sub.id}"))
    bump_revision(s)


def _public_manifest(manifest: dict) -> dict:
    """The run.json fields kept for provenance (small scalars only)."""
    keep = ("model", "backend", "generalbench", "created", "quick", "catalog", "format")
    return {k: manifest[k] for k in keep if k in manifest and len(json.dumps(manifest[k])) < 2000}


def _signed_in(sid: str) -> Response:
    resp = RedirectResponse("/team", 303)
    resp.set_cookie(security.SESSION_COOKIE, sid, httponly=True, samesite="lax",
                    max_age=security.SESSION_S)
    return resp
