"""A small HTTP/1.1 client for JSON POSTs over a pool of keep-alive connections (asyncio streams,
framed by h11).

Why not aiohttp, which this replaced in the openai backend: importing it cost about 0.15 s of CPU
before a run's first request (it loads the system's certificates twice at import, even for
http://), and its request path about a third of the client's CPU per request, which at 64 calls
in flight against a local server delays every reply the loop has not got to yet. A chat-completion
call needs little of it: one POST, a JSON reply, a connection kept for the next call.

Why h11: the protocol itself (the status line and headers, Content-Length, chunked transfer coding
with extensions and trailers, bodies read to the connection's close, 1xx interim replies, 204/304,
whether a connection may carry the next request) is python-hyper's maintained sans-IO state
machine, not code of ours. This module only moves bytes between h11 and an asyncio stream, pools
the connections h11 says are reusable and decodes gzip/deflate bodies.

What it does: POST with a body, at most `limit` connections (idle ones reused, last in first out),
TLS for https:// (certificates loaded on the first https connection), and a total time limit per
request that closes the connection, so that a server watching for disconnects stops generating for
a call the client gave up on. A reused connection the server closed before a byte of the reply
arrived is retried once on a new one. What it does not: redirects (the caller reports a 3xx),
proxies (aiohttp's default, trust_env=False, did not use them either), cookies, streaming.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

MAX_HEAD = 1 << 20
"""Most bytes of a reply's status line and headers (a server sending more is broken)."""

READ_SIZE = 1 << 16
"""Bytes asked of the stream per read: one receive_data per chunk the socket had."""

SMALL_BODY = 1 << 16
"""Request bodies below this go out in the same write as the head (one send per request)."""


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.x reply (h11 says why), or its body's encoding is
    one this client cannot decode."""


class RequestError(ValueError):
    """The request cannot be sent as given (h11 refuses a header, e.g. a key with a newline)."""


class ServerClosed(ConnectionError):
    """The server closed the connection before its reply was complete."""

    def __init__(self, message: str, received: bool) -> None:
        super().__init__(message)
        self.received = received
        """Whether any byte of the reply had arrived (if not, the request can go on a new
        connection)."""


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


class _Connection:
    """One socket and the h11 state machine that frames what goes over it."""

    __slots__ = ("reader", "writer", "h11")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)

    def usable(self) -> bool:
        """Whether an idle connection can carry a new request (the server may have closed it
        while it idled)."""
        return (self.h11.our_state is h11.IDLE and not self.writer.is_closing()
                and not self.reader.at_eof())

    async def exchange(self, request: h11.Request, body: bytes) -> tuple[Response, bool]:
        """(the reply to `request` with `body`, whether h11 says the connection can carry the
        next request)."""
        conn = self.h11
        head = conn.send(request)
        data = conn.send_with_data_passthrough(h11.Data(data=body)) if body else []
        tail = conn.send(h11.EndOfMessage())  # b"" with a Content-Length
        if len(body) < SMALL_BODY:
            self.writer.write(b"".join([head, *data, tail]))
        else:
            self.writer.writelines([head, *data, tail])
        await self.writer.drain()

        received = False
        status, headers, chunks = 0, {}, []
        # h11's buffer starts empty (a connection left with bytes nobody asked for is not
        # reused), so the first step is a read, not a next_event that could only say NEED_DATA
        event: object = h11.NEED_DATA
        while True:
            kind = type(event)
            if event is h11.NEED_DATA:
                try:
                    data_in = await self.reader.read(READ_SIZE)
                except ConnectionError as exc:  # reset: as a close, with what had arrived
                    raise ServerClosed(f"the connection broke: {exc!r}", received) from exc
                received = received or bool(data_in)
                conn.receive_data(data_in)  # b"": the end of the stream, which h11 judges
            elif kind is h11.Data:
                chunks.append(event.data)  # type: ignore[attr-defined]
            elif kind is h11.Response:
                status = event.status_code  # type: ignore[attr-defined]
                headers = {name.decode("latin-1"): value.decode("latin-1")
                           for name, value in event.headers}  # type: ignore[attr-defined]
            elif kind is h11.EndOfMessage:
                break
            elif kind is h11.ConnectionClosed:  # pragma: no cover - h11 raises before a reply
                raise ServerClosed("the server closed the connection", received)
            # else an InformationalResponse (1xx): the real reply follows
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                if conn.trailing_data[1]:  # h11 saw the end of the stream before the reply's
                    raise ServerClosed("the server closed the connection " + (
                        f"mid-reply ({exc})" if received else "without replying"),
                        received) from None
                raise ProtocolError(str(exc)) from None
        body_in = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        response = Response(status, headers, _decoded(body_in, headers.get("content-encoding",
                                                                             "")))
        keep = (conn.our_state is h11.DONE and conn.their_state is h11.DONE
                and not conn.trailing_data[0])  # bytes nobody asked for: not reused
        if keep:
            conn.start_next_cycle()
        return response, keep


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
        self._fixed = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fixed.items()]
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._ssl = None

    async def post(self, path: str, body: bytes, headers: dict[str, str],
                   timeout: float) -> Response:
        """POST `body` to the base URL's path + `path`; TimeoutError after `timeout` seconds in
        all (waiting for a free connection included, as aiohttp's total timeout did)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        try:
            request = h11.Request(method=b"POST", target=(self.prefix + path).encode("latin-1"),
                                  headers=[*self._fixed, *headers.items(),
                                           (b"Content-Length", b"%d" % len(body))])
        except h11.LocalProtocolError as exc:  # a header value h11 refuses to send (a newline)
            raise RequestError(f"cannot send this request: {exc}") from None
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(timeout):
                return await self._send(request, body)
        return await asyncio.wait_for(self._send(request, body), timeout)  # pragma: no cover

    async def _send(self, request: h11.Request, body: bytes) -> Response:
        assert self._slots is not None
        async with self._slots:
            for attempt in (0, 1):
                conn, reused = await self._connection()
                keep = False
                try:
                    response, keep = await conn.exchange(request, body)
                    return response
                except ConnectionError as exc:
                    if reused and attempt == 0 and not getattr(exc, "received", False):
                        continue  # the server closed the idle connection: a new one
                    raise
                finally:
                    if keep:
                        self._idle.append(conn)
                    else:  # an error, a timeout (cancelled here) or a reply that closes it
                        conn.writer.close()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connection(self) -> tuple[_Connection, bool]:
        """(a connection, whether it was used before)."""
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn, True
            conn.writer.close()
        if self.tls and self._ssl is None:
            import ssl

            self._ssl = ssl.create_default_context()
            self._ssl.set_alpn_protocols(["http/1.1"])
        reader, writer = await asyncio.open_connection(self.host, self.port,
                                                       ssl=self._ssl if self.tls else None)
        return _Connection(reader, writer), False

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.writer.close()


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
