"""Passwords (argon2), API tokens (only their sha256 is stored), browser sessions and CSRF."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
SESSION_COOKIE = "gb_session"
CSRF_COOKIE = "gb_csrf"
SESSION_S = 14 * 24 * 3600


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A new API token and the sha256 that is stored instead of it."""
    token = "gb_" + secrets.token_urlsafe(32)
    return token, sha256(token)


def team_for_token(session, token: str | None):
    """The team of a valid, unrevoked API token, else None."""
    from sqlalchemy import select

    from generalbench.server.db import ApiToken, Team

    if not token:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == sha256(token))).scalar()
    if row is None or row.revoked_at is not None:
        return None
    return session.get(Team, row.team_id)


def add_team_token(session, team_name: str) -> str:
    """Create the team if needed and a new API token for it; returns the token (shown once)."""
    from sqlalchemy import select

    from generalbench.server.db import ApiToken, Team

    team = session.execute(select(Team).where(Team.name == team_name)).scalar()
    if team is None:
        team = Team(name=team_name)
        session.add(team)
        session.flush()
    token, digest = new_token()
    session.add(ApiToken(team_id=team.id, token_sha256=digest))
    return token


def new_session(session, user_id: int) -> str:
    from generalbench.server.db import WebSession

    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id_sha256=sha256(sid), user_id=user_id, csrf=secrets.token_urlsafe(16),
                           expires_at=time.time() + SESSION_S))
    return sid


def user_for_session(session, sid: str | None):
    from generalbench.server.db import User, WebSession

    if not sid:
        return None
    row = session.get(WebSession, sha256(sid))
    if row is None or row.expires_at < time.time():
        return None
    return session.get(User, row.user_id)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """Double-submit check: the form's hidden field must equal the CSRF cookie."""
    return bool(cookie) and bool(field) and hmac.compare_digest(str(cookie), str(field))
