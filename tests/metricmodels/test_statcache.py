"""Reference statistics are computed once per (extractor, reference contents)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generalbench.metricmodels.featmath import GaussianStats, gaussian_stats
from generalbench.metricmodels.statcache import cached_stats, stats_key


def test_stats_computed_once_and_keyed_by_content(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        f = tmp_path / f"ref{i}.bin"
        f.write_bytes(bytes([i]) * 100)
        files.append(str(f))
    calls: list[int] = []

    def compute(items: list[str]) -> GaussianStats:
        calls.append(len(items))
        feats = np.array([[Path(p).read_bytes()[0], len(p)] for p in items], dtype=float)
        return gaussian_stats(feats)

    s1, hit1 = cached_stats("extractor-a", files, compute, tmp_path / "cache")
    s2, hit2 = cached_stats("extractor-a", files, compute, tmp_path / "cache")
    assert (hit1, hit2) == (False, True) and calls == [3]
    np.testing.assert_array_equal(s1.mu, s2.mu)
    np.testing.assert_array_equal(s1.sigma, s2.sigma)
    # another extractor, or changed reference bytes, is a different key
    _, hit3 = cached_stats("extractor-b", files, compute, tmp_path / "cache")
    Path(files[0]).write_bytes(b"\x07" * 100)
    _, hit4 = cached_stats("extractor-a", files, compute, tmp_path / "cache")
    assert (hit3, hit4) == (False, False) and calls == [3, 3, 3]


def test_array_items_hash_by_value() -> None:
    a = [np.zeros((2, 2), np.uint8), (np.ones(4, np.float32), 16000)]
    b = [np.zeros((2, 2), np.uint8), (np.ones(4, np.float32), 16000)]
    c = [np.zeros((2, 2), np.uint8), (np.ones(4, np.float32), 22050)]
    assert stats_key("x", a) == stats_key("x", b) != stats_key("x", c)


def test_cached_stats_keep_the_few_samples_factor(tmp_path: Path) -> None:
    # 3 samples of 5 dims: the factor (the fast Frechet route) survives the cache, and a file
    # written without one (before it existed) still loads
    feats = np.random.default_rng(0).normal(size=(3, 5))
    s1, _ = cached_stats("x", ["a"], lambda _: gaussian_stats(feats), tmp_path)
    s2, hit = cached_stats("x", ["a"], lambda _: gaussian_stats(feats), tmp_path)
    assert hit and s1.factor is not None
    np.testing.assert_array_equal(s1.factor, s2.factor)
    (path,) = tmp_path.glob("*.npz")
    np.savez(path, mu=s1.mu, sigma=s1.sigma, n=s1.n)
    s3, hit = cached_stats("x", ["a"], lambda _: gaussian_stats(feats), tmp_path)
    assert hit and s3.factor is None
