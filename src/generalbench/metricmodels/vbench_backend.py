"""VBench dimensions that need VBench's own detectors, trackers and interpolators.

Imaging quality (MUSIQ), object class, multiple objects, colour, spatial relationship, human action,
appearance style, camera motion and motion smoothness (AMT) run through the `vbench` package,
which downloads and pins its own checkpoints. It is an optional extra: without it these dimensions
raise a clear MetricError; nothing falls back to another metric.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel, pick_device, require


class VBenchModel(MetricModel):
    """Runs VBench's `custom_input` evaluation on video files for one dimension."""

    def _load(self) -> None:
        self.vbench = require("vbench", extra="vbench", purpose="VBench dimensions")
        self.device = pick_device(self.device_request)

    def evaluate(self, dimension: str, videos: Sequence[str | Path],
                 prompts: Sequence[str] | None = None) -> tuple[float, list[float]]:
        """Score video files on a VBench dimension: (mean in [0, 1], per-video values)."""
        self.load()
        if not videos or not all(isinstance(v, (str, Path)) for v in videos):
            raise MetricError(f"VBench dimension {dimension!r} reads video files: pass the "
                              "predictions as file paths (option video_paths=[...])")
        paths = [Path(v) for v in videos]
        if not all(p.is_file() for p in paths):
            raise MetricError(f"VBench dimension {dimension!r} needs video files on disk; pass "
                              "the predictions as paths (the data layer's media paths)")
        with tempfile.TemporaryDirectory() as tmp:
            bench = self.vbench.VBench(self.device, None, tmp)
            info: dict[str, Any] = {"prompt_list": list(prompts)} if prompts else {}
            bench.evaluate(videos_path=[str(p) for p in paths], name="generalbench",
                           dimension_list=[dimension], mode="custom_input", **info)
            result = json.loads((Path(tmp) / "generalbench_eval_results.json").read_text())
        mean, per_video = result[dimension]
        return float(mean), [float(v["video_results"]) for v in per_video]
