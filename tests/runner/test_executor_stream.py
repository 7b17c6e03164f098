"""The executor answers requests that are still being planned: API workers start on the first
chunk, every request is journaled once, and a planning error ends the run (not a hang)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from generalbench.models.api import GenerationSettings, ModelOutput, ModelRequest
from generalbench.runner.executor import execute
from generalbench.runner.journal import Journal


class EchoBackend:
    name = "echo"
    batch_size = 1

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def generate(self, requests):
        self.sent.append(requests[0].key)
        await asyncio.sleep(0.001)
        return [ModelOutput(text=r.key) for r in requests]

    async def aclose(self) -> None:
        pass


def _requests(n: int, start: int = 0) -> list[ModelRequest]:
    task = SimpleNamespace(id="t")
    return [ModelRequest(key=f"k{i}", task=task, instance=SimpleNamespace(id=str(i)),
                         messages=[], settings=GenerationSettings())
            for i in range(start, start + n)]


def test_streamed_requests_are_each_answered_once_while_planning_goes_on(tmp_path):
    backend = EchoBackend()
    sent_before_last_chunk = []

    async def chunks():
        for c in range(10):
            if c == 9:
                sent_before_last_chunk.extend(backend.sent)
            yield _requests(7, start=7 * c)
            await asyncio.sleep(0.005)

    with Journal(tmp_path / "j") as journal:
        stats = asyncio.run(execute(backend, chunks(), journal, concurrency=4))
        done = journal.done()
    assert stats.ok == 70 and sorted(backend.sent) == sorted(f"k{i}" for i in range(70))
    assert done == {f"k{i}" for i in range(70)}
    assert sent_before_last_chunk  # requests went out before planning ended


def test_a_planning_error_ends_the_run(tmp_path):
    async def chunks():
        yield _requests(3)
        raise RuntimeError("bad data")

    with Journal(tmp_path / "j") as journal, pytest.raises(RuntimeError, match="bad data"):
        asyncio.run(asyncio.wait_for(execute(EchoBackend(), chunks(), journal, concurrency=8), 30))
