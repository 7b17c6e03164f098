"""Replay an existing predictions folder as if it were a model.

Scores outputs produced elsewhere (another harness, a closed API batch job) through the same
run, journal and report path. Each request is answered with the folder's prediction for that
task and instance; artifact files are copied into the run so the new folder is self-contained.
An instance the folder lacks fails as "no prediction" (recorded, never fatal).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generalbench.data.safepath import resolve_inside
from generalbench.errors import GeneralBenchError, ModelError
from generalbench.models.api import (
    ModelCallError,
    ModelOutput,
    ModelRequest,
    RequestRejected,
    copy_artifact,
)
from generalbench.models.config import ModelConfig


class ReplayBackend:
    batch_size = 0

    def __init__(self, config: ModelConfig) -> None:
        self.name = config.name
        self.folder = Path(str(config.params.get("path", "")))
        if not self.folder.is_dir():
            raise ModelError(f"{self.folder}: replay needs an existing predictions folder")
        from generalbench.data.predictions import read_predictions

        self.preds = read_predictions(self.folder)

    def _copy_artifacts(self, value: Any, dest: Path | None) -> Any:
        """Relative paths that exist in the replayed folder are copied under `dest`."""
        if isinstance(value, list):
            return [self._copy_artifacts(v, dest) for v in value]
        if isinstance(value, str) and dest is not None and value and "\n" not in value:
            try:  # the one path check of the data layer: inside the folder, regular files only
                src = resolve_inside(self.folder, value)
                exists = src.exists()
            except GeneralBenchError:
                exists = False
            if exists:
                return str(copy_artifact(src, dest.parent / value))
        return value

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        out: list[ModelOutput | ModelCallError] = []
        for r in requests:
            task_preds = self.preds.tasks.get(r.task.id) or {}
            if r.instance.id not in task_preds:
                out.append(RequestRejected(f"{self.folder}: no prediction for task "
                                           f"{r.task.id!r}, id {r.instance.id!r}"))
                continue
            value = self._copy_artifacts(task_preds[r.instance.id], r.artifact_dir)
            out.append(ModelOutput(prediction=value,
                                   text=value if isinstance(value, str) else None))
        return out

    async def aclose(self) -> None:
        return None


def create(config: ModelConfig) -> ReplayBackend:
    return ReplayBackend(config)
