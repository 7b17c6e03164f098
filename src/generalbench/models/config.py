"""Model configs: which backend, its parameters, generation settings and what the model supports.

A config is data (YAML or CLI flags), never code: family differences between models live here, so
no module branches on a model's name. The config also decides which tasks are requested at all;
tasks it does not support are skipped and count as unsupported in scoring, or go to an optional
`fallback` config (the demo sends tasks a text model cannot do to the documented baselines).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from generalbench.errors import ModelError
from generalbench.models.api import GenerationSettings
from generalbench.yamlload import safe_load

RUNTIME_PARAMS = frozenset({"api_key", "base_url", "concurrency", "timeout", "max_retries",
                            "retry_backoff", "batch_size", "batches_per_chunk", "device",
                            "threads", "adaptive", "max_unreachable"})
"""Parameters that change how, not what, a model answers: left out of the journal fingerprint so a
run can resume with another concurrency, batch size, key or endpoint (the same model served from
another address). The model's name, weights and generation settings stay in it."""


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    """models/defaults.yaml, parsed once (libyaml when present: the pure-Python parser cost
    about 40 ms of every `run`'s start-up)."""
    text = resources.files("generalbench.models").joinpath("defaults.yaml").read_text("utf-8")
    return safe_load(text)


def backend_defaults() -> dict[str, Any]:
    return _defaults()["backends"]


def param_types() -> dict[str, dict[str, Any]]:
    return _defaults().get("param_types", {})


def check_params(params: dict[str, Any], where: str = "--param") -> None:
    """ModelError for a parameter of the wrong type or range (defaults.yaml `param_types`):
    `timeout=soon` or `concurrency=0` must stop the run before it starts."""
    for key, rule in param_types().items():
        if key not in params or params[key] is None:
            continue
        value, kind = params[key], rule["kind"]
        ok = {"int": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, (int, float)) and not isinstance(value, bool)
              and value == value and value not in (float("inf"), float("-inf")),
              "bool": isinstance(value, bool),
              "text": isinstance(value, str)}[kind]
        if ok and "min" in rule and value < rule["min"]:
            ok = False
        if ok and "above" in rule and value <= rule["above"]:
            ok = False
        if not ok:
            want = {"int": "an integer", "number": "a number", "bool": "true or false",
                    "text": "a text"}[kind]
            bound = (f" >= {rule['min']}" if "min" in rule else
                     f" > {rule['above']}" if "above" in rule else "")
            raise ModelError(f"{where} {key}={value!r}: must be {want}{bound}")


class Supports(BaseModel):
    """What a model can be asked: input modalities, native output types and optional task lists."""

    model_config = ConfigDict(extra="forbid")

    modalities: list[str] | None = None
    """Task modalities the model accepts (language, image, video, audio, 3d); None = backend default."""
    outputs: list[str] | str | None = None
    """Native output types it can produce, or 'all'; None = backend default."""
    tasks: list[str] | None = None
    """Optional allow-list of task ids (shell-style globs)."""
    exclude_tasks: list[str] = Field(default_factory=list)

    @field_validator("modalities")
    @classmethod
    def _one_vocabulary(cls, value: list[str] | None) -> list[str] | None:
        """`nlp` (the dataset's folder name) and `language` mean the same modality."""
        from generalbench.catalog.task import MODALITY_ALIASES

        if value is None:
            return None
        return [MODALITY_ALIASES.get(str(m).strip().lower(), str(m).strip().lower()) for m in value]


class ModelConfig(BaseModel):
    """One model as a run sees it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    backend: str
    params: dict[str, Any] = Field(default_factory=dict)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    supports: Supports = Field(default_factory=Supports)
    fallback: ModelConfig | None = None
    description: str = ""

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in backend_defaults():
            raise ValueError(f"unknown backend {value!r}; use one of {', '.join(backend_defaults())}")
        return value

    def modalities(self) -> list[str]:
        return self.supports.modalities or list(backend_defaults()[self.backend]["modalities"])

    def outputs(self) -> list[str] | str:
        return self.supports.outputs or backend_defaults()[self.backend]["outputs"]

    def supports_task(self, task: Any) -> bool:
        """Whether this model (not its fallback) is asked to do `task`."""
        if task.modality not in self.modalities():
            return False
        outputs = self.outputs()
        if outputs != "all" and task.output not in outputs:
            return False
        if self.supports.tasks is not None and not any(
                fnmatch.fnmatchcase(task.id, pat) for pat in self.supports.tasks):
            return False
        return not any(fnmatch.fnmatchcase(task.id, pat) for pat in self.supports.exclude_tasks)

    def route(self, task: Any) -> ModelConfig | None:
        """The config that answers `task` (this one or a fallback), or None if unsupported."""
        if self.supports_task(task):
            return self
        return self.fallback.route(task) if self.fallback else None

    def fingerprint(self) -> str:
        """Hash of what determines the answers: backend, identity params, generation settings."""
        data = {"backend": self.backend, "name": self.name,
                "params": {k: v for k, v in sorted(self.params.items()) if k not in RUNTIME_PARAMS},
                "generation": self.generation.model_dump(mode="json")}
        blob = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @staticmethod
    def identity_of(dump: dict[str, Any]) -> tuple[str, str, str]:
        """(backend, name, identity params) of a config dump: which model answers, leaving out
        runtime params and generation settings (a rerun with other settings is the same model)."""
        params = dump.get("params") if isinstance(dump.get("params"), dict) else {}
        ident = {k: v for k, v in sorted(params.items()) if k not in RUNTIME_PARAMS}
        return (str(dump.get("backend")), str(dump.get("name")),
                json.dumps(ident, sort_keys=True, default=str))

    def identity(self) -> tuple[str, str, str]:
        """See identity_of; compared with a run folder's manifest before reusing the folder."""
        return self.identity_of(self.public_dump())

    def public_dump(self) -> dict[str, Any]:
        """The config for manifests and logs: secrets removed."""
        data = self.model_dump(mode="json")

        def scrub(d: dict[str, Any]) -> None:
            params = d.get("params") or {}
            if "api_key" in params:
                params["api_key"] = "***"
            if d.get("fallback"):
                scrub(d["fallback"])

        scrub(data)
        return data


def _preset_dir():
    return resources.files("generalbench.models").joinpath("presets")


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in _preset_dir().iterdir() if p.name.endswith(".yaml"))


def _from_mapping(data: Any, where: str) -> ModelConfig:
    if not isinstance(data, dict):
        raise ModelError(f"{where}: a model config must be a mapping with 'name' and 'backend'")
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise ModelError(f"{where}: field {field!r}: {err['msg']}") from None


def load_config_file(path: Path) -> ModelConfig:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ModelError(f"{path}: not valid YAML: {exc}") from None
    return _from_mapping(data, str(path))


def load_preset(name: str) -> ModelConfig:
    path = _preset_dir().joinpath(f"{name}.yaml")
    if not path.is_file():
        raise ModelError(f"unknown model preset {name!r}; presets: {', '.join(preset_names())}")
    return _from_mapping(yaml.safe_load(path.read_text("utf-8")), f"preset {name}")


def parse_model_spec(spec: str, *, base_url: str | None = None, api_key: str | None = None,
                     overrides: dict[str, Any] | None = None) -> ModelConfig:
    """A ModelConfig from `--model`: a YAML file, a preset name, or `backend:target`.

    `openai:<model>` (with base_url), `hf:<path>`, `vllm:<path>`, `replay:<predictions dir>`,
    `baseline`. CLI flags (base_url, api_key, overrides of params) win over the file.
    """
    path = Path(spec)
    if spec.endswith((".yaml", ".yml", ".json")):
        if not path.is_file():
            raise ModelError(f"{spec}: model config file not found")
        config = load_config_file(path)
    elif ":" not in spec and spec in preset_names():
        config = load_preset(spec)
    else:
        backend, _, target = spec.partition(":")
        if backend not in backend_defaults():
            raise ModelError(f"--model {spec!r}: use BACKEND:TARGET with a backend of "
                             f"{', '.join(backend_defaults())}, a YAML config file, or a preset "
                             f"({', '.join(preset_names())})")
        key = {"openai": "model", "hf": "path", "vllm": "path", "replay": "path"}.get(backend)
        params: dict[str, Any] = {key: target} if key and target else {}
        if key and not target:
            raise ModelError(f"--model {spec!r}: backend {backend!r} needs a target, e.g. "
                             f"{backend}:<{key}>")
        config = ModelConfig(name=target.rstrip("/").split("/")[-1] or backend, backend=backend,
                             params=params)
    params = dict(config.params)
    if base_url:
        params["base_url"] = base_url
    if api_key:
        params["api_key"] = api_key
    params.update(overrides or {})
    check_params(params, f"--model {spec!r}: parameter" if not overrides else "--param")
    if config.backend == "openai":
        params.setdefault("base_url", os.environ.get("OPENAI_BASE_URL"))
        if not params.get("base_url"):
            raise ModelError(f"--model {spec!r}: the openai backend needs --base-url "
                             "(or OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1")
    return config.model_copy(update={"params": params})


ModelConfig.model_rebuild()
