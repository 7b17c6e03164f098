"""generalbench's own annotation schema (docs/data-format.md), used for image and 3D tasks,
which have no published schema, and by the built-in mini-bench for every modality.

Record: {"id", "input": {text keys and media keys}, "output": {"answer": native value}}. The file's
`type` is the task's native output type (text, label, boxes, mask, ...), so a file checks itself.
"""

from __future__ import annotations

from typing import Any

from generalbench.data.adapters import AdaptContext, FieldError, fields, register
from generalbench.data.adapters.common import media_ref, new_instance, record_id, reference
from generalbench.data.instances import Instance
from generalbench.data.native import OUTPUT_TYPES

SCHEMA_TYPES = tuple(OUTPUT_TYPES)
_RECORD_KEYS = frozenset({"id", "input", "output"})


def types() -> tuple[str, ...]:
    return (*SCHEMA_TYPES, "generalbench")


def looks_native(record: dict[str, Any]) -> bool:
    out = record.get("output")
    return isinstance(record.get("input"), dict) and (out is None or (isinstance(out, dict)
                                                                      and "answer" in out))


_IS_STR = str.__instancecheck__
"""isinstance(x, str) as a C callable, for all(map(...)) over a list of choices."""


@register(*SCHEMA_TYPES, "generalbench")
def adapt(record: dict[str, Any], ctx: AdaptContext) -> Instance:
    """The instance of one record (a `common.Record` when `ctx.build` says so)."""
    iid = record.get("id")
    if type(iid) is not str or not iid.strip():
        iid = record_id(record)
    raw_inputs = record.get("input")
    if not isinstance(raw_inputs, dict):
        raise FieldError("input", f"must be an object of input fields, got {type(raw_inputs).__name__}")
    media_keys = fields()["media_keys"]
    if media_keys.keys().isdisjoint(raw_inputs):  # text fields only (most records): as they
        # are, with the choices checked, nothing to bind: the record's own dict for a scoring
        # Record (the decoded record is not kept), a copy for an Instance
        inputs = raw_inputs if ctx.build is not None else dict(raw_inputs)
        if "choices" in inputs and not (isinstance(choices := inputs["choices"], list)
                                        and all(map(_IS_STR, choices))):
            raise FieldError("input.choices", "must be a list of strings")
    else:
        inputs = {}
        for key, value in raw_inputs.items():
            if key in media_keys:
                kind, arity = media_keys[key]
                if arity == "many":
                    if not isinstance(value, list):
                        raise FieldError(f"input.{key}", "must be a list of file paths")
                    inputs[key] = [media_ref(kind, v, ctx, f"input.{key}[{i}]")
                                   for i, v in enumerate(value)]
                else:
                    inputs[key] = media_ref(kind, value, ctx, f"input.{key}")
            else:
                if key == "choices" and not (isinstance(value, list)
                                             and all(map(_IS_STR, value))):
                    raise FieldError("input.choices", "must be a list of strings")
                inputs[key] = value
    target = None
    out = record.get("output")
    if out is not None:
        if not isinstance(out, dict):
            raise FieldError("output", f"must be an object with 'answer', got {type(out).__name__}")
        if "answer" not in out:
            raise FieldError("output.answer", "missing (closed-set instances omit 'output' entirely)")
        target = reference(out["answer"], ctx, "output.answer")
        if (ctx.task.output == "label" and "choices" in inputs and isinstance(target, str)
                and target not in inputs["choices"]):
            raise FieldError("output.answer", f"label {target!r} is not one of input.choices")
    meta = ({} if _RECORD_KEYS.issuperset(record) else
            {k: v for k, v in record.items() if k not in _RECORD_KEYS})
    if out is not None and len(out) > 1:
        meta.update({f"output.{k}": v for k, v in out.items() if k != "answer"})
    return (ctx.build or new_instance)(iid, ctx.task.id, inputs, target, meta)
