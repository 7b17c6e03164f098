"""Metrics that read the predicted media FILES, not decoded values (VBench, the Optical Flow Score).

Such a metric gets option `video_paths`: the absolute path of each prediction's single media file,
aligned with the predictions (None when missing, failed, inline, several files or a frame folder).
Whether a metric reads files is data (specs.yaml `reads_files`, metricmodels/models.yaml), so the
scorer asks this module and never tests metric names; it only hands each parsed answer to
`PredictedFiles.add` and merges `PredictedFiles.options()` into the metric's options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generalbench.errors import GeneralBenchError
from generalbench.metrics.specs import get_spec


def reads_video_files(metric: str) -> bool:
    """Whether a metric reads the predicted video FILES rather than frames (VBench does; the
    Optical Flow Score needs the file's frame rate).

    Decided from data: specs.yaml `reads_files`, or metricmodels/models.yaml's `metrics:` entry
    says `reads_video_files: true` or lists a model whose loader is `vbench`, as its default or
    in `also`.
    """
    from generalbench.metricmodels.registry import all_models, metric_models

    if get_spec(metric).reads_files:
        return True
    entry = metric_models(metric)
    if entry.get("reads_video_files"):
        return True
    models = all_models()
    ids = [entry.get("default"), *entry.get("also", [])]
    return any(i in models and models[i].loader == "vbench" for i in ids)


def prediction_file(output: str, value: Any, folder: Path | None) -> str | None:
    """The absolute path of a parsed prediction's single media file (None: inline, several files,
    a frame folder, or not on disk)."""
    from generalbench.data.native import artifact_refs

    try:
        refs = artifact_refs(output, value, folder)
        path = refs[0].resolve() if len(refs) == 1 else None
    except GeneralBenchError:
        return None
    return str(path) if path is not None and path.is_file() else None


class PredictedFiles:
    """Collects the predicted file of each instance, in order, for a metric that reads files.

    For every other metric it does nothing (no path is resolved), so the scorer can call it
    unconditionally.
    """

    def __init__(self, metric: str, output: str, folder: Path | None) -> None:
        self.enabled = reads_video_files(metric)
        self._output = output
        self._folder = folder
        self.paths: list[str | None] = []

    def add(self, parsed: Any) -> None:
        """Record one instance: its parsed answer before decoding (a file name), or None when the
        prediction is missing or could not be parsed or read."""
        if self.enabled:
            self.paths.append(None if parsed is None
                              else prediction_file(self._output, parsed, self._folder))

    def options(self) -> dict[str, Any]:
        """The metric options: `video_paths` for a metric that reads files, else nothing."""
        return {"video_paths": self.paths} if self.enabled else {}
