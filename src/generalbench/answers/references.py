"""References in the metric's native form, and what the scorer reads from them: choice letters
resolved to options, numeric references compared as numbers, a task's label vocabulary. The
native output types whose values are small JSON are answers/parse.py's TEXT_TYPES | JSON_TYPES.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from generalbench.answers.parse import JSON_TYPES, TEXT_TYPES
from generalbench.catalog import Task

INLINE_TYPES = TEXT_TYPES | JSON_TYPES
"""Native types whose values are small JSON: written into the per-instance JSONL, never decoded
from files."""

_LETTER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHOICE_TYPES = frozenset({"label", "text"})
"""Types read as a choice (option text or letter) when the instance lists `choices`."""


def choices_of(inputs: Mapping[str, Any]) -> list[str] | None:
    """The instance's answer options (`choices` or `options`), None when it lists none."""
    ch = inputs.get("choices") or inputs.get("options")
    if isinstance(ch, list) and ch and all(map(_IS_STR, ch)):  # isinstance(c, str), in C
        return ch
    return None


_IS_STR = str.__instancecheck__


def reference_value(task: Task, target: Any, choices: list[str] | None, base: Path | None) -> Any:
    """A reference in the metric's native Python form (files decoded, choice letters resolved)."""
    if task.output in CHOICE_TYPES and choices and isinstance(target, str):
        t = target.strip().strip("().")
        if len(t) == 1 and t.upper() in _LETTER[:len(choices)] and target not in choices:
            return choices[_LETTER.index(t.upper())]
    if task.output in INLINE_TYPES:
        return target
    from generalbench.data.instances import MediaRef
    from generalbench.data.native import load_native

    # Decode files by path against their own folder: load_native reads paths for every type,
    # while a MediaRef of kind 'array' (point_labels) would come back undecoded.
    if type(target) is MediaRef:  # one file: what the lines below do for it, in one step
        return load_native(task.output, target.path, target.base or base)
    items = target if isinstance(target, list) else [target]
    if any(isinstance(t, MediaRef) for t in items):
        base = next((t.base for t in items if isinstance(t, MediaRef) and t.base), base)
        items = [t.path if isinstance(t, MediaRef) else t for t in items]
        target = items if isinstance(target, list) else items[0]
    return load_native(task.output, target, base)


EXACT_MATCH = frozenset({"accuracy", "em_at_1"})


def canonical_number(x: float) -> str:
    """One spelling per number, so "42", "42.0" and "4.2e1" compare equal."""
    return format(float(x) + 0.0, ".12g")


_DIGIT = re.compile(r"\d")
"""A decimal digit, as float() reads them (Unicode Nd): a text without one is no finite number
(float accepts only "inf", "nan" and "infinity" without digits), found without an exception."""


def numeric_reference(target: Any) -> list[str] | None:
    """Canonical strings of a reference whose every acceptable answer is a number, else None."""
    from generalbench.answers.parse import parse_number

    items = target if isinstance(target, list) else [target]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            return None
        text = str(item).strip().replace(",", "")
        if _DIGIT.search(text) is None:  # words: float() would raise or give inf/nan
            return None
        try:
            value = float(text)
        except ValueError:
            return None
        if not math.isfinite(value) or parse_number(text).value != value:
            return None
        out.append(canonical_number(value))
    return out or None


def label_vocabulary(task: Task, targets: Iterable[Any]) -> list[str] | None:
    """Every label the task's references use (label and label-set tasks), for parsing answers."""
    if task.output not in ("label", "label_set"):
        return None
    vocab: set[str] = set()
    for t in targets:
        for item in t if isinstance(t, list) else [t]:
            if isinstance(item, str):
                vocab.add(item)
    return sorted(vocab) or None
