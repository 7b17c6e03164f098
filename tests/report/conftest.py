"""One small mini-bench run shared by the report tests: the reference baselines and the oracle
(perfect predictions) on a few tasks covering mean, RMSE, micro-F1, COCO AP and mIoU metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli

TASKS = ["image-comprehension-geometry-visual-question-answering",
         "image-comprehension-seed-counting", "image-comprehension-small-object-detection",
         "image-generation-image-deblurring", "language-topic-classification",
         "language-time-series", "language-triviaqa", "audio-comprehension-sound-event-recognition"]


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory, mini_cut) -> dict[str, Path]:
    """{'data', 'baseline' (a run folder), 'oracle' (a predictions folder)}."""
    root = tmp_path_factory.mktemp("report")
    data, oracle = mini_cut(TASKS)
    res = run_cli("run", "--model", "baseline", "--data", data, "--out", root / "baseline",
                  "--quiet")
    assert res.code == 0, res.err
    assert f"generalbench report {root / 'baseline'}" in res.err  # run says how to get the report
    return {"data": data, "baseline": root / "baseline", "oracle": Path(oracle)}
