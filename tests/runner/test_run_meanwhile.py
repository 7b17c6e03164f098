"""The run manifest's answer-independent fields (catalog hash, model config) are computed while
the first calls are in flight, not after the last reply, and the manifest is the same."""

from __future__ import annotations

import json
import time

from generalbench.catalog.catalog import Catalog
from generalbench.models.config import parse_model_spec
from generalbench.models.testserver import TestServer
from generalbench.runner import run as run_mod
from generalbench.runner.run import RunOptions, run_eval


def test_the_manifest_is_made_while_the_first_calls_wait(tmp_path, mini_cut, catalog,
                                                         monkeypatch):
    data = mini_cut(["language-triviaqa"], per_task=6)[0]
    calls: list[float] = []
    info = Catalog.info
    monkeypatch.setattr(Catalog, "info", lambda self: calls.append(time.monotonic()) or
                        info(self))
    ended: list[float] = []
    run_async = run_mod.run_async

    def timed(coro):
        try:
            return run_async(coro)
        finally:
            ended.append(time.monotonic())

    monkeypatch.setattr(run_mod, "run_async", timed)
    with TestServer(tmp_path / "srv", latency=0.3) as srv:
        config = parse_model_spec("openai:m", base_url=srv.base_url, api_key="k")
        run_eval(config, catalog, RunOptions(data=data, out=tmp_path / "run", quiet=True))
    assert len(calls) == 1 and calls[0] < ended[0] - 0.2  # long before the replies came
    manifest = json.loads((tmp_path / "run" / "run-info.json").read_text())["manifest"]
    assert list(manifest) == ["model", "model_config", "catalog", "data", "scope", "tasks",
                              "quick", "shard", "routes"]
    assert manifest["catalog"] == catalog.info() and manifest["routes"] == {
        "language-triviaqa": "m"}
    assert manifest["data"] == str(data.resolve()) and manifest["shard"] == "0/1"
