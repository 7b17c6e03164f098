"""`generalbench score` on the mini-bench's oracle predictions, through the real entry point, for
the tasks scored with learned models: without weights each says which model it needs; with the
tiny random-weight stand-ins of `generalbench weights make-tiny` each produces a labelled value
through the real loading code. (The LLM judge has no stand-in: its task says no judge is set.)
"""

from __future__ import annotations

import json
import math

import pytest
from tests.conftest import run_cli

pytest.importorskip("torch", reason="pip install torch==2.13.0")
pytest.importorskip("transformers", reason="pip install 'generalbench[models]'")

# task id -> the metric model it needs (metricmodels/models.yaml, tasks.yaml)
MODEL_TASKS = {
    "image-generation-edge-to-image-generation": "pt-inception-fid",
    "image-generation-text-based-image-editing": "clip-vit-base-patch32",
    "video-generation-human-video-generation": "i3d-kinetics400-torchscript",
    "video-generation-real-world-video-superresolution": "musiq-koniq",
    "audio-generation-singlecaptiontoaudio": "clap-htsat-unfused",
    "3d-generation-text-to-3d-living-and-arts-point-cloud-generation": "clip-vit-base-patch32",
    "3d-generation-text-to-3d-motion-generation": "humanml3d-t2m-evaluator",
}
BUNDLED = {"audio-generation-singingvoicesynthesis": "dnsmos"}  # ships in a wheel: always scored
QUICK = 3


@pytest.fixture(scope="module")
def scored(mini, oracle, tmp_path_factory):
    root, _ = mini
    base = tmp_path_factory.mktemp("model_metrics")
    env = {"HF_HUB_CACHE": str(base / "hf"), "HF_HUB_OFFLINE": "1",
           "GENERALBENCH_CACHE": str(base / "cache"), "GENERALBENCH_WEIGHTS": str(base / "empty")}
    made = run_cli("weights", "make-tiny", base / "tiny", env=env)
    assert made.code == 0, made.err
    out = {}
    for name, weights in (("none", base / "empty"), ("tiny", base / "tiny")):
        env = {**env, "GENERALBENCH_WEIGHTS": str(weights)}
        # three instances a task show what these tests check (which model, a labelled value, the
        # other tasks untouched) at a quarter of the cost of scoring all twelve, twice
        res = run_cli("score", oracle, "--data", root, "--out", base / name, "--format", "json",
                      "--quick", str(QUICK), env=env, timeout=900)
        assert res.code == 0, res.err[-2000:]
        out[name] = {t["id"]: t for t in json.loads((base / name / "tasks.json").read_text())}
    return out


def test_without_weights_each_task_names_the_model_it_needs(scored) -> None:
    tasks = scored["none"]
    for task_id, model in MODEL_TASKS.items():
        t = tasks[task_id]
        assert t["raw"] is None and not t["supported"], task_id
        assert t["note"].startswith("needs a metric model") and repr(model) in t["note"], t["note"]
        assert "weights=" in t["note"]  # how to provide them (fetch, or a manual download)
    for task_id in BUNDLED:
        assert tasks[task_id]["supported"] and math.isfinite(tasks[task_id]["raw"])


def test_with_tiny_weights_every_model_task_is_unsupported_with_its_value_labelled(scored) -> None:
    """Stand-in weights never enter a General-Level score (issue 11, point 10): the task is
    unsupported, the note says why, and the value computed with them is kept in the details."""
    tasks = scored["tiny"]
    value = {}
    for task_id, model in MODEL_TASKS.items():
        t = tasks[task_id]
        assert t["raw"] is None and not t["supported"], (task_id, t["note"])
        value[task_id] = t["details"]["value_with_stand_in_weights"]
        assert math.isfinite(value[task_id])
        assert t["parsed"] == t["instances"] > 0 and t["provenance"]["tiny_random_weights"]
        assert f"metric model {model!r} has TINY RANDOM stand-in weights" in t["note"], t["note"]
    # the oracle's images equal the references: a distance of zero, whatever the weights
    assert value["image-generation-edge-to-image-generation"] == pytest.approx(0.0, abs=1e-3)
    assert value["video-generation-human-video-generation"] == pytest.approx(0.0, abs=1e-3)
    assert value["3d-generation-text-to-3d-motion-generation"] == pytest.approx(0.0, abs=1e-3)
    assert value["image-generation-text-based-image-editing"] == pytest.approx(100.0, abs=1e-3)


def test_tiny_weights_leave_the_other_tasks_alone(scored) -> None:
    before, after = scored["none"], scored["tiny"]
    for task_id, t in before.items():
        if task_id not in MODEL_TASKS and t["note"] != "not in the dataset":
            assert after[task_id]["raw"] == t["raw"], task_id

