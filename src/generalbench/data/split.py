"""`generalbench split`: a fully annotated dataset -> open set, closed set and answer key.

Per task, instances are ordered by sha256("split:{seed}:{task_id}:{id}") and the first
round(n * 2 / 5) go to the open set, the rest to the closed set: a 2:3 split, deterministic,
independent of file order. The closed set keeps inputs only (and only input media); its answers
go to an answer-key folder with the same layout, which holds the complete closed instances
(inputs and answers, with their media) so that operators can validate and score against it as a
dataset. Files are hard-linked where the filesystem allows, so the copies cost no space.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generalbench.catalog import Catalog
from generalbench.data.adapters import fields, norm_type
from generalbench.data.archive import archive_stem, is_archive
from generalbench.data.dataset import TaskData, open_dataset
from generalbench.data.instances import Instance, MediaRef
from generalbench.data.safepath import iter_files
from generalbench.data.staging import staged_folder
from generalbench.errors import DataError

OPEN, CLOSED, ANSWERS = "open", "closed", "answers"

# Answer fields outside `output` in official layouts (top-level keys or dotted input keys).
LAYOUT_ANSWER_FIELDS = {
    "grounding": ["trajectory", "tube_start_frame", "tube_end_frame"],
    "restoration": ["input.gt_dir"],
    "object_detection": ["input.gt_dir"],
}


def split_key(seed: int, task_id: str, instance_id: str) -> str:
    return hashlib.sha256(f"split:{seed}:{task_id}:{instance_id}".encode()).hexdigest()


def open_ids(task_id: str, ids: list[str], seed: int = 0, open_part: int = 2, parts: int = 5) -> set[str]:
    """The ids of a task that go to the open set (round(n * open_part / parts) of them)."""
    order = sorted(ids, key=lambda i: split_key(seed, task_id, i))
    return set(order[: round(len(order) * open_part / parts)])


def _answer_fields(layout: str) -> list[str]:
    """Fields holding the reference answer, for a file read with adapter layout `layout`."""
    extra = list(LAYOUT_ANSWER_FIELDS.get(layout, []))
    for name, spec in fields()["nlp"].items():
        if norm_type(name) == layout:
            extra += [p for p in spec["target"]["paths"] if not p.startswith("output")]
    return ["output", *extra]


def _strip(record: dict[str, Any], answer_fields: list[str]) -> dict[str, Any]:
    """A copy of `record` without its answer: `output`, instance-level answer containers
    (their top-level key) and answer keys under `input`."""
    out = json.loads(json.dumps(record))
    for path in answer_fields:
        head, _, rest = path.partition(".")
        if head == "input" and rest and isinstance(out.get("input"), dict):
            out["input"].pop(rest, None)
        elif head != "input":
            out.pop(head, None)
    return out


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _place_ref(ref: MediaRef, folder: Path, dest_folder: Path) -> None:
    src = ref.resolve(folder)
    if src.is_dir():
        for f in iter_files(src, folder):  # a frame folder: each file checked to stay inside
            _place(f, dest_folder / f.relative_to(folder))
    elif src.exists():
        _place(src, dest_folder / ref.path)
    else:
        raise DataError(f"{src}: media file not found; run `generalbench validate` on the dataset first")


def _rel_folder(td: TaskData, root: Path) -> Path:
    entry = td.entry or td.source
    rel = entry.relative_to(root)
    if is_archive(entry):
        rel = rel.with_name(archive_stem(entry))
    return rel


@dataclass
class SplitReport:
    out: Path
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)


def split_dataset(root: Path | str, out: Path | str, catalog: Catalog, *, seed: int = 0,
                  open_part: int = 2, parts: int = 5) -> SplitReport:
    """Write `out/open`, `out/closed` and `out/answers` (same layout as `root`) and `out/split.json`.

    The split is written into a hidden sibling folder renamed to `out` at the end, so an
    interrupted split leaves nothing that blocks the retry.
    """
    root, final = Path(root).absolute(), Path(out).absolute()
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if final.exists() and not final.is_dir():
        raise DataError(f"--out {final}: is a file, not a folder; choose a new folder")
    if final.exists() and any(final.iterdir()):
        raise DataError(f"{final}: output folder is not empty; choose a new one")
    if final.resolve().is_relative_to(root.resolve()):
        raise DataError(f"--out {final}: is inside the dataset folder {root}; the split would be "
                        "read as part of the dataset next time; choose a folder outside it")
    dataset = open_dataset(root, catalog)
    if not dataset.tasks():
        raise DataError(f"{root}: no task folder matched the catalog")
    with staged_folder(final) as out:  # `final` is absent or empty (checked above)
        report = _write_split(dataset, root, out, catalog, seed, open_part, parts)
    report.out = final
    return report


def _write_split(dataset: Any, root: Path, out: Path, catalog: Catalog, seed: int, open_part: int,
                 parts: int) -> SplitReport:
    report = SplitReport(out)
    for td in dataset.tasks():
        header, records = td.load()
        instances: list[Instance] = list(td.instances())
        if any(i.target is None for i in instances):
            raise DataError(f"{td.annotation_path}: task={td.task.id!r}: some instances have no answer; "
                            "split needs a fully annotated dataset")
        by_id = {i.id: i for i in instances}
        chosen = open_ids(td.task.id, list(by_id), seed, open_part, parts)
        _, ctx = td._context(header, records[0] if records else None)
        answer_fields = _answer_fields(ctx.layout)
        rel = _rel_folder(td, root)
        docs: dict[str, list[dict[str, Any]]] = {OPEN: [], CLOSED: [], ANSWERS: []}
        for record, inst in zip(records, instances, strict=True):
            media = [r for _, r in inst.media()]
            target = inst.target
            target_media = [target] if isinstance(target, MediaRef) else \
                [r for r in target if isinstance(r, MediaRef)] if isinstance(target, list) else []
            if inst.id in chosen:
                docs[OPEN].append(record)
                for ref in media + target_media:
                    _place_ref(ref, td.folder, out / OPEN / rel)
            else:
                docs[CLOSED].append(_strip(record, answer_fields))
                docs[ANSWERS].append(record)
                for ref in media:
                    _place_ref(ref, td.folder, out / CLOSED / rel)
                for ref in media + target_media:
                    _place_ref(ref, td.folder, out / ANSWERS / rel)
        name = td.annotation_path.name
        for part, data in docs.items():
            folder = out / part / rel
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(json.dumps({**header, "data": data}, ensure_ascii=False, indent=1)
                                       + "\n", "utf-8")
        report.tasks[td.task.id] = {OPEN: len(docs[OPEN]), CLOSED: len(docs[CLOSED])}
    (out / "split.json").write_text(json.dumps({
        "source": str(root), "seed": seed, "ratio": f"{open_part}:{parts - open_part}",
        "catalog": catalog.info(), "tasks": report.tasks}, indent=1) + "\n", "utf-8")
    return report
