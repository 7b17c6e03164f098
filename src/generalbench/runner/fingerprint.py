"""Journal keys: one stable hash per (task version, instance, prompt, model, generation settings).

A key changes exactly when the answer could change, so a restarted or re-configured run reuses
every response whose inputs are unchanged and redoes only the rest. Runtime knobs (concurrency,
batch size, API key) are not part of it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def task_version(task: Any, data_version: str | None = None) -> str:
    """What identifies a task's content: id, official name, output type, metric, data version."""
    blob = json.dumps([task.id, task.task_name, task.output, task.metric, data_version or ""])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def request_key(*, task_version: str, instance_id: str, prompt_version: str, prompt_hash: str,
                model_fingerprint: str, generation: dict[str, Any]) -> str:
    blob = json.dumps({"task": task_version, "instance": instance_id, "prompt": prompt_version,
                       "prompt_hash": prompt_hash, "model": model_fingerprint, "gen": generation},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
