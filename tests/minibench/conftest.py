"""The session's mini-bench (tests/conftest.py `minibench`) in the shape the mini-bench tests use."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mini(minibench):
    """(root, seconds it took to generate)."""
    return minibench.root, minibench.seconds


@pytest.fixture(scope="session")
def oracle(minibench):
    return minibench.oracle
