"""Isolate weights lookup from the user's machine: empty weights folder and HF cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_weights(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path_factory.mktemp("weights_env")
    monkeypatch.delenv("GENERALBENCH_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GENERALBENCH_CACHE", str(root / "cache"))
    return root
