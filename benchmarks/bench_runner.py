"""Runner throughput against the ideal rate, and the harness's per-instance overhead.

Part 1 (any machine): a local OpenAI-compatible server (generalbench.models.testserver, a
subprocess on 127.0.0.1) answers every request after a fixed latency L. A full `run_eval` (plan,
render prompts, call the server, journal, write predictions) at concurrency C can at best finish
C/L requests per second; the script prints the measured rate of the inference phase (calls and
journal writes), its ratio to that ideal (target >= 0.9 at C=64), the same for the whole run
(planning, prompt rendering and writing predictions included), and the harness's own cost per instance: the client process's CPU time per
instance and the wall time per instance of a run with zero latency.

Part 2 (only with vLLM and a GPU): the `vllm` backend through `run_eval` against a bare
`LLM.generate` on the same prompts, with a tiny random-weight Llama built from a config (target
ratio >= 0.9). Skipped, with a message, when vllm or a GPU is missing.

    python benchmarks/bench_runner.py [--instances 1280] [--latency 0.2] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from generalbench.catalog import load_catalog
from generalbench.data.minibench import make_mini
from generalbench.models.config import ModelConfig, parse_model_spec
from generalbench.models.testserver import TestServer
from generalbench.runner.run import RunOptions, run_eval

TASKS = ["language-triviaqa", "language-topic-classification"]


def make_bench(root: Path, instances: int) -> Path:
    per_task = -(-instances // len(TASKS))
    return make_mini(root / "bench", per_task=per_task, tasks=TASKS)


def timed_run(config: ModelConfig, data: Path, out: Path, concurrency: int) -> dict:
    catalog = load_catalog()
    shutil.rmtree(out, ignore_errors=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    summary = run_eval(config, catalog, RunOptions(data=data, out=out, concurrency=concurrency,
                                                   quiet=True))
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0,
            "infer_s": summary.infer_seconds, "answered": summary.answered,
            "failed": summary.failed}


def bench_api(args: argparse.Namespace, work: Path) -> dict:
    data = make_bench(work, args.instances)
    out = {}
    for latency in (args.latency, 0.0):
        with TestServer(work / f"srv{latency}", latency=latency, max_seconds=3600) as srv:
            config = parse_model_spec("openai:bench", base_url=srv.base_url,
                                      overrides={"concurrency": args.concurrency})
            res = timed_run(config, data, work / f"run{latency}", args.concurrency)
        n = res["answered"]
        assert n >= args.instances and res["failed"] == 0, res
        out[latency] = dict(res, n=n)
    n = out[args.latency]["n"]
    ideal = args.concurrency / args.latency
    rate = n / out[args.latency]["infer_s"]
    e2e = n / out[args.latency]["wall_s"]
    return {
        "instances": n, "latency_s": args.latency, "concurrency": args.concurrency,
        "ideal_rate": round(ideal, 1), "rate": round(rate, 1), "ratio": round(rate / ideal, 3),
        "end_to_end_rate": round(e2e, 1), "end_to_end_ratio": round(e2e / ideal, 3),
        "harness_cpu_ms_per_instance": round(1000 * out[args.latency]["cpu_s"] / n, 3),
        "zero_latency_wall_ms_per_instance": round(1000 * out[0.0]["wall_s"] / n, 3),
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
    res = timed_run(config, data, work / "vllm-run", 1)
    return {"prompts": len(chats), "bare_generate_s": round(bare, 3),
            "runner_infer_s": round(res["infer_s"], 3), "ratio": round(bare / res["infer_s"], 3),
            "runner_total_s": round(res["wall_s"], 3),
            "note": "both exclude engine start-up; runner_total_s includes it, planning and writing"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=1280)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--vllm-instances", type=int, default=512)
    ap.add_argument("--skip-vllm", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gb-bench-") as tmp:
        work = Path(tmp)
        result = {"api": bench_api(args, work)}
        if not args.skip_vllm:
            result["vllm"] = bench_vllm(args, work)
    print(json.dumps(result, indent=2))
    api = result["api"]
    print(f"throughput {api['rate']}/s vs ideal {api['ideal_rate']}/s at concurrency "
          f"{api['concurrency']}: ratio {api['ratio']} (target >= 0.9); harness CPU "
          f"{api['harness_cpu_ms_per_instance']} ms/instance", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
