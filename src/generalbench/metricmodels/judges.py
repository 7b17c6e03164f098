"""LLM judges: an OpenAI-compatible endpoint or a local transformers model, with a response cache.

A judge is configured explicitly (options or environment); when it cannot be reached the error is
loud (MetricError/ModelError), never a fallback to exact match. Every verdict is cached in SQLite
under sha256(judge id + rubric sha + rendered messages), and the judge's identity (backend, model,
the version string the server reports) is recorded with results.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import sqlite3
import time
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
    """An OpenAI content part for an image or audio file (base64 only inside the request body)."""
    mime = mimetypes.guess_type(path.name)[0] or ""
    data = base64.b64encode(path.read_bytes()).decode()
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    if mime.startswith("audio/") or path.suffix.lower() in {".wav", ".mp3", ".flac"}:
        return {"type": "input_audio", "input_audio": {"data": data, "format": path.suffix.lstrip(".").lower()}}
    raise MetricError(f"{path}: the judge cannot take media of type {mime or path.suffix!r}")


def media_parts(paths: list[Path]) -> list[dict[str, Any]]:
    """OpenAI content parts for media files, in order (e.g. a video's sampled frames as PNGs)."""
    return [_media_part(Path(p)) for p in paths]


def build_messages(rubric: Rubric, *, question: str, reference: str, prediction: str,
                   media: list[Path] | None = None) -> list[dict[str, Any]]:
    """System + user messages; media files become content parts after the text."""
    lo, hi = rubric.scale
    text = rubric.template.format(question=question, reference=reference, prediction=prediction,
                                  lo=lo, hi=hi)
    content: Any = text
    if media:
        content = [{"type": "text", "text": text}, *(_media_part(Path(p)) for p in media)]
    return [{"role": "system", "content": rubric.system}, {"role": "user", "content": content}]


def _cache_view(messages: list[dict[str, Any]]) -> str:
    """Messages with media replaced by their content hash (cache keys, never logs of base64)."""
    def part(p: Any) -> Any:
        if isinstance(p, dict) and p.get("type") in {"image_url", "input_audio"}:
            return {"type": p["type"], "sha256": hashlib.sha256(json.dumps(p).encode()).hexdigest()}
        return p

    return json.dumps([{**m, "content": m["content"] if isinstance(m["content"], str)
                        else [part(p) for p in m["content"]]} for m in messages], sort_keys=True)


# ---- judges ---------------------------------------------------------------------------------


class Judge(Protocol):
    multimodal: bool

    def identity(self) -> dict[str, Any]: ...

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]: ...


@dataclass
class OpenAICompatibleJudge:
    """Chat completions at `{base_url}/chat/completions` (OpenAI, vLLM, llama.cpp, Ollama...)."""

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

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": 0,
                "max_tokens": self.max_tokens}
        url = self.base_url.rstrip("/") + "/chat/completions"
        for attempt in range(self.retries + 1):  # transient failures: back off and retry
            try:
                resp = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as exc:
                if attempt < self.retries:
                    time.sleep(self.backoff * 2 ** attempt)
                    continue
                raise ModelError(f"judge {self.model!r} at {url} is unavailable after "
                                 f"{attempt + 1} attempt(s): {type(exc).__name__}: {exc}; start the "
                                 f"server or set {ENV_BASE_URL}") from None
            if resp.status_code in (429, 500, 502, 503, 504) and attempt < self.retries:
                time.sleep(self.backoff * 2 ** attempt)
                continue
            break
        if resp.status_code != 200:
            raise ModelError(f"judge {self.model!r} at {url} answered HTTP {resp.status_code}: "
                             f"{resp.text[:200]}")
        data = resp.json()
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"judge at {url} returned no choices[0].message.content") from None
        served = {k: data[k] for k in ("model", "system_fingerprint") if data.get(k)}
        self.served = {f"served_{k}": v for k, v in served.items()}
        return text, self.served


class LocalJudge:
    """A local model (a models.yaml id or a folder/GGUF path): a causal LM (text only) or a
    vision-language model (images), as the entry's loader says."""

    def __init__(self, model_id: str = "smollm2-135m-instruct-gguf", weights: str | None = None,
                 device: str = "auto", max_new_tokens: int = 8, metric: str = "gpt_score") -> None:
        from generalbench.metricmodels.loaders import load_model

        self.model = load_model(model_id, weights=weights, device=device, batch_size=1,
                                metric=metric)
        self.max_new_tokens = max_new_tokens
        self.multimodal = bool(getattr(self.model, "multimodal", False))

    def identity(self) -> dict[str, Any]:
        decoding = ("likelihood-ranked scale values" if hasattr(self.model, "choose")
                    else "greedy generation")
        return {"backend": "local-transformers", "decoding": decoding, **self.model.info()}

    def complete(self, messages: list[dict[str, Any]], scale: tuple[int, int] | None = None
                 ) -> tuple[str, dict[str, Any]]:
        if scale is None or not hasattr(self.model, "choose"):
            return self.model.chat(messages, max_new_tokens=self.max_new_tokens), {}
        choices = [str(v) for v in range(scale[0], scale[1] + 1)]
        return self.model.choose(messages, choices, prefix="Score: "), {}


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
    base = os.environ.get("GENERALBENCH_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "generalbench"
    return root / "judge.sqlite"


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
