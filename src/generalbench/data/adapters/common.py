"""Helpers shared by the adapters: ids, media references, reference targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generalbench.data.adapters import AdaptContext, FieldError
from generalbench.data.instances import MediaRef, check_relative
from generalbench.data.native import check_native, coerce_reference, to_refs
from generalbench.errors import DataError


def record_id(record: dict[str, Any], *fallbacks: str) -> str:
    """The instance id (`id`, else the first present fallback key) as a non-empty string."""
    for key in ("id", *fallbacks):
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise FieldError(key, f"instance id must be a string or integer, got {type(value).__name__}")
        if not str(value).strip():
            raise FieldError(key, "instance id is empty")
        return str(value)
    raise FieldError("id", "instance has no 'id'")


def media_ref(kind: str, value: Any, ctx: AdaptContext, field: str,
              prefixes: tuple[str, ...] = ()) -> MediaRef:
    """A MediaRef for a path (or {"path", "sha256"}) relative to the task folder.

    `prefixes` are media subfolders the official files leave implicit (audio paths are relative
    to `audios/`): the first candidate that exists wins, else the first prefixed one is kept so
    that validation reports the file as missing.
    """
    sha = None
    if isinstance(value, dict):
        sha = value.get("sha256")
        value = value.get("path")
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, f"must be a file path string, got {type(value).__name__}")
    try:
        rel = check_relative(value)
    except DataError as exc:
        raise FieldError(field, str(exc)) from None
    candidates = [f"{p.rstrip('/')}/{rel}" for p in prefixes if not rel.startswith(p.rstrip("/") + "/")]
    candidates.append(rel)
    chosen = next((c for c in candidates if (ctx.folder / c).exists()), candidates[0])
    if sha is not None and not isinstance(sha, str):
        raise FieldError(field, "sha256 must be a hex string")
    return MediaRef(kind=kind, path=chosen, sha256=sha, base=ctx.folder)  # type: ignore[arg-type]


_PLAIN_STRING_TYPES = frozenset({"text", "label"})


def reference(value: Any, ctx: AdaptContext, field: str) -> Any:
    """A reference target coerced and checked against the task's native output type."""
    if value is None:
        return None
    output = ctx.task.output
    if type(value) is str and output in _PLAIN_STRING_TYPES:
        return value  # what coerce_reference, check_native and to_refs leave of a plain string
    value = coerce_reference(output, value)
    err = check_native(output, value, reference=True)
    if err:
        raise FieldError(field, f"target for a {output!r} task {err}")
    return to_refs(output, value, ctx.folder)


def folder_of(ctx: AdaptContext) -> Path:
    return ctx.folder
