"""Cached board reads answered in front of the framework.

A board read is the hot path of the service (every visitor, every refresh). Once a board is
encoded for the current revision, answering it is one revision read and a dictionary lookup, but
going through FastAPI's middleware, routing and parameter solving cost several times that. This
ASGI middleware answers such reads itself and passes everything else on, including misses, which
the /api/boards route builds, caches (BoardCache.memo) and answers with the same headers.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from generalbench.server.boards import BoardCache, current_revision

PREFIX = "/api/boards/"
TRUE = ("1", "true", "yes", "on")


def board_key(scope_text: str, query: dict[str, str], accept_encoding: str) -> tuple:
    """The cache key of one encoded board: scope, quick or full, CSV or JSON, gzip or plain."""
    quick = query.get("quick", "").lower() in TRUE
    csv = query.get("format") == "csv"
    return ("encoded", scope_text, quick, csv, "gzip" in accept_encoding)


def board_headers(key: tuple) -> dict[str, str]:
    """Response headers of an encoded board (the route and the fast path send the same)."""
    headers = {"content-type": "text/csv; charset=utf-8" if key[3] else "application/json",
               "vary": "Accept-Encoding"}
    if key[4]:
        headers["content-encoding"] = "gzip"
    return headers


class CachedBoards:
    """ASGI middleware: GET /api/boards/{scope} served from BoardCache when it holds the board for
    the database's current revision (the check that keeps it from going stale)."""

    def __init__(self, app, cache: BoardCache, engine) -> None:
        self.app, self.cache, self.engine = app, cache, engine

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            root = scope.get("root_path") or ""
            if root and path.startswith(root):
                path = path[len(root):]
            if path.startswith(PREFIX) and len(path) > len(PREFIX):
                accept = b""
                for name, value in scope["headers"]:
                    if name == b"accept-encoding":
                        accept = value
                query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
                key = board_key(path[len(PREFIX):], query, accept.decode("latin-1"))
                body = self.cache.cached(current_revision(self.engine), key)
                if body is not None:
                    headers = [(k.encode(), v.encode()) for k, v in board_headers(key).items()]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)
