"""A lean HTTP/1.1 load generator for bench_server.py, run in its own process.

Why not aiohttp or httpx: on a small machine the client shares the CPUs with the server, and
aiohttp spent 2-5x the server's CPU per board read (httpx more), so a burst of 200 reads measured
mostly the client. This one is an asyncio Protocol per connection (uvloop when installed) that
writes a prepared request and parses only the status line, Content-Length and the end of the
body: ~5% of aiohttp's CPU per read. Each read's latency is taken from the moment its request
is written (or, on a new connection, from the moment the connection is opened) to its last byte.

Modes (the latencies come back as JSON on stdout, in seconds):

* burst: C clients each read once at the same moment (`--fresh`: each on a new connection, as
  C visitors arriving at once; otherwise on connections opened and used once beforehand);
* loop: C clients on kept-alive connections read back to back for --seconds (closed loop, no
  think time: a saturating load whose latency is C / throughput by Little's law).

    python benchmarks/_http_load.py URL PATH [PATH ...] [--mode burst|loop] [--clients 200]
        [--seconds 5] [--fresh] [--header 'Accept-Encoding: gzip']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

CPU_PIDS: list[int] = []
"""Server processes whose CPU time is reported over the measured phase only (--cpu-pids)."""


def server_cpu() -> float:
    """User + system CPU seconds the --cpu-pids processes have used so far (Linux /proc)."""
    total = 0
    for pid in CPU_PIDS:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


MEASURED: dict[str, float] = {}
"""Server CPU, own CPU and wall clock when the measured phase starts (after connection set-up
for kept-alive runs)."""


class Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection: one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.got = 0
        self.need = -1  # bytes of the whole response once its headers are in, else -1
        self.status = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def request(self, raw: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        self.buf.clear()
        self.got = 0
        self.need = -1
        self.transport.write(raw)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.need < 0:  # headers not in yet: keep the bytes until they are
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            self.status = int(head[9:12])
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17:stop if stop > 0 else None])
            elif b"transfer-encoding: chunked" in head:
                raise RuntimeError("chunked responses are not supported by this client")
            self.need = end + 4 + length
        if self.got >= self.need and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.status, self.got))

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed by the server"))


def request_bytes(host: str, path: str, headers: list[str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def connect(host: str, port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(Connection, host, port)
    return proto


async def burst(host: str, port: int, raws: list[bytes], clients: int, fresh: bool
                ) -> list[tuple[float, int, int]]:
    """`clients` reads at one moment: (latency, status, bytes) each."""
    async def one_fresh(raw: bytes) -> tuple[float, int, int]:
        start = time.perf_counter()
        conn = await connect(host, port)
        status, size = await conn.request(raw)
        out = time.perf_counter() - start, status, size
        conn.transport.close()
        return out

    if fresh:
        MEASURED.update(cpu=server_cpu(), own=time.process_time(), wall=time.perf_counter())
        return list(await asyncio.gather(*(one_fresh(raws[i % len(raws)])
                                           for i in range(clients))))
    conns = [await connect(host, port) for _ in range(clients)]
    for i, conn in enumerate(conns):  # each connection used once, so the server knows it
        await conn.request(raws[i % len(raws)])
    MEASURED.update(cpu=server_cpu(), own=time.process_time(), wall=time.perf_counter())

    async def one(conn: Connection, raw: bytes) -> tuple[float, int, int]:
        start = time.perf_counter()
        status, size = await conn.request(raw)
        return time.perf_counter() - start, status, size

    try:
        return list(await asyncio.gather(*(one(c, raws[i % len(raws)])
                                           for i, c in enumerate(conns))))
    finally:
        for c in conns:
            c.transport.close()


async def loop_for(host: str, port: int, raws: list[bytes], clients: int, seconds: float
                   ) -> list[tuple[float, int, int]]:
    """`clients` connections reading back to back until `seconds` have passed."""
    conns = [await connect(host, port) for _ in range(clients)]
    out: list[tuple[float, int, int]] = []
    MEASURED.update(cpu=server_cpu(), own=time.process_time(), wall=time.perf_counter())
    stop = time.perf_counter() + seconds

    async def client(i: int, conn: Connection) -> None:
        n = i
        while True:
            start = time.perf_counter()
            if start >= stop:
                return
            status, size = await conn.request(raws[n % len(raws)])
            out.append((time.perf_counter() - start, status, size))
            n += 1

    try:
        await asyncio.gather(*(client(i, c) for i, c in enumerate(conns)))
    finally:
        for c in conns:
            c.transport.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--mode", choices=("burst", "loop"), default="burst")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--fresh", action="store_true", help="burst: a new connection per read")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--cpu-pids", default="", help="comma-separated server process ids")
    args = ap.parse_args()
    CPU_PIDS.extend(int(p) for p in args.cpu_pids.split(",") if p)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = [request_bytes(parts.netloc, p, args.header) for p in args.paths]
    if args.mode == "burst":
        reads = asyncio.run(burst(host, port, raws, args.clients, args.fresh))
    else:
        reads = asyncio.run(loop_for(host, port, raws, args.clients, args.seconds))
    wall = time.perf_counter() - MEASURED["wall"]
    json.dump({"latency": [r[0] for r in reads], "status": [r[1] for r in reads],
               "bytes": sum(r[2] for r in reads), "wall": wall,
               "client_cpu": time.process_time() - MEASURED["own"],
               "server_cpu": server_cpu() - MEASURED["cpu"]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
