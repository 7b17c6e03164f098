"""The weights-sha256 provenance of a model-based value: present, or missing with the reason why;
never a silent None, and a broken model registry is a bug that surfaces (metrics/registry.py)."""

from __future__ import annotations

import pytest

from generalbench.metricmodels import registry as model_registry
from generalbench.metrics.registry import implementation, provenance, weights_hash


def _prov(model: str):
    spec, fn = implementation("clip_score")
    return provenance(spec, fn, {"model": model})


def test_a_locked_model_records_its_weights_hash():
    p = _prov("musiq-koniq")
    assert p.weights_sha256 is not None and len(p.weights_sha256) == 64
    assert p.weights_sha256_missing is None


def test_a_declared_model_without_a_lock_says_so():
    p = _prov("clip-vit-base-patch32")
    assert p.weights_sha256 is None
    assert "no sha256 lock entry" in p.weights_sha256_missing


def test_an_undeclared_model_says_so():
    p = _prov("/some/local/folder")
    assert p.weights_sha256 is None
    assert "not declared" in p.weights_sha256_missing


def test_no_model_no_reason():
    spec, fn = implementation("accuracy")
    p = provenance(spec, fn, {})
    assert p.weights_sha256 is None and p.weights_sha256_missing is None


def test_a_missing_registry_file_is_recorded(monkeypatch):
    def gone():
        raise FileNotFoundError("models.yaml")

    monkeypatch.setattr(model_registry, "all_models", gone)
    sha, why = weights_hash("musiq-koniq")
    assert sha is None and "cannot be read" in why


def test_a_broken_registry_is_a_bug_not_a_missing_hash(monkeypatch):
    def broken():
        raise KeyError("loader")

    monkeypatch.setattr(model_registry, "all_models", broken)
    with pytest.raises(KeyError):
        weights_hash("musiq-koniq")
