"""models/http1.py against scripted servers: every way a reply can be framed (h11 does the framing;
these check that the client feeds it and acts on its events and states), connection reuse, a
reused connection the server closed, timeouts that close the connection, and the limit."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import ssl
import subprocess
import zlib

import pytest

from generalbench.models.http1 import Pool, ProtocolError, ServerClosed


async def _serve(replies, seen, tls=None):
    """A server answering request i on any connection with replies[i] (bytes, or a callable
    taking the writer), recording (connection number, request head, body) in `seen`."""
    count = {"conn": 0, "req": 0}

    async def handle(reader, writer):
        conn = count["conn"]
        count["conn"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                body = await reader.readexactly(length)
                seen.append((conn, head.decode("latin-1"), body))
                reply = replies[count["req"]]
                count["req"] += 1
                if callable(reply):
                    await reply(writer)
                    return
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"


def ok(body: bytes, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return (f"{version} 200 OK\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def run_posts(replies, n, **pool_args):
    seen: list = []

    async def go():
        server, url = await _serve(replies, seen)
        pool = Pool(url, pool_args.pop("limit", 4), {"Authorization": "Bearer k"})
        try:
            out = []
            for i in range(n):
                out.append(await pool.post("/chat/completions", json.dumps({"i": i}).encode(),
                                           {"X-Key": str(i)}, pool_args.get("timeout", 5)))
            return out
        finally:
            await pool.close()
            server.close()

    return asyncio.run(go()), seen


def test_keep_alive_replies_reuse_one_connection_and_send_the_headers():
    out, seen = run_posts([ok(b'{"a": 1}'), ok(b'{"a": 2}')], 2)
    assert [r.status for r in out] == [200, 200]
    assert [json.loads(r.text()) for r in out] == [{"a": 1}, {"a": 2}]
    assert [c for c, _, _ in seen] == [0, 0]
    head = seen[1][1]
    assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert "Host: 127.0.0.1:" in head and "Authorization: Bearer k" in head
    assert "X-Key: 1" in head and seen[1][2] == b'{"i": 1}'


def test_chunked_gzip_deflate_and_read_to_close_bodies():
    text = json.dumps({"choices": ["é" * 50]}).encode()
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in (text[:7], text[7:]))
               + b"0\r\nX-Trailer: t\r\n\r\n")
    gz = ok(gzip.compress(text), "Content-Encoding: gzip\r\n")
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflate = ok(raw.compress(text) + raw.flush(), "Content-Encoding: deflate\r\n")

    async def until_close(writer):  # no length: the body ends when the server closes
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + text)
        await writer.drain()

    out, seen = run_posts([chunked, gz, deflate, until_close, ok(b"{}")], 5)
    assert [r.body for r in out[:4]] == [text] * 4 and out[4].body == b"{}"
    # the first three kept the connection; the body read to its close needed a new one after
    assert [c for c, _, _ in seen] == [0, 0, 0, 0, 1]


def test_interim_replies_are_skipped_and_connection_close_is_honoured():
    reply = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b'{"x": 1}', "Connection: close\r\n")
    out, seen = run_posts([reply, ok(b"{}")], 2)
    assert out[0].status == 200 and out[0].body == b'{"x": 1}'
    assert [c for c, _, _ in seen] == [0, 1]


def test_a_charset_is_honoured_and_headers_are_lower_case():
    out, _ = run_posts([ok("é".encode("latin-1"), "X-Thing: A\r\n").replace(
        b"application/json", b"application/json; charset=latin-1")], 1)
    assert out[0].text() == "é" and out[0].headers["x-thing"] == "A"


def test_a_reused_connection_closed_without_a_reply_is_retried_once_on_a_new_one():
    async def drop(writer):  # the request arrived, but the connection closes without a byte
        return None

    out, seen = run_posts([ok(b"{}"), drop, ok(b'{"b": 2}')], 2)
    assert out[1].body == b'{"b": 2}'
    assert [c for c, _, _ in seen] == [0, 0, 1]


def test_an_idle_connection_the_server_closed_is_not_reused():
    async def close_it(writer):  # answers with keep-alive, then closes the connection
        writer.write(ok(b"{}"))
        await writer.drain()

    async def go():
        seen: list = []
        server, url = await _serve([close_it, ok(b'{"c": 3}')], seen)
        pool = Pool(url, 2)
        try:
            await pool.post("/a", b"{}", {}, 5)
            await asyncio.sleep(0.1)  # the close reaches the client while the connection idles
            second = await pool.post("/a", b"{}", {}, 5)
        finally:
            await pool.close()
            server.close()
        return second, seen

    second, seen = asyncio.run(go())
    assert second.body == b'{"c": 3}' and [c for c, _, _ in seen] == [0, 1]


def test_a_fresh_connection_closed_without_a_reply_is_an_error():
    async def drop(writer):
        return None

    with pytest.raises(ServerClosed, match="without replying") as caught:
        run_posts([drop, drop], 1)
    assert isinstance(caught.value, ConnectionError) and not caught.value.received


@pytest.mark.parametrize("reply", [b"SPAM\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n"
                                   b"Content-Length: 2\r\n\r\n{}",
                                   b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
def test_broken_replies_are_protocol_errors(reply):
    with pytest.raises(ProtocolError, match=r"(illegal|bad|unsupported) "):  # says what is wrong
        run_posts([reply], 1)


def test_a_timeout_closes_the_connection_and_the_limit_bounds_connections():
    closed: list[int] = []
    peak = {"now": 0, "max": 0, "opened": 0}

    async def go():
        async def handle(reader, writer):
            peak["opened"] += 1
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # never answers; returns when the client closes
            closed.append(1)
            peak["now"] -= 1
            writer.close()
            assert head.startswith(b"POST")

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        pool = Pool(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", 2)
        # two calls hold both connections; two more wait for one and time out first (their
        # deadline is earlier, so no slot frees up for them whatever the machine's load)
        holders = [asyncio.ensure_future(pool.post("/x", b"{}", {}, 0.6)) for _ in range(2)]
        await asyncio.sleep(0.05)
        waiters = [asyncio.ensure_future(pool.post("/x", b"{}", {}, 0.1)) for _ in range(2)]
        results = await asyncio.gather(*holders, *waiters, return_exceptions=True)
        for _ in range(50):
            if len(closed) == 2:
                break
            await asyncio.sleep(0.02)
        await pool.close()
        server.close()
        return results

    results = asyncio.run(go())
    assert all(isinstance(r, TimeoutError) for r in results)
    # two connections at most, both closed by the timeouts
    assert peak["max"] == 2 and len(closed) == 2


def test_a_reply_cut_short_is_a_connection_error_and_is_not_retried():
    async def cut(writer):  # 10 bytes promised, 2 sent, then the close
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")
        await writer.drain()

    with pytest.raises(ServerClosed, match="mid-reply") as caught:
        run_posts([ok(b"{}"), cut, ok(b"{}")], 2)  # the second call, on a reused connection
    assert caught.value.received


def test_no_body_replies_unsolicited_bytes_and_http10_follow_h11s_reuse_rules():
    no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"  # 204: no body
    extra = ok(b"{}") + b"HTTP/1.1 200 OK\r\n"  # bytes after the reply nobody asked for
    http10 = ok(b"{}", "Connection: keep-alive\r\n", version="HTTP/1.0")
    out, seen = run_posts([no_content, ok(b"{}"), extra, http10, ok(b'{"d": 4}')], 5)
    assert [r.status for r in out] == [204, 200, 200, 200, 200] and out[0].body == b""
    assert out[4].body == b'{"d": 4}'
    # 204 kept the connection; the unsolicited bytes and the HTTP/1.0 reply each closed it
    assert [c for c, _, _ in seen] == [0, 0, 0, 1, 2]


def test_a_head_over_the_limit_is_a_protocol_error():
    from generalbench.models.http1 import MAX_HEAD

    huge = (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: " + b"a" * (2 * MAX_HEAD)
            + b"\r\n\r\n")
    with pytest.raises(ProtocolError, match="too long"):
        run_posts([huge], 1)


def test_a_header_h11_will_not_send_is_a_request_error():
    from generalbench.models.http1 import RequestError

    async def go():
        pool = Pool("http://127.0.0.1:9/v1", 1, {"Authorization": "Bearer k\n"})
        await pool.post("/x", b"{}", {}, 5)

    with pytest.raises(RequestError, match="cannot send"):
        asyncio.run(go())


def test_only_http_urls():
    with pytest.raises(ValueError):
        Pool("ftp://x/v1", 1)
    p = Pool("https://[::1]:8443/v1/", 1)
    assert (p.tls, p.host, p.port, p.prefix) == (True, "::1", 8443, "/v1")


def test_the_openai_backend_reports_a_redirect_instead_of_following_it():
    from generalbench.models.api import ModelRequest, RequestRejected
    from generalbench.models.config import ModelConfig
    from generalbench.models.openai import OpenAIBackend
    from generalbench.prompts import Message, TextPart

    async def go():
        seen: list = []
        server, url = await _serve([b"HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                                    b"http://elsewhere/v1/chat/completions\r\n"
                                    b"Content-Length: 0\r\n\r\n"], seen)
        b = OpenAIBackend(ModelConfig(name="m", backend="openai", params={"base_url": url}))
        request = ModelRequest(key="k", task=None, instance=None,
                               messages=[Message(role="user", parts=[TextPart(text="hi")])])
        try:
            (out,) = await b.generate([request])
        finally:
            await b.aclose()
            server.close()
        return out, seen

    out, seen = asyncio.run(go())
    assert isinstance(out, RequestRejected) and "http://elsewhere/v1/chat/completions" in str(out)
    assert json.loads(seen[0][2])["messages"] == [{"role": "user", "content": "hi"}]
    assert "X-GeneralBench-Key: k" in seen[0][1]


@pytest.mark.parametrize("body", [
    {"model": "m", "messages": [{"role": "user", "content": "é \u2028 \\ \" \x00 😀"}],
     "max_tokens": 256, "temperature": 0.7, "top_p": 1.0, "seed": 0, "stop": ["\n\n"]},
    {"model": "m", "extra": {"big": 2 ** 70, "neg": -(2 ** 65)}},  # beyond 64 bits: json
    {"model": "m", "extra": {1: "a", "b": (1, 2.5e-300, True, None)}},  # an int key: json
])
def test_request_bodies_are_the_json_value_json_would_send(body):
    from generalbench.models.openai import encode_body

    assert json.loads(encode_body(body)) == json.loads(json.dumps(body))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_verifies_the_certificate_and_its_host_name(tmp_path, monkeypatch):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate only

    async def go():
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        seen: list = []
        server, url = await _serve([ok(b'{"tls": 1}'), ok(b'{"tls": 2}')], seen, tls=server_ctx)
        port = url.split(":")[2].split("/")[0]
        pool = Pool(f"https://localhost:{port}/v1", 2)
        other = Pool(f"https://127.0.0.1:{port}/v1", 2)  # not the certificate's name
        try:
            replies = [await pool.post("/c", b"{}", {}, 5) for _ in range(2)]
            with pytest.raises(ssl.SSLCertVerificationError):
                await other.post("/c", b"{}", {}, 5)
        finally:
            await pool.close()
            server.close()
        return replies, seen

    replies, seen = asyncio.run(go())
    assert [r.body for r in replies] == [b'{"tls": 1}', b'{"tls": 2}']
    assert [c for c, _, _ in seen] == [0, 0] and "Host: localhost:" in seen[0][1]
