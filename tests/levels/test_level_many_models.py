"""`level` over many models: the shared per-catalog work (hash, SoTA normalisation) is done once,
and the fast path (no per-task objects) gives exactly the numbers of the full path."""

from __future__ import annotations

import random

import pytest

from generalbench.catalog import load_catalog
from generalbench.levels import evaluate
from generalbench.report.scorefiles import read_csv


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _raw(catalog, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    out = {}
    for t in catalog:
        if rng.random() < 0.8:
            v = t.sota * rng.uniform(0.0, 1.3)
            out[t.id] = min(v, 100.0) if t.unit == "percent" else v
    return out


@pytest.mark.parametrize("seed", range(5))
def test_without_task_objects_same_numbers(catalog, seed):
    raw = _raw(catalog, seed)
    full = evaluate(catalog, raw, "m", keep_tasks=True)
    fast = evaluate(catalog, raw, "m", keep_tasks=False)
    assert fast.tasks is None
    assert fast.model_dump(exclude={"tasks"}) == full.model_dump(exclude={"tasks"})


def test_catalog_hash_is_computed_once(catalog, monkeypatch):
    from generalbench.catalog import Catalog

    fresh = Catalog(catalog.tasks)
    first = fresh.hash
    calls = []
    monkeypatch.setattr("generalbench.catalog.catalog.json.dumps",
                        lambda *a, **k: calls.append(1) or "")
    assert fresh.hash == first and fresh.info()["hash"] == first
    assert calls == []


def test_csv_short_rows_and_blank_lines(tmp_path, catalog):
    t = catalog.tasks[0]
    p = tmp_path / "s.csv"
    p.write_text(f"task,score,model\n{t.id},12.5,a\n\n{t.id},,b\n{catalog.tasks[1].id}\n")
    models = {m.model: m.raw for m in read_csv(p, catalog)}
    # a short row (no score, no model) is an empty cell of the file's default model
    assert models == {"a": {t.id: 12.5}, "b": {}, "s": {}}


def test_specs_read_with_libyaml_equal_pure_python():
    """load_specs uses libyaml when present; the shipped file must read the same either way."""
    from importlib import resources

    import yaml

    text = resources.files("generalbench.metrics").joinpath("specs.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml.load(text, Loader=loader) == yaml.safe_load(text)


@pytest.mark.parametrize("seed", range(4))
def test_csv_fast_path_reads_what_the_general_path_reads(tmp_path, catalog, seed):
    """read_csv's dict-free path gives the general path's models, in the same order; odd cells
    ('5%', a name instead of an id) leave it to the general path, with the same result."""
    import csv as csv_mod

    from generalbench.report.scorefiles import _records_to_models

    rng = random.Random(seed)
    p = tmp_path / "s.csv"
    rows = []
    for m in range(5):
        for t in rng.sample(catalog.tasks, 60):
            v = rng.choice(["", "-", " 12.5 ", f"{rng.uniform(0, 1):.4f}", "7"])
            if seed == 3 and rng.random() < 0.02:
                v = "5%" if t.unit == "percent" else v
            rows.append([t.id if seed != 2 else t.name, v, f"m{m}"])
    with open(p, "w", newline="") as fh:
        csv_mod.writer(fh).writerows([["task", "score", "model"], *rows])
    fast = read_csv(p, catalog)
    general = _records_to_models([dict(zip(["task", "score", "model"], r, strict=True))
                                  for r in rows], catalog, p, p.stem, "row")
    assert [(m.model, m.raw, m.source) for m in fast] == \
        [(m.model, m.raw, m.source) for m in general]
    assert [list(m.raw) for m in fast] == [list(m.raw) for m in general]
