"""Server replies are checked field by field: a bad reply is a counted, retried failure of its
instance, never the end of the run; a dead server stops the run with one line."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from generalbench.models.api import MalformedReply, RateLimitError
from generalbench.models.openai import parse_reply
from generalbench.runner.executor import ServerDownError, _backoff
from tests.local_server import QuietHandler, serving
from tests.models.test_openai import backend, requests_for, run_exec


def completion(content, usage=None) -> str:
    body = {"choices": [{"message": {"role": "assistant", "content": content}}]}
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body)


@pytest.mark.parametrize("usage", [{"prompt_tokens": "lots"}, {"completion_tokens": -3},
                                   {"prompt_tokens": 1e400}, "many", [1, 2], {"prompt_tokens": None}])
def test_a_bad_usage_field_keeps_the_answer(usage):
    text, counted, _ = parse_reply(completion("Paris", usage))
    assert text == "Paris" and counted.input_tokens == 0


@pytest.mark.parametrize("body", [
    completion(None), completion(None) .replace('"content": null', '"content": null, "refusal": "no"'),
    completion(7), completion({"a": 1}), "[]", "null", "{}", '{"choices": []}',
    '{"choices": ["x"]}', '{"choices": [{"message": "hi"}]}', "not json"])
def test_a_reply_without_an_answer_is_a_malformed_reply(body):
    with pytest.raises(MalformedReply):
        parse_reply(body)


def test_text_parts_are_joined():
    assert parse_reply(completion([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]))[0] == "ab"
    assert parse_reply(completion(""))[0] == ""  # an empty string is an (empty) answer


def test_a_negative_or_zero_retry_after_is_not_retried_at_once():
    for value in (-5.0, 0.0):
        waits = [_backoff(1, 0.5, RateLimitError("429", retry_after=value)) for _ in range(50)]
        assert min(waits) >= 0.25


class Flaky(QuietHandler):
    """Odd attempts of each prompt get `content: null` or a garbled usage, even ones an answer."""

    seen: dict[str, int] = {}

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        n = self.seen[prompt] = self.seen.get(prompt, 0) + 1
        if prompt.endswith("7"):  # always null: recorded as a failure after the retries
            payload = {"choices": [{"message": {"content": None}}]}
        elif n == 1:
            payload = {"choices": [{"message": {"content": None}}]}
        else:
            payload = {"choices": [{"message": {"content": f"a{prompt}"}}],
                       "usage": {"prompt_tokens": "lots", "completion_tokens": {}}}
        self.send_json(payload)


def test_null_content_is_retried_and_bad_usage_does_not_stop_the_run(tmp_path, catalog):
    reqs = requests_for(catalog, 10)
    with serving(Flaky) as url:
        stats, latest = run_exec(backend(url + "/v1"), reqs, tmp_path / "j", concurrency=4,
                                 max_retries=2, backoff=0.01)
    assert stats.ok == 9 and stats.failed == 1 and stats.retries == 9 + 2
    assert stats.errors == {"MalformedReply": 1}
    assert latest[reqs[7].key]["status"] == "error" and "content is null" in latest[reqs[7].key]["error"]
    assert latest[reqs[3].key]["prediction"] == "aq3"
    assert latest[reqs[3].key]["prompt"].endswith("q3")  # the rendered prompt is journaled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_server_stops_the_run_with_one_line(tmp_path, catalog):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ServerDownError, match="in a row could not reach the server"):
        run_exec(backend(url), requests_for(catalog, 200), tmp_path / "j", concurrency=8,
                 max_retries=3, backoff=0.01, max_unreachable=10)
    assert time.monotonic() - start < 30


def test_the_connection_pool_follows_the_concurrency():
    async def go():
        b = backend("http://127.0.0.1:9/v1", concurrency=64)
        try:
            return b._client().limit
        finally:
            await b.aclose()
    assert asyncio.run(go()) == 64


def test_a_timed_out_request_is_cancelled_at_the_server(tmp_path, catalog):
    """The client closes the connection of a request it gives up on, so a server that watches
    for disconnects stops generating for it (transformers serve kept generating otherwise)."""
    closed: list[float] = []

    async def go():
        async def handle(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            start = asyncio.get_running_loop().time()
            await reader.read()  # never answer; returns when the client closes the connection
            closed.append(asyncio.get_running_loop().time() - start)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        b = backend(f"http://127.0.0.1:{port}/v1", timeout=0.3)
        try:
            out = await b.generate(requests_for(catalog, 2))
        finally:
            await b.aclose()
        for _ in range(50):
            if len(closed) == 2:
                break
            await asyncio.sleep(0.05)
        server.close()
        return out

    out = asyncio.run(go())
    assert all(type(o).__name__ == "RequestTimeout" for o in out)
    assert len(closed) == 2 and max(closed) < 2.0


def test_an_unexpected_backend_error_fails_one_instance_not_the_run(tmp_path, catalog):
    from generalbench.models.api import ModelOutput

    class Buggy:
        name, batch_size = "buggy", 1

        async def generate(self, requests):
            if requests[0].instance.id == "3":
                raise ValueError("invalid literal for int() with base 10: 'lots'")
            return [ModelOutput(text="ok")]

        async def aclose(self):
            return None

    stats, latest = run_exec(Buggy(), requests_for(catalog, 6), tmp_path / "j", concurrency=2,
                             max_retries=1, backoff=0.01)
    assert stats.ok == 5 and stats.failed == 1 and stats.retries == 1
    bad = [r for r in latest.values() if r["status"] == "error"]
    assert len(bad) == 1 and "backend error: ValueError" in bad[0]["error"]
