"""The shipped catalog matches the official task table and supports dynamic updates."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path

import pytest

from generalbench.catalog import load_catalog
from generalbench.errors import CatalogError, UnknownTaskError
from generalbench.metrics.specs import get_spec, load_specs

REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/general-bench-tasks.csv"


def test_catalog_has_all_699_tasks_with_official_counts(catalog):
    assert len(catalog) == 699
    counts = collections.Counter(t.sheet for t in catalog)
    assert counts == {"NLP": 115, "Image-Comprehension": 271, "Image-Generation": 45,
                      "Video-Comprehension": 126, "Video-Generation": 46,
                      "Audio-Comprehension": 24, "Audio-Generation": 20,
                      "3D-Comprehension": 30, "3D-Generation": 22}


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference table not beside the checkout")
def test_catalog_rows_equal_reference_table(catalog):
    rows = list(csv.DictReader(REFERENCE.open(encoding="utf-8")))
    assert len(rows) == len(catalog)
    for row, task in zip(rows, catalog, strict=True):
        assert task.sheet == row["sheet"]
        assert task.task_name == row["task_name"]  # exact spelling, stray spaces kept
        assert task.metric_name == row["metric"]
        assert task.short_name == row["short_name"]
        assert task.sota == float(row["sota"])


def test_every_task_resolves_to_a_metric_spec_and_a_skill(catalog):
    specs = load_specs()
    for task in catalog:
        assert task.metric in specs
        spec = specs[task.metric]
        assert task.metric_name in spec.spellings
        assert (task.unit, task.direction) == (spec.unit, spec.direction)
        assert task.skill and task.skill != "Other"
    assert len({t.id for t in catalog}) == 699


def test_ids_are_stable_slugs(catalog):
    ids = {t.id for t in catalog}
    assert "language-commonsense-reasoning" in ids
    assert "image-generation-eeg-based-image-generation" in ids  # leading space dropped
    assert "audio-generation-speechtranslation-zh-to-en" in ids  # full-width parens folded
    assert "image-generation-image-editing-with-multi-image-prompt" in ids  # CJK note dropped


def test_ambiguous_spellings_resolve_per_task(catalog):
    by_name = {t.name: t for t in catalog}
    assert by_name["Infection-map Generation"].metric == "roc_auc"
    assert by_name["Time Series"].metric == "rmse"
    assert by_name["3D Normal Estimation"].metric == "normal_rmse"
    assert by_name["ImageToSpeech"].metric == "speech_cider"
    assert by_name["Video Semantic Role Labeling"].metric == "cider"
    assert get_spec("BLUE_1").name == "bleu1"


def test_resolve_by_id_name_short_name_and_suggestions(catalog):
    task = catalog.resolve("Wood Anomaly Detection")
    assert catalog.resolve(task.id) is task
    assert catalog.resolve("wood anomaly detection") is task
    assert catalog.resolve(" EEG-based Image Generation").name == "EEG-based Image Generation"
    with pytest.raises(UnknownTaskError, match="did you mean 'Wood Anomaly Detection'"):
        catalog.resolve("Wood Anomaly Detecton")


def test_extra_catalog_adds_a_new_modality_and_changes_hash(tmp_path, catalog):
    extra = tmp_path / "tactile.csv"
    extra.write_text("modality,paradigm,task_name,short_name,metric,sota,skill\n"
                     "tactile,comprehension,Texture Recognition,Texture,Acc,80,Touch\n"
                     "tactile,generation,Texture Synthesis,TexSyn,PSNR,30,Touch\n")
    extended = load_catalog(extra=[extra])
    assert len(extended) == 701
    task = extended.get("tactile-comprehension-texture-recognition")
    assert task.metric == "accuracy" and task.skill == "Touch"
    assert extended.hash != catalog.hash


def test_sota_overrides_update_scores_and_hash(tmp_path, catalog):
    overrides = tmp_path / "sota.json"
    overrides.write_text(json.dumps([{"task": "Commonsense Reasoning", "sota": 90.0}]))
    updated = load_catalog(sota_overrides=[overrides])
    assert updated.get("language-commonsense-reasoning").sota == 90.0
    assert updated.hash != catalog.hash
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"task": "Commonsense Reasoning", "sota": "high"}]))
    with pytest.raises(CatalogError, match="field 'sota' must be a number"):
        load_catalog(sota_overrides=[bad])


def test_tasks_cli_json_lists_699_tasks_with_specialist_scores(cli, catalog):
    result = cli("tasks", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert len(data) == 699
    for key in ("id", "name", "modality", "paradigm", "skill", "metric", "sota"):
        assert key in data[0]
    assert {d["id"]: d["sota"] for d in data} == {t.id: t.sota for t in catalog}


def test_tasks_cli_filters(cli):
    result = cli("tasks", "--modality", "3d", "--paradigm", "generation", "--format", "json")
    data = json.loads(result.out)
    assert len(data) == 22 and all(d["modality"] == "3d" for d in data)
    result = cli("tasks", "--metric", "PSNR", "--format", "csv")
    assert result.code == 0 and len(result.out.strip().splitlines()) == 29
    result = cli("tasks", "--search", "counting", "--format", "json")
    assert {d["metric"] for d in json.loads(result.out)} >= {"mae"}
