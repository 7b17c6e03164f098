"""Reading a General-Bench dataset tree: find task folders, match them to the catalog, adapt.

Layout: `<root>/<modality>/<comprehension|generation>/<TaskFolder>/annotation.json` and
`<root>/nlp/<TaskFolder>/annotation.json`, with the published variations tolerated: modality
folder case, a task-specific JSON name, task folders shipped as .zip / .tar.gz (unpacked on
demand into a cache, see archive.py). A folder is matched to a catalog task by its annotation's
`task` field, then by the manual folder mappings (folders.yaml), then by its normalised name,
then by short name. Folders that match nothing are listed in `Dataset.unmatched` with the reason.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from generalbench.catalog import Catalog, Task
from generalbench.catalog.task import clean_name
from generalbench.data.adapters import AdaptContext, FieldError, select_adapter
from generalbench.data.adapters.common import Record
from generalbench.data.archive import Limits, archive_stem, is_archive, unpack_cached
from generalbench.data.instances import Instance
from generalbench.data.jsonstream import iter_data
from generalbench.data.problems import Problem
from generalbench.data.safepath import check_inside, require_file
from generalbench.errors import DataError
from generalbench.yamlload import safe_load

ANNOTATION_FILE = "annotation.json"
NOT_ANNOTATIONS = {"prediction.json", "predictions.json", "run.json"}
HEADER_PEEK_BYTES = 1 << 20


@lru_cache(maxsize=1)
def folder_rules() -> dict[str, Any]:
    text = resources.files("generalbench.data").joinpath("folders.yaml").read_text("utf-8")
    return safe_load(text)


def norm_name(text: str) -> str:
    """Lower-case letters and digits of the clean name: 'Engineering-Question-Answering' and
    'EngineeringQuestionAnswering' both become 'engineeringquestionanswering'."""
    return re.sub(r"[^a-z0-9]+", "", clean_name(text).lower())


# --- quick subsets -------------------------------------------------------------------------------
def quick_key(task_id: str, instance_id: str, seed: int = 0) -> str:
    return hashlib.sha256(f"{seed}:{task_id}:{instance_id}".encode()).hexdigest()


def quick_select(task_id: str, ids: Iterable[str], n: int, seed: int = 0) -> set[str]:
    """The fixed subset of `n` ids of a task: the `n` smallest hashes of (seed, task, id).

    Deterministic, independent of file order, and stable when instances are added (an id stays
    chosen unless a new id hashes below it): the Scope-A quick leaderboard depends on this.
    """
    if n < 0:
        raise DataError(f"--quick must be a positive number of instances, got {n}")
    return set(heapq.nsmallest(n, ids, key=lambda i: quick_key(task_id, i, seed)))


# --- annotation files ----------------------------------------------------------------------------
def peek_header(path: Path) -> dict[str, Any]:
    """Top-level fields other than `data` (task, type, version, ...) without loading `data`.

    Parses the JSON object key by key from the start of the file and stops at `data`; falls back
    to loading the whole file when `data` comes before `task` (or the file is not an object).
    """
    with open(path, "rb") as fh:
        head = fh.read(HEADER_PEEK_BYTES)
    text = head.decode("utf-8-sig", errors="ignore")
    decoder = json.JSONDecoder()
    header: dict[str, Any] = {}
    ws = re.compile(r"\s*")
    try:
        pos = ws.match(text, 0).end()  # type: ignore[union-attr]
        if text[pos:pos + 1] != "{":
            raise ValueError("not an object")
        pos += 1
        while True:
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos:pos + 1] == "}":
                return header
            key, pos = decoder.raw_decode(text, pos)
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos:pos + 1] != ":":
                raise ValueError("expected ':'")
            pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key == "data":
                if "task" in header:
                    return header
                break  # the task name may follow `data`: read the whole file
            value, pos = decoder.raw_decode(text, pos)
            header[key] = value
            pos = ws.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos:pos + 1] == ",":
                pos += 1
    except (ValueError, AttributeError):
        pass
    whole = _load_json(path)
    return {k: v for k, v in whole.items() if k != "data"} if isinstance(whole, dict) else {}


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}); fix or re-download "
                        "the file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte {exc.start}: not valid UTF-8; save the file as UTF-8") from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to read") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def find_annotation(folder: Path, name: str | None = None) -> tuple[Path | None, str]:
    """The annotation file of a task folder and, when none is found, why."""
    if not folder.is_dir():
        return None, "not a folder"
    try:  # a symlink out of the folder or a pipe is never opened, even to peek at its header
        jsons = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".json"
                       and not p.name.startswith(".") and p.name.lower() not in NOT_ANNOTATIONS
                       and check_inside(p, folder, what="annotation file").is_file())
    except DataError as exc:
        return None, str(exc)
    by_lower = {p.name.lower(): p for p in jsons}
    if ANNOTATION_FILE in by_lower:
        return by_lower[ANNOTATION_FILE], ""
    if len(jsons) == 1:
        return jsons[0], ""
    name = name or folder.name
    for candidate in (f"{name}.json".lower(), f"{norm_name(name)}.json"):
        if candidate in by_lower:
            return by_lower[candidate], ""
    if not jsons:
        return None, "no annotation JSON file"
    return None, f"several JSON files ({', '.join(p.name for p in jsons)}) and none named {ANNOTATION_FILE}"


def _descend(folder: Path) -> Path:
    """Archives often wrap their content in one top folder: step into it."""
    while True:
        entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir():
            folder = entries[0]
        else:
            return folder


def _peek_zip_header(archive: Path) -> dict[str, Any] | None:
    """The header of the annotation inside a zip, read without unpacking (None if unsure)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".json")
                     and n.rsplit("/", 1)[-1].lower() not in NOT_ANNOTATIONS and n.count("/") <= 1]
            pick = [n for n in names if n.rsplit("/", 1)[-1].lower() == ANNOTATION_FILE] or names
            if len(pick) != 1:
                return None
            with zf.open(pick[0]) as fh:
                head = fh.read(HEADER_PEEK_BYTES)
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        tmp.write(head)
        tmp.flush()
        try:
            return peek_header(Path(tmp.name))
        except DataError:
            return None


# --- task data -----------------------------------------------------------------------------------
@dataclass
class TaskData:
    """One task's folder in a dataset: where it is, how it matched, and its instances."""

    task: Task
    source: Path
    """The folder or archive as found in the dataset tree."""
    annotation_type: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    matched_by: str = ""
    cache: Path | None = None
    limits: Limits | None = None
    entry: Path | None = None
    """The dataset-tree entry (task folder or task archive); differs from `source` when a task
    folder holds a single archive."""
    _folder: Path | None = None
    _annotation: Path | None = None

    @property
    def folder(self) -> Path:
        """The task folder (an archive is unpacked into the cache on first use)."""
        if self._folder is None:
            archive = self.source if is_archive(self.source) else None
            if archive is None:
                raise DataError(f"{self.source}: task folder not found")
            self._folder = _descend(unpack_cached(archive, self.cache, self.limits))
        return self._folder

    @property
    def annotation_path(self) -> Path:
        if self._annotation is None:
            found, why = find_annotation(self.folder, archive_stem(self.source))
            if found is None:
                raise DataError(f"{self.folder}: task={self.task.id!r}: {why}")
            self._annotation = require_file(found, self.folder, what="annotation file")
        return self._annotation

    def size_hint(self) -> int:
        """Bytes of the annotation file (of the archive, when it is not unpacked yet): a cheap
        measure of the task's size, for scheduling; 0 when unknown."""
        path = self._annotation or self.source
        try:
            return path.stat().st_size if path.is_file() else 0
        except OSError:
            return 0

    def load(self) -> tuple[dict[str, Any], list[Any]]:
        """The annotation file's header and its raw `data` records."""
        doc = _load_json(self.annotation_path)
        if not isinstance(doc, dict):
            raise DataError(f"{self.annotation_path}: task={self.task.id!r}: the file must hold a JSON "
                            "object with 'task', 'type' and 'data'")
        data = doc.get("data")
        if not isinstance(data, list):
            raise DataError(f"{self.annotation_path}: task={self.task.id!r}, field='data': must be a "
                            "list of instances")
        return {k: v for k, v in doc.items() if k != "data"}, data

    def _context(self, header: dict[str, Any], first: Any,
                 build: Any = None) -> tuple[Any, AdaptContext]:
        ctx = AdaptContext(task=self.task, folder=self.folder, header=header,
                           annotation_type=str(header.get("type", "") or ""))
        try:
            adapter, layout = select_adapter(ctx.annotation_type, self.task,
                                             first if isinstance(first, dict) else None, ctx)
        except FieldError as exc:
            raise DataError(f"{self.annotation_path}: task={self.task.id!r}, field={exc.field!r}: "
                            f"{exc.message}") from None
        return adapter, AdaptContext(task=ctx.task, folder=ctx.folder, header=header,
                                     annotation_type=ctx.annotation_type, layout=layout,
                                     build=build)

    def check(self, quick: int | None = None, seed: int = 0, *,
              plain: bool = False) -> Iterator[Instance | Problem]:
        """Every instance, or a Problem (file, task, id, field) for each malformed one.

        Records are streamed from the file one at a time (memory follows the largest record,
        not the file). Duplicate ids are reported (the later records are skipped); `quick`
        restricts to the fixed subset of `quick` ids. `plain`: records of generalbench's own
        schema come as `adapters.common.Record`s (see `records`).
        """
        path = self.annotation_path
        header = self.header or peek_header(path)  # open_dataset peeked it already
        file = str(path)
        chosen = None
        if quick is not None:
            ids = (_raw_id(r) for r in iter_data(path))
            chosen = quick_select(self.task.id, (i for i in ids if i is not None), quick, seed)
        adapter = ctx = None
        seen: set[str] = set()
        for index, record in enumerate(iter_data(path)):
            if adapter is None:
                adapter, ctx = self._context(header, record, Record if plain else None)
            rid = record.get("id") if type(record) is dict else None
            if type(rid) is not str or not rid.strip():
                rid = _raw_id(record)
            if chosen is not None and rid not in chosen:
                continue
            if not isinstance(record, dict):
                yield Problem(file, f"instance must be an object, got {type(record).__name__}",
                              self.task.id, None, f"data[{index}]")
                continue
            if rid is not None and rid in seen:
                yield Problem(file, f"duplicate instance id (data[{index}]); ids must be unique per task",
                              self.task.id, rid, "id")
                continue
            try:
                inst = adapter(record, ctx)
            except FieldError as exc:
                yield Problem(file, exc.message, self.task.id, rid, exc.field or f"data[{index}]")
                continue
            except ValidationError as exc:
                err = exc.errors()[0]
                yield Problem(file, err["msg"], self.task.id, rid,
                              ".".join(str(x) for x in err["loc"]) or f"data[{index}]")
                continue
            except DataError as exc:
                yield Problem(file, str(exc), self.task.id, rid, f"data[{index}]")
                continue
            iid = inst.id
            if iid is not rid and iid in seen:  # (rid itself was looked up above)
                yield Problem(file, f"duplicate instance id (data[{index}]); ids must be unique per task",
                              self.task.id, iid, "id")
                continue
            seen.add(iid)
            yield inst

    def instances(self, quick: int | None = None, seed: int = 0) -> Iterator[Instance]:
        """The task's instances (file order); raises DataError at the first malformed one."""
        for item in self.check(quick, seed):
            if isinstance(item, Problem):
                raise DataError(str(item))
            yield item

    def records(self, quick: int | None = None, seed: int = 0) -> list[Any]:
        """The task's instances as the scorer reads them (id, inputs, target, meta): what
        `instances` gives, except that records of generalbench's own schema are plain
        `adapters.common.Record`s, not pydantic `Instance`s (a fifth of the cost of reading a
        record); raises DataError at the first malformed one, as `instances` does."""
        out: list[Any] = []
        add = out.append
        for item in self.check(quick, seed, plain=True):
            if isinstance(item, Problem):
                raise DataError(str(item))
            add(item)
        return out

    def ids(self) -> list[str]:
        return [i.id for i in self.instances()]


def _raw_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    for key in ("id", "original_video_id"):
        value = record.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


@dataclass(frozen=True)
class Unmatched:
    """A folder that matched no catalog task, and why."""

    path: Path
    reason: str
    annotation: Path | None = None
    """The annotation file, when the folder had one (its `task` field did not match)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Dataset:
    root: Path
    catalog: Catalog
    task_data: list[TaskData]
    unmatched: list[Unmatched]

    def tasks(self) -> list[TaskData]:
        return list(self.task_data)

    def task(self, key: str) -> TaskData:
        """A task's data by id or any name the catalog resolves."""
        task = self.catalog.resolve(key)
        for td in self.task_data:
            if td.task.id == task.id:
                return td
        raise DataError(f"{self.root}: task {task.id!r} is in the catalog but not in this dataset")

    def select(self, ids: Iterable[str] | None) -> list[TaskData]:
        if ids is None:
            return self.tasks()
        return [self.task(i) for i in ids]


# --- matching ------------------------------------------------------------------------------------
class _Matcher:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        rules = folder_rules()
        self.manual: dict[str, dict[str, str]] = {
            sheet: {norm_name(k): v for k, v in table.items()} for sheet, table in rules["folders"].items()}

    def pool(self, modality: str, paradigm: str | None) -> list[Task]:
        return [t for t in self.catalog if t.modality == modality
                and (paradigm is None or t.paradigm == paradigm)]

    @staticmethod
    def _unique(hits: list[Task], what: str) -> tuple[Task | None, str]:
        if len(hits) == 1:
            return hits[0], ""
        if len(hits) > 1:
            return None, f"{what} is ambiguous ({', '.join(t.id for t in hits)})"
        return None, ""

    def match(self, annotated: Any, folder_name: str, modality: str,
              paradigm: str | None) -> tuple[Task | None, str]:
        pool = self.pool(modality, paradigm)
        if isinstance(annotated, str) and annotated.strip():
            for how, probe in (
                ("task", lambda t: t.task_name == annotated),
                ("task", lambda t: t.name == clean_name(annotated)),
                ("task", lambda t: norm_name(t.name) == norm_name(annotated)),
                ("task", lambda t: norm_name(t.short_name) == norm_name(annotated)),
            ):
                task, why = self._unique([t for t in pool if probe(t)], f"annotation task {annotated!r}")
                if task or why:
                    return task, how if task else why
        key = norm_name(folder_name)
        sheets = {t.sheet for t in pool}
        for sheet in sorted(sheets):
            name = self.manual.get(sheet, {}).get(key)
            if name is not None:
                hits = [t for t in pool if t.sheet == sheet and t.task_name == name]
                if hits:
                    return hits[0], "folder mapping"
        for how, probe in (("folder name", lambda t: norm_name(t.name) == key),
                           ("short name", lambda t: norm_name(t.short_name) == key)):
            task, why = self._unique([t for t in pool if probe(t)], f"folder name {folder_name!r}")
            if task or why:
                return task, how if task else why
        where = modality if paradigm is None else f"{modality}/{paradigm}"
        shown = f"annotation task {annotated!r} nor " if annotated else ""
        return None, f"neither {shown}folder name {folder_name!r} matches a {where} task in the catalog"


def open_dataset(root: Path | str, catalog: Catalog | None = None, *, cache: Path | None = None,
                 limits: Limits | None = None) -> Dataset:
    """Scan a dataset tree and match its task folders to catalog tasks (no instance is read)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if catalog is None:
        from generalbench.catalog import load_catalog

        catalog = load_catalog()
    rules = folder_rules()
    modality_folders = rules["modality_folders"]
    paradigm_folders = rules["paradigm_folders"]
    matcher = _Matcher(catalog)
    found: list[TaskData] = []
    unmatched: list[Unmatched] = []
    by_task: dict[str, TaskData] = {}

    def visit(entry: Path, modality: str, paradigm: str | None) -> None:
        if entry.name.startswith(".") or (entry.is_file() and not is_archive(entry)):
            return
        name = archive_stem(entry) if entry.is_file() else entry.name
        source = entry
        header: dict[str, Any] | None = None
        folder: Path | None = None
        annotation: Path | None = None
        try:
            if entry.is_dir():
                annotation, why = find_annotation(entry)
                if annotation is None:
                    inner = [p for p in entry.iterdir() if is_archive(p)]
                    if len(inner) == 1 and not any(p.suffix.lower() == ".json" for p in entry.iterdir()):
                        source = inner[0]
                    else:
                        unmatched.append(Unmatched(entry, why))
                        return
                else:
                    folder = entry
                    header = peek_header(annotation)
            if folder is None:  # an archive: a regular file inside the task folder's parent
                check_inside(source, entry if source is not entry else entry.parent,
                             what="task archive")
                if source.name.lower().endswith(".zip"):
                    header = _peek_zip_header(source)
                if header is None:
                    folder = _descend(unpack_cached(source, cache, limits))
                    annotation, why = find_annotation(folder, name)
                    if annotation is None:
                        unmatched.append(Unmatched(entry, f"archive holds {why}"))
                        return
                    header = peek_header(annotation)
        except DataError as exc:
            unmatched.append(Unmatched(entry, str(exc)))
            return
        task, how = matcher.match(header.get("task"), name, modality, paradigm)
        if task is None:
            unmatched.append(Unmatched(entry, how, annotation))
            return
        if task.id in by_task:
            unmatched.append(Unmatched(entry, f"task {task.id!r} already read from "
                                              f"{by_task[task.id].source}", annotation))
            return
        td = TaskData(task=task, source=source, annotation_type=str(header.get("type", "") or ""),
                      header=header, matched_by=how, cache=cache, limits=limits, entry=entry,
                      _folder=folder, _annotation=annotation)
        by_task[task.id] = td
        found.append(td)

    def scan_modality(top: Path, modality: str) -> None:
        for entry in sorted(top.iterdir()):
            paradigm = paradigm_folders.get(entry.name.lower()) if entry.is_dir() else None
            if modality != "language" and paradigm is not None:
                for task_entry in sorted(entry.iterdir()):
                    visit(task_entry, modality, paradigm)
            else:
                visit(entry, modality, None)

    tops = [t for t in sorted(root.iterdir()) if not t.name.startswith(".") and t.is_dir()]
    own = modality_folders.get(root.name.lower())
    if own is not None and not any(t.name.lower() in modality_folders for t in tops):
        scan_modality(root, own)  # the root is itself a modality folder (e.g. `.../nlp`)
        tops = []
    for top in tops:
        modality = modality_folders.get(top.name.lower())
        if modality is None:
            unmatched.append(Unmatched(top, "not a modality folder (image, video, audio, 3d, nlp)"))
            continue
        scan_modality(top, modality)
    order = {t.id: i for i, t in enumerate(catalog)}
    found.sort(key=lambda td: order.get(td.task.id, len(order)))
    return Dataset(root=root, catalog=catalog, task_data=found, unmatched=unmatched)
