"""replay re-runs an existing predictions folder; vllm says clearly when it cannot run."""

from __future__ import annotations

import json

import pytest

from generalbench.errors import ModelError
from generalbench.models.config import ModelConfig, parse_model_spec
from generalbench.models.registry import create_backend
from generalbench.runner.run import RunOptions, run_eval

TASKS = ["language-triviaqa", "image-comprehension-seed-counting",
         "image-generation-image-deblurring"]


def test_replay_of_oracle_predictions_reproduces_them(tmp_path, catalog, mini_cut):
    bench, oracle = mini_cut(TASKS, per_task=4)
    config = parse_model_spec(f"replay:{oracle}")
    summary = run_eval(config, catalog, RunOptions(data=bench, out=tmp_path / "run", quiet=True))
    assert summary.failed == 0 and summary.answered == 12
    for task in TASKS:
        ours = [json.loads(x) for x in (tmp_path / "run" / f"{task}.jsonl").read_text().splitlines()]
        theirs = {r["id"]: r["prediction"] for r in
                  (json.loads(x) for x in (oracle / f"{task}.jsonl").read_text().splitlines())}
        assert {r["id"] for r in ours} == set(theirs)
        for r in ours:
            if task == "image-generation-image-deblurring":  # artifact copied into the run
                assert (tmp_path / "run" / r["prediction"]).read_bytes() == \
                    (oracle / theirs[r["id"]]).read_bytes()
            else:
                assert r["prediction"] == theirs[r["id"]]


def test_replay_of_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="replay needs an existing predictions folder"):
        create_backend(ModelConfig(name="r", backend="replay", params={"path": str(tmp_path / "x")}))


def test_vllm_without_vllm_says_how_to_install():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(ModelError, match=r"generalbench\[vllm\]"):
        create_backend(ModelConfig(name="v", backend="vllm", params={"path": "/x"}))
