"""Runner throughput against the ideal rate, through the CLI, and the harness's per-instance cost.

Part 1 (any machine): a local OpenAI-compatible server (generalbench.models.testserver, its own
process on 127.0.0.1, single-threaded asyncio) answers every request after a fixed latency L. The
benchmark runs the CLI as a user does, in its own process:

    python -m generalbench run --model openai:bench --base-url http://127.0.0.1:PORT/v1 \
        --data MINIBENCH --out RUN --concurrency C --no-score --quiet

so every option the CLI passes (the concurrency reaching the backend's connection pool, the
journal, the writing of predictions) is in the measurement. At concurrency C the best possible
rate is C/L requests per second (the ideal). With N requests (default 4,000 over four language
tasks, so start-up is amortised as in a real run) it prints
- the rate seen at the server (requests counted as they arrive, polling its request log, first to
  last request plus one latency) and its ratio to the ideal (target >= 0.9 at C=64),
- the whole process's rate (instances / the process's wall time: start-up, planning, prompt
  rendering, the calls, the journal, writing predictions) and its ratio to the ideal (target
  >= 0.9), with the process's phases (start-up before run_eval, the run, the end),
- the stub's ceiling: a bare aiohttp loop (no journal, no prompts) against the same stub, in its
  own process, N requests at concurrency C; the stub's own CPU per request and the machine's load
  show up here, so a ratio below the ideal that the bare loop shares is the stub's or the
  machine's, not the harness's,
- CPU per instance of the CLI process (load-independent: at C/L requests per second it says how
  much of one core the harness needs), the same run at zero latency (the harness's own cost), the
  stub's CPU per request, and the peak RSS (from wait4).

Part 2 (only with vLLM and a GPU): the `vllm` backend through `run_eval` against a bare
`LLM.generate` on the same prompts, with a tiny random-weight Llama built from a config (target
ratio >= 0.9). Skipped, with a message, when vllm or a GPU is missing.

    python benchmarks/bench_runner.py [--instances 4000] [--latency 0.2] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from generalbench.catalog import load_catalog
from generalbench.data.minibench import make_mini
from generalbench.models.config import ModelConfig
from generalbench.models.testserver import TestServer
from generalbench.runner.run import RunOptions, run_eval

TASKS = ["language-triviaqa", "language-topic-classification", "language-analogical-reasoning",
         "language-numerical-reasoning"]
MAX_PER_TASK = 1000  # make_mini's limit


def make_bench(root: Path, instances: int) -> Path:
    per_task = -(-instances // len(TASKS))
    if per_task > MAX_PER_TASK:
        raise SystemExit(f"error: at most {MAX_PER_TASK * len(TASKS)} instances")
    return make_mini(root / "bench", per_task=per_task, tasks=TASKS)


class _RequestClock:
    """Watches the server's request log: when requests arrive (first, last) and how many."""

    def __init__(self, log: Path) -> None:
        self.log, self.first, self.last, self.count = log, None, None, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            n = self.log.read_bytes().count(b"\n") if self.log.exists() else 0
            now = time.perf_counter()
            if n and self.first is None:
                self.first = now
            if n != self.count:
                self.count, self.last = n, now
            time.sleep(0.01)

    def __enter__(self) -> _RequestClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(cmd: list[str], log: Path) -> dict:
    """Run `cmd` in its own process: wall, CPU, peak RSS, and the requests the server saw."""
    before = log.read_bytes().count(b"\n") if log.exists() else 0
    with _RequestClock(log) as clock:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                env={**os.environ, "OPENAI_API_KEY": "bench"})
        stdout = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"error: {' '.join(cmd)} exited with {os.waitstatus_to_exitcode(status)}")
    seen = clock.first is not None and clock.last is not None
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024, "requests": clock.count - before,
            "server_span_s": (clock.last - clock.first) if seen else 0.0,
            # when the first request reached the server, and the process's end after the last
            "first_request_s": (clock.first - t0) if seen else 0.0,
            "after_last_request_s": (t0 + wall - clock.last) if seen else 0.0,
            "stdout": stdout}


def cli_run(base_url: str, data: Path, out: Path, concurrency: int, log: Path) -> dict:
    """`generalbench run` in its own process, plus its run-info.json summary."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "generalbench", "run", "--model", "openai:bench", "--base-url",
           base_url, "--data", str(data), "--out", str(out), "--concurrency", str(concurrency),
           "--no-score", "--quiet"]
    res = _timed(cmd, log)
    res["answered"] = sum(len((out / f"{t}.jsonl").read_text("utf-8").splitlines())
                          for t in TASKS if (out / f"{t}.jsonl").exists())
    res["summary"] = json.loads((out / "run-info.json").read_text("utf-8"))["summary"]
    return res


async def _bare(url: str, n: int, concurrency: int) -> None:
    """What any client gets from the stub: a plain aiohttp loop, nothing else per request."""
    import aiohttp

    body = {"model": "bench", "messages": [{"role": "user", "content": "Question: ?\nAnswer:"}],
            "max_tokens": 256, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    left = list(range(n))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        async def worker() -> None:
            while left:
                i = left.pop()
                async with s.post(f"{url}/chat/completions", json=body,
                                  headers={"X-GeneralBench-Key": f"bare-{i}"}) as r:
                    json.loads(await r.text())

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def bench_api(args: argparse.Namespace, work: Path) -> dict:
    data = make_bench(work, args.instances)
    runs, stub_cpu = {}, {}
    for name, latency in (("bare", args.latency), ("cli", args.latency), ("cli0", 0.0)):
        with TestServer(work / f"srv-{name}", latency=latency, max_seconds=3600) as srv:
            if name == "bare":
                res = _timed([sys.executable, __file__, "--bare", srv.base_url, "--instances",
                              str(args.instances), "--concurrency", str(args.concurrency)],
                             srv.log)
                res["answered"] = res["requests"]
            else:
                res = cli_run(srv.base_url, data, work / f"run-{name}", args.concurrency, srv.log)
            stub_cpu[name] = _cpu_seconds(srv.proc.pid)
        assert res["answered"] >= args.instances, res
        runs[name] = res
    ideal = args.concurrency / args.latency

    def rates(res: dict) -> tuple[float, float]:
        # requests arrive over span s; the last one is answered one latency later
        return res["requests"] / (res["server_span_s"] + args.latency), res["answered"] / res["wall_s"]

    cli, bare, zero = runs["cli"], runs["bare"], runs["cli0"]
    n = cli["answered"]
    server_rate, e2e = rates(cli)
    bare_server, bare_e2e = rates(bare)
    summary = cli["summary"]
    return {
        "instances": n, "requests": cli["requests"], "latency_s": args.latency,
        "concurrency": args.concurrency, "ideal_rate": round(ideal, 1),
        "server_rate": round(server_rate, 1), "server_ratio": round(server_rate / ideal, 3),
        "process_rate": round(e2e, 1), "process_ratio": round(e2e / ideal, 3),
        "process_wall_s": round(cli["wall_s"], 2),
        "phases_s": {"start_up": round(cli["wall_s"] - summary["seconds"], 2),
                     "run_eval": summary["seconds"], "of_which_requests": summary["infer_seconds"],
                     # seen from the server (10 ms polling): process start to the first request,
                     # and the last request to the process's end (one latency of it is the reply)
                     "first_request": round(cli["first_request_s"], 2),
                     "after_last_request": round(cli["after_last_request_s"], 2)},
        "bare_client_rate": round(bare_e2e, 1), "bare_client_ratio": round(bare_e2e / ideal, 3),
        "bare_client_server_rate": round(bare_server, 1),
        "process_vs_bare_client": round(e2e / bare_e2e, 3),
        "process_cpu_s": round(cli["cpu_s"], 2),
        "cpu_ms_per_instance": round(1000 * cli["cpu_s"] / n, 3),
        "core_share_at_ideal_rate": round(cli["cpu_s"] / n * ideal, 3),
        "zero_latency_wall_ms_per_instance": round(1000 * zero["wall_s"] / n, 3),
        "zero_latency_cpu_ms_per_instance": round(1000 * zero["cpu_s"] / n, 3),
        "bare_client_cpu_ms_per_request": round(1000 * bare["cpu_s"] / bare["requests"], 3),
        "stub_cpu_ms_per_request": round(1000 * stub_cpu["cli"] / max(1, cli["requests"]), 3),
        "peak_rss_mb": round(cli["rss_mb"], 1),
        "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }


def bench_vllm(args: argparse.Namespace, work: Path) -> dict:
    """vllm backend through the runner vs bare LLM.generate on the same prompts."""
    try:
        import torch
        import vllm
    except ImportError:
        return {"skipped": "vllm is not installed (pip install 'generalbench[vllm]')"}
    if not torch.cuda.is_available():
        return {"skipped": "no GPU"}
    from generalbench.models.tiny import build_tiny_llama

    model_dir = build_tiny_llama(work / "tiny-llama", vocab_size=4000, hidden=256, layers=4,
                                 dtype="bfloat16")
    data = make_bench(work, args.vllm_instances)
    config = ModelConfig(name="tiny-llama", backend="vllm",
                         params={"path": str(model_dir), "dtype": "bfloat16",
                                 "gpu_memory_utilization": 0.35},
                         generation={"max_tokens": 64, "temperature": 0.0})
    catalog = load_catalog()
    # bare engine on the same rendered prompts
    from generalbench.models.messages import text_only
    from generalbench.runner import sources
    from generalbench.runner.run import plan

    plans, _, _ = plan(config, catalog, sources.open_data(data, catalog),
                       RunOptions(data=data, out=work / "plan"))
    chats = [text_only(r.messages) for tp in plans for r in tp.requests]
    llm = vllm.LLM(model=str(model_dir), dtype="bfloat16", gpu_memory_utilization=0.35)
    sp = vllm.SamplingParams(max_tokens=64, temperature=0.0, top_p=1.0, seed=0)  # as the backend
    llm.chat(chats[:8], sp, use_tqdm=False)  # warm-up
    t0 = time.perf_counter()
    for tp in plans:
        llm.chat([text_only(r.messages) for r in tp.requests], sp, use_tqdm=False)
    bare = time.perf_counter() - t0
    del llm
    import gc

    gc.collect()
    torch.cuda.empty_cache()
    shutil.rmtree(work / "vllm-run", ignore_errors=True)
    t0 = time.perf_counter()
    summary = run_eval(config, catalog, RunOptions(data=data, out=work / "vllm-run", concurrency=1,
                                                   quiet=True))
    res = {"wall_s": time.perf_counter() - t0, "infer_s": summary.infer_seconds}
    return {"prompts": len(chats), "bare_generate_s": round(bare, 3),
            "runner_infer_s": round(res["infer_s"], 3), "ratio": round(bare / res["infer_s"], 3),
            "runner_total_s": round(res["wall_s"], 3),
            "note": "both exclude engine start-up; runner_total_s includes it, planning and writing"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=4000)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--vllm-instances", type=int, default=512)
    ap.add_argument("--skip-vllm", action="store_true")
    ap.add_argument("--bare", metavar="URL", help=argparse.SUPPRESS)  # the bare-client process
    args = ap.parse_args()
    if args.bare:
        asyncio.run(_bare(args.bare, args.instances, args.concurrency))
        return 0
    with tempfile.TemporaryDirectory(prefix="gb-bench-") as tmp:
        work = Path(tmp)
        result = {"api": bench_api(args, work)}
        if not args.skip_vllm:
            result["vllm"] = bench_vllm(args, work)
    print(json.dumps(result, indent=2))
    api = result["api"]
    print(f"generalbench run --concurrency {api['concurrency']} ({api['instances']} requests, "
          f"latency {api['latency_s']} s, ideal {api['ideal_rate']}/s): at the server "
          f"{api['server_rate']}/s, ratio {api['server_ratio']}; whole process "
          f"{api['process_rate']}/s, ratio {api['process_ratio']} (target >= 0.9 for both; a bare "
          f"aiohttp loop gets {api['bare_client_rate']}/s, ratio {api['bare_client_ratio']}, from "
          f"the same stub); CPU {api['cpu_ms_per_instance']} ms/instance "
          f"({api['core_share_at_ideal_rate']} of a core at the ideal rate); peak RSS "
          f"{api['peak_rss_mb']} MB; load average {api['load_average_1min']} on {api['cpus']} "
          "CPUs", file=sys.stderr)
    return 0 if min(api["server_ratio"], api["process_ratio"]) >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
