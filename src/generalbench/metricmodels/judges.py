"""LLM judges: an OpenAI-compatible endpoint or a local transformers model, with a response cache.

The judges speak through `generalbench.models`, the same backends a run uses: an endpoint through
`models.openai.OpenAIBackend`, a local text model (folder or GGUF) through `models.hf.HFBackend`;
there is no second HTTP client or model loader here. Messages are the models layer's format
(`{"role", "content"}` or `{"role", "parts": [{"text"} | {"media": {"path", "kind"}}]}`, media by
path, encoded only into the outgoing request). A judge is configured explicitly (options or
environment); when it cannot be reached the error is loud (MetricError/ModelError), never a
fallback to exact match. Every verdict is cached in SQLite under sha256(judge id + rubric sha +
rendered messages), and the judge's identity (backend, model, the version string the server
reports) is recorded with results.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import os
import sqlite3
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from generalbench.errors import MetricError, ModelError

ENV_BASE_URL = "GENERALBENCH_JUDGE_BASE_URL"
ENV_MODEL = "GENERALBENCH_JUDGE_MODEL"
ENV_API_KEY = "GENERALBENCH_JUDGE_API_KEY"
ENV_JUDGE = "GENERALBENCH_JUDGE"  # e.g. "local" or "openai:gpt-4o-2024-08-06"


# ---- rubrics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rubric:
    """A pinned judge prompt: system text, user template and the answer scale."""

    id: str
    version: int
    system: str
    template: str
    scale: tuple[int, int]
    media: str = "optional"

    @property
    def sha256(self) -> str:
        blob = json.dumps([self.id, self.version, self.system, self.template, self.scale, self.media])
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


@lru_cache(maxsize=1)
def _rubrics() -> dict[str, dict[str, Any]]:
    text = resources.files("generalbench.metricmodels").joinpath("rubrics.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def rubric_for(task_id: str | None) -> Rubric:
    """The task's pinned rubric, or the default one."""
    raw = _rubrics().get(task_id or "", _rubrics()["default"])
    lo, hi = raw["scale"]
    return Rubric(raw["id"], int(raw["version"]), raw["system"].strip(), raw["template"],
                  (int(lo), int(hi)), raw.get("media", "optional"))


# ---- messages -------------------------------------------------------------------------------


def _media_part(path: Path) -> dict[str, Any]:
    """A models-layer media part (by path) for an image or audio file the judge can take."""
    mime = mimetypes.guess_type(path.name)[0] or ""
    if mime.startswith("image/"):
        return {"media": {"path": str(path), "kind": "image"}}
    if mime.startswith("audio/") or path.suffix.lower() in {".wav", ".mp3", ".flac"}:
        return {"media": {"path": str(path), "kind": "audio"}}
    raise MetricError(f"{path}: the judge cannot take media of type {mime or path.suffix!r}")


def media_parts(paths: list[Path]) -> list[dict[str, Any]]:
    """Message parts for media files, in order (e.g. a video's sampled frames as PNGs)."""
    return [_media_part(Path(p)) for p in paths]


def build_messages(rubric: Rubric, *, question: str, reference: str, prediction: str,
                   media: list[Path] | None = None) -> list[dict[str, Any]]:
    """System + user messages; media files become parts after the text."""
    lo, hi = rubric.scale
    text = rubric.template.format(question=question, reference=reference, prediction=prediction,
                                  lo=lo, hi=hi)
    user: dict[str, Any] = {"role": "user", "content": text}
    if media:
        user = {"role": "user", "parts": [{"text": text}, *media_parts(list(media))]}
    return [{"role": "system", "content": rubric.system}, user]


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages as an OpenAI-compatible request carries them (media encoded inline)."""
    from generalbench.models.messages import to_openai

    return to_openai(messages)


def _cache_view(messages: list[dict[str, Any]]) -> str:
    """The wire messages with media replaced by their content hash (cache keys, never logs of
    base64); the same key the judge's earlier own client gave, so existing caches stay valid."""
    def part(p: Any) -> Any:
        if isinstance(p, dict) and p.get("type") in {"image_url", "input_audio"}:
            return {"type": p["type"], "sha256": hashlib.sha256(json.dumps(p).encode()).hexdigest()}
        return p

    return json.dumps([{**m, "content": m["content"] if isinstance(m["content"], str)
                        else [part(p) for p in m["content"]]} for m in wire_messages(messages)],
                      sort_keys=True)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a backend coroutine from synchronous metric code, also when an event loop is running
    in this thread (then in a worker thread with its own loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


# ---- judges ---------------------------------------------------------------------------------


class Judge(Protocol):
    multimodal: bool

    def identity(self) -> dict[str, Any]: ...

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]: ...


@dataclass
class OpenAICompatibleJudge:
    """Chat completions at `{base_url}/chat/completions` (OpenAI, vLLM, llama.cpp, Ollama...),
    sent by the models layer's OpenAI backend; transient failures are retried with backoff."""

    base_url: str
    model: str
    api_key: str | None = None
    multimodal: bool = False
    timeout: float = 60.0
    max_tokens: int = 16
    retries: int = 2
    backoff: float = 0.5
    served: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return {"backend": "openai-compatible", "base_url": self.base_url, "model": self.model,
                **self.served}

    def _backend(self) -> Any:
        from generalbench.models.config import ModelConfig
        from generalbench.models.openai import OpenAIBackend

        params = {"base_url": self.base_url, "model": self.model, "timeout": self.timeout,
                  "concurrency": 1, "api_key": self.api_key or ""}
        return OpenAIBackend(ModelConfig(name=f"judge:{self.model}", backend="openai",
                                         params=params))

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]:
        from generalbench.models.api import (
            GenerationSettings,
            ModelCallError,
            ModelRequest,
            RetryableError,
        )

        request = ModelRequest(key="judge", task=None, instance=None, messages=messages,
                               settings=GenerationSettings(max_tokens=self.max_tokens,
                                                           temperature=0.0, seed=None))
        url = self.base_url.rstrip("/") + "/chat/completions"

        async def call() -> Any:
            backend = self._backend()
            try:
                return (await backend.generate([request]))[0]
            finally:
                await backend.aclose()

        for attempt in range(self.retries + 1):
            out = _run(call())
            if isinstance(out, RetryableError) and attempt < self.retries:
                time.sleep(max(self.backoff * 2 ** attempt, min(out.retry_after or 0.0, 30.0)))
                continue
            break
        if isinstance(out, RetryableError):
            raise ModelError(f"judge {self.model!r} at {url} is unavailable after {attempt + 1} "
                             f"attempt(s): {out}; start the server or set {ENV_BASE_URL}")
        if isinstance(out, ModelCallError):
            raise ModelError(f"judge {self.model!r} at {url} rejected the request: {out}")
        self.served = {f"served_{k}": v for k, v in out.served.items()}
        return out.text or "", self.served


@lru_cache(maxsize=4)
def _local_backend(path: str, device: str, vision: bool) -> Any:
    """One loaded local model per (weights path, device, kind), through the models layer: a text
    model (folder or GGUF) or, with `vision`, an image-text-to-text model (AutoProcessor)."""
    from generalbench.models.config import ModelConfig
    from generalbench.models.hf import HFBackend

    params: dict[str, Any] = {"path": path, "device": device, "batch_size": 1}
    if vision:
        params["vision"] = True
    return HFBackend(ModelConfig(name=f"judge:{Path(path).name}", backend="hf", params=params))


def _architecture(folder: Path) -> str | None:
    """Which architecture a transformers folder holds (a path may hold any VLM)."""
    config = folder / "config.json"
    if not config.is_file():
        return None
    raw = json.loads(config.read_text("utf-8"))
    return ",".join(raw.get("architectures") or [raw.get("model_type", "?")])


class LocalJudge:
    """A local model (a models.yaml id or a folder/GGUF path) through the models layer's hf
    backend, the one local-model loader: a text model (the judge's verdict ranked over the
    rubric's scale values), or a vision-language model (images; the entry's loader is
    `hf_image_text_to_text`) answering by greedy generation."""

    def __init__(self, model_id: str = "smollm2-135m-instruct-gguf", weights: str | None = None,
                 device: str = "auto", max_new_tokens: int = 8, metric: str = "gpt_score") -> None:
        from generalbench.metricmodels.weights import resolve

        self.resolved = resolve(model_id, path=weights, metric=metric)
        self.max_new_tokens = max_new_tokens
        self.multimodal = self.resolved.model.loader == "hf_image_text_to_text"
        root = self.resolved.root
        if self.multimodal:
            path = root if root.is_dir() else root.parent
        else:
            ggufs = [p for p in self.resolved.files.values() if p.suffix == ".gguf"]
            path = root if root.is_file() else (ggufs[0] if ggufs else root)
        self.path = path
        """What the hf backend loads: a transformers folder (vision) or a folder / .gguf file."""
        self.backend = _local_backend(str(path), device, self.multimodal)

    def identity(self) -> dict[str, Any]:
        w = self.resolved
        ident: dict[str, Any] = {
            "backend": "local-transformers",
            "decoding": "greedy generation" if self.multimodal else "likelihood-ranked scale values",
            "model": w.model.id, "weights": str(w.root), "origin": w.origin, "loader": "models.hf"}
        if self.multimodal and (arch := _architecture(self.path)):
            ident["architecture"] = arch
        return ident

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]:
        if scale is not None and not self.multimodal:
            choices = [str(v) for v in range(scale[0], scale[1] + 1)]
            return self.backend.choose(messages, choices, prefix="Score: "), {}
        from generalbench.models.api import GenerationSettings, ModelCallError, ModelRequest

        request = ModelRequest(key="judge", task=None, instance=None, messages=messages,
                               settings=GenerationSettings(max_tokens=self.max_new_tokens,
                                                           temperature=0.0))
        out = _run(self.backend.generate([request]))[0]
        if isinstance(out, ModelCallError):
            raise ModelError(f"local judge {self.resolved.model.id!r}: {out}")
        return out.text or "", {}


def judge_from_options(options: dict[str, Any], *, metric: str = "gpt_score",
                       local_default: str = "smollm2-135m-instruct-gguf") -> Judge:
    """Build the judge the user configured; no configuration is an error, not a fallback.

    options['judge'] (or $GENERALBENCH_JUDGE): 'local' | 'local:<model id or path>' |
    'openai:<model>' | a Judge object; otherwise $GENERALBENCH_JUDGE_BASE_URL +
    $GENERALBENCH_JUDGE_MODEL select an endpoint. 'local' means `local_default`, the model the
    metric's reference values come from; a path is loaded as that model's files.
    options['judge_max_tokens'] limits the reply (default: 16 tokens, 8 for a local model);
    options['judge_timeout'] is an endpoint's time limit per request in seconds (default 60).
    """
    spec = options.get("judge") or os.environ.get(ENV_JUDGE) or None
    if spec is not None and not isinstance(spec, str):
        return spec  # an already-built judge
    if spec is None and os.environ.get(ENV_BASE_URL):
        spec = "openai:" + os.environ.get(ENV_MODEL, "")
    if spec is None:
        raise MetricError(f"metric {metric!r} needs an LLM judge and none is configured: set "
                          f"{ENV_JUDGE}=local (or local:<model id or path>), or {ENV_BASE_URL} + "
                          f"{ENV_MODEL} (+ {ENV_API_KEY}) for an OpenAI-compatible endpoint, or pass "
                          "judge=...; it is never replaced by exact match")
    max_tokens = options.get("judge_max_tokens")
    kind, _, arg = spec.partition(":")
    if kind == "openai":
        base = options.get("judge_base_url") or os.environ.get(ENV_BASE_URL)
        model = arg or os.environ.get(ENV_MODEL)
        if not base or not model:
            raise MetricError(f"judge {spec!r}: set {ENV_BASE_URL} (or judge_base_url=) and the model "
                              f"name (judge='openai:<model>' or {ENV_MODEL})")
        key = os.environ.get(ENV_API_KEY) or os.environ.get("OPENAI_API_KEY")
        judge = OpenAICompatibleJudge(base, model, key, bool(options.get("judge_multimodal", False)))
        if max_tokens:
            judge.max_tokens = int(max_tokens)
        if options.get("judge_timeout"):  # seconds per request (many video frames take longer)
            judge.timeout = float(options["judge_timeout"])
        return judge
    if kind == "local":
        extra = {"max_new_tokens": int(max_tokens)} if max_tokens else {}
        device = options.get("device", "auto")
        if arg and (Path(arg).exists()):
            return LocalJudge(local_default, weights=arg, device=device, metric=metric, **extra)
        return LocalJudge(arg or local_default, device=device, metric=metric, **extra)
    raise MetricError(f"unknown judge {spec!r}: use 'openai:<model>' or 'local[:<model>]'")


# ---- cache ----------------------------------------------------------------------------------


def default_cache_path() -> Path:
    """Judge answers: `cache_root()/judge.sqlite`."""
    from generalbench.datafiles import cache_root

    return cache_root() / "judge.sqlite"


class JudgeCache:
    """SQLite map from sha256(judge id + rubric + messages) to the judge's raw response."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, response TEXT, "
                       "judge TEXT, rubric TEXT)")

    @staticmethod
    def key(judge: dict[str, Any], rubric: Rubric, messages: list[dict[str, Any]]) -> str:
        ident = {k: v for k, v in judge.items() if not k.startswith("served_")}
        blob = json.dumps(ident, sort_keys=True) + rubric.sha256 + _cache_view(messages)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT response FROM verdicts WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, response: str, judge: dict[str, Any], rubric: Rubric) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)",
                       (key, response, json.dumps(judge, sort_keys=True), rubric.sha256))
