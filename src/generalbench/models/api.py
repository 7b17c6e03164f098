"""The one ModelAPI every backend implements, and the request/response types it speaks.

A backend sees rendered chat messages (text and media parts, media by path), generation settings
and the task/instance they came from, and returns an output: text, a native prediction (for
baselines), or artifact files (for generation tasks), with usage and timing. Failures are typed so
the executor can tell what to retry (rate limits, 5xx, timeouts, malformed replies), what to record
for one instance (a request the server rejects), and when to stop the whole run (bad credentials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from generalbench.errors import ModelError


class GenerationSettings(BaseModel):
    """Decoding settings; part of every journal fingerprint, so changing one re-runs the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelRequest:
    """One instance to answer. `messages` are the prompt layer's Message objects."""

    key: str
    """Journal fingerprint; backends may forward it (e.g. as a request header) for tracing."""
    task: Any
    """generalbench.catalog.Task."""
    instance: Any
    """generalbench.data Instance: id, inputs and media references (never decoded here)."""
    messages: Sequence[Any]
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    artifact_dir: Path | None = None
    """Where a backend writes generated files (images, audio, ...) for this request's task."""
    context: dict[str, Any] = field(default_factory=dict)
    """Per-task facts a backend may use (e.g. a baseline's label counts); never model-specific."""


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0


class ModelOutput(BaseModel):
    """What a backend returns for one request."""

    text: str | None = None
    """Free-form output, parsed into the task's native type at scoring time."""
    prediction: Any = None
    """A native prediction (label, number, path to a written file, ...) when the backend has one."""
    files: list[str] = Field(default_factory=list)
    """Artifact files written under the request's artifact_dir (absolute paths)."""
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    served: dict[str, Any] = Field(default_factory=dict)
    """What the server reports about itself (served model name, system fingerprint): recorded
    with judge verdicts so a reader can tell which model version answered."""

    def value(self) -> Any:
        """The value that goes into the predictions file (None: the backend gave no prediction)."""
        return self.prediction if self.prediction is not None else self.text


class ModelCallError(Exception):
    """A call failed. `retryable` failures are retried with backoff before being recorded.

    `overloaded` failures (rate limits, timeouts) make the executor lower its concurrency;
    `unreachable` ones (refused or reset connections) count towards stopping a run whose server
    is down, instead of failing every instance one by one.
    """

    retryable = False
    rate_limited = False
    overloaded = False
    unreachable = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetryableError(ModelCallError):
    """Timeouts, connection resets, 5xx and malformed replies: worth another try."""

    retryable = True


class RateLimitError(RetryableError):
    """429: retried, and the executor lowers its concurrency."""

    rate_limited = True
    overloaded = True


class RequestTimeout(RetryableError):
    """No reply within the timeout: retried, and the executor lowers its concurrency (a server
    that answers one request at a time times out everything it queues)."""

    overloaded = True


class ServerUnreachable(RetryableError):
    """The connection was refused, reset or dropped: retried; many in a row stop the run."""

    unreachable = True


class MalformedReply(RetryableError):
    """The server answered 2xx with a reply that is not a usable chat completion."""


class RequestRejected(ModelCallError):
    """4xx other than auth/rate limit: this request will fail again; record it and move on."""


class AuthenticationError(ModelError):
    """401/403: every request will fail the same way, so the run stops with a clear message."""


@runtime_checkable
class ModelAPI(Protocol):
    """An async model backend.

    `batch_size` tells the executor how to feed it: 1 = one request per call, run concurrently up to
    the connection limit (API servers); n > 1 = lists of up to n requests (local batching); 0 = every
    pending request of a task in one call (offline engines such as vLLM).
    """

    name: str
    batch_size: int

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        """One output or one error per request, in request order."""
        ...

    async def aclose(self) -> None: ...


def copy_artifact(src: Path, dest: Path) -> Path:
    """Copy a generated artifact, a file or a frame folder, to `dest` (parents created)."""
    import shutil

    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dest)
    return dest
