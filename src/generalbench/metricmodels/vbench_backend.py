"""VBench dimensions that need VBench's own detectors, trackers and interpolators.

Object class, multiple objects, colour, spatial relationship (GRiT), human action (UMT), motion
smoothness (AMT) and overall consistency (ViCLIP) run through the `vbench` package, which
downloads and pins its own checkpoints. vbench 0.1.5 pins numpy<2 and transformers==4.33.2, so
it cannot be installed next to generalbench: it runs in an interpreter of its own, a separate
virtual environment whose python is named by `$GENERALBENCH_VBENCH_PYTHON` (or the metric
option `vbench_python`); without either, the current interpreter is used when `vbench` imports
there. The bridge writes a JSON spec, runs `<python> vbench_driver.py spec.json` (a stdlib-only
script, since generalbench is not installed in that venv) and reads back the mean and per-video
values. Every failure is one MetricError naming the dimension, the interpreter, the last lines
of its stderr and how to set the venv up; nothing falls back to another metric.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel

ENV_VAR = "GENERALBENCH_VBENCH_PYTHON"
TIMEOUT_VAR = "GENERALBENCH_VBENCH_TIMEOUT"  # seconds per VBench run; unset: no limit
DRIVER = Path(__file__).with_name("vbench_driver.py")
EXIT_IMPORT, EXIT_SPEC = 3, 4  # vbench_driver's exit codes
STDERR_LINES = 15
SETUP = ("set up VBench in its own virtual environment: python3 -m venv ~/.venvs/vbench && "
         "~/.venvs/vbench/bin/pip install vbench torch torchvision 'setuptools<81' (object_class, "
         "multiple_objects, color and spatial_relationship also need detectron2: "
         "~/.venvs/vbench/bin/pip install 'detectron2@git+https://github.com/facebookresearch/detectron2.git'), "
         f"then export {ENV_VAR}=~/.venvs/vbench/bin/python (or pass the metric option "
         "vbench_python=...); see docs/metrics.md")


def vbench_timeout(option: float | str | None = None) -> float | None:
    """Seconds one VBench run may take: option `vbench_timeout`, else $GENERALBENCH_VBENCH_TIMEOUT,
    else no limit (a first run downloads VBench's checkpoints, which can take long)."""
    value = option if option not in (None, "") else os.environ.get(TIMEOUT_VAR)
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0:
        raise MetricError(f"VBench time limit must be a positive number of seconds, got {value!r} "
                          f"(option vbench_timeout or ${TIMEOUT_VAR})")
    return seconds


def vbench_python(option: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """The interpreter that runs VBench and where that choice came from.

    The metric option wins over the environment variable; with neither, the current
    interpreter, but only when `vbench` is importable in it.
    """
    if option:
        return str(Path(option).expanduser()), "option vbench_python"
    env = os.environ.get(ENV_VAR)
    if env:
        return str(Path(env).expanduser()), f"${ENV_VAR}"
    if importlib.util.find_spec("vbench") is not None:
        return sys.executable, "the current interpreter (vbench imports here)"
    raise MetricError(f"VBench is not set up: ${ENV_VAR} is not set and the vbench package is not "
                      f"importable in {sys.executable} (vbench 0.1.5 pins numpy<2 and "
                      f"transformers==4.33.2, so it needs its own interpreter); {SETUP}")


def _check_interpreter(python: str, origin: str, dimension: str) -> None:
    """A path must be an executable file; a bare name must be on PATH."""
    found = python if os.sep in python else shutil.which(python)
    if not found or not Path(found).is_file() or not os.access(found, os.X_OK):
        raise MetricError(f"VBench dimension {dimension!r}: the interpreter {python!r} (from {origin}) "
                          f"does not exist or is not executable; {SETUP}")


def _tail(text: str, n: int = STDERR_LINES) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "(no output on stderr)"


@dataclass(frozen=True)
class VBenchRun:
    """One dimension's scores from VBench and what produced them (recorded in result details)."""

    dimension: str
    mean: float  # VBench's own aggregate, in [0, 1]
    per_video: list[float]  # aligned with the videos passed in
    vbench_version: str
    python: str
    device: str

    def info(self) -> dict[str, Any]:
        return {"vbench_dimension": self.dimension, "vbench_version": self.vbench_version,
                "vbench_python": self.python, "vbench_device": self.device}


class VBenchModel(MetricModel):
    """Runs one VBench dimension on video files in VBench's own interpreter (see the module doc).

    The "weights" of this entry are VBench's checkpoint cache: an explicit weights folder (or
    `$GENERALBENCH_WEIGHTS/vbench/`) becomes the child's `VBENCH_CACHE_DIR`; otherwise VBench
    uses its default `~/.cache/vbench` and downloads what it lacks.
    """

    def _load(self) -> None:
        """Nothing to hold here: VBench loads its checkpoints in its own process, per call."""

    def info(self) -> dict[str, Any]:
        info = super().info()
        if self.weights.origin == "package":  # the bridge ships with generalbench: no weights of ours
            info["weights"] = "VBench's own checkpoint cache"
        return info

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.weights.origin in ("explicit", "weights-folder") and self.weights.root.is_dir():
            env["VBENCH_CACHE_DIR"] = str(self.weights.root)
        return env

    def run(self, dimension: str, videos: Sequence[str | Path],
            prompts: Sequence[str | None] | None = None, *,
            auxiliary: Sequence[dict[str, Any] | None] | None = None,
            python: str | os.PathLike[str] | None = None,
            timeout: float | str | None = None) -> VBenchRun:
        """Run VBench on video files for one dimension, in its own interpreter.

        `prompts` and `auxiliary` (VBench's per-prompt info, e.g. {"object": "cat"}) align with
        `videos`; missing auxiliary info is looked up by prompt in VBench's own full-info JSON.
        """
        self.load()
        exe, origin = vbench_python(python)
        limit = vbench_timeout(timeout)
        paths = [Path(v) for v in videos]
        if not paths:
            raise MetricError(f"VBench dimension {dimension!r}: no videos to score")
        absent = [str(p) for p in paths if not p.is_file()]
        if absent:
            raise MetricError(f"VBench dimension {dimension!r} reads video files, and these are not "
                              f"files: {absent[:3]}")
        prompts = list(prompts) if prompts is not None else [None] * len(paths)
        aux = list(auxiliary) if auxiliary is not None else [None] * len(paths)
        if len(prompts) != len(paths) or len(aux) != len(paths):
            raise MetricError(f"VBench dimension {dimension!r}: {len(paths)} videos but "
                              f"{len(prompts)} prompts and {len(aux)} auxiliary entries")
        _check_interpreter(exe, origin, dimension)
        with tempfile.TemporaryDirectory(prefix="generalbench-vbench-") as tmp:
            spec = {"dimension": dimension, "device": str(self.device_request or "auto"),
                    "work_dir": str(Path(tmp) / "work"), "result": str(Path(tmp) / "result.json"),
                    "videos": [{"path": str(p.resolve()), "prompt": q, "auxiliary": a}
                               for p, q, a in zip(paths, prompts, aux, strict=True)]}
            spec_path = Path(tmp) / "spec.json"
            spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
            try:
                proc = subprocess.run([exe, str(DRIVER), str(spec_path)], capture_output=True,
                                      text=True, env=self._env(), check=False, timeout=limit)
            except subprocess.TimeoutExpired:
                raise MetricError(f"VBench dimension {dimension!r} did not finish within {limit:g} s "
                                  f"in {exe} (from {origin}) and was stopped; raise the limit "
                                  f"(option vbench_timeout or ${TIMEOUT_VAR})") from None
            except OSError as exc:
                raise MetricError(f"VBench dimension {dimension!r}: cannot run the interpreter {exe!r} "
                                  f"(from {origin}): {exc}; {SETUP}") from None
            if proc.returncode == EXIT_IMPORT:
                raise MetricError(f"VBench dimension {dimension!r}: vbench is not importable in {exe} "
                                  f"(from {origin}): {_tail(proc.stderr, 3)}; {SETUP}")
            if proc.returncode != 0:
                what = "cannot run this input" if proc.returncode == EXIT_SPEC else \
                    f"failed (exit code {proc.returncode})"
                raise MetricError(f"VBench dimension {dimension!r} {what} in {exe} (from {origin}); "
                                  f"last lines of its stderr: {_tail(proc.stderr)}")
            result = json.loads(Path(spec["result"]).read_text(encoding="utf-8"))
        per = result["per_video"]
        if len(per) != len(paths) or any(v is None for v in per):
            raise MetricError(f"VBench dimension {dimension!r}: the driver returned {len(per)} values "
                              f"for {len(paths)} videos")
        return VBenchRun(dimension, float(result["mean"]), [float(v) for v in per],
                         str(result.get("vbench_version", "unknown")), str(result.get("python", exe)),
                         str(result.get("device", spec["device"])))
