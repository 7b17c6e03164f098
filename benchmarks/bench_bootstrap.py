"""Bootstrap speed: 1,000 resamples of the full-size synthetic benchmark (325,876 instances of
the non-model metrics, bench_scoring.py's mix), propagated through General-Level.

    .venv/bin/python benchmarks/bench_bootstrap.py [--instances 325876] [--resamples 1000]

The synthetic predictions are scored first with the real pipeline (runner.score.score_task,
not timed here: bench_scoring.py measures it); then every task is resampled exactly as
`generalbench report` does it (stats.bootstrap.bootstrap_model: per-task index matrices,
counts @ per-instance statistics, corpus metrics from their sufficient statistics) and the
(resamples x tasks) matrix goes through General-Level. Target: under 5 minutes on 2 cores.
Prints wall and CPU time, the time per method and the peak RSS; exits 1 over the target.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scoring import FULL_SIZE, METRICS, make_task  # noqa: E402

from generalbench.catalog import load_catalog  # noqa: E402
from generalbench.levels import evaluate  # noqa: E402
from generalbench.runner.score import _choices, reference_value, score_task  # noqa: E402
from generalbench.stats import bootstrap as bs  # noqa: E402

TARGET_SECONDS = 300.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=FULL_SIZE)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    catalog = load_catalog()
    tasks = [t for t in catalog if t.metric in METRICS
             and t.output in ("text", "label", "label_set", "number")]
    base, extra = divmod(args.instances, len(tasks))
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    samples: dict[str, bs.TaskSample] = {}
    raw: dict[str, float | None] = {}
    total = 0
    for i, task in enumerate(tasks):
        insts, preds = make_task(task, base + (i < extra), rng)
        detail, rows = score_task(task, insts, preds)
        refs = [reference_value(task, inst.target, _choices(inst.inputs), None) for inst in insts]
        raw[task.id] = detail.raw
        samples[task.id] = bs.TaskSample(
            task, detail.raw, [r.id for r in rows], [r.score for r in rows],
            [r.parsed if r.status == "ok" else None for r in rows], refs)
        total += len(rows)
    print(f"synthetic set scored: {total} instances over {len(tasks)} tasks "
          f"({Counter(t.metric for t in tasks).most_common()}) in {time.perf_counter() - t0:.1f} s "
          "(not timed below)")
    point = evaluate(catalog, raw, "synthetic")

    per_method: dict[str, float] = defaultdict(float)
    original = bs.bootstrap_task

    def timed(sample: bs.TaskSample, resamples: int, seed: int) -> bs.TaskBoot:
        t1 = time.perf_counter()
        out = original(sample, resamples, seed)
        per_method[out.method] += time.perf_counter() - t1
        return out

    bs.bootstrap_task = timed  # type: ignore[assignment]
    t0, c0 = time.perf_counter(), time.process_time()
    boot = bs.bootstrap_model("synthetic", point, list(catalog), samples, args.resamples, args.seed)
    summary = boot.summary()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    bs.bootstrap_task = original  # type: ignore[assignment]

    methods = Counter(b.method for b in boot.boots if b.raw is not None)
    print(f"bootstrap: {args.resamples} resamples of {total} instances ({len(catalog)} catalog "
          f"tasks, General-Level per resample): {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("  methods: " + ", ".join(f"{m} x{n} ({per_method[m]:.1f} s)" for m, n in methods.most_common()))
    s2 = summary["scores"]["level2"]
    print(f"  S2 = {s2['value']:.3f} [{s2['low']:.3f}, {s2['high']:.3f}]; level probabilities "
          f"{summary['level_probability']}")
    ok = wall < TARGET_SECONDS
    print(f"target < {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
