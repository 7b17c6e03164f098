"""Scopes (issue 11 point 9, issue 12): Scope-D boards are per skill within a modality, the
language tasks have scope L, and a scope naming nothing is an error listing what exists."""

from __future__ import annotations

import pytest

from generalbench.catalog import load_catalog
from generalbench.errors import CatalogError, GeneralBenchError
from generalbench.levels import Scope, evaluate


@pytest.fixture(scope="module")
def shared_skill(tmp_path_factory):
    """The shipped catalog plus a video task whose skill is also an image skill."""
    extra = tmp_path_factory.mktemp("extra") / "extra.csv"
    extra.write_text("modality,paradigm,task_name,short_name,metric,sota,skill\n"
                     "video,comprehension,Drone Object Detection,DroneDet,AP50,40,Object Detection\n")
    return load_catalog(extra=[extra])


def test_same_skill_in_two_modalities_does_not_merge(shared_skill):
    with pytest.raises(CatalogError, match="D:image:Object Detection, D:video:Object Detection"):
        Scope.parse("D:Object Detection").check(shared_skill)
    image = Scope.parse("D:image:Object Detection").check(shared_skill)
    video = Scope.parse("D:Video:object detection").check(shared_skill)
    assert {t.modality for t in image.select(shared_skill)} == {"image"}
    assert [t.task_name for t in video.select(shared_skill)] == ["Drone Object Detection"]
    raw = {t.id: 100.0 for t in video.select(shared_skill)}
    result = evaluate(shared_skill, raw, "m")
    assert video.board_value(result)["score"] > 0 and image.board_value(result)["score"] == 0
    with pytest.raises(GeneralBenchError, match="name one"):
        Scope.parse("D:Object Detection").board_value(result)
    boards = {(s.modality, s.skill) for s in result.skills() if s.skill == "Object Detection"}
    assert boards == {("image", "Object Detection"), ("video", "Object Detection")}


def test_d_scope_matches_the_whole_skill_name(catalog):
    scope = Scope.parse("D:Object Detection").check(catalog)
    assert scope.modality == "image" and scope.label() == "D:image:Object Detection"
    with pytest.raises(CatalogError, match="no skill 'Detection'"):
        Scope.parse("D:Detection").check(catalog)  # a substring used to select every *Detection*
    with pytest.raises(CatalogError, match="no skill 'Object Detection' in 'audio'"):
        Scope.parse("D:audio:Object Detection").check(catalog)


def test_language_scope(catalog):
    for text in ("L", "language", "nlp"):
        scope = Scope.parse(text).check(catalog)
        assert {t.modality for t in scope.select(catalog)} == {"language"}
    with pytest.raises(GeneralBenchError, match="use --scope L"):
        Scope.parse("B:nlp")
    result = evaluate(catalog, {"language-time-series": 0.0}, "m")
    assert set(Scope.parse("L").board_value(result)) == {"synergy_score", "score", "wins", "supported"}


@pytest.mark.parametrize("text, why", [("B:smell", "unknown modality 'smell'"),
                                       ("C:smell-generation", "unknown modality"),
                                       ("D:smell:Object Detection", "unknown modality")])
def test_unknown_modality_in_scope(catalog, text, why):
    with pytest.raises(CatalogError, match=why):
        Scope.parse(text).check(catalog)


def test_b_scope_accepts_case_and_checks(catalog):
    assert Scope.parse("B:Image").check(catalog).modality == "image"
