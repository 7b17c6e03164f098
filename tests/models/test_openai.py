"""The openai backend against a local OpenAI-compatible server: media encoding, retries,
recorded failures and a clear stop on auth errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import numpy as np
import pytest

from generalbench.data import Instance
from generalbench.data.media import save_audio, save_image
from generalbench.models.api import AuthenticationError, ModelRequest
from generalbench.models.config import ModelConfig
from generalbench.models.messages import to_openai
from generalbench.models.openai import OpenAIBackend
from generalbench.models.testserver import FAULTS, TestServer
from generalbench.prompts import MediaPart, Message, TextPart
from generalbench.runner.executor import AdaptiveLimit, execute
from generalbench.runner.journal import Journal


def test_media_parts_become_data_urls_input_audio_and_frames(tmp_path):
    img = tmp_path / "a.png"
    save_image(img, np.full((4, 5, 3), 200, np.uint8))
    wav = tmp_path / "a.wav"
    save_audio(wav, np.zeros(800, np.float32), 8000)
    frames = tmp_path / "clip"
    frames.mkdir()
    for i in range(10):
        save_image(frames / f"{i}.png", np.full((4, 4, 3), i * 20, np.uint8))
    msg = Message(role="user", parts=[
        TextPart(text="look"), MediaPart(kind="image", path=str(img), name="a.png"),
        MediaPart(kind="audio", path=str(wav), name="a.wav"),
        MediaPart(kind="frames", path=str(frames), name="clip")])
    (out,) = to_openai([msg], video_frames_n=3)
    kinds = [c["type"] for c in out["content"]]
    assert kinds == ["text", "image_url", "input_audio", "image_url", "image_url", "image_url"]
    url = out["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == img.read_bytes()
    audio = out["content"][2]["input_audio"]
    assert audio["format"] == "wav" and base64.b64decode(audio["data"]) == wav.read_bytes()
    text_only = to_openai([Message(role="user", parts=[TextPart(text="hi")])])
    assert text_only == [{"role": "user", "content": "hi"}]


def requests_for(catalog, n):
    task = next(t for t in catalog if t.modality == "language" and t.output == "text")
    return [ModelRequest(key=hashlib.sha256(str(i).encode()).hexdigest()[:32], task=task,
                         instance=Instance(id=str(i), task_id=task.id),
                         messages=[Message(role="user", parts=[TextPart(text=f"q{i}")])])
            for i in range(n)]


def backend(url, **params):
    return OpenAIBackend(ModelConfig(name="m", backend="openai",
                                     params={"model": "m", "base_url": url, **params}))


def run_exec(b, reqs, folder, **kw):
    async def go():
        try:
            with Journal(folder) as j:
                stats = await execute(b, reqs, j, **kw)
                j.flush()
                return stats, j.latest()
        finally:
            await b.aclose()
    return asyncio.run(go())


def test_faults_are_retried_until_answered(tmp_path, catalog):
    reqs = requests_for(catalog, 48)
    with TestServer(tmp_path / "srv", fail_every=3, fail_times=1, hang=5, reply="echo") as srv:
        stats, latest = run_exec(backend(srv.base_url, timeout=0.5), reqs, tmp_path / "j",
                                 concurrency=8, max_retries=3, backoff=0.01)
        keys = srv.keys()
    assert stats.ok == 48 and stats.failed == 0 and stats.retries > 0
    assert all(latest[r.key]["status"] == "ok" for r in reqs)
    assert latest[reqs[5].key]["prediction"] == "q5"  # echo: answers belong to their requests
    faulted = [k for k in set(keys) if keys.count(k) > 1]
    assert len(keys) == 48 + len(faulted) and len(faulted) == stats.retries


def test_persistent_faults_are_recorded_not_fatal(tmp_path, catalog):
    reqs = requests_for(catalog, 30)
    with TestServer(tmp_path / "srv", fail_every=2, fail_times=99, hang=5) as srv:
        stats, latest = run_exec(backend(srv.base_url, timeout=0.5), reqs, tmp_path / "j",
                                 concurrency=8, max_retries=2, backoff=0.01)
        keys = srv.keys()
    failed = {r.key for r in reqs if latest[r.key]["status"] == "error"}
    assert stats.failed == len(failed) > 0 and stats.ok == 30 - len(failed)
    assert all(keys.count(k) == 3 for k in failed)  # first try + 2 retries
    assert set(stats.errors) <= {"RetryableError", "RateLimitError", "RequestTimeout",
                                 "MalformedReply"}
    msgs = " ".join(latest[k]["error"] for k in failed)
    for fault in ("HTTP 500", "429", "malformed", "timeout"):
        assert fault in msgs, (fault, FAULTS)


def test_bad_key_stops_the_run_with_a_clear_error(tmp_path, catalog):
    with TestServer(tmp_path / "srv", require_key="right") as srv:
        with pytest.raises(AuthenticationError, match="api-key"):
            run_exec(backend(srv.base_url, api_key="wrong"), requests_for(catalog, 5),
                     tmp_path / "j", concurrency=2)
        stats, _ = run_exec(backend(srv.base_url, api_key="right"), requests_for(catalog, 5),
                            tmp_path / "j2", concurrency=2)
    assert stats.ok == 5


def test_adaptive_limit_halves_on_overload_and_recovers():
    async def go():
        lim = AdaptiveLimit(16)
        await lim.acquire()
        await lim.release(ok=False, overloaded=True)
        after_cut = lim.limit
        for _ in range(200):
            await lim.acquire()
            await lim.release(ok=True)
        return after_cut, lim.limit
    cut, back = asyncio.run(go())
    assert cut == 8 and back == 16


def test_timeouts_before_any_answer_drop_the_limit_to_one_then_it_grows_back():
    async def go():
        lim = AdaptiveLimit(32)
        await lim.acquire()
        await lim.release(ok=False, overloaded=True, timeout=True)
        starved = lim.limit
        lim._last_cut = 0.0
        for _ in range(5):
            await lim.acquire()
            await lim.release(ok=True)
        await lim.acquire()
        await lim.release(ok=False, overloaded=True, timeout=True)  # after answers: halve
        return starved, lim.limit
    starved, later = asyncio.run(go())
    assert starved == 1 and 1 < later < 3


def test_rate_limits_lower_the_concurrency_in_flight(tmp_path, catalog):
    reqs = requests_for(catalog, 40)
    with TestServer(tmp_path / "srv", fail_every=1, fail_times=1, hang=2, latency=0.02) as srv:
        stats, _ = run_exec(backend(srv.base_url, timeout=0.5), reqs, tmp_path / "j",
                            concurrency=16, max_retries=2, backoff=0.01)
        assert len(srv.keys()) == 80  # every request failed once, then succeeded
    assert stats.ok == 40 and stats.retries == 40
    assert stats.min_concurrency <= 8  # halved at least once by 429s/timeouts
