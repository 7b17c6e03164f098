"""Any OpenAI-compatible chat server (vLLM, SGLang, TGI, Ollama, hosted APIs) over HTTP/1.1.

One pool of keep-alive connections per backend with a connection limit (models/http1.py, asyncio
streams framed by h11: not httpx, whose pool cost ~20 ms of CPU per request at 64 connections, nor
aiohttp, whose import alone cost 0.15 s of a run's start-up); the executor decides how many calls are in flight
(adaptive concurrency) and retries what this module marks retryable. Auth failures stop the run:
every other request would fail the same way.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Sequence
from typing import Any

from generalbench.data import fastjson
from generalbench.models.api import (
    AuthenticationError,
    MalformedReply,
    ModelCallError,
    ModelOutput,
    ModelRequest,
    RateLimitError,
    RequestRejected,
    RequestTimeout,
    RetryableError,
    ServerUnreachable,
    Usage,
)
from generalbench.models.config import ModelConfig
from generalbench.models.http1 import Pool, ProtocolError, RequestError, Response
from generalbench.models.messages import to_openai

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a core dependency; json still works
    _orjson = None


def _retry_after(response: Response) -> float | None:
    """Retry-After in seconds when it is a finite, non-negative number (an HTTP date, a negative
    or a NaN value is ignored: the executor then backs off on its own schedule, never at once)."""
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _count(usage: Any, name: str) -> int:
    """A token count from the reply's `usage`, 0 when absent or not a non-negative integer: the
    counts are bookkeeping, so a server that fills them badly still gets its answers recorded."""
    value = usage.get(name) if isinstance(usage, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value) if math.isfinite(value) and value >= 0 else 0


def parse_reply(text: str) -> tuple[str, Usage, dict[str, str]]:
    """(answer text, usage, what the server says it served) of a chat-completion body, checked
    field by field.

    A body without a usable answer raises MalformedReply (retried, then recorded as that
    instance's failure): not JSON, no `choices`, a choice without `message`, or `content` that is
    null (a refusal or a tool call, not an empty answer) or not text. A list of text parts (some
    servers send one) is joined.
    """
    try:
        data = fastjson.loads(text, json.loads)
    except ValueError as exc:
        raise MalformedReply(f"malformed reply (not JSON: {exc}): {text[:200]!r}") from None
    if not isinstance(data, dict):
        raise MalformedReply(f"malformed reply (a JSON {type(data).__name__}, not an object): "
                             f"{text[:200]!r}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedReply(f"malformed reply (no choices): {text[:200]!r}")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise MalformedReply(f"malformed reply (choices[0] has no message): {text[:200]!r}")
    content = message.get("content")
    if isinstance(content, list) and all(isinstance(c, dict) for c in content):
        parts = [c.get("text") for c in content if c.get("type", "text") == "text"]
        content = "".join(p for p in parts if isinstance(p, str)) if parts else None
    if content is None:
        why = "a refusal" if message.get("refusal") else "tool calls" if message.get(
            "tool_calls") else "no text"
        raise MalformedReply(f"malformed reply (content is null: {why}): {text[:200]!r}")
    if not isinstance(content, str):
        raise MalformedReply(f"malformed reply (content is a {type(content).__name__}, not "
                             f"text): {text[:200]!r}")
    usage = data.get("usage")
    served = {k: data[k] for k in ("model", "system_fingerprint")
              if isinstance(data.get(k), str) and data[k]}
    return content, Usage(input_tokens=_count(usage, "prompt_tokens"),
                          output_tokens=_count(usage, "completion_tokens")), served


def encode_body(body: dict[str, Any]) -> bytes:
    """The request body as JSON: orjson (a fifth of json's CPU per request), json for what
    orjson refuses (integers beyond 64 bits, keys that are not strings). Both give the same JSON
    value; only NaN and infinities differ (null against json's non-standard literals, which no
    server parses), and the request settings hold neither."""
    if _orjson is not None:
        try:
            return _orjson.dumps(body)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return json.dumps(body).encode()


class OpenAIBackend:
    """Chat completions against `params.base_url` for model `params.model`."""

    batch_size = 1

    def __init__(self, config: ModelConfig) -> None:
        p = config.params
        self.name = config.name
        self.model = p.get("model", config.name)
        self.base_url = str(p["base_url"]).rstrip("/")
        self.api_key = p.get("api_key") or os.environ.get("OPENAI_API_KEY") or ""
        self.settings = config.generation
        self.video_frames = int(p.get("video_frames", 8))
        self.extra_body = dict(p.get("extra_body", {}))
        self.concurrency = int(p.get("concurrency", 32))
        self.timeout = float(p.get("timeout", 120))
        self._headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._pool: Pool | None = None

    def _client(self) -> Pool:
        """The connection pool (connections are opened on first use, inside the event loop)."""
        if self._pool is None:
            self._pool = Pool(self.base_url, self.concurrency, self._headers)
        return self._pool

    def body(self, request: ModelRequest) -> dict[str, Any]:
        s = request.settings
        body: dict[str, Any] = {"model": self.model, "messages": to_openai(
            request.messages, video_frames_n=self.video_frames), "max_tokens": s.max_tokens,
            "temperature": s.temperature, "top_p": s.top_p}
        if s.seed is not None:
            body["seed"] = s.seed
        if s.stop:
            body["stop"] = list(s.stop)
        body.update(self.extra_body)
        return body

    async def _one(self, request: ModelRequest) -> ModelOutput:
        start = time.perf_counter()
        payload = encode_body(self.body(request))
        try:
            response = await self._client().post(
                "/chat/completions", payload, {"Content-Type": "application/json",
                                               "X-GeneralBench-Key": request.key}, self.timeout)
        except asyncio.TimeoutError:
            raise RequestTimeout(f"timeout after {time.perf_counter() - start:.1f}s "
                                 f"(--param timeout={self.timeout:g})") from None
        except OSError as exc:  # refused, reset, closed before the reply was complete
            raise ServerUnreachable(f"connection error: {type(exc).__name__}: {exc}") from None
        except ProtocolError as exc:  # bytes h11 cannot frame as a reply, or a bad encoding
            raise RetryableError(f"client error: {type(exc).__name__}: {exc}") from None
        except RequestError as exc:  # a header h11 will not send: the same every time
            raise RequestRejected(str(exc)) from None
        code = response.status
        text = response.text()
        retry_after = _retry_after(response)
        if code in (401, 403):
            raise AuthenticationError(
                f"{self.base_url}: HTTP {code} (authentication failed); set --api-key or "
                "OPENAI_API_KEY to a valid key for this server")
        if code == 429:
            raise RateLimitError("HTTP 429 rate limited", retry_after=retry_after)
        if code >= 500 or code == 408:
            raise RetryableError(f"HTTP {code}: {text[:200]}", retry_after=retry_after)
        if code >= 400:
            raise RequestRejected(f"HTTP {code}: {text[:300]}")
        if 300 <= code < 400:  # not followed: the URL to use is the user's to set
            raise RequestRejected(f"HTTP {code}: the server redirects to "
                                  f"{response.headers.get('location', '?')}; pass that URL "
                                  "(less /chat/completions) as --base-url")
        content, usage, served = parse_reply(text)
        return ModelOutput(text=content, latency_s=time.perf_counter() - start, usage=usage,
                           served=served)

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        async def safe(r: ModelRequest) -> ModelOutput | ModelCallError:
            try:
                return await self._one(r)
            except ModelCallError as exc:
                return exc

        if len(requests) == 1:  # the executor's usual call: no extra task per request
            return [await safe(requests[0])]
        return list(await asyncio.gather(*(safe(r) for r in requests)))

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def create(config: ModelConfig) -> OpenAIBackend:
    return OpenAIBackend(config)
