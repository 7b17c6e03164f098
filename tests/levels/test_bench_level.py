"""The `level` benchmark's baseline (benchmarks/bench_level.py: csv + numpy, all models at once)
agrees with levels.evaluate in-process, so the benchmark's agreement check compares like with
like; and its score file exercises the rules that are easy to get wrong (ties, raw zeros)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from generalbench.catalog import load_catalog
from generalbench.levels import _sota_normalised, evaluate, normalise
from generalbench.report.scorefiles import read_csv

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_level  # noqa: E402


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def models(catalog):
    return bench_level.model_scores(catalog, 6, seed=7)


def test_baseline_agrees_with_evaluate(catalog, models, tmp_path):
    path = tmp_path / "scores.csv"
    bench_level.write_score_file(path, models)
    names, mat = bench_level.read_matrix(path, [t.id for t in catalog])
    assert names == [m for m, _ in models]
    # the file reads back to the same numbers through generalbench's reader
    assert {m.model: m.raw for m in read_csv(path, catalog)} == dict(models)
    for (name, raw), theirs in zip(models, bench_level.general_level(catalog, mat), strict=True):
        ours = evaluate(catalog, raw, name, keep_tasks=False).model_dump()
        assert bench_level.differences(ours, theirs) == [], name


def test_every_model_without_scores_is_level_none(catalog):
    empty = np.full((2, len(catalog)), np.nan)
    for theirs in bench_level.general_level(catalog, empty):
        ours = evaluate(catalog, {}, "m", keep_tasks=False).model_dump()
        assert theirs["level"] is None
        assert bench_level.differences(ours, theirs) == []


def test_score_file_exercises_ties_and_zeros(catalog, models):
    """Exact SoTA ties, raw zeros, and saturated ties decided by the raw value (a lower-is-better
    value worse than the SoTA's that normalises to the same 100.0) all occur."""
    by_id = {t.id: t for t in catalog}
    ties = zeros = raw_decides = 0
    for _, raw in models:
        for k, v in raw.items():
            t = by_id[k]
            ties += v == t.sota
            zeros += v == 0.0
            if v != t.sota and normalise(t, v) == _sota_normalised(t.metric, t.sota) > 0:
                raw_decides += 1
    assert ties and zeros and raw_decides


def test_differences_reports_a_changed_number(catalog, models):
    name, raw = models[0]
    ours = evaluate(catalog, raw, name, keep_tasks=False).model_dump()
    ids = [t.id for t in catalog]
    mat = np.array([[raw.get(i, np.nan) for i in ids]], dtype=float)
    theirs = bench_level.general_level(catalog, mat)[0]
    theirs["modalities"]["audio"]["generation"]["wins"] += 1
    theirs["scores"]["level4"] += 1e-6
    assert len(bench_level.differences(ours, theirs)) == 2
