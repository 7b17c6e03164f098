"""Every example config under configs/ loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from generalbench.models.config import load_config_file

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_config_loads(path, catalog):
    cfg = load_config_file(path)
    assert cfg.fingerprint() and "api_key" not in cfg.params
    assert any(cfg.route(t) is not None for t in catalog)


def test_there_are_examples():
    assert len(CONFIGS) >= 4
