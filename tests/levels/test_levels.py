"""General-Level math: worked examples, the paper's properties, and an independent re-derivation."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generalbench.catalog import Catalog, Task
from generalbench.levels import Scope, classify, evaluate, harmonic, normalise, rank


def mk(tid: str, modality: str, paradigm: str, metric: str = "accuracy", sota: float = 50.0,
       skill: str = "S") -> Task:
    from generalbench.metrics.specs import load_specs

    spec = load_specs()[metric]
    return Task(id=tid, name=tid, task_name=tid, short_name=tid, sheet="x", modality=modality,
                paradigm=paradigm, skill=skill, metric_name=spec.spellings[0] if spec.spellings else metric,
                metric=metric, unit=spec.unit, direction=spec.direction, output=spec.output, sota=sota)


def tiny_catalog(sota: float = 50.0) -> Catalog:
    tasks = []
    for m in ("image", "video", "audio", "3d"):
        for p in ("comprehension", "generation"):
            tasks += [mk(f"{m}-{p}-{i}", m, p, sota=sota) for i in range(2)]
    tasks += [mk(f"nlp-{i}", "language", "language", sota=sota) for i in range(4)]
    return Catalog(tuple(tasks))


# --- normalisation -------------------------------------------------------------------------
@pytest.mark.parametrize(("metric", "raw", "expected"), [
    ("accuracy", 73.5, 73.5),
    ("mae", 50.0, 100 * (2 / (1 + math.exp(-1)) - 1)),      # T/x = 1 -> 46.21
    ("mae", 0.0, 100.0),                                     # perfect, not 'unsupported'
    ("fid", 25.0, 46.211715726000975),
    ("chamfer", 1.0, 46.211715726000975),                    # CD with its suffix is normalised
    ("rte", 0.5, 46.211715726000975),                        # RTE too
    ("psnr", 20.0, 100 * math.tanh(1.0)),                    # 76.16
    ("ms_ssim", 0.542, 77.1),
    ("mos", 3.0, 50.0),
    ("wer", 5.6, 94.4),                                      # WER in percent: 100 - x
    ("wer", 140.0, 0.0),                                     # clipped
])
def test_normalisation_worked_examples(metric, raw, expected):
    assert normalise(mk("t", "image", "comprehension", metric), raw) == pytest.approx(expected)


def test_normalisation_rejects_negative_lower_is_better_and_nan():
    with pytest.raises(ValueError):
        normalise(mk("t", "image", "comprehension", "mae"), -1.0)
    with pytest.raises(ValueError):
        normalise(mk("t", "image", "comprehension", "accuracy"), float("nan"))


# --- worked examples -------------------------------------------------------------------------
def test_all_unsupported_model_has_no_level():
    result = evaluate(tiny_catalog(), {}, "nothing")
    assert result.level is None
    assert result.scores == {"level2": 0.0, "level3": 0.0, "level4": 0.0, "level5": 0.0}
    assert result.modalities["image"].comprehension.supported == 0
    assert result.language.total == 4


def test_level2_only_model_that_never_beats_the_specialist():
    cat = tiny_catalog(sota=90.0)
    result = evaluate(cat, {t.id: 40.0 for t in cat}, "weak")
    assert result.scores["level2"] == pytest.approx(40.0)
    assert result.scores["level3"] == 0.0
    assert result.level == 2


def test_property3_balanced_synergy_beats_unbalanced_at_level4():
    """Paper Property-3: C=G=60 outranks C=100, G=20 at Level-4 though Level-3 is equal."""
    cat = Catalog(tuple(mk(f"{m}-{p}", m, p, sota=10.0) for m in ("image", "video", "audio", "3d")
                        for p in ("comprehension", "generation")))
    balanced = {t.id: 60.0 for t in cat}
    unbalanced = {t.id: 100.0 if t.paradigm == "comprehension" else 20.0 for t in cat}
    a, b = evaluate(cat, balanced, "balanced"), evaluate(cat, unbalanced, "unbalanced")
    assert a.scores["level3"] == pytest.approx(b.scores["level3"]) == pytest.approx(60.0)
    assert a.scores["level4"] == pytest.approx(60.0)
    assert b.scores["level4"] == pytest.approx(2 * 100 * 20 / 120)  # 33.33
    assert [r.model for _, r in rank([b, a])] == ["balanced", "unbalanced"]


def test_level_scores_worked_example_with_modality_averaging_and_level5():
    cat = tiny_catalog(sota=50.0)
    raw = {"image-comprehension-0": 80.0, "image-comprehension-1": 40.0,   # S_C: (80+0)/2 = 40
           "image-generation-0": 60.0,                                      # S_G: 60/2 = 30
           "nlp-0": 90.0, "nlp-1": 10.0}                                     # S_L: 90/4 = 22.5
    r = evaluate(cat, raw, "m")
    img = r.modalities["image"]
    assert img.comprehension.score == pytest.approx(60.0)
    assert img.comprehension.synergy_score == pytest.approx(40.0)
    assert img.generation.synergy_score == pytest.approx(30.0)
    assert img.level2 == pytest.approx((60 + 30) / 2)
    assert img.level3 == pytest.approx(35.0)
    assert img.level4 == pytest.approx(2 * 40 * 30 / 70)
    assert r.scores["level2"] == pytest.approx(45.0 / 4)     # other modalities count 0
    assert r.scores["level4"] == pytest.approx(img.level4 / 4)
    assert r.language.synergy_score == pytest.approx(22.5)
    assert r.scores["level5"] == pytest.approx(img.level4 / 4 * 0.225)
    assert r.level == 5
    assert img.comprehension.wins == 1 and img.comprehension.supported == 2


def test_ties_win_and_lower_is_better_compares_after_normalisation():
    cat = Catalog((mk("a", "image", "comprehension", "mae", sota=10.0),
                   mk("b", "image", "generation", "accuracy", sota=50.0)))
    r = evaluate(cat, {"a": 10.0, "b": 50.0}, "tie")
    assert all(t.win for t in r.tasks)
    r = evaluate(cat, {"a": 12.0, "b": 50.0}, "worse")
    assert not r.tasks[0].win and r.tasks[0].supported


def test_a_tie_from_saturated_normalisation_is_decided_by_the_raw_value():
    """CD 9.32e-5 (the object reconstruction specialist) and CD 4.7e-4 both normalise to exactly
    100.0 in floating point; the worse raw value must not tie and win (the demo's baselines did)."""
    cat = Catalog((mk("a", "3d", "generation", "chamfer", sota=9.32e-5),
                   mk("b", "3d", "comprehension", "accuracy", sota=50.0)))
    assert normalise(cat.get("a"), 4.7e-4) == normalise(cat.get("a"), 9.32e-5) == 100.0
    worse = evaluate(cat, {"a": 4.7e-4}).tasks[0]
    assert worse.supported and not worse.win
    assert evaluate(cat, {"a": 4.7e-4}).modalities["3d"].generation.wins == 0
    assert all(evaluate(cat, {"a": v}).tasks[0].win for v in (9.32e-5, 1e-5, 0.0))


def test_harmonic_is_zero_without_both_sides():
    assert harmonic(0.0, 50.0) == 0.0 and harmonic(50.0, 0.0) == 0.0
    assert harmonic(30.0, 30.0) == pytest.approx(30.0)


def test_classify_picks_highest_nonzero_level():
    assert classify({"level2": 1, "level3": 0, "level4": 0, "level5": 0}) == 2
    assert classify({"level2": 1, "level3": 1, "level4": 1, "level5": 0}) == 4
    assert classify({"level2": 0, "level3": 0, "level4": 0, "level5": 0}) is None


def test_scopes_select_and_parse(catalog):
    assert len(Scope.parse("A").select(catalog)) == 699
    assert len(Scope.parse("B:image").select(catalog)) == 316
    assert len(Scope.parse("C:video-generation").select(catalog)) == 46
    assert all(t.skill == "Object Detection" for t in Scope.parse("D:Object Detection").select(catalog))
    with pytest.raises(Exception, match="bad scope"):
        Scope.parse("E:x")


# --- properties -----------------------------------------------------------------------------
CAT = tiny_catalog(sota=50.0)
IDS = [t.id for t in CAT]
scores_st = st.dictionaries(st.sampled_from(IDS), st.floats(0, 100, allow_nan=False), max_size=len(IDS))


@given(scores_st)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_levels_are_ordered(raw):
    s = evaluate(CAT, raw, "m").scores
    assert s["level2"] >= s["level3"] >= s["level4"] >= s["level5"] >= 0


@given(scores_st, st.lists(scores_st, max_size=3))
@settings(max_examples=100)
def test_property1_results_do_not_depend_on_other_models(raw, others):
    alone = evaluate(CAT, raw, "me")
    crowd = [evaluate(CAT, o, f"other{i}") for i, o in enumerate(others)]
    ranked = rank([alone, *crowd])
    mine = next(r for _, r in ranked if r.model == "me")
    assert mine == alone


@given(scores_st, st.sampled_from(IDS), st.floats(0, 100, allow_nan=False))
@settings(max_examples=200)
def test_raising_one_task_never_lowers_level2(raw, task_id, bump):
    before = evaluate(CAT, raw, "m").scores["level2"]
    raised = dict(raw)
    raised[task_id] = max(raw.get(task_id, 0.0), bump)
    assert evaluate(CAT, raised, "m").scores["level2"] >= before - 1e-9


def reference_levels(catalog, raw):
    """An independent, literal transcription of the rules in docs/scoring.md."""
    def norm(t, x):
        return normalise(t, x)

    def beats(t, v):  # sigma >= sigma_sota, supported, and (deciding saturated ties) a raw value
        x = raw[t.id]  # at least as good as the specialist's
        return v >= norm(t, t.sota) and v > 0 and (x >= t.sota if t.direction == "higher"
                                                   else x <= t.sota)

    mods = ["image", "video", "audio", "3d"]
    s2, s3, s4 = [], [], []
    for m in mods:
        sc = {}
        for p in ("comprehension", "generation"):
            ts = [t for t in catalog if t.modality == m and t.paradigm == p]
            vals = [norm(t, raw[t.id]) if t.id in raw else 0.0 for t in ts]
            wins = [v if (t.id in raw and beats(t, v)) else 0.0
                    for t, v in zip(ts, vals, strict=False)]
            sc[p] = (sum(vals) / len(ts) if ts else 0.0, sum(wins) / len(ts) if ts else 0.0)
        s2.append((sc["comprehension"][0] + sc["generation"][0]) / 2)
        c, g = sc["comprehension"][1], sc["generation"][1]
        s3.append((c + g) / 2)
        s4.append(0.0 if c == 0 or g == 0 else 2 * c * g / (c + g))
    nlp = [t for t in catalog if t.modality == "language"]
    sl = sum(norm(t, raw[t.id]) for t in nlp if t.id in raw and beats(t, norm(t, raw[t.id]))) / len(nlp)
    l4 = sum(s4) / 4
    return {"level2": sum(s2) / 4, "level3": sum(s3) / 4, "level4": l4, "level5": l4 * sl / 100}


@given(st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_full_catalog_any_mix_matches_reference(catalog, data):
    """Any mix of supported and unsupported tasks across all 699 gives the rules' exact scores."""
    tasks = list(catalog)
    chosen = data.draw(st.lists(st.sampled_from(tasks), unique_by=lambda t: t.id, max_size=699))
    raw = {}
    for t in chosen:
        factor = data.draw(st.floats(0.0, 2.0))
        raw[t.id] = t.sota * factor if t.direction == "higher" else t.sota * (factor + 0.01)
        if t.unit == "percent" and t.direction == "higher":
            raw[t.id] = min(raw[t.id], 100.0)
    got = evaluate(catalog, raw, "m").scores
    want = reference_levels(catalog, raw)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-9)


def test_scope_d_is_per_skill_within_a_modality(catalog):
    from generalbench.errors import GeneralBenchError

    scope = Scope.parse("D:image:Object Detection")
    assert (scope.modality, scope.skill) == ("image", "Object Detection")
    assert Scope.parse("D:nlp:Summarization").modality == "language"
    assert Scope.parse("D:Cross-lingual NLP / Translation").modality is None
    tasks = scope.select(catalog)
    assert tasks and all(t.modality == "image" and t.skill == "Object Detection" for t in tasks)
    # Two modalities with a skill of the same name: two boards, never merged.
    image_task = next(t for t in catalog if t.skill == "Object Detection")
    video_task = next(t for t in catalog if t.modality == "video").model_copy(
        update={"id": "video-x", "skill": "Object Detection"})
    both = Catalog((image_task, video_task), "test")
    with pytest.raises(GeneralBenchError, match="exists in 2 modalities"):
        Scope.parse("D:Object Detection").check(both)
    assert [t.id for t in Scope.parse("D:video:Object Detection").select(both)] == ["video-x"]
    result = evaluate(both, {image_task.id: 90.0, video_task.id: 10.0}, "m", keep_tasks=True)
    boards = {(b.modality, b.skill): b for b in result.skills()}
    assert set(boards) >= {("image", "Object Detection"), ("video", "Object Detection")}
    assert Scope.parse("D:video:Object Detection").board_value(result)["score"] == pytest.approx(
        boards[("video", "Object Detection")].score)
    with pytest.raises(GeneralBenchError, match="name one as D:<modality>:<skill>"):
        Scope.parse("D:Object Detection").board_value(result)
    with pytest.raises(GeneralBenchError, match="no skill"):
        Scope.parse("D:Detection").check(catalog)


@given(st.sampled_from(["accuracy", "mae", "fid", "psnr", "ms_ssim", "mos", "wer", "chamfer"]),
       st.one_of(st.floats(allow_nan=False), st.sampled_from([0.0, -0.0, 100.0, 1e-300, 5e300])))
@settings(max_examples=500, deadline=None)
def test_normalise_is_the_formula_clipped(metric, x):
    """NormaliseRule.apply's fast paths give exactly min(100, max(0, formula(x))) (100 for a raw
    0 of a lower-is-better metric, an error for a negative one)."""
    from generalbench.metrics.specs import get_spec

    rule = get_spec(metric).normalise
    if rule.kind == "sigmoid" and x < 0:
        with pytest.raises(ValueError):
            rule.apply(x)
        return
    want = 100.0 if rule.kind == "sigmoid" and x == 0 else min(100.0, max(0.0, rule.formula(x)))
    got = rule.apply(x)
    assert got == want and math.copysign(1, got) == math.copysign(1, want)
