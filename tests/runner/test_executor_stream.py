"""The executor answers requests that are still being planned: API workers start on the first
chunk, every request is journaled once, and a planning error ends the run (not a hang)."""

from __future__ import annotations

import asyncio
import dataclasses
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


def test_a_backend_with_per_task_statistics_gets_each_task_whole_before_its_requests():
    """Planning streams a task's instances; a backend with `prepare` (per-task statistics) is
    prepared with every instance of the task before any of its requests is handed on."""
    from generalbench.runner.run import TaskPlan, _prepared

    plans = [TaskPlan(task=SimpleNamespace(id=t), config=None) for t in ("a", "b", "c")]
    reqs = {tp.task.id: [dataclasses.replace(_requests(1, start=10 * n + i)[0], task=tp.task)
                         for i in range(5)] for n, tp in enumerate(plans)}

    async def stream():  # like run._stream: chunks of 2, `planned` set with the last one
        for tp in plans:
            todo = reqs[tp.task.id]
            for i in range(0, len(todo), 2):
                tp.all_instances += [r.instance for r in todo[i:i + 2]]
                tp.planned = i + 2 >= len(todo)
                if tp.task.id != "b" or i == 0:  # b's later chunks: answered in the journal
                    yield tp, todo[i:i + 2]
                await asyncio.sleep(0)

    class Preparing(EchoBackend):
        def __init__(self) -> None:
            super().__init__()
            self.prepared: dict[str, int] = {}

        def prepare(self, task, instances) -> None:
            self.prepared[task.id] = len(instances)

    async def main():
        backend = Preparing()
        rest = stream()
        first = await anext(rest)
        out = []
        async for chunk in _prepared(backend, first, rest):
            for r in chunk:
                assert backend.prepared.get(r.task.id) == 5
            out += [r.key for r in chunk]
        return out

    assert asyncio.run(main()) == [r.key for t in "abc" for r in reqs[t]
                                   if t != "b" or r.key in ("k10", "k11")]
