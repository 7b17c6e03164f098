"""The built-in mini-bench: a small General-Bench, generated deterministically, in the real layout.

`make_mini(dest)` writes `<dest>/<modality>/<comprehension|generation>/<TaskFolder>/annotation.json`
(and `<dest>/nlp/<TaskFolder>/`) plus media for every task listed in `tasks.yaml`. Media are
synthesised (drawn shapes, tones, moving squares, primitive point clouds, templated text) and each
reference follows from how its media were made, so the oracle predictions written by
`write_oracle_predictions` must score full marks: the end-to-end check of every metric path.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from generalbench.catalog import Task, load_catalog
from generalbench.data.minibench.common import TaskContext, task_seed, write_json
from generalbench.errors import DataError

MINIBENCH_VERSION = "1"
MARKER = "minibench.json"
DEFAULT_PER_TASK = 12
MODALITY_FOLDERS = {"image": "image", "video": "video", "audio": "audio", "3d": "3D",
                    "language": "nlp"}


def _is_artifact(output: str) -> bool:
    """Whether values of a native output type live in files (the prediction is a path)."""
    from generalbench.data.native import OUTPUT_TYPES

    return OUTPUT_TYPES[output].artifact is not None or output == "point_labels"


__all__ = ["MINIBENCH_VERSION", "MiniTask", "make_mini", "mini_tasks", "oracle_prediction",
           "write_oracle_predictions"]


@dataclass(frozen=True)
class MiniTask:
    """One mini-bench task: the catalog task and the recipe that generates it."""

    task: Task
    make: str
    answer: str
    published_type: str | None = None
    """NLP: the published annotation type; None = generalbench's own schema."""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        """The annotation `type`: the published NLP type, else the native output type."""
        return self.published_type or self.task.output

    def annotate(self, record: dict) -> dict:
        """A generated record in the file's schema (own schema: output = {"answer": value})."""
        if self.published_type:
            return record
        return {**record, "output": {"answer": _dig(record["output"], self.answer)}}

    def reference(self, record: dict) -> Any:
        """The reference value of a record as written in annotation.json."""
        return _dig(record["output"], self.answer if self.published_type else "answer")

    @property
    def folder(self) -> str:
        """Folder name in the official style: hyphenated for NLP, CamelCase otherwise."""
        words = "".join(c if c.isalnum() else " " for c in self.task.name).split()
        if self.task.modality == "language":
            return "-".join(words)
        return "".join(w[:1].upper() + w[1:] for w in words)

    @property
    def relpath(self) -> str:
        mod = MODALITY_FOLDERS[self.task.modality]
        if self.task.modality == "language":
            return f"{mod}/{self.folder}"
        return f"{mod}/{self.task.paradigm}/{self.folder}"

    def generator(self) -> Callable[[TaskContext], list[dict]]:
        module, func = self.make.rsplit(".", 1)
        return getattr(importlib.import_module(f"generalbench.data.minibench.{module}"), func)


def mini_tasks(catalog=None) -> list[MiniTask]:
    """The mini-bench's tasks, resolved against the catalog (exact task names, by sheet)."""
    catalog = catalog or load_catalog()
    text = resources.files("generalbench.data.minibench").joinpath("tasks.yaml").read_text("utf-8")
    out = []
    for row in yaml.safe_load(text):
        task = catalog.resolve(row["task"], sheet=row["sheet"])
        if task.task_name != row["task"]:
            raise DataError(f"minibench tasks.yaml: {row['task']!r} is not an exact catalog "
                            f"task_name (closest: {task.task_name!r})")
        out.append(MiniTask(task, row["make"], row["answer"], row.get("type"),
                            dict(row.get("options") or {})))
    return out


def make_mini(dest: Path | str, *, seed: int = 0, per_task: int = DEFAULT_PER_TASK,
              tasks: Sequence[str] | None = None, catalog=None) -> Path:
    """Generate the mini-bench into `dest` (replacing an earlier mini-bench there) and return it.

    The same seed and per_task give the same bytes. `tasks` (ids or names) restricts the set.
    """
    if not 1 <= per_task <= 1000:
        raise DataError(f"make-mini: per_task must be between 1 and 1000, got {per_task}")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not (dest / MARKER).exists():
        raise DataError(f"{dest}: folder is not empty and holds no mini-bench ({MARKER}); "
                        "choose an empty or new folder")
    selected = mini_tasks(catalog)
    if tasks:
        wanted = set(tasks)
        selected = [m for m in selected if {m.task.id, m.task.task_name, m.task.name} & wanted]
        if not selected:
            raise DataError(f"make-mini: none of {sorted(wanted)} is a mini-bench task")
    if dest.exists():
        for child in sorted(dest.iterdir()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    for mini in selected:
        task_dir = dest / mini.relpath
        task_dir.mkdir(parents=True, exist_ok=True)
        ctx = TaskContext(task_dir, per_task, task_seed(seed, mini.task.task_name), mini.options)
        records = [mini.annotate(r) for r in mini.generator()(ctx)]
        write_json(task_dir / "annotation.json", {
            "task": mini.task.task_name, "type": mini.type, "version": MINIBENCH_VERSION,
            "source": "generalbench mini-bench", "data": records})
    write_json(dest / MARKER, {
        "name": "generalbench mini-bench", "version": MINIBENCH_VERSION, "seed": seed,
        "per_task": per_task,
        "tasks": {m.task.id: m.relpath for m in selected}})
    return dest


def _dig(record: dict, dotted: str) -> Any:
    """`record["a"]["b"]` for "a.b" (the `answer` field path of tasks.yaml)."""
    value: Any = record
    for key in dotted.split("."):
        value = value[key]
    return value


def _copy(task_dir: Path, rel_src: str, writer, task_id: str, name: str) -> str:
    """Copy one reference file (or frame folder) into the writer's artifacts; its relative path."""
    src = task_dir / rel_src
    suffix = "" if src.is_dir() else "".join(Path(rel_src).suffixes)
    dst, rel = writer.artifact_path(task_id, name, suffix)
    shutil.copytree(src, dst) if src.is_dir() else shutil.copyfile(src, dst)
    return rel


def oracle_prediction(mini: MiniTask, record: dict, task_dir: Path, writer) -> Any:
    """The reference of one record as a prediction value (artifacts copied via `writer`)."""
    value = mini.reference(record)
    out, task_id, rid = mini.task.output, mini.task.id, str(record["id"])
    if _is_artifact(out) and isinstance(value, list):  # one file per frame
        return [_copy(task_dir, v, writer, task_id, f"{rid}_{i:05d}") for i, v in enumerate(value)]
    if _is_artifact(out):
        return _copy(task_dir, value, writer, task_id, rid)
    if out == "label_set":
        return [s.strip() for s in value.split(",")] if isinstance(value, str) else list(value)
    if out == "number":
        return float(value)
    if out in ("boxes", "boxes3d", "tracks3d"):
        return [dict(b, score=1.0) for b in value]
    if out in ("text", "label") and isinstance(value, list):
        return value[0]
    return value


def write_oracle_predictions(root: Path | str, dest: Path | str, catalog=None) -> Path:
    """Write the references of a generated mini-bench as a predictions folder (model "oracle").

    The folder is in generalbench's predictions format (`generalbench.data.predictions`); scoring
    it must give every task its best value: the end-to-end oracle check.
    """
    from generalbench.data.predictions import MANIFEST, PredictionWriter

    root, dest = Path(root), Path(dest)
    marker = root / MARKER
    if not marker.exists():
        raise DataError(f"{root}: no {MARKER}; generate it with `generalbench make-mini`")
    info = json.loads(marker.read_text("utf-8"))
    catalog = catalog or load_catalog()
    by_id = {m.task.id: m for m in mini_tasks(catalog)}
    if dest.exists() and any(dest.iterdir()):
        manifest = dest / MANIFEST
        if not (manifest.exists() and json.loads(manifest.read_text("utf-8")).get("model") == "oracle"):
            raise DataError(f"{dest}: folder is not empty and holds no oracle predictions; "
                            "choose an empty or new folder")
        shutil.rmtree(dest)
    with PredictionWriter(dest, model="oracle", catalog=catalog, fsync=False,
                          meta={"source": "generalbench mini-bench references",
                                "minibench": info}) as writer:
        for task_id, rel in info["tasks"].items():
            mini, task_dir = by_id[task_id], root / rel
            data = json.loads((task_dir / "annotation.json").read_text("utf-8"))["data"]
            for record in data:
                writer.add(task_id, record["id"], oracle_prediction(mini, record, task_dir, writer))
    return dest
