"""VBench-2.0 yes/no video question answering (the Material-Specific T2V success rate): the
scoring rules, the question data, a stub OpenAI-compatible VLM on loopback that checks the frames
and the exact instruction text, and the local transformers path with a tiny VLM built here."""

from __future__ import annotations

import base64
import io
import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.local_server import QuietHandler, serving

from generalbench.errors import MetricError
from generalbench.metrics import compute, compute_detailed
from generalbench.metrics.video_qa import (
    FAILURE,
    INVALID,
    SUCCESS,
    is_yes,
    judge_video,
    protocol,
    questions_for,
    success_rate_of,
)

pytest.importorskip("av", reason="pip install 'generalbench[video]'")

TASK = "video-generation-material-specific-text-to-video-generation"
MIX = "Equal amounts of yellow and blue paint are rapidly combined, with the mixture being vigorously stirred until fully blended."
MIX_QUESTIONS = ["Does the blue and yellow paints visibly exist and mix? (yes or no)",
                 "Finally, does the paint become green? (yes or no)"]
RUST = "A timelapse captures the rusting of a metal fence exposed to outdoor elements over several years."
YELLOW, BLUE, GREEN, BLACK = (230, 220, 20), (20, 30, 230), (30, 200, 40), (0, 0, 0)


@pytest.fixture(autouse=True)
def _no_judge_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENERALBENCH_CACHE", str(tmp_path / "cache"))
    for var in ("GENERALBENCH_JUDGE", "GENERALBENCH_JUDGE_BASE_URL", "GENERALBENCH_JUDGE_MODEL",
                "GENERALBENCH_JUDGE_API_KEY", "GENERALBENCH_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)


# ---- rules and data ---------------------------------------------------------------------------


def _asker(replies: dict[str, str], asked: list[str]):
    def ask(question: str) -> str:
        asked.append(question)
        return replies[question]
    return ask


def test_first_question_gates_the_second() -> None:
    asked: list[str] = []
    # a "no" to the first question: invalid, and the second is not needed
    assert judge_video("first_gates_second", ["q1", "q2"], _asker({"q1": "No.", "q2": "Yes"}, asked)) \
        == (INVALID, ["No."])
    assert asked == ["q1"]
    assert judge_video("first_gates_second", ["q1", "q2"], _asker({"q1": "Yes.", "q2": "No"}, [])) \
        == (FAILURE, ["Yes.", "No"])
    assert judge_video("first_gates_second", ["q1", "q2"], _asker({"q1": "yes", "q2": "YES!"}, []))[0] == SUCCESS
    # one question: its answer decides, nothing is invalid
    assert judge_video("first_gates_second", ["q"], _asker({"q": "No"}, []))[0] == FAILURE
    assert judge_video("first_gates_second", ["q"], _asker({"q": "Yes"}, []))[0] == SUCCESS
    # a third question (one Thermotics prompt has one) does not count in VBench-2.0
    asked = []
    assert judge_video("first_gates_second", ["a", "b", "c"],
                       _asker({"a": "yes", "b": "yes", "c": "no"}, asked))[0] == SUCCESS
    assert asked == ["a", "b"]


def test_other_rules() -> None:
    replies = {"a": "yes", "b": "no", "c": "yes"}
    assert judge_video("all_yes", ["a", "c"], _asker(replies, []))[0] == SUCCESS
    assert judge_video("all_yes", ["a", "b", "c"], _asker(replies, []))[0] == FAILURE
    assert judge_video("first_gates_rest", ["b", "a"], _asker(replies, []))[0] == INVALID
    assert judge_video("first_gates_rest", ["a", "c", "b"], _asker(replies, []))[0] == FAILURE
    with pytest.raises(MetricError, match="unknown rule"):
        judge_video("majority", ["a"], _asker(replies, []))


def test_yes_is_vbench2s_substring_test_and_the_aggregate_skips_invalid_videos() -> None:
    assert is_yes("Yes, the fence turns reddish-brown.") and is_yes("YES")
    assert is_yes("my eyes") and not is_yes("No.")  # VBench-2.0's test, quirks included
    assert success_rate_of([SUCCESS, INVALID, FAILURE, SUCCESS]) == pytest.approx(200 / 3)
    with pytest.raises(MetricError, match="all 2 videos are invalid"):
        success_rate_of([INVALID, INVALID])


def test_question_data_is_vbench2s() -> None:
    material = protocol("Material")
    assert material.rule == "first_gates_second" and material.frames == 64
    assert material.system == "You are a helpful assistant."
    assert questions_for("Material", MIX) == MIX_QUESTIONS
    assert questions_for("Material", "  " + MIX.upper().replace(" ", "  ")) == MIX_QUESTIONS  # spacing, case
    assert questions_for("Material", RUST) == [
        "Does the color of fence visibly change and become reddish-brown? (yes or no)"]
    assert questions_for("Material", "a cat") is None
    assert len(questions_for("Human_Clothes", None) or []) == 3  # the same three for every video
    from generalbench.metrics import video_qa

    table = video_qa._data()["questions"]
    assert len(table["Material"]) == 50 and all(1 <= len(q) <= 2 for q in table["Material"].values())
    with pytest.raises(MetricError, match="no protocol for dimension 'Composition'"):
        protocol("Composition")


# ---- videos -----------------------------------------------------------------------------------


def _video(path: Path, first: tuple, last: tuple, split: tuple | None = None, n: int = 16) -> str:
    """n frames at 8 fps fading from `first` (left half `split` when given) to `last`."""
    from generalbench.data.media import save_video

    frames = []
    for k in range(n):
        w = k / (n - 1)
        start = np.zeros((32, 48, 3))
        start[:] = first
        if split is not None:
            start[:, 24:] = split
        frames.append(((1 - w) * start + w * np.asarray(last, float)).astype(np.uint8))
    save_video(path, np.stack(frames))
    return str(path)


def test_frames_are_sampled_as_vbench2_samples_them(tmp_path: Path) -> None:
    from generalbench.data.media import load_video, save_video
    from generalbench.metrics.video_qa import sample_frames

    frames = np.random.default_rng(0).integers(0, 256, (10, 32, 48, 3), dtype=np.uint8)
    save_video(tmp_path / "v.mp4", frames, fps=5)
    decoded = load_video(tmp_path / "v.mp4")  # every frame, as decoded
    got, times, duration = sample_frames(tmp_path / "v.mp4", 4)
    assert np.array_equal(got, decoded[[0, 3, 6, 9]]) and times == [0.0, 0.6, 1.2, 1.8] and duration == 2.0
    many, times, _ = sample_frames(tmp_path / "v.mp4", 64)  # fewer frames than asked: repeats
    idx = np.linspace(0, 9, 64, dtype=int)
    assert np.array_equal(many, decoded[idx]) and times[:8] == [i / 5 for i in idx[:8]]
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(MetricError, match="cannot read the video"):
        sample_frames(tmp_path / "bad.mp4", 4)


def _image(part: dict[str, Any]) -> np.ndarray:
    from PIL import Image

    url = part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"), float)


class StubVLM:
    """A chat-completions server that looks at the frames it receives: the mixing question is
    answered yes when the first frame shows yellow and blue side by side, the colour question yes
    when the last frame is green. Every request body is recorded."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                parts = body["messages"][-1]["content"]
                text = parts[-1]["text"]
                first, last = _image(parts[0]), _image(parts[-2])
                if "exist and mix" in text:
                    left, right = first[:, :20].mean((0, 1)), first[:, 28:].mean((0, 1))
                    yes = left[2] < 100 < left[0] and right[2] > 150
                else:
                    r, g, b = last.mean((0, 1))
                    yes = g > 120 and g > r + 50 and g > b + 50
                content = "Yes, it does." if yes else "No."
                self.send_json({"model": "stub-vlm-1", "choices": [
                    {"message": {"role": "assistant", "content": content}}]})

        self._stack = ExitStack()
        self.url = self._stack.enter_context(serving(Handler)) + "/v1"

    def close(self) -> None:
        self._stack.close()


@pytest.fixture()
def stub() -> Iterator[StubVLM]:
    s = StubVLM()
    yield s
    s.close()


def _expected_text(question: str, n_frames: int, total: int, fps: float) -> str:
    """VBench-2.0 material.py's time instruction, written out here independently."""
    idx = np.linspace(0, total - 1, n_frames, dtype=int).tolist()
    frame_time = ",".join([f"{i / fps:.2f}s" for i in idx])
    return (f"The video lasts for {total / fps:.2f} seconds, and {n_frames} frames are uniformly sampled "
            f"from it. These frames are located at {frame_time}. Please answer yes or no only for the "
            f"following questions\n{question}")


def test_material_success_rate_through_an_openai_compatible_vlm(stub: StubVLM, tmp_path: Path) -> None:
    videos = [_video(tmp_path / "green.mp4", YELLOW, GREEN, split=BLUE),     # mixes, turns green
              _video(tmp_path / "stays.mp4", YELLOW, YELLOW, split=BLUE),    # mixes, stays yellow/blue
              _video(tmp_path / "empty.mp4", BLACK, BLACK),                  # no paint: invalid
              None]                                                          # missing: a failure
    cache = tmp_path / "judge.sqlite"
    opts = {"task": TASK, "judge": "openai:llava-video", "judge_base_url": stub.url,
            "judge_cache": cache, "video_qa_frames": 4}
    result = compute_detailed("success_rate", videos, [MIX] * 4, **opts)
    # valid: green (success), stays (failure), missing (failure); empty is left out
    assert result.value == pytest.approx(100 / 3)
    assert result.per_instance[:2] == [100.0, 0.0] and math.isnan(result.per_instance[2])
    assert result.per_instance[3] == 0.0
    d = result.details
    # n_valid: the videos the judge found valid; the missing one is the registry's (worst: 0)
    assert (d["n_valid"], d["n_invalid"], d["n_missing"]) == (2, 1, 1)
    assert d["judge"]["model"] == "llava-video" and d["judge"]["served_model"] == "stub-vlm-1"
    assert d["protocol"]["dimension"] == "Material" and d["frames"] == 4 and d["max_tokens"] == 4096
    assert [v["answers"] for v in d["videos"][:3]] == [["Yes, it does.", "Yes, it does."],
                                                     ["Yes, it does.", "No."], ["No."]]
    assert d["videos"][3] is None  # failed: never given to the judge (worst: 0)
    assert "base64" not in json.dumps(d)
    # 5 requests: 2 + 2 + 1 (the invalid video's second question is not asked), none for the missing
    assert len(stub.requests) == 5
    body = stub.requests[0]
    assert body["temperature"] == 0 and body["max_tokens"] == 4096 and body["model"] == "llava-video"
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are a helpful assistant."}
    parts = user["content"]
    assert [p["type"] for p in parts] == ["image_url"] * 4 + ["text"]  # frames first, like <image>
    assert parts[-1]["text"] == _expected_text(MIX_QUESTIONS[0], 4, total=16, fps=8.0)
    assert "These frames are located at 0.00s,0.62s,1.25s,1.88s." in parts[-1]["text"]
    assert stub.requests[1]["messages"][1]["content"][-1]["text"].endswith("\n" + MIX_QUESTIONS[1])
    # cached: the same videos are not sent again, and the cache holds no base64
    again = compute_detailed("success_rate", videos, [MIX] * 4, **opts)
    assert again.value == result.value and again.details["cache_hits"] == 5 and len(stub.requests) == 5
    dump = "\n".join(str(row) for row in sqlite3.connect(cache).execute("SELECT * FROM verdicts"))
    assert "base64" not in dump and "Yes, it does." in dump


def test_questions_from_references_or_options_and_unknown_prompts(stub: StubVLM, tmp_path: Path) -> None:
    video = _video(tmp_path / "green.mp4", YELLOW, GREEN, split=BLUE)
    opts = {"task": TASK, "judge": "openai:m", "judge_base_url": stub.url, "judge_cache": False,
            "video_qa_frames": 2}
    # one question, passed with the reference: "is it green at the end?" -> success
    ref = {"prompt": "paint mixing", "questions": ["Finally, does the paint become green? (yes or no)"]}
    assert compute("success_rate", [video], [ref], **opts) == 100.0
    assert compute("success_rate", [video], ["anything"], video_questions=[MIX_QUESTIONS], **opts) == 100.0
    with pytest.raises(MetricError, match=r"instance 0: no VBench-2.0 questions for prompt 'a cat'.*video_questions"):
        compute("success_rate", [video], ["a cat"], **opts)


def test_no_judge_or_a_text_only_judge_is_a_clear_error(tmp_path: Path) -> None:
    video = _video(tmp_path / "v.mp4", YELLOW, GREEN, split=BLUE, n=4)
    with pytest.raises(MetricError, match=r"Material video QA\)' needs an LLM judge.*never replaced"):
        compute("success_rate", [video], [MIX], task=TASK)

    class TextOnly:
        multimodal = False

        def identity(self) -> dict[str, Any]:
            return {"model": "text-llm"}

    with pytest.raises(MetricError, match="'text-llm' is text-only"):
        compute("success_rate", [video], [MIX], task=TASK, judge=TextOnly())
    with pytest.raises(MetricError, match="no VBench-2.0 dimension"):
        compute("success_rate", [video], [MIX], task=TASK, vbench2_dimension="")


# ---- the local transformers path --------------------------------------------------------------


def _tiny_vlm(folder: Path, first_word: str | None) -> Path:
    """The tiny LLaVA-style VLM of `weights make-tiny`; with `first_word`, its output head is
    zeroed, so every logit ties and greedy decoding emits token 0, which is that word."""
    torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
    transformers = pytest.importorskip("transformers", reason="pip install 'generalbench[models]'")
    from generalbench.metricmodels.tiny import build_image_text_to_text

    torch.manual_seed(0)
    folder.mkdir(parents=True)
    build_image_text_to_text(folder, words=(first_word,) if first_word else ())
    if first_word:
        model = transformers.AutoModelForImageTextToText.from_pretrained(folder)
        with torch.no_grad():
            model.lm_head.weight.zero_()
        model.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_local_vlm_judge_end_to_end(tmp_path: Path) -> None:
    from generalbench.metricmodels.loaders import clear_cache

    videos = [_video(tmp_path / "a.mp4", YELLOW, GREEN, split=BLUE, n=6),
              _video(tmp_path / "b.mp4", BLACK, BLACK, n=6), None]
    opts = {"task": TASK, "judge_cache": tmp_path / "j.sqlite", "video_qa_frames": 3,
            "judge_max_tokens": 3, "device": "cpu"}
    yes = _tiny_vlm(tmp_path / "yes", "yes")
    result = compute_detailed("success_rate", videos, [MIX] * 3, judge=f"local:{yes}", **opts)
    # "yesyesyes" to every question: both present videos succeed, the missing one fails
    assert result.value == pytest.approx(200 / 3) and result.per_instance == [100.0, 100.0, 0.0]
    assert result.details["videos"][0]["answers"] == ["yesyesyes", "yesyesyes"]
    judge = result.details["judge"]
    assert judge["backend"] == "local-transformers" and judge["model"] == "llava-video-7b-qwen2"
    assert judge["architecture"] == "LlavaForConditionalGeneration" and judge["weights"] == str(yes)
    no = _tiny_vlm(tmp_path / "no", "no")
    result = compute_detailed("success_rate", videos, [MIX, RUST, None],
                              video_questions=[None, None, MIX_QUESTIONS], judge=f"local:{no}", **opts)
    # "nonono": the two-question video is invalid, the one-question video and the missing one fail
    assert result.value == 0.0 and result.details["n_invalid"] == 1 and result.details["n_valid"] == 1
    assert result.details["n_missing"] == 1
    assert result.details["videos"][0]["answers"] == ["nonono"]
    clear_cache()


@pytest.mark.slow
def test_local_vlm_sees_the_frames(tmp_path: Path) -> None:
    """A random tiny VLM through the judge, i.e. the models layer's hf backend (the one local
    model loader): different frames give different replies, the same frames the same; audio is
    refused."""
    from PIL import Image

    from generalbench.errors import ModelError
    from generalbench.metricmodels.judges import LocalJudge, media_parts
    from generalbench.models.hf import HFBackend

    folder = _tiny_vlm(tmp_path / "random", None)
    judge = LocalJudge("llava-video-7b-qwen2", weights=str(folder), device="cpu", metric="success_rate")
    assert isinstance(judge.backend, HFBackend) and judge.backend.vision

    def reply(value: int) -> str:
        path = tmp_path / f"img{value}.png"
        Image.fromarray(np.full((40, 56, 3), value, np.uint8)).save(path)
        parts = media_parts([path, path])
        return judge.complete([{"role": "system", "content": "You are a helpful assistant."},
                               {"role": "user", "parts": [*parts, {"text": "Is it?"}]}])[0]

    dark, bright = reply(0), reply(255)
    assert dark != bright and reply(0) == dark
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"")
    with pytest.raises(ModelError, match="takes no audio input"):
        judge.complete([{"role": "user", "parts": media_parts([wav])}])


def test_the_scorer_passes_files_and_prompts_and_records_invalid_videos(
        stub: StubVLM, tmp_path: Path, catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """score_task on the Material task: the judge from the environment, prompts from the
    instances, the model's files read directly; an invalid video has no instance score."""
    from generalbench.data.instances import Instance
    from generalbench.runner.score import score_task_predictions as score_task

    monkeypatch.setenv("GENERALBENCH_JUDGE_BASE_URL", stub.url)
    monkeypatch.setenv("GENERALBENCH_JUDGE_MODEL", "llava-video")
    task = catalog.get(TASK)
    task_dir, pred_dir = tmp_path / "task", tmp_path / "preds"
    task_dir.mkdir()
    pred_dir.mkdir()
    _video(task_dir / "ref.mp4", YELLOW, GREEN, split=BLUE, n=4)
    instances = [Instance(id=f"i{i}", task_id=TASK, inputs={"prompt": MIX}, target="ref.mp4")
                 for i in range(4)]
    _video(pred_dir / "green.mp4", YELLOW, GREEN, split=BLUE)
    _video(pred_dir / "empty.mp4", BLACK, BLACK)
    _video(pred_dir / "stays.mp4", YELLOW, YELLOW, split=BLUE)
    predictions = {"i0": "green.mp4", "i1": "empty.mp4", "i2": "stays.mp4"}  # i3 missing
    detail, rows = score_task(task, instances, predictions, task_folder=task_dir,
                              predictions_folder=pred_dir)
    assert detail.raw == pytest.approx(100 / 3), detail.note  # green / (green, stays, missing)
    assert [r.score for r in rows] == [100.0, None, 0.0, 0.0]  # missing: a failure
    assert [r.status for r in rows] == ["ok", "ok", "ok", "missing"]
    assert detail.details["n_invalid"] == 1 and detail.details["n_missing"] == 1
    assert len(stub.requests) == 5 and len(stub.requests[0]["messages"][1]["content"]) == 65  # 64 frames
