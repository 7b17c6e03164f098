"""Bootstrap statistics: coverage on a simulated model, win probabilities, General-Level on the
resample axis equal to levels.evaluate, estimators equal to the metrics, paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.levels import evaluate
from generalbench.metrics.registry import compute_detailed
from generalbench.stats import estimators as est
from generalbench.stats.bootstrap import (
    TaskSample,
    bootstrap_model,
    bootstrap_task,
    interval,
    resample_indices,
)
from generalbench.stats.compare import compare
from generalbench.stats.glevel import evaluate_arrays, normalise_task
from tests.levels.test_levels import mk, tiny_catalog


def accuracy_sample(task, correct: np.ndarray) -> TaskSample:
    scores = [100.0 * float(c) for c in correct]
    return TaskSample(task, float(np.mean(scores)), [f"i{k:04d}" for k in range(len(correct))], scores)


def test_95_percent_intervals_cover_the_true_accuracy_at_about_the_nominal_rate():
    task = mk("t", "image", "comprehension")
    p, n, trials = 0.7, 60, 200
    rng = np.random.default_rng(12345)
    covered = 0
    for trial in range(trials):
        correct = rng.random(n) < p
        boot = bootstrap_task(accuracy_sample(task, correct), resamples=1000, seed=trial)
        lo, hi = interval(boot.samples)
        covered += lo <= 100 * p <= hi
    assert 0.90 * trials <= covered <= 0.99 * trials, covered


def test_all_right_task_beats_a_lower_specialist_with_probability_one():
    catalog = tiny_catalog(sota=80.0)
    tasks = list(catalog)
    task = tasks[0]
    sample = accuracy_sample(task, np.ones(30, dtype=bool))
    point = evaluate(catalog, {task.id: 100.0})
    boot = bootstrap_model("m", point, tasks, {task.id: sample}, resamples=500)
    row = boot.task_rows()[0]
    assert row["win_probability"] == 1.0 and row["low"] == row["high"] == 100.0
    assert boot.task_rows()[1]["win_probability"] == 0.0  # unsupported never wins


def simulated(sota: float, seed: int, n: int, p: float):
    """The tiny catalog's tasks, a simulated accuracy sample per task (n answers, each right with
    probability p) and the model's point result."""
    catalog = tiny_catalog(sota=sota)
    tasks = list(catalog)
    rng = np.random.default_rng(seed)
    samples = {t.id: accuracy_sample(t, rng.random(n) < p) for t in tasks}
    return tasks, samples, evaluate(catalog, {k: s.raw for k, s in samples.items()})


def test_a_model_compared_with_itself_gives_one_half_on_every_board():
    tasks, samples, point = simulated(sota=50.0, seed=0, n=25, p=0.55)
    a = bootstrap_model("a", point, tasks, samples, resamples=300, seed=7)
    b = bootstrap_model("a-again", point, tasks, samples, resamples=300, seed=7)
    out = compare(a, b)
    assert set(out["probability_a_above"].values()) == {0.5}
    assert all(t["difference"] == 0 and t["low"] == t["high"] == 0 and t["paired"]
               for t in out["tasks"])


def test_a_clearly_better_model_ranks_above_with_high_probability():
    runs = {"good": simulated(sota=50.0, seed=1, n=40, p=0.9),
            "bad": simulated(sota=50.0, seed=2, n=40, p=0.3)}
    boots = [bootstrap_model(name, point, tasks, samples, resamples=300)
             for name, (tasks, samples, point) in runs.items()]
    out = compare(*boots)
    assert out["probability_a_above"]["A"] > 0.99
    assert all(t["probability_a_better"] > 0.9 for t in out["tasks"])


@settings(deadline=None, max_examples=40)
@given(st.lists(st.floats(0, 100), min_size=16, max_size=16), st.floats(1, 99))
def test_level_arrays_equal_evaluate(values, sota):
    catalog = tiny_catalog(sota=sota)
    tasks = list(catalog)
    raw = {t.id: (v if v > 5 else None) for t, v in zip(tasks, values + values, strict=False)}
    point = evaluate(catalog, raw)
    norm = np.array([[0.0 if raw[t.id] is None else normalise_task(t, np.array(raw[t.id]))
                      for t in tasks]])
    values = np.array([[np.nan if raw[t.id] is None else raw[t.id] for t in tasks]])
    arrays = evaluate_arrays(tasks, norm, raw=values)
    for k, v in point.scores.items():
        assert arrays.scores[k][0] == pytest.approx(v, abs=1e-9)
    assert int(arrays.level[0]) == (point.level or 0)
    for m, ms in point.modalities.items():
        for k in ("level2", "level3", "level4"):
            assert arrays.modalities[m][k][0] == pytest.approx(getattr(ms, k), abs=1e-9)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.floats(0, 1e6) | st.sampled_from([0.0, -0.0, 1e-300, 9.32e-5]), min_size=1,
                max_size=8))
def test_normalise_array_equals_apply_for_every_rule(values):
    """The bootstrap's array normalisation and the scalar one are one formula (NormaliseRule.formula)."""
    from generalbench.metrics.specs import load_specs
    from generalbench.stats.glevel import normalise_array

    for rule in {spec.normalise for spec in load_specs().values()}:
        got = normalise_array(rule, np.array(values))
        want = [rule.apply(v) for v in values]
        assert got.tolist() == pytest.approx(want, rel=1e-12, abs=1e-12), rule


def test_a_saturated_tie_is_no_win_in_the_resamples_either():
    """levels.wins breaks a tie of normalised values by the raw value; so do the resamples."""
    from generalbench.catalog import Catalog

    task = mk("cd", "3d", "generation", "chamfer", sota=9.32e-5)
    catalog = Catalog((task,))
    sample = TaskSample(task, 4.7e-4, ["a", "b"], [4.6e-4, 4.8e-4])
    boot = bootstrap_model("m", evaluate(catalog, {"cd": 4.7e-4}), [task], {"cd": sample},
                           resamples=50)
    row = boot.task_rows()[0]
    assert row["normalised"] == row["sota_normalised"] == 100.0
    assert not row["win"] and row["win_probability"] == 0.0


def test_level_probabilities_sum_to_one_and_json_shape():
    tasks, samples, point = simulated(sota=60.0, seed=3, n=20, p=0.6)
    s = bootstrap_model("m", point, tasks, samples, resamples=400).summary()
    assert set(s["level_probability"]) == {"none", "2", "3", "4", "5"}
    assert sum(s["level_probability"].values()) == pytest.approx(1.0)
    assert set(s["scores"]) == {"level2", "level3", "level4", "level5"}
    for v in s["scores"].values():
        assert v["low"] <= v["high"]
    assert {"id", "raw", "low", "high", "win_probability"} <= set(s["tasks"][0])


def test_resample_indices_are_seeded_per_task():
    a = resample_indices("task-a", 10, 5, 0)
    assert (a == resample_indices("task-a", 10, 5, 0)).all()
    assert not (a == resample_indices("task-b", 10, 5, 0)).all()
    assert not (a == resample_indices("task-a", 10, 5, 1)).all()


# --- estimators reproduce the metrics ------------------------------------------------------------
def _labels(rng, n, pool):
    return [list(rng.choice(pool, size=rng.integers(0, 4), replace=False)) for _ in range(n)]


@pytest.mark.parametrize("metric", ["micro_f1", "span_f1"])
def test_counts_f1_equals_the_metric_on_resamples(metric):
    rng = np.random.default_rng(0)
    pool = [f"l{i}" for i in range(8)]
    refs, preds = _labels(rng, 50, pool), _labels(rng, 50, pool)
    preds[3] = None
    e = est.counts_f1_estimator(preds, refs)
    for row in resample_indices("x", 50, 5, 0):
        counts = np.bincount(row, minlength=50)
        want = compute_detailed(metric, [preds[i] for i in row], [refs[i] for i in row]).value
        assert e.combine((counts @ e.stats)[None])[0] == pytest.approx(want)


@pytest.mark.parametrize(("metric", "make"), [("macro_accuracy", est.class_accuracy_estimator),
                                              ("f_score", est.class_f1_estimator)])
@pytest.mark.parametrize("classes", [["yes", "no"], ["cat", "dog", "bird"]])
def test_class_estimators_equal_the_metric_on_resamples(metric, make, classes):
    rng = np.random.default_rng(1)
    refs = list(rng.choice(classes, 40))
    preds = [r if rng.random() < 0.6 else str(rng.choice(classes)) for r in refs]
    preds[0] = None
    e = make(preds, refs)
    for row in resample_indices("y", 40, 8, 0):
        counts = np.bincount(row, minlength=40)
        sub_p, sub_r = [preds[i] for i in row], [refs[i] for i in row]
        if metric == "f_score" and len(set(sub_r)) != len(set(refs)):
            continue  # f_score picks its positive class from the sample's classes
        want = compute_detailed(metric, sub_p, sub_r).value
        assert e.combine((counts @ e.stats)[None])[0] == pytest.approx(want)


def test_bleu_counts_equal_corpus_bleu_on_resamples():
    rng = np.random.default_rng(2)
    words = "a man dog runs on the street red car park near blue sky".split()
    refs = [[" ".join(rng.choice(words, 9)) for _ in range(2)] for _ in range(30)]
    preds = [" ".join(r[0].split()[:7] + list(rng.choice(words, 2))) for r in refs]
    preds[5] = None
    e = est.bleu_counts_estimator(preds, refs)
    assert e.value() == pytest.approx(compute_detailed("bleu4", preds, refs).value)
    for row in resample_indices("z", 30, 5, 0):
        counts = np.bincount(row, minlength=30)
        want = compute_detailed("bleu4", [preds[i] for i in row], [refs[i] for i in row]).value
        assert e.combine((counts @ e.stats)[None])[0] == pytest.approx(want)


def test_rmse_uses_root_mean_square_and_unknown_corpus_metrics_fall_back():
    task = mk("r", "image", "comprehension", metric="rmse")
    errs = [1.0, 2.0, 3.0, 4.0]
    raw = float(np.sqrt(np.mean(np.square(errs))))
    boot = bootstrap_task(TaskSample(task, raw, list("abcd"), errs), resamples=50)
    assert boot.method == "rms"
    micro = mk("m", "image", "comprehension", metric="micro_f1")
    boot = bootstrap_task(TaskSample(micro, 40.0, list("abcd"), [10.0, 20.0, 30.0, 40.0]), resamples=50)
    assert boot.method == "scaled" and "needs" in (boot.note or "")
    fid = mk("f", "image", "generation", metric="fid")
    boot = bootstrap_task(TaskSample(fid, 30.0), resamples=50)
    assert boot.method == "fixed" and (boot.samples == 30.0).all()


def test_recompute_respects_its_time_budget(monkeypatch):
    import generalbench.stats.bootstrap as bs

    task = mk("p", "image", "comprehension", metric="pcc")
    rng = np.random.default_rng(0)
    x = rng.random(30)
    sample = TaskSample(task, 0.0, [f"{i:02d}" for i in range(30)], [None] * 30,
                        [[float(v), float(v) + 1] for v in x], [[float(v), float(v) * 2] for v in x])
    sample.raw = compute_detailed("pcc", sample.preds, sample.refs).value
    monkeypatch.setattr(bs, "MIN_RECOMPUTE", 10)
    monkeypatch.setattr(bs, "RECOMPUTE_BUDGET_S", 1e-6)
    boot = bs.bootstrap_task(sample, resamples=40)
    assert boot.method == "recompute" and "10 distinct" in (boot.note or "")
    assert (boot.samples[10:20] == boot.samples[:10]).all()


def test_docs_name_the_method_of_every_metric():
    from pathlib import Path

    from generalbench.metrics.specs import load_specs

    doc = (Path(__file__).resolve().parents[2] / "docs" / "statistics.md").read_text()
    section = doc[doc.index("### Every metric"):doc.index("## Worked example")]
    for name in load_specs():
        row = next((line for line in section.splitlines()
                    if line.startswith("|") and f"`{name}`" in line), None)
        assert row is not None, name
        assert row.split("|")[1].strip() == f"`{est.method_of(name)}`", name
