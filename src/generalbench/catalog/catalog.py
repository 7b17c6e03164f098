"""The task catalog: the shipped General-Bench task table plus optional extras and SoTA overrides.

Property-4 of General-Level (dynamic updates) is this module's job: an operator can add tasks, even
a whole modality, with an extra catalog file and update specialist scores with an overrides file;
the catalog's version and content hash then change, and every result records both.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from generalbench.catalog.derive import task_from_row
from generalbench.catalog.task import MODALITY_ALIASES, Task, clean_name, slugify
from generalbench.errors import CatalogError, UnknownTaskError

CATALOG_VERSION = "general-bench-v1"
CATALOG_FILE = "general-bench-v1.csv"
CSV_COLUMNS = ["id", "sheet", "no", "name", "task_name", "short_name", "modality", "paradigm",
               "skill", "metric_name", "metric", "unit", "direction", "output", "sota"]


@dataclass(frozen=True)
class Catalog:
    """An immutable, ordered set of tasks with lookups by id, name and workbook row."""

    tasks: tuple[Task, ...]
    version: str = CATALOG_VERSION
    sources: tuple[str, ...] = ()
    _by_id: dict[str, Task] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Task] = {}
        for task in self.tasks:
            if task.id in by_id:
                raise CatalogError(f"duplicate task id {task.id!r} in catalog ({', '.join(self.sources)})")
            by_id[task.id] = task
        object.__setattr__(self, "_by_id", by_id)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_id

    @cached_property
    def hash(self) -> str:
        """sha256 (first 16 hex digits) of every task's content: changes with extras/overrides.

        Computed once per catalog (tasks are frozen): `level` on a 100-model file used to spend a
        third of its time re-hashing the same 699 tasks for every model's result.
        """
        digest = hashlib.sha256()
        for task in self.tasks:
            digest.update(json.dumps(task.model_dump(), sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()[:16]

    def info(self) -> dict[str, str]:
        return {"version": self.version, "hash": self.hash}

    def get(self, task_id: str) -> Task:
        try:
            return self._by_id[task_id]
        except KeyError:
            raise UnknownTaskError(self._unknown_message(task_id)) from None

    def resolve(self, key: str, *, sheet: str | None = None) -> Task:
        """A task by id, exact original name, clean name, short name or slug (in that order).

        A name shared by tasks of several sheets needs `sheet` to disambiguate.
        """
        if key in self._by_id:
            return self._by_id[key]
        pool = [t for t in self.tasks if sheet is None or t.sheet == sheet]
        for probe in (
            lambda t: t.task_name == key,
            lambda t: t.name == clean_name(key),
            lambda t: t.name.lower() == clean_name(key).lower(),
            lambda t: t.short_name.strip().lower() == key.strip().lower(),
            lambda t: slugify(t.name) == slugify(key) or t.id.endswith("-" + slugify(key)),
        ):
            hits = [t for t in pool if probe(t)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                names = ", ".join(t.id for t in hits)
                raise UnknownTaskError(f"task {key!r} is ambiguous ({names}); use the task id")
        raise UnknownTaskError(self._unknown_message(key, pool))

    def _unknown_message(self, key: str, pool: Sequence[Task] | None = None) -> str:
        pool = list(pool if pool is not None else self.tasks)
        names = {t.name: t for t in pool} | {t.id: t for t in pool}
        close = difflib.get_close_matches(clean_name(key), list(names), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown task {key!r}{hint} (see `generalbench tasks --search ...`)"

    def find_row(self, sheet: str, task_name: str, metric_name: str) -> Task | None:
        """The task of an official workbook row, matched exactly as the official tool does."""
        for task in self.tasks:
            if task.sheet == sheet and task.task_name == task_name and task.metric_name == metric_name:
                return task
        return None

    def filter(self, *, modality: Iterable[str] | str | None = None,
               paradigm: Iterable[str] | str | None = None, skill: str | None = None,
               metric: str | None = None, search: str | None = None,
               ids: Iterable[str] | None = None) -> list[Task]:
        """Tasks matching every given criterion (case-insensitive; metric by canonical or spelling)."""
        def as_set(v: Iterable[str] | str | None) -> set[str] | None:
            if v is None:
                return None
            return {v.lower()} if isinstance(v, str) else {x.lower() for x in v}

        mods, pars = as_set(modality), as_set(paradigm)
        idset = set(ids) if ids is not None else None
        out = []
        for t in self.tasks:
            if mods and t.modality not in mods and not ("nlp" in mods and t.modality == "language"):
                continue
            if pars and t.paradigm not in pars:
                continue
            if skill and skill.lower() not in t.skill.lower():
                continue
            if metric and metric.lower() not in {t.metric.lower(), t.metric_name.lower()}:
                continue
            if search and search.lower() not in f"{t.name} {t.short_name} {t.id}".lower():
                continue
            if idset is not None and t.id not in idset:
                continue
            out.append(t)
        return out

    def modalities(self) -> list[str]:
        """The catalog's modalities in first-seen order (image, video, audio, 3d, language, extras)."""
        return list(dict.fromkeys(t.modality for t in self.tasks))

    def parse_modalities(self, values: Iterable[str] | str | None) -> list[str] | None:
        """User-given modalities as catalog names: comma lists split, case folded, `nlp` (the
        official folder name) read as `language`; an unknown name is an error listing the valid
        ones, so a typo never gives an empty selection."""
        return _parse_vocab(values, self.modalities(), MODALITY_ALIASES, "modality")

    def parse_paradigms(self, values: Iterable[str] | str | None) -> list[str] | None:
        """User-given paradigms (comprehension, generation, language), checked like modalities."""
        return _parse_vocab(values, list(dict.fromkeys(t.paradigm for t in self.tasks)), {},
                            "paradigm")

    def with_sota(self, overrides: dict[str, float]) -> Catalog:
        """A new catalog with updated specialist scores, keyed by task id."""
        tasks = tuple(t.model_copy(update={"sota": overrides[t.id]}) if t.id in overrides else t
                      for t in self.tasks)
        return Catalog(tasks, f"{self.version}+sota", self.sources)

    def extended(self, extra: Sequence[Task], source: str) -> Catalog:
        return Catalog(self.tasks + tuple(extra), f"{self.version}+extra", (*self.sources, source))


def _parse_vocab(values: Iterable[str] | str | None, valid: list[str], aliases: dict[str, str],
                 what: str) -> list[str] | None:
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            name = part.strip().lower()
            if not name:
                continue
            name = aliases.get(name, name)
            if name not in valid:
                shown = ", ".join(valid + [f"{a} (= {b})" for a, b in aliases.items() if b in valid])
                raise CatalogError(f"unknown {what} {part.strip()!r}; use one of {shown}")
            if name not in out:
                out.append(name)
    if not out:
        raise CatalogError(f"empty {what} list; use one of {', '.join(valid)}")
    return out


def _read_rows(path: Path) -> list[dict]:
    """Rows of a CSV, JSON (list of objects) or YAML file."""
    import yaml  # only extra and override files: loading the shipped catalog never imports it

    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: byte {exc.start}: not valid UTF-8; save the file as UTF-8") from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror})") from None
    if not text.strip():
        raise CatalogError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            reader = csv.DictReader(io.StringIO(text))
            try:
                return list(reader)
            except csv.Error as exc:
                raise CatalogError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc})") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    except RecursionError:
        raise CatalogError(f"{path}: not valid {suffix[1:].upper()}: nested too deeply") from None
    if isinstance(data, dict):
        data = data.get("tasks", [{"task": k, "sota": v} for k, v in data.items()])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise CatalogError(f"{path}: expected a list of objects")
    return data


def _shipped_rows() -> list[dict]:
    text = resources.files("generalbench.catalog").joinpath(CATALOG_FILE).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _task_from_catalog_row(row: dict) -> Task:
    row = dict(row)
    row["no"] = int(row["no"]) if row.get("no") else None
    row["sota"] = float(row["sota"])
    return Task(**row)


def load_catalog(extra: Sequence[Path] = (), sota_overrides: Sequence[Path] = ()) -> Catalog:
    """The shipped catalog, extended with extra task files and updated with SoTA overrides.

    Extra files use the columns of the reference table (modality, paradigm, task_name, metric,
    sota; optional short_name, skill, canonical_metric, output, id). Overrides files map a task
    (id or name) to a new `sota` value.
    """
    catalog = Catalog(tuple(_task_from_catalog_row(r) for r in _shipped_rows()),
                      sources=(CATALOG_FILE,))
    for path in extra:
        path = Path(path)
        tasks = [task_from_row(row, where=f"{path}: row {i}") for i, row in
                 enumerate(_read_rows(path), start=2 if path.suffix.lower() == ".csv" else 1)]
        catalog = catalog.extended(tasks, str(path))
    for path in sota_overrides:
        path = Path(path)
        updates: dict[str, float] = {}
        for i, row in enumerate(_read_rows(path), start=1):
            key = row.get("id") or row.get("task") or row.get("task_name")
            if not key:
                raise CatalogError(f"{path}: row {i}: needs a 'task' (id or name) column")
            try:
                task = catalog.resolve(str(key))
            except UnknownTaskError as exc:
                raise UnknownTaskError(f"{path}: row {i}: {exc}") from None
            try:
                value = float(row["sota"])
            except (KeyError, TypeError, ValueError):
                raise CatalogError(f"{path}: row {i}: task {key!r}: field 'sota' must be a number") from None
            if not math.isfinite(value):
                raise CatalogError(f"{path}: row {i}: task {key!r}: field 'sota' must be finite, "
                                   f"got {value}")
            updates[task.id] = value
        catalog = catalog.with_sota(updates)
        catalog = Catalog(catalog.tasks, catalog.version, (*catalog.sources, str(path)))
    return catalog


def write_catalog_csv(tasks: Iterable[Task], out: io.TextIOBase) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for task in tasks:
        row = task.model_dump()
        row["sota"] = repr(task.sota) if task.sota != int(task.sota) else f"{task.sota:.1f}"
        writer.writerow({k: row[k] if row[k] is not None else "" for k in CSV_COLUMNS})
