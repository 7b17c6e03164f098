"""Peak memory of `generalbench score` on one large dense task, through the CLI in its own process.

    python benchmarks/bench_memory.py                          # 1,000 x 512x512: mIoU masks, depth
    python benchmarks/bench_memory.py --instances 200 --size 256 --metrics miou,video_miou,epe
    python benchmarks/bench_scoring.py --dense                 # the same check

For each metric, N references and N predictions of side x side (default 1,000 x 512 x 512: uint8
PNG class maps for `miou`, float32 .npy depth maps for `rms_depth`; other metrics of
benchmarks/_dense_mix.py work too) are written as a dataset and a predictions folder, then
`python -m generalbench score` runs on them and its peak RSS is read from wait4. Target: < 1 GB
whatever N. mIoU streams its confusion counts and the depth RMS its running mean (the scorer feeds
both one decoded map at a time), so the peak does not grow with N; holding every map of the
task, as the list call did, took 4.1 GB for the masks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 1024


def dense_memory(work: Path, n: int, side: int, seed: int = 0,
                 metrics: tuple[str, ...] = ("miou", "rms_depth")) -> int:
    """Write and score one task per metric; print wall, CPU, peak RSS and value; 1 when any
    peak reaches TARGET_MB."""
    from _dense_mix import dense_tasks, write_dense_tasks
    from bench_scoring import _task_dir, run_measured

    from generalbench.catalog import load_catalog

    catalog = load_catalog()
    worst = 0.0
    for metric in metrics:
        task = next(t for t in dense_tasks(catalog) if t.metric == metric)
        root = work / f"dense-{metric}"
        shutil.rmtree(root, ignore_errors=True)
        t0 = time.perf_counter()
        write_dense_tasks([task], [n], root / "data", root / "predictions", _task_dir, seed, side)
        print(f"{task.id} ({metric}): {n} instances of {side}x{side} written in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        res = run_measured([sys.executable, "-m", "generalbench", "score", str(root / "predictions"),
                            "--data", str(root / "data"), "--out", str(root / "out"),
                            "--format", "json"])
        raw = {t["id"]: t["raw"] for t in json.loads((root / "out" / "tasks.json").read_text())}
        print(f"  generalbench score: {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU, peak RSS "
              f"{res['rss_mb']:.0f} MB (target < {TARGET_MB} MB); value {raw[task.id]!r}",
              flush=True)
        worst = max(worst, res["rss_mb"])
        shutil.rmtree(root, ignore_errors=True)
    return 0 if worst < TARGET_MB else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--metrics", default="miou,rms_depth",
                    help="comma-separated metrics of benchmarks/_dense_mix.py DENSE_METRICS")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="folder for the files (default: temp)")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        return dense_memory(work, args.instances, args.size, args.seed,
                            tuple(m.strip() for m in args.metrics.split(",") if m.strip()))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
