"""Run one VBench dimension on video files, inside VBench's own Python interpreter.

Why a separate script: vbench 0.1.5 pins numpy<2 and transformers==4.33.2, which cannot live in
generalbench's environment, so VBench runs in a virtual environment of its own and this file is
executed there as `<vbench python> vbench_driver.py spec.json`. generalbench is not installed in
that environment, so the script uses only the standard library and `vbench` itself.

Protocol (metricmodels/vbench_backend.py writes the spec and reads the result):
  spec.json   {"dimension": str, "device": "auto" | "cpu" | "cuda", "work_dir": str,
               "result": str (where to write the result JSON),
               "videos": [{"path": str, "prompt": str | null, "auxiliary": dict | null}, ...]}
  result      {"dimension", "mean", "per_video" (aligned with spec videos), "vbench_version",
               "python", "device"}
  exit codes  0 done; 3 `import vbench` failed; 4 the spec cannot be run (bad dimension, a
              prompt that cannot be a file name, no auxiliary info); other: VBench failed
              (its traceback is on stderr).

How VBench is called. VBench's `custom_input` mode refuses the dimensions that need auxiliary
information (object_class, multiple_objects, color, spatial_relationship, scene,
appearance_style), and its `videos_path` is one folder (or one file), not a list. So the driver
uses VBench's standard mode, the one its leaderboard uses: it writes a full-info JSON (prompt,
dimension and auxiliary info per prompt, in VBench's own layout), links the videos into a folder
as `<prompt>-<i><suffix>` (the names standard mode looks up; human_action also reads the action
label from this name), and calls

    vbench.VBench(device, full_info_json, output_dir).evaluate(
        videos_path=folder, name="generalbench", dimension_list=[dimension],
        mode="vbench_standard")

then reads `<output_dir>/generalbench_eval_results.json` ({dimension: [mean, video_results]}).
Standard mode finds at most five videos per prompt (`-0` .. `-4`) and one file suffix per
folder, so videos are split into rounds when a prompt repeats more often or suffixes differ; the
mean over rounds is weighted by their video counts. Auxiliary info not given in the spec is
looked up by prompt in the VBench_full_info.json that ships inside the vbench package.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

# VBench's dimensions that read auxiliary info (VBench.check_dimension_requires_extra_info).
AUX_DIMENSIONS = frozenset({"object_class", "multiple_objects", "scene", "appearance_style", "color",
                            "spatial_relationship"})
# Dimensions that read the prompt (text alignment, the object/colour/action named in it).
PROMPT_DIMENSIONS = AUX_DIMENSIONS | {"overall_consistency", "temporal_style", "human_action"}
# VBench's imaging_quality keeps per-video MUSIQ scores in 0-100 but divides the mean by 100:
# per-video values are put on the mean's scale.
PER_VIDEO_SCALE = {"imaging_quality": 0.01}
MAX_PER_PROMPT = 5  # standard mode looks up <prompt>-0 .. <prompt>-4
RESULTS_NAME = "generalbench"
EXIT_IMPORT, EXIT_SPEC = 3, 4


class SpecError(Exception):
    """A spec this driver cannot run (reported on stderr, exit code 4)."""


def file_stem(prompt: str) -> str:
    """The prompt as VBench's file-name stem: '/' and NUL cannot be in a file name."""
    stem = prompt.replace("/", " ").replace("\x00", " ").strip()
    if not stem:
        raise SpecError(f"prompt {prompt!r} is empty once made a file name")
    if len(stem.encode("utf-8")) > 240:
        raise SpecError(f"prompt {prompt[:60]!r}... is longer than a file name allows (240 bytes); "
                        "VBench names each video after its prompt")
    return stem


def auxiliary_lookup(full_info: list[dict[str, Any]], dimension: str) -> dict[str, Any]:
    """{prompt: auxiliary info of `dimension`} from VBench's own full-info JSON."""
    out: dict[str, Any] = {}
    for entry in full_info:
        aux = (entry.get("auxiliary_info") or {}).get(dimension)
        if dimension in entry.get("dimension", []) and aux is not None:
            out.setdefault(entry["prompt_en"], aux)
    return out


def plan_rounds(dimension: str, videos: list[dict[str, Any]],
                known_aux: dict[str, Any]) -> list[dict[str, Any]]:
    """Split the videos into rounds VBench's standard mode can read, naming each video.

    Each round: {"suffix", "files": {file name: video index}, "prompts": {stem: (prompt, aux)}}.
    """
    rounds: dict[tuple[str, int], dict[str, Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    for k, video in enumerate(videos):
        prompt = video.get("prompt")
        if prompt is None:
            if dimension in PROMPT_DIMENSIONS:
                raise SpecError(f"VBench dimension {dimension!r} reads the prompt, but video {k} "
                                f"({video['path']}) has none")
            prompt = f"generalbench video {k}"
        stem = file_stem(str(prompt))
        aux = video.get("auxiliary")
        if aux is None and dimension in AUX_DIMENSIONS:
            aux = known_aux.get(str(prompt), known_aux.get(stem))
            if aux is None:
                raise SpecError(f"VBench dimension {dimension!r} needs auxiliary info (the object, "
                                f"colour or relation to look for) for prompt {prompt!r}, which is "
                                "not in VBench_full_info.json; pass it per video (option "
                                "vbench_auxiliary)")
        suffix = Path(video["path"]).suffix.lower() or ".mp4"
        count = seen.get((suffix, stem), 0)
        seen[(suffix, stem)] = count + 1
        key = (suffix, count // MAX_PER_PROMPT)
        rnd = rounds.setdefault(key, {"suffix": suffix, "files": {}, "prompts": {}})
        rnd["files"][f"{stem}-{count % MAX_PER_PROMPT}{suffix}"] = k
        rnd["prompts"].setdefault(stem, aux)
    return [rounds[key] for key in sorted(rounds)]


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:  # file systems without symlinks
        shutil.copyfile(src, dst)


def run_round(vbench: Any, dimension: str, device: str, rnd: dict[str, Any], videos: list[dict[str, Any]],
              work: Path) -> tuple[float, dict[int, float]]:
    """One VBench standard-mode call; (mean, {video index: value})."""
    folder = work / "videos"
    folder.mkdir(parents=True)
    for name, k in rnd["files"].items():
        _link(Path(videos[k]["path"]).resolve(), folder / name)
    full_info = []
    for stem, aux in rnd["prompts"].items():
        entry: dict[str, Any] = {"prompt_en": stem, "dimension": [dimension]}
        if aux is not None:
            entry["auxiliary_info"] = {dimension: aux}
        full_info.append(entry)
    info_path = work / "full_info.json"
    info_path.write_text(json.dumps(full_info, ensure_ascii=False), encoding="utf-8")
    out = work / "out"
    bench = vbench.VBench(device, str(info_path), str(out))
    bench.evaluate(videos_path=str(folder), name=RESULTS_NAME, dimension_list=[dimension],
                   mode="vbench_standard")
    results = json.loads((out / f"{RESULTS_NAME}_eval_results.json").read_text(encoding="utf-8"))
    mean, per_video = results[dimension]
    scale = PER_VIDEO_SCALE.get(dimension, 1.0)
    values: dict[int, float] = {}
    for item in per_video:
        name = Path(item["video_path"]).name
        if name in rnd["files"]:
            values[rnd["files"][name]] = float(item["video_results"]) * scale
    missing = [n for n, k in rnd["files"].items() if k not in values]
    if missing:
        raise RuntimeError(f"VBench returned no value for {len(missing)} video(s): {missing[:3]}")
    return float(mean), values


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch  # VBench depends on torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run(vbench: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Score the spec's videos on its dimension; the result dict (see the module docstring)."""
    dimension = str(spec["dimension"])
    if importlib.util.find_spec(f"vbench.{dimension}") is None:
        raise SpecError(f"VBench {getattr(vbench, '__version__', '')} (at {Path(vbench.__file__).parent}) "
                        f"has no dimension {dimension!r} (no module vbench.{dimension})")
    videos = list(spec["videos"])
    if not videos:
        raise SpecError("no videos to score")
    known_aux: dict[str, Any] = {}
    if dimension in AUX_DIMENSIONS and any(v.get("auxiliary") is None for v in videos):
        shipped = Path(vbench.__file__).parent / "VBench_full_info.json"
        if shipped.is_file():
            known_aux = auxiliary_lookup(json.loads(shipped.read_text(encoding="utf-8")), dimension)
    rounds = plan_rounds(dimension, videos, known_aux)
    device = resolve_device(str(spec.get("device", "auto")))
    work = Path(spec["work_dir"])
    per_video: list[float | None] = [None] * len(videos)
    total = 0.0
    for i, rnd in enumerate(rounds):
        mean, values = run_round(vbench, dimension, device, rnd, videos, work / f"round{i}")
        total += mean * len(values)
        for k, v in values.items():
            per_video[k] = v
    return {"dimension": dimension, "mean": total / len(videos), "per_video": per_video,
            "vbench_version": _version(), "python": sys.executable, "device": device}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("vbench")
    except Exception:  # noqa: BLE001 - a vbench checkout without metadata
        return "unknown"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python vbench_driver.py spec.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    try:
        import vbench
    except ImportError as exc:
        print(f"cannot import vbench in {sys.executable}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_IMPORT
    try:
        result = run(vbench, spec)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SPEC
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
