"""Peak memory of scoring a file-valued task: N depth maps of H x W (default 1,000 x 512 x 512).

    .venv/bin/python benchmarks/bench_memory.py [--instances 1000] [--size 512] [--metric rms_depth]

Writes N reference and N predicted .npy maps to a temporary folder, scores them through
`runner.score` (parse, decode, metric) and prints the peak RSS. An `aggregate: mean` metric is
fed one instance at a time (registry.accumulator), so each decoded map is dropped once scored and
the peak does not grow with N; a list-fed scorer holds 2 x N x H x W float64 (8.4 GB here).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from generalbench.catalog import load_catalog
from generalbench.data import Instance
from generalbench.runner import score as score_mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--metric", default="rms_depth")
    args = ap.parse_args()
    task = next(t for t in load_catalog() if t.metric == args.metric and t.output == "dense")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        ref_dir, pred_dir = Path(tmp) / "refs", Path(tmp) / "preds"
        ref_dir.mkdir()
        pred_dir.mkdir()
        insts, preds = [], {}
        for i in range(args.instances):
            ref = rng.uniform(0.5, 10, (args.size, args.size)).astype(np.float32)
            np.save(ref_dir / f"{i}.npy", ref)
            np.save(pred_dir / f"{i}.npy", ref + rng.normal(0, 0.1, ref.shape).astype(np.float32))
            insts.append(Instance(id=str(i), task_id=task.id, target=f"{i}.npy"))
            preds[str(i)] = f"{i}.npy"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        fn = getattr(score_mod, "score_task_predictions", None) or score_mod.score_task
        t0 = time.perf_counter()
        detail, _ = fn(task, insts, preds, task_folder=ref_dir, predictions_folder=pred_dir)
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{task.id} ({args.metric}): {args.instances} x {args.size}x{args.size} maps, "
          f"raw {detail.raw}, {dt:.1f} s; peak RSS {peak:.0f} MB (before scoring {before:.0f} MB)")


if __name__ == "__main__":
    main()
