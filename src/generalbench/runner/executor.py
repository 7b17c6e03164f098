"""The async executor: feeds requests to a backend, retries what is retryable, journals results.

API backends (batch_size 1) get up to `concurrency` calls in flight; the limit adapts (halved on
rate limits and timeouts, grown back by one per limit's worth of successes) so a struggling server
is not hammered. Local backends get batches (or whole tasks) one call at a time. Every outcome,
success or final failure, is appended to the journal; one instance's failure never stops the run,
only an authentication failure or a server that cannot be reached many times in a row does
(every other call would fail too).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from generalbench.errors import ModelError
from generalbench.models.api import (
    ModelAPI,
    ModelCallError,
    ModelOutput,
    ModelRequest,
    RetryableError,
)
from generalbench.runner.journal import Journal


class AdaptiveLimit:
    """A concurrency limit that callers can lower (AIMD) while calls are in flight."""

    def __init__(self, maximum: int, adaptive: bool = True) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.adaptive = adaptive
        self.in_flight = 0
        self.min_seen = self.maximum
        self._cond = asyncio.Condition()
        self._last_cut = 0.0
        self._ok_since_cut = 0

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1

    async def release(self, *, ok: bool, overloaded: bool = False, timeout: bool = False) -> None:
        """`overloaded`: halve the limit (once per congestion episode). A `timeout` before any
        call has succeeded since the last cut drops it to 1: a server that answers nothing in
        time (one request at a time, 1 token/s on a CPU) is probed with one call, not swamped
        with 32 that it keeps generating for after the client gave up."""
        async with self._cond:
            self.in_flight -= 1
            if self.adaptive:
                now = time.monotonic()
                if overloaded and now - self._last_cut > 1.0:  # one cut per congestion episode
                    starved = timeout and self._ok_since_cut == 0
                    self.limit = 1.0 if starved else max(1.0, self.limit / 2)
                    self.min_seen = min(self.min_seen, int(self.limit))
                    self._last_cut = now
                    self._ok_since_cut = 0
                elif ok:
                    self._ok_since_cut += 1
                    if self.limit < self.maximum:
                        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._cond.notify_all()


@dataclass
class ExecStats:
    ok: int = 0
    failed: int = 0
    retries: int = 0
    timeouts: int = 0
    """Attempts that timed out (each retried or recorded), shown live."""
    errors: dict[str, int] = field(default_factory=dict)
    min_concurrency: int = 0
    seconds: float = 0.0


class ServerDownError(ModelError):
    """Many requests in a row could not reach the server: stop instead of failing every instance."""


def _record(req: ModelRequest, model: str, attempts: int, out: ModelOutput | None,
            err: ModelCallError | None) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": req.key, "task": req.task.id, "id": req.instance.id,
                           "model": model, "attempts": attempts, "t": round(time.time(), 3)}
    if out is not None:
        rec.update(status="ok", prediction=out.value(), text=out.text, files=out.files,
                   usage=out.usage.model_dump(), latency_s=round(out.latency_s, 4))
    else:
        rec.update(status="error", error=f"{type(err).__name__}: {err}")
    prompt = prompt_text(req.messages)
    rec.update(prompt_hash=hashlib.sha256(prompt.encode()).hexdigest()[:16], prompt=prompt)
    return rec


def prompt_text(messages: Sequence[Any]) -> str:
    """The rendered prompt as plain text (media as `<kind: name>`), kept in the journal so a user
    can see what the model was asked (like lm-eval's --log_samples)."""
    lines = []
    for m in messages:
        parts = []
        for part in getattr(m, "parts", ()):
            text = getattr(part, "text", None)
            if text is not None:
                parts.append(text)
            else:
                parts.append(f"<{getattr(part, 'kind', 'media')}: {getattr(part, 'name', '')}>")
        lines.append(f"[{getattr(m, 'role', 'user')}] " + "\n".join(parts))
    return "\n".join(lines)


def _backoff(attempt: int, base: float, err: ModelCallError) -> float:
    """Seconds before the next attempt: the server's Retry-After when it gave a usable one
    (capped at 60 s), else exponential backoff with jitter. Never 0 for a failed attempt."""
    if err.retry_after is not None and err.retry_after > 0:
        return min(60.0, err.retry_after)
    return min(30.0, base * (2 ** (attempt - 1))) * (0.5 + random.random())


def _as_call_error(exc: Exception) -> ModelCallError:
    """A backend bug or an unexpected reply on one request is that instance's retried failure,
    never the end of the run (the journaled answers of every other instance are kept)."""
    if isinstance(exc, ModelCallError):
        return exc
    return RetryableError(f"backend error: {type(exc).__name__}: {exc}")


async def execute(backend: ModelAPI,
                  requests: Sequence[ModelRequest] | AsyncIterable[Sequence[ModelRequest]],
                  journal: Journal, *,
                  concurrency: int = 32, max_retries: int = 3, backoff: float = 0.5,
                  adaptive: bool = True, max_unreachable: int = 20,
                  on_result: Callable[[ModelRequest, dict[str, Any]], None] | None = None,
                  on_failure: Callable[[ModelRequest, ModelCallError, bool], None] | None = None,
                  ) -> ExecStats:
    """Answer `requests` with `backend`, journaling each final outcome.

    `requests` may be an async iterable of chunks (a run still rendering prompts): API workers
    start on the first chunk; batched backends take them all first.

    Raises ServerDownError after `max_unreachable` attempts in a row (0: never) failed to reach
    the server, and AuthenticationError at once; either way what was journaled stays journaled.
    In-flight requests are cancelled when the run stops (their connections closed, so a server
    that watches for disconnects stops generating for them).
    """
    stats = ExecStats(min_concurrency=concurrency)
    start = time.perf_counter()
    model = getattr(backend, "name", "model")
    unreachable = [0, ""]  # attempts in a row that could not reach the server, the last error

    def finish(req: ModelRequest, attempts: int, out: ModelOutput | None,
               err: ModelCallError | None) -> None:
        rec = _record(req, model, attempts, out, err)
        journal.append(rec)
        if out is not None:
            stats.ok += 1
        else:
            stats.failed += 1
            kind = type(err).__name__
            stats.errors[kind] = stats.errors.get(kind, 0) + 1
        if on_result:
            on_result(req, rec)

    def note_failure(req: ModelRequest, err: ModelCallError, retrying: bool) -> None:
        """Every failed attempt: counted (timeouts, unreachable in a row) and reported live,
        with whether it will be retried."""
        if err.overloaded and not err.rate_limited:
            stats.timeouts += 1
        if err.unreachable:
            unreachable[0] += 1
            unreachable[1] = str(err)
            if max_unreachable and unreachable[0] >= max_unreachable:
                raise ServerDownError(
                    f"stopped: {unreachable[0]} requests in a row could not reach the server "
                    f"({unreachable[1]}); start the server or fix --base-url, then rerun to "
                    "resume (answers so far are saved)")
        else:
            unreachable[0] = 0
        if on_failure:
            on_failure(req, err, retrying)

    if backend.batch_size == 1:
        limit = AdaptiveLimit(concurrency, adaptive)
        queue: asyncio.Queue[ModelRequest | None] = asyncio.Queue()  # None: no more requests
        feeder = None
        if isinstance(requests, Sequence):
            for r in requests:
                queue.put_nowait(r)
            queue.put_nowait(None)
            n_workers = min(concurrency, len(requests))
        else:  # requests still being planned: workers wait for them
            async def feed() -> None:
                try:
                    async for chunk in requests:
                        for r in chunk:
                            queue.put_nowait(r)
                finally:
                    queue.put_nowait(None)

            feeder = asyncio.create_task(feed())
            n_workers = concurrency

        async def worker() -> None:
            while True:
                req = await queue.get()
                if req is None:
                    queue.put_nowait(None)  # for the next worker
                    return
                attempt = 0
                while True:
                    attempt += 1
                    await limit.acquire()
                    try:
                        result: ModelOutput | ModelCallError = (await backend.generate([req]))[0]
                    except (ModelError, asyncio.CancelledError):
                        await limit.release(ok=False)
                        raise
                    except Exception as exc:  # noqa: BLE001 - one instance's failure, see above
                        result = _as_call_error(exc)
                    except BaseException:
                        await limit.release(ok=False)
                        raise
                    failed = isinstance(result, ModelCallError)
                    await limit.release(ok=not failed, overloaded=failed and result.overloaded,
                                        timeout=failed and result.overloaded
                                        and not result.rate_limited)
                    if not failed:
                        unreachable[0] = 0
                        finish(req, attempt, result, None)
                        break
                    retrying = result.retryable and attempt <= max_retries
                    note_failure(req, result, retrying)
                    if not retrying:
                        finish(req, attempt, None, result)
                        break
                    stats.retries += 1
                    await asyncio.sleep(_backoff(attempt, backoff, result))

        workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
        tasks = [*workers, *([feeder] if feeder is not None else [])]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        stats.min_concurrency = limit.min_seen
    else:
        # batch_size 0: one call per task (offline engines schedule a task's prompts together);
        # n > 1: chunks of `chunk_size` across tasks (one config, so one set of settings), which
        # the backend sorts by length into batches of n
        groups: dict[str, list[ModelRequest]] = {}
        if not isinstance(requests, Sequence):
            requests = [r async for chunk in requests for r in chunk]
        for r in requests:
            groups.setdefault(r.task.id if backend.batch_size == 0 else "", []).append(r)
        for reqs in groups.values():
            size = getattr(backend, "chunk_size", 0) or backend.batch_size or len(reqs)
            for i in range(0, len(reqs), size):
                pending = reqs[i:i + size]
                attempt = 0
                while pending:
                    attempt += 1
                    results = await backend.generate(pending)
                    retry = []
                    for req, result in zip(pending, results, strict=True):
                        if not isinstance(result, ModelCallError):
                            finish(req, attempt, result, None)
                            continue
                        note_failure(req, result, result.retryable and attempt <= max_retries)
                        if result.retryable and attempt <= max_retries:
                            retry.append(req)
                        else:
                            finish(req, attempt, None, result)
                    if retry:
                        stats.retries += len(retry)
                        await asyncio.sleep(backoff * (2 ** (attempt - 1)))
                    pending = retry
    stats.seconds = time.perf_counter() - start
    return stats
