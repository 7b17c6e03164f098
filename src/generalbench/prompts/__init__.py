"""Instruction prompts: templates as data (templates.yaml), rendered into typed chat messages.

`render(task, instance) -> Prompt(messages, version, hash)`; the version and hash go into every
result and journal key so a score can be traced to the exact prompt that produced it.
"""

from generalbench.prompts.model import MediaPart, Message, Prompt, TextPart
from generalbench.prompts.render import PromptError, Templates, load_templates, render

PROMPTS_VERSION = load_templates().version


def info(path=None) -> dict[str, str]:
    """{"version", "hash"} of the templates in use (shipped, or merged with an override file),
    for run manifests and reports."""
    return load_templates(path).info()

__all__ = ["PROMPTS_VERSION", "MediaPart", "Message", "Prompt", "PromptError", "Templates",
           "TextPart", "info", "load_templates", "render"]
