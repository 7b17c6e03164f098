"""One generated mini-bench (and its oracle predictions) shared by the mini-bench tests."""

from __future__ import annotations

import time

import pytest

from generalbench.data.minibench import make_mini, write_oracle_predictions


@pytest.fixture(scope="session")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini") / "bench"
    start = time.perf_counter()
    make_mini(root)
    elapsed = time.perf_counter() - start
    return root, elapsed


@pytest.fixture(scope="session")
def oracle(mini, tmp_path_factory):
    root, _ = mini
    return write_oracle_predictions(root, tmp_path_factory.mktemp("oracle") / "preds")
