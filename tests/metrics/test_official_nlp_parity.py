"""Language tasks against the official General-Level NLP scorer on the same files (issue 11,
point 7). official_nlp/cases.json holds annotation records in the official layout with one
prediction each (as the official predictors write them: lower-cased labels, "<p>"-joined label
sets, raw text); official_nlp/golden.json holds what the official `NLPProcessor` returned on
them (fractions), made by scripts/official_nlp_golden.py. Here generalbench reads the same
records with its NLP adapter and scores the same predictions through `score_task`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generalbench.catalog import load_catalog
from generalbench.data.adapters import AdaptContext, select_adapter
from generalbench.runner.score import score_task_predictions as score_task

HERE = Path(__file__).parent / "official_nlp"
CASES = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))["cases"]
GOLDEN = json.loads((HERE / "golden.json").read_text(encoding="utf-8"))["scores"]
CATALOG = load_catalog()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def _score(case: dict, folder: Path) -> float | None:
    task = next(t for t in CATALOG if t.sheet == "NLP" and t.task_name == case["task"])
    ctx = AdaptContext(task=task, folder=folder, annotation_type=case["type"])
    records = [{k: v for k, v in item.items() if k != "prediction"} for item in case["data"]]
    adapter, _ = select_adapter(case["type"], task, records[0], ctx)
    instances = [adapter(r, ctx) for r in records]
    detail, _ = score_task(task, instances, {i["id"]: i["prediction"] for i in case["data"]})
    return detail.raw


@pytest.mark.parametrize("case", [c for c in CASES if c["parity"]], ids=lambda c: c["task"])
def test_same_score_as_the_official_nlp_scorer(case, tmp_path):
    assert _score(case, tmp_path) == pytest.approx(100 * GOLDEN[case["task"]]["score"], abs=1e-9)


@pytest.mark.parametrize("case", [c for c in CASES if not c["parity"]], ids=lambda c: c["task"])
def test_deliberate_differences_are_real_and_documented(case, tmp_path):
    ours = _score(case, tmp_path)
    official = GOLDEN[case["task"]]
    assert ours is not None
    assert ours != pytest.approx(100 * official["score"])
    assert case["task"] in DOCS.read_text(encoding="utf-8")


def test_single_label_micro_f1_is_accuracy_on_the_official_files(tmp_path):
    case = next(c for c in CASES if c["task"] == "Topic Classification")
    hits = sum(i["prediction"] == i["output"]["label"].lower() for i in case["data"])
    assert _score(case, tmp_path) == pytest.approx(100 * hits / len(case["data"]))
