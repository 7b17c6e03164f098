"""On-disk cache of reference-set feature statistics (FID/FVD/FAD real-data side).

A task's reference statistics depend only on its reference media and the extractor, so they are
computed once and stored as .npz under a key = sha256(extractor identity + content hashes of the
reference items). Changing a single reference file or the weights changes the key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generalbench.datafiles import cache_root
from generalbench.metricmodels.featmath import GaussianStats


def default_cache_dir() -> Path:
    """Reference feature statistics: `cache_root()/featstats`."""
    return cache_root() / "featstats"


def item_hash(item: Any) -> str:
    """Content hash of one reference item: a file path (its bytes), an array, or (samples, rate)."""
    h = hashlib.sha256()
    if isinstance(item, (str, os.PathLike)) and Path(item).is_file():
        with open(item, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    elif isinstance(item, tuple):
        for part in item:
            h.update(item_hash(part).encode())
    elif isinstance(item, (int, float, str)):
        h.update(repr(item).encode())
    else:
        arr = np.ascontiguousarray(np.asarray(item))
        h.update(str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def stats_key(extractor_id: str, items: Sequence[Any]) -> str:
    h = hashlib.sha256(extractor_id.encode())
    for item in items:
        h.update(item_hash(item).encode())
    return h.hexdigest()


def cached_stats(extractor_id: str, items: Sequence[Any],
                 compute: Callable[[Sequence[Any]], GaussianStats],
                 cache_dir: Path | None = None) -> tuple[GaussianStats, bool]:
    """(stats, hit): load the reference statistics from the cache or compute and store them."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{stats_key(extractor_id, items)}.npz"
    if path.is_file():
        with np.load(path) as data:
            factor = data["factor"] if "factor" in data.files else None  # older files lack it
            return GaussianStats(data["mu"], data["sigma"], int(data["n"]), factor), True
    stats = compute(items)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    extra = {} if stats.factor is None else {"factor": stats.factor}  # the fast Frechet route
    np.savez(tmp, mu=stats.mu, sigma=stats.sigma, n=stats.n, extractor=extractor_id, **extra)
    os.replace(tmp, path)
    return stats, False
