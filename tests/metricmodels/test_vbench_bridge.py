"""The VBench bridge: generalbench runs VBench in a separate interpreter through vbench_driver.py.

VBench itself cannot run here (its checkpoints download from the internet; it needs torchvision
and detectron2), so these tests use a PROTOCOL DOUBLE: a throwaway package named `vbench`,
written into tmp_path, that is no metric at all. Its `VBench(device, full_info_dir,
output_path).evaluate(videos_path=..., name=..., dimension_list=[...], mode="vbench_standard")`
does what VBench 0.1.5's standard mode does with files (reads the full-info JSON, looks up
`<prompt>-<i><suffix>` in the videos folder, writes `<name>_eval_results.json` as
{dimension: [mean, [{"video_path", "video_results"}, ...]]}) and scores each video by its frame
count / 100 (imaging_quality: per-video in 0-100 and the mean / 100, as VBench does), so every
value the bridge returns is derived from the files it was given. It also logs what it received
(device, prompts, auxiliary info, file names) to $FAKE_VBENCH_LOG. The child is a real separate
interpreter (`sys.executable` with PYTHONPATH pointing at the double); vbench is not importable
in the test process itself.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from generalbench.data.instances import Instance
from generalbench.data.media import load_video, save_video
from generalbench.errors import MetricError
from generalbench.metricmodels import vbench_backend
from generalbench.metrics.registry import compute_detailed
from generalbench.runner.score import score_task_predictions as score_task

COLOR_TASK = "video-generation-color-specific-text-to-video-generation"
I2V_TASK = "video-generation-plant-image-to-video-generation"

FAKE_INIT = '''
"""PROTOCOL DOUBLE of vbench 0.1.5 for generalbench's tests: scores are frame counts, not metrics."""
import json, os
from pathlib import Path

import av

__version__ = "0.0-protocol-double"


def _frames(path):
    with av.open(os.path.realpath(path)) as c:
        return sum(1 for _ in c.decode(video=0))


class VBench:
    def __init__(self, device, full_info_dir, output_path):
        self.device, self.full_info_dir, self.output_path = device, full_info_dir, output_path
        os.makedirs(output_path, exist_ok=True)

    def evaluate(self, videos_path, name, prompt_list=[], dimension_list=None, local=False,
                 read_frame=False, mode="vbench_standard", **kwargs):
        if os.environ.get("FAKE_VBENCH_SLEEP"):
            import time
            time.sleep(float(os.environ["FAKE_VBENCH_SLEEP"]))
        if os.environ.get("FAKE_VBENCH_FAIL"):
            raise RuntimeError("GRiT checkpoint grit_b_densecap_objectdet.pth could not be downloaded")
        assert mode == "vbench_standard" and os.path.isdir(videos_path)
        names = os.listdir(videos_path)
        postfix = Path(names[0]).suffix
        full_info = json.load(open(self.full_info_dir))
        results, log = {}, []
        for dim in dimension_list:
            per = []
            for entry in full_info:
                if dim not in entry["dimension"]:
                    continue
                found = [f"{entry['prompt_en']}-{i}{postfix}" for i in range(5)
                         if f"{entry['prompt_en']}-{i}{postfix}" in names]
                log.append({"prompt": entry["prompt_en"], "aux": entry.get("auxiliary_info", {}).get(dim),
                            "files": found})
                for f in found:
                    per.append({"video_path": os.path.join(videos_path, f),
                                "video_results": _frames(os.path.join(videos_path, f)) / 100})
            mean = sum(p["video_results"] for p in per) / len(per)
            if dim == "imaging_quality":  # VBench: per-video MUSIQ in 0-100, mean / 100
                per = [{**p, "video_results": 100 * p["video_results"]} for p in per]
            results[dim] = [mean, per]
        with open(os.environ["FAKE_VBENCH_LOG"], "a") as fh:
            fh.write(json.dumps({"device": self.device, "dimensions": dimension_list, "entries": log}) + "\\n")
        with open(os.path.join(self.output_path, name + "_eval_results.json"), "w") as fh:
            json.dump(results, fh)
'''

FULL_INFO = [{"prompt_en": "a red bicycle", "dimension": ["color"],
              "auxiliary_info": {"color": {"color": "red"}}},
             {"prompt_en": "a person", "dimension": ["object_class"],
              "auxiliary_info": {"object_class": {"object": "person"}}}]
DIMENSIONS = ["color", "object_class", "motion_smoothness", "overall_consistency", "imaging_quality",
              "dynamic_degree"]


def write_fake_vbench(root: Path, *, broken: bool = False) -> Path:
    """The protocol double under root/vbench (broken: its import fails like a missing dependency)."""
    pkg = root / "vbench"
    pkg.mkdir(parents=True)
    if broken:
        (pkg / "__init__.py").write_text("import decord_not_installed_here\n")
        return root
    (pkg / "__init__.py").write_text(textwrap.dedent(FAKE_INIT))
    (pkg / "VBench_full_info.json").write_text(json.dumps(FULL_INFO))
    for dim in DIMENSIONS:  # VBench has one module per dimension; the double's are empty
        (pkg / f"{dim}.py").write_text("")
    return root


@pytest.fixture
def fake_vbench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The double on the child's PYTHONPATH; returns the log file."""
    root = write_fake_vbench(tmp_path / "fake")
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setenv("FAKE_VBENCH_LOG", str(tmp_path / "log.jsonl"))
    monkeypatch.delenv(vbench_backend.ENV_VAR, raising=False)
    return tmp_path / "log.jsonl"


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _video(path: Path, frames: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    save_video(path, rng.integers(0, 255, (frames, 16, 16, 3), dtype=np.uint8))
    return path


def test_vbench_is_not_importable_in_the_test_process() -> None:
    with pytest.raises(ImportError):
        __import__("vbench")


def test_values_come_back_in_order_and_missing_videos_score_worst(fake_vbench: Path, tmp_path: Path) -> None:
    counts = [3, None, 7, 5]
    paths = [None if c is None else _video(tmp_path / f"v{i}.mp4", c, i) for i, c in enumerate(counts)]
    preds = [None if p is None else load_video(p) for p in paths]
    res = compute_detailed("success_rate", preds, [None] * 4, task=COLOR_TASK, device="cpu",
                           prompts=["a red bicycle"] * 4, video_paths=[p and str(p) for p in paths],
                           vbench_python=sys.executable)
    assert res.per_instance == pytest.approx([3.0, 0.0, 7.0, 5.0])
    assert res.value == pytest.approx((3 + 0 + 7 + 5) / 4)
    assert res.details["n_missing"] == 1 and res.details["vbench_dimension"] == "color"
    assert res.details["vbench_version"] == "unknown" and res.details["vbench_python"] == sys.executable
    (call,) = _log(fake_vbench)
    assert call["device"] == "cpu" and call["dimensions"] == ["color"]
    (entry,) = call["entries"]  # the prompt arrived, its colour looked up in VBench's full info
    assert entry["prompt"] == "a red bicycle" and entry["aux"] == {"color": "red"}
    assert entry["files"] == ["a red bicycle-0.mp4", "a red bicycle-1.mp4", "a red bicycle-2.mp4"]


def test_rounds_for_repeated_prompts_mixed_suffixes_and_per_video_scale(fake_vbench: Path, tmp_path: Path) -> None:
    counts = [2, 3, 4, 5, 6, 7, 8]
    paths = [_video(tmp_path / f"v{i}{'.avi' if i == 3 else '.mp4'}", c, i) for i, c in enumerate(counts)]
    res = compute_detailed("success_rate", [load_video(p) for p in paths], [None] * 7, device="cpu",
                           vbench="imaging_quality", video_paths=[str(p) for p in paths],
                           prompts=["a dog runs"] * 7, vbench_python=sys.executable)
    assert res.per_instance == pytest.approx([float(c) for c in counts])  # 0-100 put on the mean's scale
    assert res.value == pytest.approx(np.mean(counts))
    calls = _log(fake_vbench)
    assert len(calls) == 3  # mp4 x5, mp4 x1 (a prompt repeats six times), avi x1
    assert sorted(len(c["entries"][0]["files"]) for c in calls) == [1, 1, 5]
    assert all(c["entries"][0]["prompt"] == "a dog runs" for c in calls)
    res = compute_detailed("success_rate", [load_video(paths[0])] * 2, [None] * 2, device="cpu",
                           vbench="imaging_quality", video_paths=[str(paths[0])] * 2,
                           vbench_python=sys.executable)  # no prompt: each video named apart
    assert res.per_instance == pytest.approx([2.0, 2.0])
    assert [e["prompt"] for e in _log(fake_vbench)[-1]["entries"]] == ["generalbench video 0",
                                                                       "generalbench video 1"]


def test_frames_without_a_file_are_encoded_and_auxiliary_info_passes(fake_vbench: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    videos = [rng.integers(0, 255, (t, 17, 15, 3), dtype=np.uint8) for t in (4, 9)]
    res = compute_detailed("success_rate", videos, ["a tabby/cat", "a tabby/cat"], device="cpu",
                           vbench="object_class", vbench_python=sys.executable,
                           vbench_auxiliary=[{"object": "cat"}, {"object": "cat"}])
    assert res.per_instance == pytest.approx([4.0, 9.0])
    (call,) = _log(fake_vbench)
    (entry,) = call["entries"]
    assert entry["prompt"] == "a tabby cat" and entry["aux"] == {"object": "cat"}  # '/' cannot name a file


def test_interpreter_from_the_environment_and_all_missing(fake_vbench: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(vbench_backend.ENV_VAR, sys.executable)
    res = compute_detailed("success_rate", [None, None], [None, None], task=COLOR_TASK)
    assert res.value == 0.0 and res.per_instance == [0.0, 0.0] and res.details["n_missing"] == 2
    assert not fake_vbench.exists()  # nothing to score: VBench is not started


def test_broken_interpreter_path_is_one_clear_error(fake_vbench: Path, tmp_path: Path) -> None:
    video = _video(tmp_path / "v.mp4", 3)
    with pytest.raises(MetricError) as err:
        compute_detailed("success_rate", [load_video(video)], ["a red bicycle"], task=COLOR_TASK,
                         video_paths=[str(video)], vbench_python=str(tmp_path / "nowhere" / "python"))
    msg = str(err.value)
    assert "'color'" in msg and str(tmp_path / "nowhere" / "python") in msg and "option vbench_python" in msg
    assert "python3 -m venv" in msg and vbench_backend.ENV_VAR in msg


def test_import_error_in_the_child_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(write_fake_vbench(tmp_path / "broken", broken=True)))
    monkeypatch.setenv(vbench_backend.ENV_VAR, sys.executable)
    video = _video(tmp_path / "v.mp4", 3)
    with pytest.raises(MetricError) as err:
        compute_detailed("success_rate", [load_video(video)], ["a red bicycle"], task=COLOR_TASK,
                         video_paths=[str(video)])
    msg = str(err.value)
    assert "'color'" in msg and "not importable" in msg and sys.executable in msg
    assert "decord_not_installed_here" in msg and f"${vbench_backend.ENV_VAR}" in msg and "pip install vbench" in msg


def test_vbench_failure_and_unsupported_input_report_the_child_stderr(fake_vbench: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    video = _video(tmp_path / "v.mp4", 3)
    common = {"video_paths": [str(video)], "vbench_python": sys.executable, "device": "cpu"}
    with pytest.raises(MetricError, match="has no dimension 'no_such_dimension'"):
        compute_detailed("success_rate", [load_video(video)], ["pan left"], vbench="no_such_dimension",
                         **common)
    with pytest.raises(MetricError, match="needs auxiliary info .* 'a blue kite'"):
        compute_detailed("success_rate", [load_video(video)], ["a blue kite"], task=COLOR_TASK, **common)
    monkeypatch.setenv("FAKE_VBENCH_FAIL", "1")
    with pytest.raises(MetricError) as err:
        compute_detailed("success_rate", [load_video(video)], ["a red bicycle"], task=COLOR_TASK, **common)
    msg = str(err.value)
    assert "'color' failed (exit code 1)" in msg and sys.executable in msg
    assert "RuntimeError: GRiT checkpoint grit_b_densecap_objectdet.pth could not be downloaded" in msg


def test_no_vbench_anywhere_says_how_to_set_it_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vbench_backend.ENV_VAR, raising=False)
    with pytest.raises(MetricError) as err:
        compute_detailed("success_rate", [np.zeros((2, 8, 8, 3), np.uint8)], ["a red bicycle"], task=COLOR_TASK)
    msg = str(err.value)
    assert "VBench is not set up" in msg and "numpy<2" in msg and "detectron2" in msg
    assert "~/.venvs/vbench/bin/pip install vbench torch torchvision" in msg


def test_score_task_passes_the_predicted_files(fake_vbench: Path, tmp_path: Path, catalog,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The scorer hands VBench the files the model wrote; missing and unreadable ones score 0."""
    monkeypatch.setenv(vbench_backend.ENV_VAR, sys.executable)
    task = catalog.get(COLOR_TASK)
    task_dir, pred_dir = tmp_path / "task", tmp_path / "preds"
    (task_dir / "videos").mkdir(parents=True)
    (pred_dir / "gen").mkdir(parents=True)
    instances = []
    for i in range(4):
        _video(task_dir / "videos" / f"ref{i}.mp4", 2, 10 + i)
        instances.append(Instance(id=f"i{i}", task_id=task.id, inputs={"prompt": "a red bicycle"},
                                  target=f"videos/ref{i}.mp4"))
    _video(pred_dir / "gen" / "a.mp4", 6, 1)
    _video(pred_dir / "gen" / "b.mp4", 4, 2)
    (pred_dir / "gen" / "broken.mp4").write_bytes(b"not a video")
    predictions = {"i0": "gen/a.mp4", "i1": "gen/broken.mp4", "i3": "gen/b.mp4"}  # i2 missing
    detail, rows = score_task(task, instances, predictions, task_folder=task_dir,
                              predictions_folder=pred_dir)
    assert detail.raw == pytest.approx((6 + 0 + 0 + 4) / 4), detail.note
    assert [r.score for r in rows] == pytest.approx([6.0, 0.0, 0.0, 4.0])
    assert [r.status for r in rows] == ["ok", "failed", "missing", "ok"]
    (call,) = _log(fake_vbench)
    (entry,) = call["entries"]
    assert entry["prompt"] == "a red bicycle" and len(entry["files"]) == 2


def test_i2v_composite_uses_the_files_and_scores_missing_videos_zero(fake_vbench: Path, tmp_path: Path) -> None:
    from generalbench.metricmodels.loaders import load_model
    from generalbench.metricmodels.tiny import make_tiny

    (dino_dir,) = make_tiny(tmp_path / "w", ["dino-vitb16"])
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    paths = [_video(tmp_path / "a.mp4", 5, 4), None, _video(tmp_path / "b.mp4", 8, 5)]
    preds = [None if p is None else load_video(p) for p in paths]
    refs = [{"image": image, "prompt": f"a plant sways {i}"} for i in range(3)]
    res = compute_detailed("i2v_composite", preds, refs, device="cpu", task=I2V_TASK,
                           weights={"dino-vitb16": str(dino_dir)}, vbench_python=sys.executable,
                           video_paths=[p and str(p) for p in paths])
    dino = load_model("dino-vitb16", weights=dino_dir, device="cpu")
    expected = []
    for pred, frames in ((preds[0], 5), (preds[2], 8)):
        subject = float(np.mean(np.maximum(dino.embed_images(list(pred)) @ dino.embed_images([image])[0], 0)))
        parts = [subject, frames / 100, frames / 100, frames / 100]  # ViCLIP, RAFT, AMT: the double
        expected.append(100 * float(np.mean(parts)))
    assert res.per_instance == pytest.approx([expected[0], 0.0, expected[1]], rel=1e-5)
    assert res.value == pytest.approx(sum(expected) / 3, rel=1e-5)
    calls = _log(fake_vbench)
    assert [c["dimensions"] for c in calls] == [["overall_consistency"], ["dynamic_degree"],
                                                 ["motion_smoothness"]]
    assert [e["prompt"] for e in calls[0]["entries"]] == ["a plant sways 0", "a plant sways 2"]


def test_a_run_past_its_time_limit_is_stopped_with_a_clear_error(fake_vbench: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    video = _video(tmp_path / "v.mp4", 3)
    common = {"video_paths": [str(video)], "vbench_python": sys.executable, "device": "cpu"}
    monkeypatch.setenv("FAKE_VBENCH_SLEEP", "30")
    with pytest.raises(MetricError, match=r"'color' did not finish within 2 s .* vbench_timeout"):
        compute_detailed("success_rate", [load_video(video)], ["a red bicycle"], task=COLOR_TASK,
                         vbench_timeout=2, **common)
    monkeypatch.setenv(vbench_backend.TIMEOUT_VAR, "soon")
    with pytest.raises(MetricError, match="positive number of seconds, got 'soon'"):
        compute_detailed("success_rate", [load_video(video)], ["a red bicycle"], task=COLOR_TASK, **common)
