"""Render a task's instruction template and an instance's inputs into chat messages.

The templates are data (templates.yaml); this module only picks the most specific entry, fills
its placeholders from the task and the instance, and lays out media parts then one text part.
Nothing here depends on the model: every model gets the same prompt (zero-shot protocol).
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from generalbench.errors import DataError
from generalbench.prompts.model import MediaPart, Message, Prompt, TextPart
from generalbench.yamlload import safe_load

TEMPLATES_FILE = "templates.yaml"
LABEL_LIST_KEYS = ("choices", "labels", "classes", "categories", "parts")
"""Input keys holding a class vocabulary; the first present one fills {choices}."""
LETTERED_OUTPUTS = frozenset({"text"})
"""Output types for which a `choices`/`options` list is a multiple-choice question (A, B, ...)."""


class PromptError(DataError):
    """A template cannot be rendered for a task/instance (no alternative has its placeholders)."""


class Templates:
    """The parsed templates file, with its version and a content hash."""

    def __init__(self, data: dict[str, Any], source: str = TEMPLATES_FILE):
        self.data = data
        self.source = source
        if not isinstance(data.get("version"), str):
            raise PromptError(f"{source}: missing string 'version'")
        self.version: str = data["version"]
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")
        self.hash = hashlib.sha256(blob).hexdigest()[:16]

    def info(self) -> dict[str, str]:
        return {"version": self.version, "hash": self.hash}

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name) or {}

    def candidates(self, what: str, task: Any, annotation_type: str | None,
                   input_keys: list[str]) -> list[str]:
        """Alternatives for `what` (instruction | answer_format), most specific first."""
        entries: list[Mapping[str, Any]] = []
        entries.append(self.section("tasks").get(task.id) or {})
        if annotation_type:
            entries.append(self.section("types").get(annotation_type) or {})
        for key, entry in self.section("inputs").items():
            if key in input_keys:
                entries.append(entry or {})
        entries.append(self.section("skills").get(task.skill) or {})
        entries.append(self.section("outputs").get(task.output) or {})
        out: list[str] = []
        for entry in entries:
            only = entry.get("only_output")
            if only and task.output not in ([only] if isinstance(only, str) else only):
                continue
            value = entry.get(what)
            if value is None:
                continue
            out.extend([value] if isinstance(value, str) else list(value))
        return out


def load_templates(path: Path | str | None = None) -> Templates:
    """The shipped templates, or those of `path` merged over them (per section, per key)."""
    shipped = _shipped()
    if path is None:
        return shipped
    path = Path(path)
    try:
        extra = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: cannot read prompt templates ({exc})") from None
    if not isinstance(extra, dict):
        raise PromptError(f"{path}: expected a mapping of sections (version, outputs, tasks, ...)")
    merged = dict(shipped.data)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "version" not in extra:
        raise PromptError(f"{path}: an override file must set its own 'version'")
    return Templates(merged, str(path))


@lru_cache(maxsize=1)
def _shipped() -> Templates:
    text = resources.files("generalbench.prompts").joinpath(TEMPLATES_FILE).read_text("utf-8")
    return Templates(safe_load(text))


# --- instance inputs ---------------------------------------------------------------------------
def _is_media(value: Any) -> bool:
    if hasattr(value, "kind") and hasattr(value, "path") and not isinstance(value, Mapping):
        return True
    return isinstance(value, Mapping) and set(value) >= {"kind", "path"} and len(value) <= 3


def _media_part(key: str, value: Any) -> MediaPart:
    if isinstance(value, Mapping):
        kind, rel, absolute = str(value["kind"]), str(value["path"]), str(value["path"])
    else:
        kind, rel = str(value.kind), str(value.path)
        try:
            absolute = str(value.resolve())
        except Exception:  # noqa: BLE001 - a reference without a base folder keeps its name
            absolute = rel
    return MediaPart(kind=kind, path=absolute, name=rel, key=key)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and all(isinstance(v, (str, int, float)) for v in value.values()):
        return "\n".join(f"{k}: {v}" for k, v in value.items() if v not in ("", None))
    return json.dumps(value, ensure_ascii=False)


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


_PLACEHOLDER = re.compile(r"<<<([A-Za-z0-9_]+)>>>")
"""Published NLP prompts embed inputs as <<<raw_text>>>, <<<target>>>, <<<aspect>>>, ..."""


def _lettered(options: list[Any]) -> str:
    """Options as "A. text" lines; options the data already letters ("A. x", "(B) y") stay as-is."""
    letters = _letters(len(options))
    pre = all(isinstance(o, str) and re.match(rf"\(?{k}[.):]\s*", o.strip())
              for k, o in zip(letters, options, strict=True))
    if pre:
        return "\n".join(str(o).strip() for o in options)
    return "\n".join(f"{k}. {o}" for k, o in zip(letters, options, strict=True))


def _split_inputs(inputs: Mapping[str, Any]) -> tuple[list[MediaPart], dict[str, Any]]:
    media: list[MediaPart] = []
    text: dict[str, Any] = {}
    for key, value in inputs.items():
        items = value if isinstance(value, list) else [value]
        if items and all(_is_media(v) for v in items):
            media.extend(_media_part(key, v) for v in items)
        elif value is not None and value != "":
            text[key] = value
    return media, text


def _values(task: Any, text_inputs: dict[str, Any]) -> dict[str, str]:
    """Placeholder values: task fields, every text input, and the computed choice lists."""
    values = {"task": task.name, "modality": task.modality, "paradigm": task.paradigm}
    for key, value in text_inputs.items():
        values[key] = ", ".join(map(str, value)) if isinstance(value, list) else _as_text(value)
    options = text_inputs.get("options")
    if options is None and task.output in LETTERED_OUTPUTS:
        options = text_inputs.get("choices")
    if isinstance(options, list) and options:
        values["options_letters"] = ", ".join(_letters(len(options)))
        values["options_block"] = _lettered(options)
    else:
        for key in LABEL_LIST_KEYS:
            if isinstance(text_inputs.get(key), list) and text_inputs[key]:
                values["choices"] = ", ".join(map(str, text_inputs[key]))
                break
    return values


def _fill(alternatives: list[str], values: dict[str, str], what: str, task_id: str) -> str:
    for template in alternatives:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        if names <= values.keys():
            return template.format(**values)
    raise PromptError(f"prompt templates: no {what} for task {task_id!r} can be filled from its "
                      f"inputs {sorted(values)}; add one to templates.yaml (tasks: {task_id})")


def _body(templates: Templates, text_inputs: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The instance's text inputs, one block each, in the order of `fields`."""
    fields = templates.section("fields")
    hidden = set(templates.data.get("hide") or [])
    shown = dict(text_inputs)
    if isinstance(shown.get("prompt"), str):
        used = [k for k in _PLACEHOLDER.findall(shown["prompt"]) if k in text_inputs]
        shown["prompt"] = _PLACEHOLDER.sub(
            lambda m: _as_text(text_inputs[m.group(1)]) if m.group(1) in text_inputs else m.group(0),
            shown["prompt"])
        for key in used:
            shown.pop(key, None)
    if "options_block" in values:
        shown.pop("options", None)
        shown.pop("choices", None)
        shown["options_block"] = values["options_block"]
    lines: list[str] = []
    for key in [k for k in fields if k in shown] + [k for k in shown if k not in fields]:
        if key in hidden:
            continue
        value = shown[key] if key == "options_block" else _as_text(shown[key])
        fmt = fields.get(key) or f"{key.replace('_', ' ').capitalize()}: {{value}}"
        lines.append(fmt.format(value=value))
    return lines


def render(task: Any, instance: Any, *, annotation_type: str | None = None,
           templates: Templates | None = None) -> Prompt:
    """The prompt of `instance` for `task`: one user message, media parts first, then the text.

    `instance` needs `inputs` (text values and media references, as `generalbench.data.Instance`
    has them). `annotation_type` (the file's `type`) selects type-specific wording when given.
    """
    templates = templates or _shipped()
    inputs = dict(getattr(instance, "inputs", None) or {})
    media, text_inputs = _split_inputs(inputs)
    values = _values(task, text_inputs)
    keys = list(text_inputs)
    pick = templates.candidates
    instruction = _fill(pick("instruction", task, annotation_type, keys), values, "instruction",
                        task.id)
    answer = _fill(pick("answer_format", task, annotation_type, keys), values, "answer_format",
                   task.id)
    text = "\n".join([instruction, *_body(templates, text_inputs, values), answer])
    parts: list[TextPart | MediaPart] = [*media, TextPart(text=text)]
    messages = [Message(role="user", parts=parts)]
    return Prompt(messages=messages, version=templates.version,
                  hash=Prompt.content_hash(messages, templates.version))
