"""The 26 official NLP annotation types (official-format.md §2), driven by fields.yaml.

Inputs the mapping names go under our keys; every other `input` field is kept under its own name
(the prompt-based families carry task-specific keys such as `tweets` or `aspect`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from generalbench.data.adapters import (
    AdaptContext,
    FieldError,
    fields,
    get_path,
    norm_type,
    register,
)
from generalbench.data.adapters.common import record_id, reference
from generalbench.data.instances import Instance


@lru_cache(maxsize=1)
def spec_table() -> dict[str, dict[str, Any]]:
    return {norm_type(k): v for k, v in fields()["nlp"].items()}


def types() -> list[str]:
    return list(fields()["nlp"])


def _first_value(value: Any, field: str) -> Any:
    """The official reference of the prompt-based families: the first value of `output`."""
    if isinstance(value, dict):
        if not value:
            raise FieldError(field, "is an empty object; expected one key holding the answer")
        return next(iter(value.values()))
    return value


def _proof(value: Any, field: str) -> str:
    """Official proof reference: steps joined by newlines, then 'Conclusion: ...'."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("steps"), list):
        raise FieldError(f"{field}.steps", "must be a list of proof steps")
    steps = "\n".join(str(s) for s in value["steps"])
    return f"{steps}\nConclusion: {value.get('conclusion', '')}"


TRANSFORMS = {
    "first_value": _first_value,
    "proof": _proof,
    "stringify": lambda v, f: v if isinstance(v, str) else str(v),
}


def _pick(record: dict[str, Any], paths: list[str], want: str) -> tuple[str, Any] | None:
    for path in paths:
        try:
            value = get_path(record, path)
        except KeyError:
            continue
        if want == "text" and not isinstance(value, str):
            continue
        return path, value
    return None


def _adapt_with(spec: dict[str, Any], record: dict[str, Any], ctx: AdaptContext) -> Instance:
    iid = record_id(record)
    raw_input = record.get("input")
    inputs: dict[str, Any] = {}
    used: set[str] = set()
    for key, rule in spec.get("inputs", {}).items():
        hit = _pick(record, rule["paths"], rule.get("as", "text"))
        if hit is not None:
            path, inputs[key] = hit
            used.add(path)
    if isinstance(raw_input, dict):
        for key, value in raw_input.items():
            if f"input.{key}" not in used and not any(u.startswith(f"input.{key}.") for u in used):
                inputs.setdefault(key, value)
    if not inputs:
        raise FieldError("input", f"none of the {ctx.annotation_type!r} input fields is present "
                                  f"(expected {', '.join(p for r in spec['inputs'].values() for p in r['paths'])})")
    target = None
    rule = spec["target"]
    has_output = "output" in record and record["output"] not in (None, {}, "")
    hit = _pick(record, rule["paths"], "any")
    if hit is not None and hit[1] is not None:
        path, value = hit
        transform = rule.get("transform")
        if transform:
            value = TRANSFORMS[transform](value, path)
        target = reference(value, ctx, path)
    elif has_output:
        raise FieldError(rule["paths"][0], f"reference answer missing (looked at {', '.join(rule['paths'])})")
    skip = {"id", "input", "output"} | {p.split(".")[0] for p in used}
    meta = {k: v for k, v in record.items() if k not in skip}
    return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)


def adapt(record: dict[str, Any], ctx: AdaptContext) -> Instance:
    spec = spec_table()[norm_type(ctx.annotation_type)]
    return _adapt_with(spec, record, ctx)


register(*types())(adapt)


def adapt_fallback(record: dict[str, Any], ctx: AdaptContext) -> Instance:
    """Unknown NLP type: every input field as is; target = first output value (as officially)."""
    iid = record_id(record)
    raw_input = record.get("input")
    if isinstance(raw_input, str):
        inputs: dict[str, Any] = {"text": raw_input}
    elif isinstance(raw_input, dict):
        inputs = dict(raw_input)
    else:
        raise FieldError("input", f"must be an object of input fields, got {type(raw_input).__name__}")
    out = record.get("output")
    target = None
    if out not in (None, {}, ""):
        target = reference(_first_value(out, "output"), ctx, "output")
    meta = {k: v for k, v in record.items() if k not in {"id", "input", "output"}}
    return Instance(id=iid, task_id=ctx.task.id, inputs=inputs, target=target, meta=meta)
