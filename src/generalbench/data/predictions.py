"""Predictions: one format for local runs and closed-set submissions, plus the official layouts.

generalbench's format is a folder (or a .zip of it):

    run.json                 manifest: model, generalbench version, catalog version + hash,
                             prompt versions, created date, any extra keys
    <task_id>.jsonl          one {"id": ..., "prediction": ...} per line
    artifacts/<task_id>/...  generated files; predictions refer to them by relative path

A leaderboard scores exactly what a local run scores because both read this folder. The writer
appends one line per prediction and fsyncs it, so a crash loses at most the line being written
(a torn last line is cut off when the file is reopened). The reader also accepts the official
layouts: `prediction.json` lists next to each task's annotation.json, and the website format
`{"task", "skill", "type", "data": [{"id", "prediction"}]}`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from generalbench.catalog import Catalog, Task
from generalbench.data import fastjson
from generalbench.data.archive import Limits, unpack_cached
from generalbench.data.instances import MediaRef
from generalbench.data.native import artifact_refs, check_native, load_native
from generalbench.data.safepath import check_inside, require_file
from generalbench.errors import DataError, PredictionError, UnknownTaskError

FORMAT = "generalbench-predictions/1"
MANIFEST = "run.json"
ARTIFACTS = "artifacts"
PREDICTION_LIMITS = Limits(max_total_bytes=20 * 1024**3, max_files=1_000_000)
MAX_OPEN_FILES = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (predictions must be finite)")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
"""One decoder for every line (`json.loads` with an option builds a new one per call)."""


def _loads(text: str) -> Any:
    """JSON with NaN/Infinity refused; too deep a nesting is a ValueError like any bad JSON."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    """Predictions as plain JSON: numpy scalars become numbers; arrays must be saved as files."""
    if isinstance(value, MediaRef):
        return value.path
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if hasattr(value, "ndim"):
        raise PredictionError("array predictions must be written as files (writer.artifact_path) "
                              "and referenced by path; arrays are never inlined")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def safe_file_name(text: str) -> str:
    """An instance id usable as a file name (other characters become '_', plus a short hash)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
    if clean != text:
        import hashlib

        clean = f"{clean[:80]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return clean


def line_for(task_id: str, instance_id: str | int, prediction: Any) -> str:
    """One predictions-file line ({"id", "prediction"} plus newline), as PredictionWriter.add
    writes it; for writers that build a whole task file at once (the runner)."""
    try:
        return _dumps({"id": str(instance_id), "prediction": _jsonable(prediction)}) + "\n"
    except (ValueError, TypeError) as exc:
        raise PredictionError(f"task={task_id!r}, id={str(instance_id)!r}, field='prediction': "
                              f"not valid JSON ({exc})") from None


# --- writing -------------------------------------------------------------------------------------
class PredictionWriter:
    """Append predictions to a predictions folder, one fsynced JSONL line at a time.

        with PredictionWriter(out, model="m", catalog=catalog, prompts={...}) as w:
            w.add(task_id, instance_id, "a cat")
            path, rel = w.artifact_path(task_id, instance_id, ".png")   # save, then:
            w.add(task_id, other_id, rel)

    Reopening an existing folder resumes it: ids already written are known (`done`), a torn
    last line is cut off, and adding an id twice raises PredictionError.
    """

    def __init__(self, folder: Path | str, model: str = "model", *, catalog: Catalog | None = None,
                 prompts: Mapping[str, Any] | None = None, meta: Mapping[str, Any] | None = None,
                 fsync: bool = True):
        from generalbench import __version__

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._files: dict[str, IO[str]] = {}
        self._done: dict[str, set[str]] = {}
        manifest_path = self.folder / MANIFEST
        old: dict[str, Any] = {}
        if manifest_path.exists():
            try:
                old = _loads(manifest_path.read_text("utf-8"))
            except ValueError as exc:
                raise PredictionError(f"{manifest_path}: not valid JSON ({exc})") from None
            if old.get("model") not in (None, model):
                raise PredictionError(f"{manifest_path}: folder holds predictions of model "
                                      f"{old.get('model')!r}, not {model!r}; use another folder")
        manifest: dict[str, Any] = dict(old)
        manifest.update(_jsonable(dict(meta or {})))
        manifest.update({"format": FORMAT, "model": model, "generalbench_version": __version__})
        if catalog is not None:
            manifest["catalog"] = catalog.info()
        if prompts is not None:
            manifest["prompts"] = _jsonable(dict(prompts))
        manifest.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        self.manifest = manifest
        self._write_manifest()

    def _write_manifest(self) -> None:
        path = self.folder / MANIFEST
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1, allow_nan=False) + "\n",
                       "utf-8")
        os.replace(tmp, path)

    def update_manifest(self, **extra: Any) -> None:
        self.manifest.update(_jsonable(extra))
        self._write_manifest()

    def _task_path(self, task_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", task_id):
            raise PredictionError(f"task id {task_id!r} cannot be a file name; use catalog task ids")
        return self.folder / f"{task_id}.jsonl"

    def done(self, task_id: str) -> set[str]:
        """Ids of `task_id` already in the folder (read once, then kept up to date)."""
        if task_id not in self._done:
            ids: set[str] = set()
            path = self._task_path(task_id)
            if path.exists():
                _repair_tail(path)
                for _, iid, _ in iter_jsonl(path, task_id):
                    ids.add(iid)
            self._done[task_id] = ids
        return self._done[task_id]

    def _handle(self, task_id: str) -> IO[str]:
        fh = self._files.get(task_id)
        if fh is None:
            self.done(task_id)
            if len(self._files) >= MAX_OPEN_FILES:
                oldest = next(iter(self._files))
                self._files.pop(oldest).close()
            fh = open(self._task_path(task_id), "a", encoding="utf-8")
            self._files[task_id] = fh
        return fh

    def add(self, task_id: str, instance_id: str | int, prediction: Any) -> None:
        """Append one prediction (text, native JSON value, or artifact path) durably."""
        iid = str(instance_id)
        if iid in self.done(task_id):
            raise PredictionError(f"{self._task_path(task_id)}: task={task_id!r}, id={iid!r}: "
                                  "prediction already written (ids must be unique per task)")
        try:
            line = _dumps({"id": iid, "prediction": _jsonable(prediction)})
        except ValueError as exc:
            raise PredictionError(f"{self._task_path(task_id)}: task={task_id!r}, id={iid!r}, "
                                  f"field='prediction': {exc}") from None
        except TypeError as exc:
            raise PredictionError(f"{self._task_path(task_id)}: task={task_id!r}, id={iid!r}, "
                                  f"field='prediction': not JSON-serialisable ({exc})") from None
        fh = self._handle(task_id)
        fh.write(line + "\n")
        fh.flush()
        if self.fsync:
            os.fsync(fh.fileno())
        self._done[task_id].add(iid)

    def artifact_path(self, task_id: str, instance_id: str | int, suffix: str) -> tuple[Path, str]:
        """(absolute path to write a generated file to, the relative path to record as prediction)."""
        self._task_path(task_id)
        rel = f"{ARTIFACTS}/{task_id}/{safe_file_name(str(instance_id))}{suffix}"
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, rel

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (a crash mid-write) so appending continues on a clean line."""
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = min(size, 1 << 20)
        fh.seek(size - block)
        tail = fh.read(block)
        cut = tail.rfind(b"\n")
        fh.truncate(size - block + cut + 1 if cut >= 0 else 0)


# --- reading -------------------------------------------------------------------------------------
JSONL_WHOLE_MAX = 64 << 20
"""Predictions files up to this size are read and decoded in one go (then split into lines);
larger ones, or a file that is not valid UTF-8, are read line by line."""


def iter_jsonl(path: Path, task_id: str) -> Iterator[tuple[int, str, Any]]:
    """(line number, id, prediction) of a predictions JSONL file; PredictionError on a bad line.

    Lines are split on b"\\n" only, whichever way the file is read, so line numbers agree.
    """
    try:
        whole = path.stat().st_size <= JSONL_WHOLE_MAX
        data = path.read_bytes() if whole else b""
        text = data.decode("utf-8-sig") if whole else None
    except (OSError, UnicodeDecodeError):
        text = None  # read line by line: the exact line and byte of a bad one are reported
    if text is None:
        yield from _iter_jsonl_lines(path, task_id)
        return
    decode = _DECODER.decode
    fast = not fastjson.may_differ(data)  # one scan of the file, not one per line
    overflow = None  # whether a number could overflow anywhere: scanned at the first need
    loads = fastjson.loads
    for n, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            row = loads(line, decode, True) if fast else decode(line)
        except (ValueError, RecursionError) as exc:
            raise _not_json(f"{path}: line {n}: task={task_id!r}", exc) from None
        if type(row) is dict and type(row.get("id")) is str and type(row.get("prediction")) is str \
                and row["id"].strip():
            yield n, row["id"], row["prediction"]  # the common case, already checked
        else:
            if overflow is None:
                overflow, data = _may_overflow(data), b""
            yield n, *_row(row, f"{path}: line {n}: task={task_id!r}",
                           check=overflow and MAY_OVERFLOW.search(line) is not None)


def _iter_jsonl_lines(path: Path, task_id: str) -> Iterator[tuple[int, str, Any]]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            where = f"{path}: line {n}: task={task_id!r}"
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise PredictionError(f"{where}: byte {exc.start}: not valid UTF-8; write the file "
                                      "as UTF-8") from None
            if not line.strip():
                continue
            try:
                row = _loads(line)
            except ValueError as exc:
                raise _not_json(where, exc) from None
            yield n, *_row(row, where)


def _not_json(where: str, exc: Exception) -> PredictionError:
    """The error for a line that does not decode (both ways of reading a file say the same; a
    RecursionError is JSON nested too deeply for the decoder)."""
    why = "nested too deeply" if isinstance(exc, RecursionError) else exc
    return PredictionError(f"{where}: not valid JSON ({why}); each line must be "
                           '{"id": ..., "prediction": ...}')


def _row(row: Any, where: str, allow_final: bool = False, check: bool = True) -> tuple[str, Any]:
    """(id, prediction) of one record; `check=False` skips the finiteness walk (the caller saw
    no number literal in the line that could overflow to infinity)."""
    if not isinstance(row, dict):
        raise PredictionError(f"{where}: expected an object with 'id' and 'prediction'")
    iid = row.get("id")
    if isinstance(iid, bool) or not isinstance(iid, (str, int)) or not str(iid).strip():
        raise PredictionError(f"{where}, field='id': missing or not a string/integer")
    if "prediction" in row:
        value = row["prediction"]
    elif allow_final and "prediction_final" in row:
        value = row["prediction_final"]  # official Math WPS predictions
    else:
        raise PredictionError(f"{where}, id={str(iid)!r}, field='prediction': missing")
    if check and type(value) is not str:
        bad = _first_nonfinite(value)
        if bad is not None:
            raise PredictionError(f"{where}, id={str(iid)!r}, field='prediction': {bad} is not "
                                  "allowed (predictions must be finite)")
    return str(iid), value


MAY_OVERFLOW = re.compile(r"[0-9][eE]|[0-9]{309}")
"""A JSON line can only decode to an infinite float (NaN/Infinity literals are refused by the
decoder) through a number literal with an exponent or of 309+ digits."""


_DIGITS_E = bytes(0x30 if 0x30 <= b <= 0x39 else 0x65 if b in (0x45, 0x65) else 0x78
                  for b in range(256))
"""A byte table: every digit becomes "0", "e" and "E" become "e", every other byte "x"."""


def _may_overflow(data: bytes) -> bool:
    """Whether MAY_OVERFLOW could match anywhere in `data` (a whole file): a digit before an
    exponent mark, or a run of 309 digits. One byte translation and two substring searches,
    instead of the regex on every line whose prediction is not a string (~30 us a line of
    boxes: the regex tries its alternatives at every digit)."""
    mapped = data.translate(_DIGITS_E)
    return mapped.find(b"0e") >= 0 or mapped.find(b"0" * 309) >= 0


def _first_nonfinite(value: Any) -> float | None:
    """The first infinite or NaN float in a decoded JSON value (depth first), else None."""
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is float:
            if not math.isfinite(v):
                return v
        elif kind is list:
            stack.extend(reversed(v))
        elif kind is dict:
            stack.extend(reversed(list(v.values())))
    return None


@dataclass(frozen=True)
class Source:
    """Where one task's predictions are stored and in which layout."""

    task_id: str
    path: Path
    layout: str
    """'jsonl' (generalbench), 'official' (prediction.json list), 'website' (task JSON)."""


@dataclass
class Predictions:
    """The predictions of one folder, zip or official tree, read task by task on demand.

    `tasks` maps task id -> {instance id: prediction} (loaded on first access); `rows(task_id)`
    streams one task without keeping it; `root` is the folder artifact paths are relative to.
    """

    root: Path
    sources: dict[str, Source]
    manifest: dict[str, Any] = field(default_factory=dict)
    layout: str = "generalbench"
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def task_ids(self) -> list[str]:
        return list(self.sources)

    def rows(self, task_id: str) -> Iterator[tuple[int, str, Any]]:
        """(line or index, id, prediction) of one task, in file order, duplicates included."""
        src = self.sources[task_id]
        if src.layout == "jsonl":
            yield from iter_jsonl(src.path, task_id)
            return
        doc = _load_json_file(src.path)
        items = doc.get("data") if src.layout == "website" else doc
        if not isinstance(items, list):
            key = "'data'" if src.layout == "website" else "the file"
            raise PredictionError(f"{src.path}: task={task_id!r}: {key} must be a list of "
                                  '{"id", "prediction"} objects')
        for i, row in enumerate(items):
            where = f"{src.path}: item {i}: task={task_id!r}"
            yield i, *_row(row, where, allow_final=src.layout == "official")

    def task(self, task_id: str) -> dict[str, Any]:
        """{instance id: prediction} of one task; duplicate ids raise PredictionError."""
        if task_id not in self._cache:
            if task_id not in self.sources:
                raise PredictionError(f"{self.root}: no predictions for task {task_id!r}")
            out: dict[str, Any] = {}
            src = self.sources[task_id]
            for n, iid, value in self.rows(task_id):
                if iid in out:
                    unit = "line" if src.layout == "jsonl" else "item"
                    raise PredictionError(f"{src.path}: {unit} {n}: task={task_id!r}, id={iid!r}: "
                                          "duplicate id (one prediction per instance)")
                out[iid] = value
            self._cache[task_id] = out
        return self._cache[task_id]

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return {t: self.task(t) for t in self.sources}

    def items(self):
        return self.tasks.items()

    def __contains__(self, task_id: object) -> bool:
        return task_id in self.sources

    def __getitem__(self, task_id: str) -> dict[str, Any]:
        return self.task(task_id)

    def artifacts(self, task: Task, value: Any) -> list[MediaRef]:
        """The generated files a prediction points at, bound to this folder."""
        return artifact_refs(task.output, value, self.root)

    def native(self, task: Task, value: Any) -> Any:
        """A prediction decoded into its Python value (arrays loaded from artifact files)."""
        return load_native(task.output, value, self.root)


def check_prediction(task: Task, value: Any) -> str | None:
    """None when `value` is a valid prediction for `task` (its native type), else what is wrong."""
    return check_native(task.output, value)


def _load_json_file(path: Path) -> Any:
    try:
        return _loads(path.read_text("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise PredictionError(f"{path}: byte {exc.start}: not valid UTF-8; write the file as "
                              "UTF-8") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        at = f"line {line}: " if line else ""
        raise PredictionError(f"{path}: {at}not valid JSON ({exc})") from None
    except OSError as exc:
        raise PredictionError(f"{path}: cannot read ({exc.strerror})") from None


def _inside(path: Path, root: Path, *, regular: bool = False) -> Path:
    """`path` checked by the data layer's one path rule (safepath), as a PredictionError: a
    submitted folder may not point outside itself, nor hold pipes or devices."""
    try:
        return require_file(path, root) if regular else check_inside(path, root)
    except DataError as exc:
        raise PredictionError(str(exc)) from None


def _resolve_task(catalog: Catalog, name: Any, where: str, sheet: str | None = None) -> Task:
    if not isinstance(name, str) or not name.strip():
        raise PredictionError(f"{where}, field='task': missing; name the catalog task")
    exact = [t for t in catalog if t.task_name == name and (sheet is None or t.sheet == sheet)]
    if len(exact) == 1:
        return exact[0]
    try:
        return catalog.resolve(name, sheet=sheet)
    except UnknownTaskError as exc:
        raise PredictionError(f"{where}, field='task': {exc}") from None


_WEBSITE_SHEETS = {"comprehension": "Comprehension", "generation": "Generation"}


def _read_website(path: Path, catalog: Catalog) -> tuple[str, Source]:
    doc = _load_json_file(path)
    if not isinstance(doc, dict) or "data" not in doc:
        raise PredictionError(f"{path}: expected {{'task', 'skill', 'type', 'data': [...]}} "
                              "(website format) or a list (official prediction.json)")
    task = _resolve_task(catalog, doc.get("task"), str(path))
    return task.id, Source(task.id, path, "website")


def _read_official_tree(root: Path, catalog: Catalog) -> dict[str, Source]:
    """prediction.json files next to annotation.json in a dataset tree (or a mirror of it)."""
    from generalbench.data.dataset import _Matcher, folder_rules, peek_header

    rules = folder_rules()
    matcher = _Matcher(catalog)
    out: dict[str, Source] = {}
    for pred in sorted(root.rglob("prediction.json")):
        pred = _inside(pred, root, regular=True)
        folder = pred.parent
        parts = [p.lower() for p in folder.relative_to(root).parts]
        modality = next((rules["modality_folders"][p] for p in parts if p in rules["modality_folders"]), None)
        paradigm = next((rules["paradigm_folders"][p] for p in parts if p in rules["paradigm_folders"]), None)
        if modality is None:
            raise PredictionError(f"{pred}: not under a modality folder (image, video, audio, 3d, nlp); "
                                  "cannot tell its task")
        header: dict[str, Any] = {}
        ann = _inside(folder / "annotation.json", root)
        if ann.exists():
            try:
                header = peek_header(ann)
            except DataError as exc:
                raise PredictionError(str(exc)) from None
        doc_head = _load_json_file(pred)
        if not isinstance(doc_head, list):
            if isinstance(doc_head, dict) and "data" in doc_head:  # website format in place
                task_id, src = _read_website(pred, catalog)
                out[task_id] = src
                continue
            raise PredictionError(f"{pred}: official prediction.json must be a list of "
                                  '{"id", "prediction"} objects')
        task, why = matcher.match(header.get("task"), folder.name, modality,
                                  None if modality == "language" else paradigm)
        if task is None:
            raise PredictionError(f"{pred}: field='task': {why}")
        if task.id in out:
            raise PredictionError(f"{pred}: task={task.id!r}: predictions already read from "
                                  f"{out[task.id].path}")
        out[task.id] = Source(task.id, pred, "official")
    return out


def read_predictions(path: Path | str, catalog: Catalog | None = None, *,
                     limits: Limits | None = None, cache: Path | None = None) -> Predictions:
    """Open a predictions folder, a .zip of one, an official dataset tree with prediction.json
    files, a folder of website-format JSON files, or one website-format JSON file.

    Task files are checked against the catalog (unknown task -> PredictionError); instance
    predictions are parsed task by task when asked for (`Predictions.task`, `.tasks`, `.rows`).
    """
    path = Path(path)
    if catalog is None:
        from generalbench.catalog import load_catalog

        catalog = load_catalog()
    if not path.exists():
        raise PredictionError(f"{path}: predictions folder or zip not found")
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            folder = unpack_cached(path, cache, limits or PREDICTION_LIMITS)
        except DataError as exc:
            raise PredictionError(str(exc)) from None
        entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and entries[0].is_dir():
            folder = entries[0]
        return read_predictions(folder, catalog)
    if path.is_file():
        task_id, src = _read_website(path, catalog)
        return Predictions(path.parent, {task_id: src}, layout="website")
    manifest: dict[str, Any] = {}
    if os.path.lexists(path / MANIFEST):
        manifest = _load_json_file(_inside(path / MANIFEST, path))
        if not isinstance(manifest, dict):
            raise PredictionError(f"{path / MANIFEST}: must be a JSON object")
    jsonl = sorted(path.glob("*.jsonl"))
    if jsonl or manifest:
        sources: dict[str, Source] = {}
        for f in jsonl:
            task_id = f.stem
            if task_id not in catalog:
                try:
                    hint = f" (did you mean {catalog.resolve(task_id).id!r}?)"
                except UnknownTaskError:
                    hint = ""
                raise PredictionError(f"{f}: task={task_id!r}: unknown task; file names must be "
                                      f"catalog task ids{hint}")
            sources[task_id] = Source(task_id, _inside(f, path, regular=True), "jsonl")
        return Predictions(path, sources, manifest, "generalbench")
    official = _read_official_tree(path, catalog)
    if official:
        layout = "official" if all(s.layout == "official" for s in official.values()) else "website"
        return Predictions(path, official, {}, layout)
    sources = {}
    for f in sorted(path.glob("*.json")):
        task_id, src = _read_website(_inside(f, path, regular=True), catalog)
        if task_id in sources:
            raise PredictionError(f"{f}: task={task_id!r}: predictions already read from "
                                  f"{sources[task_id].path}")
        sources[task_id] = src
    if not sources:
        raise PredictionError(f"{path}: no predictions found (expected <task_id>.jsonl files and "
                              "run.json, prediction.json files in a dataset tree, or website-format "
                              "JSON files)")
    return Predictions(path, sources, {}, "website")


def zip_predictions(folder: Path | str, out: Path | str) -> Path:
    """A .zip of a predictions folder (the closed-set submission), entries relative to it."""
    import zipfile

    folder, out = Path(folder), Path(out)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.is_symlink():
                zf.write(p, p.relative_to(folder).as_posix())
    return out
