"""Leaderboard service under load, on the loopback interface.

Starts `generalbench serve` (SQLite, or --db URL) as a subprocess with a 5-task mini-bench as its
closed set, plus --workers scoring worker processes (`generalbench worker`), then:

1. uploads: N concurrent uploads (default 50, one team each) of a small predictions zip; prints
   upload latency p50/p95 and throughput, waits for every submission to be scored and checks
   that each was scored exactly once (score_count == 1) and none failed;
2. board reads: fills the database with scored public submissions up to --fill (default 1,000,
   copies of the scored ones' stored raw scores, as the service stores them), reads the Scope-A
   board once (cold: reading 1,000 stored board summaries), 50 sequential reads (the per-request
   cost) and two bursts of M concurrent reads (default 200) of boards A, B, C and D, the first
   opening M connections, the second reusing them; prints p50/p95, throughput and the CPU the
   server process and this client spent per read (target: p95 < 100 ms). Reads go through
   aiohttp (asking for gzip, as browsers do). One web process serves them all: a deployment that
   needs more runs several (docs/leaderboard.md). uvicorn, and this client, use httptools and
   uvloop when installed (pip install uvicorn[standard]), which halves the server's CPU per read.
   With `wrk` on PATH (apt-get install wrk) it also runs wrk with M connections for 5 s on one
   board: sustained load from a client whose own CPU is negligible.

    python benchmarks/bench_server.py [--uploads 50] [--reads 200] [--fill 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

TASKS = ["Seed Counting", "Geometry Visual Question Answering", "Letter and Number OCR",
         "Music Pitch Analysis", "3D Structure Classification"]

WRK_SCRIPT = """
wrk.headers["Accept-Encoding"] = "gzip"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk %d reads, %.0f/s, p50=%.1f ms p95=%.1f ms p99=%.1f ms, %d errors\\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "generalbench", *args], **kw)


async def timed(client: httpx.AsyncClient, method: str, url: str, **kw) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    resp = await client.request(method, url, **kw)
    return time.perf_counter() - start, resp


async def get(http: aiohttp.ClientSession, path: str) -> tuple[float, int, int]:
    """(seconds, status, bytes on the wire) of one GET, body read in full (and decompressed:
    aiohttp asks for gzip as browsers do)."""
    start = time.perf_counter()
    async with http.get(path) as resp:
        body = await resp.read()
    return time.perf_counter() - start, resp.status, int(resp.headers.get("Content-Length", len(body)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to tell cost from queueing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, lat: list[float], wall: float) -> None:
    print(f"{name}: n={len(lat)} p50={pct(lat, .5) * 1e3:.1f} ms p95={pct(lat, .95) * 1e3:.1f} ms "
          f"throughput={len(lat) / wall:.1f}/s (wall {wall:.2f}s)")


async def main_async(args, url: str, tokens: list[str], archive: bytes, engine,
                     server_pid: int) -> int:
    from sqlalchemy import select, text

    from generalbench.server.db import Submission, bump_revision, session_factory

    limits = httpx.Limits(max_connections=args.reads + 10)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(timed(client, "POST", "/api/submissions", content=archive,
                                               headers={"Authorization": f"Bearer {t}",
                                                        "Content-Type": "application/zip"})
                                         for t in tokens))
        wall = time.perf_counter() - start
        bad = [r.status_code for _, r in results if r.status_code != 202]
        if bad:
            print(f"uploads refused: {bad[:5]}")
            return 1
        report("uploads", [t for t, _ in results], wall)
        ids = [r.json()["id"] for _, r in results]
        deadline = time.monotonic() + args.timeout
        Session = session_factory(engine)
        while True:
            with Session() as s:
                states = s.execute(select(Submission.state, Submission.score_count)
                                   .where(Submission.id.in_(ids))).all()
            done = [st for st, _ in states if st in ("scored", "failed")]
            if len(done) == len(ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        scoring_wall = time.perf_counter() - start
        scored = sum(1 for st, n in states if st == "scored" and n == 1)
        print(f"scoring: {scored}/{len(ids)} scored exactly once, "
              f"{sum(1 for st, _ in states if st == 'failed')} failed, "
              f"{len(ids) / scoring_wall:.2f} submissions/s end to end ({scoring_wall:.1f}s, "
              f"{args.workers} worker processes)")
        ok = scored == len(ids)

        with Session() as s:  # fill the board: copies of stored raw scores, as the worker stores them
            s.execute(text("UPDATE submissions SET public = :t"), {"t": True})
            template = s.get(Submission, ids[0])
            have = s.scalar(select(text("count(*)")).select_from(Submission))
            for i in range(max(0, args.fill - have)):
                s.add(Submission(team_id=template.team_id, archive_sha256=template.archive_sha256,
                                 state="scored", public=True, model_name=f"filler-{i}",
                                 score_count=1, manifest_json=template.manifest_json,
                                 provenance_json=template.provenance_json,
                                 raw_full_json=template.raw_full_json,
                                 raw_quick_json=template.raw_quick_json,
                                 result_json=template.result_json))
            bump_revision(s)
            s.commit()
            total = s.scalar(select(text("count(*)")).select_from(Submission)
                             .where(Submission.state == "scored"))
    # reads through aiohttp, one connection pool: httpx's client spends several times more CPU per
    # response, and on a small machine the client would otherwise measure itself
    connector = aiohttp.TCPConnector(limit=args.reads, force_close=False)
    async with aiohttp.ClientSession(url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=300)) as http:
        cold, status, size = await get(http, "/api/boards/A")
        async with http.get("/api/boards/A") as resp:
            rows = len((await resp.json())["rows"])
        print(f"board A cold ({rows} stored board summaries read): {cold * 1e3:.0f} ms; "
              f"{total} scored submissions in the database; {size / 1024:.0f} KiB gzip")
        async with http.get("/api/boards") as resp:
            scopes = (await resp.json())["scopes"][:8]
        for scope in scopes:  # warm each scope once, as the first visitor would
            await get(http, f"/api/boards/{scope}")
        paths = [f"/api/boards/{scopes[i % len(scopes)]}" for i in range(max(50, args.reads))]
        cpu0, own0 = cpu_seconds(server_pid), time.process_time()
        seq = [(await get(http, path))[0] for path in paths[:50]]  # the per-request cost
        cpu_seq, own_seq = cpu_seconds(server_pid) - cpu0, time.process_time() - own0
        health = [(await get(http, "/api/health"))[0] for _ in range(50)]
        print(f"sequential board reads p50={pct(seq, .5) * 1e3:.1f} ms p95={pct(seq, .95) * 1e3:.1f} ms, "
              f"server CPU {cpu_seq / 50 * 1e3:.2f} ms/read, client CPU {own_seq / 50 * 1e3:.2f} ms/read "
              f"(GET /api/health p50={pct(health, .5) * 1e3:.1f} ms)")
        for burst in ("new connections", "kept-alive connections"):
            # first burst: every client opens its connection; second: the same clients again
            cpu0, own0 = cpu_seconds(server_pid), time.process_time()
            start = time.perf_counter()
            reads = await asyncio.gather(*(get(http, path) for path in paths[:args.reads]))
            wall = time.perf_counter() - start
            cpu_conc, own_conc = cpu_seconds(server_pid) - cpu0, time.process_time() - own0
            assert all(st == 200 for _, st, _ in reads)
            lat = [t for t, _, _ in reads]
            report(f"{args.reads} concurrent board reads, {burst} ({len(scopes)} scopes, "
                   f"{rows} rows each)", lat, wall)
            print(f"  server CPU {cpu_conc / len(lat) * 1e3:.2f} ms/read ({cpu_conc:.2f}s), "
                  f"client CPU {own_conc / len(lat) * 1e3:.2f} ms/read, "
                  f"{sum(s for _, _, s in reads) / 2**20:.1f} MiB sent; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if shutil.which("wrk"):  # a C client: what the server does when the client costs ~nothing
        script = Path(tempfile.mkdtemp(prefix="bench_wrk_")) / "p95.lua"
        script.write_text(WRK_SCRIPT)
        out = subprocess.run(["wrk", "-t1", f"-c{args.reads}", "-d5s", "-s", str(script),
                              f"{url}/api/boards/{scopes[0]}"], capture_output=True, text=True)
        print(f"{args.reads} connections for 5 s, board {scopes[0]}: "
              + (out.stdout.strip().splitlines() or ["wrk failed: " + out.stderr.strip()])[-1])
        shutil.rmtree(script.parent, ignore_errors=True)
    target = pct(lat, .95) < 0.1
    print(f"board p95 < 100 ms: {'yes' if target else 'NO'}")
    return 0 if ok and target else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--fill", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", default=None)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()

    from generalbench.catalog import load_catalog
    from generalbench.data.minibench import make_mini, write_oracle_predictions
    from generalbench.data.predictions import zip_predictions
    from generalbench.server.db import make_engine, migrate, session_factory
    from generalbench.server.security import add_team_token

    tmp = Path(tempfile.mkdtemp(prefix="bench_server_"))
    procs: list[subprocess.Popen] = []
    try:
        root = make_mini(tmp / "mini", tasks=TASKS, per_task=4)
        oracle = write_oracle_predictions(root, tmp / "oracle", catalog=load_catalog())
        archive = zip_predictions(oracle, tmp / "oracle.zip").read_bytes()
        storage = tmp / "storage"
        db = args.db or f"sqlite:///{storage / 'leaderboard.db'}"
        storage.mkdir()
        migrate(db)
        engine = make_engine(db)
        with session_factory(engine)() as s:
            tokens = [add_team_token(s, f"team-{i}") for i in range(args.uploads)]
            s.commit()
        port = free_port()
        log = open(tmp / "serve.log", "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        procs.append(cli("serve", "--port", str(port), "--db", db, "--storage", str(storage),
                         "--data", str(root), "--answers", str(root), "--workers", "0",
                         stdout=log, stderr=subprocess.STDOUT, env=env))
        for _ in range(args.workers):
            procs.append(cli("worker", "--db", db, "--storage", str(storage), stdout=log,
                             stderr=subprocess.STDOUT, env=env))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                print((tmp / "serve.log").read_text()[-3000:])
                return 1
            time.sleep(0.3)
        print(f"service {url}, {db.split(':')[0]}, {args.workers} workers, "
              f"archive {len(archive) / 1024:.0f} KiB")
        try:  # the client's own CPU per read counts on a small machine
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
        return asyncio.run(main_async(args, url, tokens, archive, engine, procs[0].pid))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
