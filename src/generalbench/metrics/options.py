"""Options a metric takes from its task, named per metric in specs.yaml (`task_options`).

The scorer never tests metric names: each source below derives options from the task and its
instances, and specs.yaml says which sources a metric uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generalbench.catalog import Task
from generalbench.errors import GeneralBenchError, UnknownMetricError
from generalbench.metrics.specs import get_spec


def _label_normalize(task: Task, instances: list[Any]) -> dict[str, Any]:
    """Class labels compare as labels (case, punctuation and spacing folded)."""
    return {"normalize": "label"} if task.output == "label" else {}


def _code_language(task: Task, instances: list[Any]) -> dict[str, Any]:
    """CodeBLEU's language from the instances' `language` input (default python)."""
    if not instances:
        return {}
    return {"lang": str(instances[0].inputs.get("language") or "python").lower()}


def _task_prompts(task: Task, instances: list[Any]) -> dict[str, Any]:
    """Model-based metrics: the task id (per-task variants), prompts, questions, input audio."""
    def text(inst: Any, *keys: str) -> str | None:
        return next((str(inst.inputs[k]) for k in keys if inst.inputs.get(k)), None)

    options: dict[str, Any] = {
        "task": task.id, "prompts": [text(i, "prompt", "text", "question") for i in instances],
        "questions": [text(i, "question", "prompt", "text") for i in instances]}
    audio = [input_file(i, "audio") for i in instances]
    if any(a is not None for a in audio):  # e.g. E-Acc reads the piano input it orchestrates
        options["input_audio"] = audio
    return options


OPTION_SOURCES: dict[str, Callable[[Task, list[Any]], dict[str, Any]]] = {
    "label_normalize": _label_normalize,
    "code_language": _code_language,
    "task_prompts": _task_prompts,
}


def metric_options(task: Task, instances: list[Any]) -> dict[str, Any]:
    """The options the task's metric takes from the task (specs.yaml `task_options`)."""
    options: dict[str, Any] = {}
    for source in get_spec(task.metric).task_options:
        if source not in OPTION_SOURCES:
            raise UnknownMetricError(f"metrics/specs.yaml: metric={task.metric!r}: unknown "
                                     f"task_options source {source!r}")
        options.update(OPTION_SOURCES[source](task, instances))
    return options


def input_file(inst: Any, key: str) -> str | None:
    """The absolute path of an instance's input media file under `key` (None when absent)."""
    from generalbench.data.instances import MediaRef

    ref = inst.inputs.get(key)
    if not isinstance(ref, MediaRef):
        return None
    try:
        return str(ref.resolve())
    except GeneralBenchError:
        return None
