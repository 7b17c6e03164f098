"""Reference baselines: what a score looks like with no model at all. Not models.

Each rule is a standard, documented trivial predictor (docs/models.md), chosen by the task's native
output type only:

- label: the label that appears most often among the task's `choices` across its instances, if it
  is a choice of this instance (else this instance's first choice); without choices, the most
  frequent reference label of the task (the majority-class baseline, open sets only).
- label_set: a one-element set with the most frequent label, chosen as above.
- number: the mean of the task's reference values (the mean predictor); 0 without references.
- number_series: the per-position mean of the reference series, cut to each instance's length.
- outputs that are media (image, video, audio, point cloud) when the instance has an input of
  the same media kind: a copy of that input (the identity baseline of restoration, editing,
  enhancement and completion tasks); a mesh from a point-cloud input: the points' convex hull,
  written as .ply (a mesh format the predictions validator accepts).
- text: the empty string; list-valued outputs (boxes, tracks, ...): an empty list; anything else:
  no prediction. A task where the baseline has no prediction for any instance is left out of the
  predictions folder (unsupported, like a task the model does not do), so the folder passes
  `validate` as any submission must.

The per-task statistics (majority label, mean) come from all of a task's instances in the run,
never from one shard's, so sharded and unsharded runs predict the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generalbench.models.api import ModelCallError, ModelOutput, ModelRequest, copy_artifact
from generalbench.models.config import ModelConfig

MEDIA_OUTPUTS = {"image": {"image"}, "video": {"video", "frames"}, "audio": {"audio"},
                 "pointcloud": {"pointcloud"}, "mesh": {"mesh", "pointcloud"}}
EMPTY_LIST_OUTPUTS = {"boxes", "track", "boxes3d", "tracks3d", "label_set", "point_labels", "poses"}


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    return None


def task_context(task: Any, instances: Sequence[Any]) -> dict[str, Any]:
    """Per-task statistics the baselines use (computed once per task, from its instances)."""
    choices: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    numbers: list[float] = []
    series: list[list[float]] = []
    for inst in instances:
        for c in inst.inputs.get("choices") or []:
            choices[str(c)] += 1
        t = inst.target
        if isinstance(t, str):
            labels[t] += 1
        elif isinstance(t, list) and all(isinstance(x, str) for x in t):
            labels.update(t)
        elif (v := _number(t)) is not None:
            numbers.append(v)
        elif isinstance(t, list) and t and all(_number(x) is not None for x in t):
            series.append([float(x) for x in t])
    mean_series: list[float] = []
    if series:
        for i in range(max(len(s) for s in series)):
            vals = [s[i] for s in series if len(s) > i]
            mean_series.append(sum(vals) / len(vals))
    return {"choice_counts": choices, "label_counts": labels,
            "mean": sum(numbers) / len(numbers) if numbers else 0.0, "mean_series": mean_series}


def _most_frequent(counts: Counter[str], allowed: Sequence[str] | None) -> str | None:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    for label, _ in ranked:
        if not allowed or label in allowed:
            return label
    return allowed[0] if allowed else None


def baseline_prediction(task: Any, instance: Any, ctx: dict[str, Any],
                        artifact_dir: Path | None) -> Any:
    """The baseline's native prediction for one instance (None = no prediction)."""
    out = task.output
    choices = [str(c) for c in instance.inputs.get("choices") or []]
    if out in ("label", "label_set"):
        counts = ctx["choice_counts"] if ctx["choice_counts"] else ctx["label_counts"]
        label = _most_frequent(counts, choices)
        if label is None:
            return None if out == "label" else []
        return label if out == "label" else [label]
    if out == "number":
        return ctx["mean"]
    if out == "number_series":
        n = len(instance.target) if isinstance(instance.target, list) else len(ctx["mean_series"])
        return ctx["mean_series"][:n]
    if out in MEDIA_OUTPUTS:
        for _, ref in instance.media():
            if ref.kind in MEDIA_OUTPUTS[out] and artifact_dir is not None:
                src = ref.resolve()
                safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in instance.id)
                if out == "mesh" and ref.kind == "pointcloud":
                    return str(_hull_mesh(src, artifact_dir / f"{safe}.ply"))
                dest = artifact_dir / (safe + ("" if src.is_dir() else src.suffix))
                return str(copy_artifact(src, dest))
        return None
    if out == "text":
        return ""
    if out in EMPTY_LIST_OUTPUTS:
        return []
    return None


def _hull_mesh(points_path: Path, dest: Path) -> Path:
    """The convex hull of a point cloud as a .ply triangle mesh (the mesh baseline)."""
    from scipy.spatial import ConvexHull, QhullError

    from generalbench.data.media import load_pointcloud, save_ply

    points = load_pointcloud(points_path)
    try:
        faces = ConvexHull(points).simplices
    except (QhullError, ValueError):  # flat or too few points: a fan over the first points
        n = len(points)
        faces = [[0, i, i + 1] for i in range(1, n - 1)] or [[0, 0, 0]]
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_ply(dest, points, faces)
    return dest


class BaselineBackend:
    """Answers every request with the reference baseline for the task's output type."""

    batch_size = 0

    def __init__(self, config: ModelConfig) -> None:
        self.name = config.name
        self._ctx: dict[str, dict[str, Any]] = {}

    def prepare(self, task: Any, instances: Sequence[Any]) -> None:
        self._ctx[task.id] = task_context(task, instances)

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        out: list[ModelOutput | ModelCallError] = []
        for r in requests:
            ctx = self._ctx.get(r.task.id) or task_context(r.task, [r.instance])
            value = baseline_prediction(r.task, r.instance, ctx, r.artifact_dir)
            files = [value] if isinstance(value, str) and r.artifact_dir and value.startswith(
                str(r.artifact_dir)) else []
            out.append(ModelOutput(prediction=value, text=value if r.task.output == "text" else None,
                                   files=files))
        return out

    async def aclose(self) -> None:
        return None


def create(config: ModelConfig) -> BaselineBackend:
    return BaselineBackend(config)
