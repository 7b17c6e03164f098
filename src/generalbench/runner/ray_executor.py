"""`--executor ray`: the run's shards as Ray tasks on a local or existing Ray cluster.

Each Ray task runs exactly the single-process code path for one shard (`run_eval` with
`--shard i/N`) into RUN_DIR/shards/<i>; the shards are then merged with `merge_runs`, so results
are those of a single-process run by construction. Workers must see the dataset and RUN_DIR at the
same paths (a shared filesystem on a multi-node cluster). Needs the `ray` extra.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generalbench.catalog import Catalog
from generalbench.errors import GeneralBenchError
from generalbench.models.config import ModelConfig
from generalbench.runner.merge import merge_runs
from generalbench.runner.run import RunOptions, run_eval
from generalbench.runner.shard import Shard


def _shard_job(config: ModelConfig, catalog: Catalog, opts: RunOptions) -> dict[str, Any]:
    return run_eval(config, catalog, opts).as_dict()


def shard_options(opts: RunOptions, shards: int) -> list[RunOptions]:
    """The per-shard options a Ray (or any) executor runs: one folder per shard under RUN_DIR."""
    return [replace(opts, shard=Shard(i, shards), out=opts.out / "shards" / str(i), quiet=True)
            for i in range(shards)]


def run_with_ray(config: ModelConfig, catalog: Catalog, opts: RunOptions, *, shards: int,
                 address: str | None = None, cpus_per_shard: float = 1.0) -> dict[str, Any]:
    """Run `shards` shards as Ray tasks, then merge them into opts.out."""
    if opts.shard.count != 1:
        raise GeneralBenchError("--executor ray makes its own shards; drop --shard")
    try:
        import ray
    except ImportError:
        raise GeneralBenchError("--executor ray needs Ray: pip install 'generalbench[ray]'") from None
    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, **({} if address else {"num_cpus": max(1, shards)}))
        started = True
    try:
        job = ray.remote(num_cpus=cpus_per_shard, max_retries=2)(_shard_job)
        per_shard = shard_options(opts, shards)
        ray.get([job.remote(config, catalog, o) for o in per_shard])
    finally:
        if started:
            ray.shutdown()
    return merge_runs([o.out for o in per_shard], opts.out)
