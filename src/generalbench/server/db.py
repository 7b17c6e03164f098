"""Database schema (SQLAlchemy 2) and engine set-up; the schema itself is created by Alembic.

One schema for SQLite and PostgreSQL: times are UTC epoch seconds (floats), JSON documents are
TEXT, so both engines store and compare exactly the same values and the queue's SQL is portable.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


def now() -> float:
    return time.time()


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class ApiToken(Base):
    """An API token for the CLI: only its sha256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random id whose sha256 is stored, with a CSRF token."""

    __tablename__ = "web_sessions"
    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)


class Submission(Base):
    """One uploaded predictions archive and, once scored, its per-task raw scores.

    Boards are recomputed from `raw_full` / `raw_quick` with the current catalog, so adding tasks
    or updating SoTA scores re-ranks everything without re-scoring (Property-4).
    """

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    archive_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued running scored failed
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_name: Mapped[str] = mapped_column(String(200), default="")
    paper_url: Mapped[str] = mapped_column(String(500), default="")
    code_url: Mapped[str] = mapped_column(String(500), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    scored_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_count: Mapped[int] = mapped_column(Integer, default=0)
    manifest_json: Mapped[str] = mapped_column(Text, default="{}")
    provenance_json: Mapped[str] = mapped_column(Text, default="{}")
    raw_full_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_quick_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)

    def doc(self, field: str) -> Any:
        value = getattr(self, f"{field}_json")
        return None if value is None else unpack_json(value)


class Job(Base):
    """A queued scoring job: claimed atomically, held by a lease the worker renews."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued running done failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class Setting(Base):
    """Operator settings shared by web tier and workers (dataset paths, catalog files, revision)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def pack_json(value: Any) -> str:
    """JSON, zlib-compressed and base64-encoded ("z:" prefix): a full-catalog result is ~250 KB
    of repetitive JSON, ~15 KB packed, which keeps 1,000 submissions small in either database."""
    import base64
    import zlib

    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return "z:" + base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def unpack_json(text: str) -> Any:
    """Inverse of pack_json; plain JSON text is read as is."""
    if text.startswith("z:"):
        import base64
        import zlib

        return json.loads(zlib.decompress(base64.b64decode(text[2:])))
    return json.loads(text)


def default_url(storage: Path) -> str:
    return f"sqlite:///{(storage / 'leaderboard.db').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL and a busy timeout so several processes can share the file."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(url: str) -> None:
    """Bring the database to the newest schema with the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["url"] = url
    command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def get_setting(session, key: str, default: str | None = None) -> str | None:
    row = session.get(Setting, key)
    return default if row is None else row.value


def put_setting(session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def bump_revision(session) -> None:
    """Mark every cached board stale (new scores, publishing, hiding, catalog changes)."""
    import uuid

    # a fresh unique value, not a counter: concurrent bumps can never leave a stale revision
    put_setting(session, "board_revision", uuid.uuid4().hex)
