"""A local OpenAI-compatible chat server with scripted latency and faults, for tests and benchmarks.

It answers `POST /v1/chat/completions` after a fixed latency with a fixed reply (or, with
`reply="echo"`, the last line of the last user text), listens on 127.0.0.1 only, and can fail a
chosen share of requests with 500, 429, a hang past the client's timeout, or malformed JSON, for
their first few attempts. Every request's journal key (the X-GeneralBench-Key header) is appended
to a log file, so a test can count requests per instance across client restarts. Run it in a
subprocess: `python -m generalbench.models.testserver --port-file F [--latency S] ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import sys
from pathlib import Path

FAULTS = ("http500", "http429", "malformed", "hang")


class ScriptedServer:
    def __init__(self, latency: float = 0.0, reply: str = "A", fail_every: int = 0,
                 fail_times: int = 1, hang_s: float = 30.0, log: Path | None = None,
                 require_key: str | None = None) -> None:
        self.latency, self.reply = latency, reply
        self.fail_every, self.fail_times, self.hang_s = fail_every, fail_times, hang_s
        self.require_key = require_key
        self.attempts: dict[str, int] = {}
        self.log = open(log, "a", buffering=1) if log else None  # noqa: SIM115 - lives with server
        self.served = 0

    def fault_for(self, key: str) -> str | None:
        """The fault this attempt of `key` gets: the first `fail_times` attempts of 1 key in
        `fail_every` fail, with a fault type chosen by the key's hash."""
        if not self.fail_every or not key:
            return None
        h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        if h % self.fail_every:
            return None
        if self.attempts.get(key, 0) > self.fail_times:
            return None
        return FAULTS[(h // self.fail_every) % len(FAULTS)]

    def answer(self, body: dict) -> str:
        if self.reply != "echo":
            return self.reply
        for m in reversed(body.get("messages", [])):
            if m.get("role") == "user":
                content = m.get("content")
                if isinstance(content, list):
                    content = "\n".join(c.get("text", "") for c in content if c.get("type") == "text")
                return str(content).strip().splitlines()[-1] if str(content).strip() else ""
        return ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body_bytes = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self.route(method, path, headers, body_bytes)
                if status == 0:  # hang: never answer this request
                    await asyncio.sleep(self.hang_s)
                    break
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, headers: dict, body: bytes):
        if method == "GET" and path.rstrip("/").endswith("/models"):
            return 200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]}
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {method} {path}"}}
        if self.require_key and headers.get("authorization") != f"Bearer {self.require_key}":
            return 401, {"error": {"message": "invalid api key"}}
        key = headers.get("x-generalbench-key", "")
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.log:
            self.log.write(key + "\n")
        fault = self.fault_for(key)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault == "http500":
            return 500, {"error": {"message": "scripted server error"}}
        if fault == "http429":
            return 429, {"error": {"message": "scripted rate limit"}}
        if fault == "malformed":
            return 200, b'{"choices": [{"message": '
        if fault == "hang":
            return 0, b""
        req = json.loads(body or b"{}")
        text = self.answer(req)
        self.served += 1
        return 200, {"id": f"cmpl-{self.served}", "object": "chat.completion",
                     "model": req.get("model", "test-model"),
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}],
                     "usage": {"prompt_tokens": len(json.dumps(req.get("messages", []))) // 4,
                               "completion_tokens": max(1, len(text) // 4)}}


async def serve(args: argparse.Namespace) -> None:
    server_obj = ScriptedServer(args.latency, args.reply, args.fail_every, args.fail_times,
                                args.hang, Path(args.log) if args.log else None, args.require_key)
    server = await asyncio.start_server(server_obj.handle, "127.0.0.1", args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, args.port_file)
    print(f"listening on http://127.0.0.1:{port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        if args.max_seconds:
            try:
                await asyncio.wait_for(stop.wait(), args.max_seconds)
            except asyncio.TimeoutError:
                pass
        else:
            await stop.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--reply", default="A")
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--fail-times", type=int, default=1)
    ap.add_argument("--hang", type=float, default=30.0)
    ap.add_argument("--log")
    ap.add_argument("--require-key")
    ap.add_argument("--max-seconds", type=float, default=600.0,
                    help="exit after this long so a forgotten server never lingers")
    asyncio.run(serve(ap.parse_args(argv)))


class TestServer:
    """Context manager: the scripted server in a subprocess on 127.0.0.1; `.base_url`, `.keys()`."""

    __test__ = False  # not a pytest test class

    def __init__(self, workdir: Path, **options: object) -> None:
        self.workdir = Path(workdir)
        self.options = options
        self.log = self.workdir / "server-requests.log"
        self.proc = None
        self.base_url = ""

    def __enter__(self) -> TestServer:
        import subprocess
        import time

        self.workdir.mkdir(parents=True, exist_ok=True)
        port_file = self.workdir / "server.port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "generalbench.models.testserver", "--port-file",
               str(port_file), "--log", str(self.log)]
        for k, v in self.options.items():
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"test server did not start: {cmd}")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port_file.read_text()}/v1"
        return self

    def keys(self) -> list[str]:
        """Journal keys of every request received so far, in arrival order."""
        return self.log.read_text().split() if self.log.exists() else []

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:  # noqa: BLE001
                self.proc.kill()


if __name__ == "__main__":
    sys.exit(main())
