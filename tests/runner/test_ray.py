"""`--executor ray`: shards as Ray tasks on a local Ray instance give a single run's predictions."""

from __future__ import annotations

import json

import pytest

from generalbench.models.testserver import TestServer
from generalbench.runner.ray_executor import shard_options
from generalbench.runner.run import RunOptions
from tests.conftest import run_cli
from tests.runner.test_run_e2e import PER_TASK, bench, predictions, run_args  # noqa: F401


def test_shard_options_cover_every_shard_once(tmp_path):
    opts = shard_options(RunOptions(data=tmp_path, out=tmp_path / "run"), 3)
    assert [str(o.shard) for o in opts] == ["0/3", "1/3", "2/3"]
    assert len({o.out for o in opts}) == 3 and all(o.quiet for o in opts)


@pytest.mark.slow
def test_ray_executor_equals_one_run(tmp_path, bench):  # noqa: F811
    pytest.importorskip("ray")
    with TestServer(tmp_path / "srv", reply="echo") as srv:
        one = run_cli(*run_args(srv.base_url, bench, tmp_path / "one", "--no-score"))
        assert one.code == 0, one.err
        res = run_cli(*run_args(srv.base_url, bench, tmp_path / "ray", "--executor", "ray",
                                "--ray-shards", "2"), timeout=300)
        assert res.code == 0, res.err
        keys = srv.keys()
    assert len(keys) == 2 * 5 * PER_TASK  # each instance asked once per run
    assert predictions(tmp_path / "ray") == predictions(tmp_path / "one")
    report = json.loads((tmp_path / "ray" / "score" / "report.json").read_text())
    assert report["scores"]
    assert sorted(p.name for p in (tmp_path / "ray" / "shards").iterdir()) == ["0", "1"]
