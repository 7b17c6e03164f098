"""Isolate weights lookup from the user's machine for every metric-model test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_weights(isolated_weights: Path) -> Path:
    return isolated_weights
