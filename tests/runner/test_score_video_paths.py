"""Which metrics get the predicted video files, and how a prediction becomes a file path.

The end-to-end path (score_task -> success_rate -> VBench in a separate interpreter) is tested
with a protocol double in tests/metricmodels/test_vbench_bridge.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generalbench.data.media import save_image, save_video
from generalbench.metricmodels.registry import metric_models
from generalbench.metrics.media_files import prediction_file, reads_video_files


def test_video_file_metrics_are_read_from_models_yaml() -> None:
    assert metric_models("success_rate")["default"] == "vbench" and reads_video_files("success_rate")
    assert "vbench" in metric_models("i2v_composite")["also"] and reads_video_files("i2v_composite")
    for metric in ("fvd", "clip_score", "dino_score", "accuracy", "psnr"):
        assert not reads_video_files(metric), metric


def test_prediction_file_is_the_absolute_video_path(tmp_path: Path, catalog) -> None:
    task = catalog.get("video-generation-color-specific-text-to-video-generation")
    save_video(tmp_path / "a.mp4", np.zeros((2, 16, 16, 3), np.uint8))
    (tmp_path / "frames").mkdir()
    save_image(tmp_path / "frames" / "0.png", np.zeros((8, 8, 3), np.uint8))
    assert prediction_file(task.output, "a.mp4", tmp_path) == str((tmp_path / "a.mp4").absolute())
    assert prediction_file(task.output, "absent.mp4", tmp_path) is None
    assert prediction_file(task.output, "frames", tmp_path) is None  # a frame folder: encoded by the metric
    assert prediction_file(task.output, "a.mp4", None) is None  # no folder to resolve against
