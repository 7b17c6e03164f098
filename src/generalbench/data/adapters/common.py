"""Helpers shared by the adapters: ids, media references, reference targets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from generalbench.data.adapters import AdaptContext, FieldError
from generalbench.data.instances import MEDIA_KINDS, Instance, MediaRef, check_relative
from generalbench.data.native import check_native, coerce_reference, to_refs
from generalbench.errors import DataError


def record_id(record: dict[str, Any], *fallbacks: str) -> str:
    """The instance id (`id`, else the first present fallback key) as a non-empty string."""
    value = record.get("id")
    if type(value) is str and value.strip():
        return value  # the common case, what the loop below returns for it
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


_FIELDS_SET = frozenset({"id", "task_id", "inputs", "target", "meta"})


def _trusted(iid: str, task_id: str, inputs: dict[str, Any], target: Any,
             meta: dict[str, Any]) -> Instance:
    """An Instance from fields an adapter has already checked, without running pydantic's
    validation again (4 us a record, a third of reading a plain record): what
    `BaseModel.model_construct` does, minus its per-call field introspection."""
    inst = _new(Instance)
    _set(inst, "__dict__", {"id": iid, "task_id": task_id, "inputs": inputs, "target": target,
                            "meta": meta})
    _set(inst, "__pydantic_fields_set__", set(_FIELDS_SET))
    _set(inst, "__pydantic_extra__", None)
    _set(inst, "__pydantic_private__", None)
    return inst


def _validated(iid: str, task_id: str, inputs: dict[str, Any], target: Any,
               meta: dict[str, Any]) -> Instance:
    return Instance(id=iid, task_id=task_id, inputs=inputs, target=target, meta=meta)


_new = object.__new__
_set = object.__setattr__


def _pick_constructor(fast: Any, slow: Any, args: tuple[Any, ...],
                      *checks: Any) -> Any:
    """`fast` (a constructor that skips pydantic's validation) when it builds exactly what `slow`
    (the validating one) builds from `args`: equal, same dump, repr and fields set, and the same
    answer from each of `checks`. Checked once at import: a pydantic that changes its internals
    falls back to validating every object."""
    try:
        a, b = fast(*args), slow(*args)
        if (a == b and a.model_dump() == b.model_dump() and repr(a) == repr(b)
                and a.__pydantic_fields_set__ == b.__pydantic_fields_set__
                and all(check(a) == check(b) for check in checks)):
            return fast
    except Exception:  # noqa: BLE001 - any surprise: the validating constructor
        pass
    return slow


new_instance = _pick_constructor(_trusted, _validated, ("1", "t", {"q": "x"}, ["a"], {"k": 1}))
"""`new_instance(id, task_id, inputs, target, meta)`: the Instance of a record whose id is a
non-empty string (record_id) and whose inputs and meta are dicts with string keys (JSON)."""


class Record:
    """An instance as the scorer reads it: the fields of `Instance` (id, task_id, inputs,
    target, meta) on a plain slotted object, built by the native adapter when the dataset is read
    for scoring (`TaskData.records`). No validation, no pydantic object, no methods: the adapter
    has checked the fields (see new_instance), and scoring reads nothing else. ~5x cheaper to
    build than an Instance, which is one per annotation record of a scoring run."""

    __slots__ = ("id", "task_id", "inputs", "target", "meta")

    def __init__(self, iid: str, task_id: str, inputs: dict[str, Any], target: Any,
                 meta: dict[str, Any]) -> None:
        self.id = iid
        self.task_id = task_id
        self.inputs = inputs
        self.target = target
        self.meta = meta

    def __repr__(self) -> str:
        return f"Record(id={self.id!r}, task_id={self.task_id!r})"


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
    if sha is not None and not isinstance(sha, str):
        raise FieldError(field, "sha256 must be a hex string")
    if not prefixes:  # one candidate: it is chosen whether it exists or not (no stat call);
        return new_media_ref(kind, rel, sha, ctx.folder)  # a path check_relative gave
    candidates = [f"{p.rstrip('/')}/{rel}" for p in prefixes if not rel.startswith(p.rstrip("/") + "/")]
    candidates.append(rel)
    chosen = next((c for c in candidates if (ctx.folder / c).exists()), candidates[0])
    return MediaRef(kind=kind, path=chosen, sha256=sha, base=ctx.folder)  # type: ignore[arg-type]


_MEDIA_FIELDS = frozenset({"kind", "path", "sha256", "base"})


def _trusted_media(kind: str, path: str, sha: str | None, base: Path) -> MediaRef:
    """A MediaRef without pydantic's validation (~4 us): as _trusted does for Instance. What
    the validator would check is checked here (the kind, the path as check_relative leaves it);
    anything else is validated, and refused, the usual way."""
    try:
        same = check_relative(path) == path
    except DataError:
        same = False
    if not same or kind not in MEDIA_KINDS or not (sha is None or type(sha) is str) \
            or not isinstance(base, Path):
        return _validated_media(kind, path, sha, base)
    ref = _new(MediaRef)
    _set(ref, "__dict__", {"kind": kind, "path": path, "sha256": sha, "base": base})
    _set(ref, "__pydantic_fields_set__", set(_MEDIA_FIELDS))
    _set(ref, "__pydantic_extra__", None)
    _set(ref, "__pydantic_private__", None)
    return ref


def _validated_media(kind: str, path: str, sha: str | None, base: Path) -> MediaRef:
    return MediaRef(kind=kind, path=path, sha256=sha, base=base)  # type: ignore[arg-type]


new_media_ref = _pick_constructor(
    _trusted_media, _validated_media, ("image", "a/b.png", "0" * 64, Path("/x")),
    lambda m: m.model_dump(mode="json"), hash, lambda m: m.with_base(Path("/y")))
"""`new_media_ref(kind, path, sha256, base)`: the MediaRef of a path check_relative returned."""


_PLAIN_STRING_TYPES = frozenset({"text", "label"})


def _finite(values: list[Any], n: int) -> bool:
    """`values` is a list of exactly `n` finite JSON numbers (int or float, not bool)."""
    if type(values) is not list or len(values) != n:
        return False
    isfinite = math.isfinite  # on an int too: one too large for a float raises, as in _num
    for v in values:
        t = type(v)
        if (t is not float and t is not int) or not isfinite(v):
            return False
    return True


def _plain_boxes(value: Any) -> bool:
    """Boxes in the exact form check_native accepts and coerce_reference / to_refs leave as
    they are (a list of {"bbox": 4 finite numbers, w, h >= 0, "label": str?, "score": number?});
    anything else takes the full path, which also words the error."""
    if type(value) is not list:
        return False
    for b in value:
        if type(b) is not dict:
            return False
        box = b.get("bbox")
        if not _finite(box, 4) or box[2] < 0 or box[3] < 0:
            return False
        if type(b.get("label", "")) is not str:
            return False
        score = b.get("score")
        if score is not None and not _finite([score], 1):
            return False
    return True


def _plain_track(value: Any) -> bool:
    """A track as check_native accepts it and coerce_reference leaves it: one [x, y, w, h] of
    finite numbers or null per frame (no [] for an absent frame, no RLE, no {"bbox"})."""
    return type(value) is list and all(b is None or _finite(b, 4) for b in value)


_IS_STR = str.__instancecheck__


def _plain_strings(value: Any) -> bool:
    """A label set (a list of strings) as check_native accepts it and coerce_reference leaves it."""
    return type(value) is list and all(map(_IS_STR, value))


def _plain_texts(value: Any) -> bool:
    """Several acceptable texts of a text reference (a non-empty list of strings), likewise (a
    one-item list of a *label* is unwrapped, so labels are not among the types this serves)."""
    return type(value) is list and len(value) > 0 and all(map(_IS_STR, value))


def _plain_number(value: Any) -> bool:
    """A finite int or float (not a bool): a number reference as it stays."""
    t = type(value)
    return (t is float or t is int) and math.isfinite(value)


_PLAIN_CHECKS = {"boxes": _plain_boxes, "track": _plain_track, "label_set": _plain_strings,
                 "text": _plain_texts, "number": _plain_number}
"""Output types whose common reference form is recognised in one pass (the value is returned
as it is, exactly what the coerce / check / to_refs chain returns for it)."""


def reference(value: Any, ctx: AdaptContext, field: str) -> Any:
    """A reference target coerced and checked against the task's native output type."""
    if value is None:
        return None
    output = ctx.task.output
    if type(value) is str and output in _PLAIN_STRING_TYPES:
        return value  # what coerce_reference, check_native and to_refs leave of a plain string
    plain = _PLAIN_CHECKS.get(output)
    if plain is not None and plain(value):
        return value
    value = coerce_reference(output, value)
    err = check_native(output, value, reference=True)
    if err:
        raise FieldError(field, f"target for a {output!r} task {err}")
    return to_refs(output, value, ctx.folder)


def folder_of(ctx: AdaptContext) -> Path:
    return ctx.folder
