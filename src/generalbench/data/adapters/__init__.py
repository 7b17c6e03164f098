"""Annotation adapters: one per annotation `type`, mapping published fields to `Instance`.

An adapter is a function `(record, ctx) -> Instance`. It raises `FieldError(field, message)` for
a malformed record; the dataset layer turns that into a DataError naming the file, instance id
and field. Adapters are looked up by the annotation's `type` (normalised: case, spaces and
punctuation ignored); types the official data leaves unnamed (audio, most video layouts) are
recognised from the modality and the fields of the first record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from generalbench.catalog import Task
from generalbench.data.instances import Instance
from generalbench.yamlload import safe_load


class FieldError(ValueError):
    """A record is malformed at `field` (dotted path)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AdaptContext:
    """What an adapter knows besides the record: the task, its folder and the file's header."""

    task: Task
    folder: Path
    header: dict[str, Any] = field(default_factory=dict)
    annotation_type: str = ""
    layout: str = ""
    """The adapter-specific layout chosen for this file (e.g. the video layout)."""
    build: Callable[..., Any] | None = None
    """What the native adapter builds from (id, task_id, inputs, target, meta): None for an
    `Instance`, `common.Record` when the dataset is read for scoring (the other adapters
    validate through pydantic and always give an Instance)."""


Adapter = Callable[[dict[str, Any], AdaptContext], Instance]
Detector = Callable[[dict[str, Any], AdaptContext], "str | None"]

_ADAPTERS: dict[str, Adapter] = {}
"""Every adapter by the annotation types it serves (for listing; selection is select_adapter)."""


def norm_type(name: str) -> str:
    """Normalised annotation type: lower-case letters and digits only."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def register(*types: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter under one or more annotation types."""
    def deco(fn: Adapter) -> Adapter:
        for t in types:
            _ADAPTERS[norm_type(t)] = fn
        return fn
    return deco


@lru_cache(maxsize=1)
def fields() -> dict[str, Any]:
    text = resources.files("generalbench.data.adapters").joinpath("fields.yaml").read_text("utf-8")
    return safe_load(text)


def get_path(record: Any, path: str) -> Any:
    """The value at a dotted path, or KeyError. Keys may contain spaces."""
    cur = record
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(path)
        cur = cur[part]
    return cur


def _load_all() -> None:
    from generalbench.data.adapters import audio, native, nlp, video  # noqa: F401


def registered_types() -> list[str]:
    _load_all()
    return sorted(_ADAPTERS)


def select_adapter(annotation_type: str, task: Task, first: dict[str, Any] | None,
                   ctx: AdaptContext) -> tuple[Adapter, str]:
    """The adapter for a file and its layout name, from `type`, the modality and the fields.

    generalbench's own schema (type = a native output type) applies in every modality when the
    records have its shape; otherwise the official layouts of the task's modality are tried:
    NLP by `type`, audio by modality, video by `type` or by the fields of the first record.
    Raises FieldError("type", ...) when nothing fits.
    """
    _load_all()
    from generalbench.data.adapters import audio, native, nlp, video

    key = norm_type(annotation_type)
    native_type = key in {norm_type(t) for t in native.types()}
    if native_type and (first is None or native.looks_native(first)):
        return native.adapt, "generalbench"
    if task.modality == "language":
        if key in nlp.spec_table():
            return nlp.adapt, key
        if native_type:
            return native.adapt, "generalbench"
        return nlp.adapt_fallback, "first_output_value"
    if task.modality == "audio":
        return audio.adapt, "audio"
    if task.modality == "video":
        layout = video.layout_for_type(key) or (video.detect(first) if first is not None else None)
        if layout:
            return video.adapt, layout
        if first is None:
            return video.adapt, "generation"
    if native_type or first is None or native.looks_native(first):
        return native.adapt, "generalbench"  # malformed records are reported one by one
    known = ", ".join(native.types())
    raise FieldError("type", f"annotation type {annotation_type!r} is not a known layout for a "
                             f"{task.modality} task; use generalbench's schema (docs/data-format.md) "
                             f"with type one of: {known}")
