"""A small HTTP/1.1 client for JSON POSTs over a pool of keep-alive connections (asyncio streams).

Why not aiohttp, which this replaced in the openai backend: importing it cost about 0.15 s of CPU
before a run's first request (it loads the system's certificates twice at import, even for
http://), and its request path about a third of the client's CPU per request, which at 64 calls
in flight against a local server delays every reply the loop has not got to yet. A chat-completion
call needs little of it: one POST, a JSON reply, a connection kept for the next call.

What it does: POST with a body, at most `limit` connections (idle ones reused, last in first out),
replies framed by Content-Length, chunked transfer coding or the connection's close, gzip and
deflate bodies, TLS for https:// (certificates loaded on the first https connection), interim 1xx
replies skipped, and a total time limit per request that closes the connection, so that a server
watching for disconnects stops generating for a call the client gave up on. A reused connection
the server closed while idle is retried once on a new one (nothing of the reply was read). What it
does not: redirects (the caller reports a 3xx), proxies (aiohttp's default, trust_env=False, did
not use them either), cookies, streaming.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

MAX_HEAD = 1 << 20
"""Most bytes of a reply's status line and headers (a server sending more is broken)."""


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.x reply this client understands."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes

    def text(self) -> str:
        """The body as text, in the charset the Content-Type names (UTF-8 without one)."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")


class Pool:
    """Keep-alive connections to the server of `base_url` (http:// or https://)."""

    def __init__(self, base_url: str, limit: int, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r}: not an http:// or https:// URL")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.limit = max(1, int(limit))
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if parts.port:
            netloc += f":{parts.port}"
        fixed = {"Host": netloc, "User-Agent": "generalbench", "Accept": "application/json",
                 "Accept-Encoding": "gzip, deflate", **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._idle: list[Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._ssl = None

    async def post(self, path: str, body: bytes, headers: dict[str, str],
                   timeout: float) -> Response:
        """POST `body` to the base URL's path + `path`; TimeoutError after `timeout` seconds in
        all (waiting for a free connection included, as aiohttp's total timeout did)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        head = (f"POST {self.prefix}{path} HTTP/1.1\r\n{self._fixed}"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(timeout):
                return await self._send(head, body)
        return await asyncio.wait_for(self._send(head, body), timeout)  # pragma: no cover

    async def _send(self, head: bytes, body: bytes) -> Response:
        assert self._slots is not None
        async with self._slots:
            for attempt in (0, 1):
                conn, reused = await self._connection()
                reader, writer = conn
                keep = False
                try:
                    writer.write(head + body if len(body) < 65536 else head)
                    if len(body) >= 65536:
                        writer.write(body)
                    await writer.drain()
                    try:
                        reply_head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, ConnectionError) as exc:
                        if reused and attempt == 0 and not getattr(exc, "partial", b""):
                            continue  # the server closed the idle connection: a new one
                        raise
                    response, keep = await _read_reply(reader, reply_head)
                    return response
                finally:
                    if keep:
                        self._idle.append(conn)
                    else:  # an error, a timeout (cancelled here) or a reply that closes it
                        writer.close()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connection(self) -> tuple[Connection, bool]:
        """(a connection, whether it was used before)."""
        while self._idle:
            reader, writer = self._idle.pop()
            if writer.is_closing() or reader.at_eof():
                writer.close()
                continue
            return (reader, writer), True
        if self.tls and self._ssl is None:
            import ssl

            self._ssl = ssl.create_default_context()
            self._ssl.set_alpn_protocols(["http/1.1"])
        conn = await asyncio.open_connection(self.host, self.port, ssl=self._ssl if self.tls
                                             else None, limit=MAX_HEAD)
        return conn, False

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()


async def _read_reply(reader: asyncio.StreamReader, head: bytes) -> tuple[Response, bool]:
    """(the reply whose status line and headers are `head`, whether the connection can be
    reused)."""
    version, status, headers = _parse_head(head)
    while 100 <= status < 200:  # an interim reply (100 Continue): the real one follows
        version, status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    connection = headers.get("connection", "").lower()
    keep = ("close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection)
    if status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ProtocolError(f"bad Content-Length {headers['content-length']!r}") from None
        body = await reader.readexactly(length)
    else:  # the body ends with the connection
        body, keep = await reader.read(), False
    return Response(status, headers, _decoded(body, headers.get("content-encoding", ""))), keep


def _parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    first, _, rest = head.decode("latin-1").partition("\r\n")
    version, _, tail = first.strip().partition(" ")
    code = tail.split(" ", 1)[0]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {first[:100]!r}")
    headers = {}
    for line in rest.split("\r\n"):
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError(f"bad header line: {line[:100]!r}")
            headers[name.strip().lower()] = value.strip()
    return version, int(code), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line: {line[:100]!r}") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the end
                pass
            return b"".join(chunks)
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
        chunks.append(chunk[:-2])


def _decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding == "gzip":
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":  # zlib-wrapped, or raw deflate as some servers send it
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise ProtocolError(f"bad {encoding} body: {exc}") from None
    if encoding in ("", "identity"):
        return body
    raise ProtocolError(f"unsupported Content-Encoding {encoding!r}")
