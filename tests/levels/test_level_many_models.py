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


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_csv_fast_path_is_taken_for_plain_files(tmp_path, catalog, monkeypatch, end):
    """Plain task,score,model files (LF or csv.writer's CRLF) never reach the general path."""
    import generalbench.report.scorefiles as sf

    monkeypatch.setattr(sf, "_records_to_models", lambda *a, **k: pytest.fail("general path"))
    a, b = catalog.tasks[0], catalog.tasks[1]
    p = tmp_path / "s.csv"
    p.write_bytes(end.join(["task,score,model", f"{a.id},1.5,m", "", f"{b.id},-,m",
                            f"{b.id},2,n", ""]).encode())
    assert [(m.model, m.raw) for m in read_csv(p, catalog)] == [("m", {a.id: 1.5}),
                                                                ("n", {b.id: 2.0})]


@pytest.mark.parametrize("body", [
    '"{a}",1.5,m\n',                 # a quoted cell: the csv module's job
    "{a},1.5,m\n{a},,m\n",           # the same task twice, once empty: an error
    "{a},1.5,m\n{b},2,n\n{a},3,m\n",  # m's task again after n's rows: an error
    "{a},1.5,m\n{b},2,n\n{b},3,m\n",  # m again after n's rows, another task: one model
    "{a},1.5,\n{b},2,s\n",           # an empty model cell: the file's name
    "{a},1.5,m\n{b},nan,m\n",        # NaN: an error
    "{a},1.5,m\n{b},inf,m\n",
    "{a},-1,m\n",                    # negative where the metric cannot be
    "{a},101,m\n",                   # a percentage over 100
    "{a},1.5\n",                     # a short row: the general path's padding
    "{a},1.5,m,extra\n{b},2,m\n",    # a long row: extra cells ignored
])
def test_csv_fast_path_agrees_with_the_csv_module(tmp_path, catalog, body):
    """Whatever the fast path declines, read_csv reads as the csv module does, or fails alike."""
    import csv as csv_mod
    import io

    from generalbench.errors import ScoreFileError
    from generalbench.report.scorefiles import _records_to_models

    a = next(t for t in catalog if t.unit == "percent" and t.direction == "higher")
    b = catalog.tasks[1]
    text = "task,score,model\n" + body.format(a=a.id, b=b.id)
    p = tmp_path / "s.csv"
    p.write_bytes(text.encode())
    rows = [r for r in csv_mod.reader(io.StringIO(text)) if r][1:]
    recs = [dict(zip(["task", "score", "model"], r + [None] * (3 - len(r)), strict=False))
            for r in rows]

    def outcome(read):
        try:
            return [(m.model, m.raw) for m in read()]
        except ScoreFileError as exc:
            return str(exc)

    assert outcome(lambda: read_csv(p, catalog)) == \
        outcome(lambda: _records_to_models(recs, catalog, p, p.stem, "row"))


def test_csv_bare_carriage_return_is_the_csv_modules_error(tmp_path, catalog):
    from generalbench.errors import ScoreFileError

    p = tmp_path / "s.csv"
    p.write_bytes(f"task,score,model\n{catalog.tasks[0].id},1.5,m\r{catalog.tasks[1].id},2,m\n"
                  .encode())
    with pytest.raises(ScoreFileError, match="not a readable CSV row"):
        read_csv(p, catalog)


@pytest.mark.parametrize("n", [3, 20])
def test_json_of_many_models_is_the_same_ranked_list(catalog, n):
    """Few models: indented JSON; many: one model per line. Both parse to the same ranked list."""
    import json

    from generalbench.report import render

    results = [evaluate(catalog, _raw(catalog, s), f"m{s}", keep_tasks=False) for s in range(n)]
    text = render.to_json(results)
    items = json.loads(text)
    assert [r["model"] for r in items] == [r.model for _, r in render.rank(results)]
    assert items == json.loads(json.dumps(items, indent=1))
    lines = text.splitlines()
    assert (len(lines) == n + 2) == (n >= render.FAST_ROWS)
