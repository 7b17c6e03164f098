"""Per-task raw scores from files: official result workbooks (.xlsx), CSV and JSON.

Reading is all-or-nothing: every cell is checked before any result is computed, and the first
problem raises a ScoreFileError that names the file, sheet, row and field, and says what to do.
"""

from __future__ import annotations

import csv
import io
import json
import math
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any

from generalbench.catalog import SHEET_NAMES, Catalog, Task
from generalbench.errors import ScoreFileError, UnknownTaskError
from generalbench.metrics.specs import get_spec

TEMPLATE_COLUMNS = ("No", "Task Name", "Task Short Name", "Metrics")
SOTA_COLUMN = "SoTA Performance"
LEVEL_SHEET = "level-scores"
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class ModelScores:
    """One model's raw per-task scores; a task id absent from `raw` is unsupported."""

    model: str
    raw: dict[str, float] = field(default_factory=dict)
    source: str = ""


def parse_value(value: Any, task: Task, where: object) -> float | None:
    """A cell's value as a raw score, None for an empty (unsupported) cell (`where`, the cell's
    location, is formatted into error messages only).

    NaN, infinities, text and negative values of metrics that cannot be negative are errors, not
    'unsupported': a silent 0 would hide a broken pipeline.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text in {"", "-"}:
            return None
        value = text.rstrip("%")
    elif isinstance(value, bool):
        raise ScoreFileError(f"{where}: task {task.name!r}: value {value!r} is not a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ScoreFileError(f"{where}: task {task.name!r}: value {value!r} is not a number; "
                             "leave the cell empty for an unsupported task") from None
    if math.isnan(x) or math.isinf(x):
        raise ScoreFileError(f"{where}: task {task.name!r}: value {value!r} is not finite; "
                             "leave the cell empty for an unsupported task")
    can_be_negative, at_most_100 = _value_limits(task.metric)
    if x < 0 and not can_be_negative:
        raise ScoreFileError(f"{where}: task {task.name!r}: metric {task.metric_name!r} cannot be "
                             f"negative (got {x:g})")
    if x > 100 and at_most_100:
        raise ScoreFileError(f"{where}: task {task.name!r}: metric {task.metric_name!r} is a "
                             f"percentage but the value is {x:g}")
    return x


@cache
def _value_limits(metric: str) -> tuple[bool, bool]:
    """(may be negative, capped at 100) per metric, looked up once: files hold ~70k cells."""
    spec = get_spec(metric)
    return spec.can_be_negative, spec.unit == "percent" and spec.normalise.kind == "identity"


def _check_size(path: Path) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        raise ScoreFileError(f"{path}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScoreFileError(f"{path}: is a folder; expected a score file")
    if not stat.S_ISREG(st.st_mode):
        raise ScoreFileError(f"{path}: is not a regular file (a pipe or device); expected a score file")
    size = st.st_size
    if size == 0:
        raise ScoreFileError(f"{path}: file is empty")
    if size > MAX_FILE_BYTES:
        raise ScoreFileError(f"{path}: file is {size} bytes, over the {MAX_FILE_BYTES} byte limit")


def read_text(path: Path) -> str:
    """A score file's text: UTF-8 (a BOM allowed), any other encoding is one clear error."""
    _check_size(path)
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScoreFileError(f"{path}: line {line}, byte {exc.start}: not valid UTF-8; save the "
                             "file as UTF-8") from None


def _open_workbook(path: Path, data_only: bool) -> Any:
    import zipfile
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, AttributeError,
            IndexError, ParseError) as exc:  # a damaged part fails anywhere inside openpyxl
        raise ScoreFileError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: "
                             f"{exc}); re-export it or use CSV/JSON") from None


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def read_workbook(path: Path, catalog: Catalog) -> list[ModelScores]:
    """Models of an official result workbook: one column per model after the template columns.

    Rows are matched like the official tool (sheet + exact `Task Name` + exact `Metrics`), so
    workbooks move between generalbench and the official tooling unchanged.
    """
    _check_size(path)
    wb = _open_workbook(path, data_only=True)
    formulas = _open_workbook(path, data_only=False)  # to tell an empty cell from an uncached formula
    try:
        return _read_workbook(path, wb, formulas, catalog)
    except ScoreFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl parses sheets lazily, while iterating
        raise ScoreFileError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: "
                             f"{exc}); re-export it or use CSV/JSON") from None
    finally:
        wb.close()
        formulas.close()


def _read_workbook(path: Path, wb: Any, formulas: Any, catalog: Catalog) -> list[ModelScores]:
    sheets_needed = sorted({t.sheet for t in catalog})
    present = {name.strip(): name for name in wb.sheetnames}
    missing = [s for s in sheets_needed if s not in present]
    if missing:
        raise ScoreFileError(f"{path}: missing sheet {missing[0]!r} (an official result workbook "
                             f"has the sheets {', '.join(s for s in SHEET_NAMES.values())})")
    models: dict[str, ModelScores] = {}
    seen: dict[str, str] = {}
    for sheet in sheets_needed:
        ws = wb[present[sheet]]
        rows = ws.iter_rows(values_only=True)
        formula_rows = formulas[present[sheet]].iter_rows(values_only=True)
        next(formula_rows, None)
        header = next(rows, None)
        if header is None:
            raise ScoreFileError(f"{path}: sheet {sheet!r} is empty (needs a header row)")
        header = [str(h).strip() if h is not None else "" for h in header]
        for col in ("Task Name", "Metrics"):
            if col not in header:
                raise ScoreFileError(f"{path}: sheet {sheet!r}: header has no {col!r} column")
        i_name, i_metric = header.index("Task Name"), header.index("Metrics")
        model_cols = [(i, h) for i, h in enumerate(header)
                      if h and h not in TEMPLATE_COLUMNS and h != SOTA_COLUMN]
        for _, h in model_cols:
            models.setdefault(h, ModelScores(h, source=str(path)))
        for rowno, row in enumerate(rows, start=2):
            written = next(formula_rows, None) or ()
            if row is None or all(v is None for v in row):
                continue
            name, metric = row[i_name], row[i_metric]
            where = f"{path}: sheet {sheet!r}, row {rowno}"
            if name is None or metric is None:
                raise ScoreFileError(f"{where}: 'Task Name' and 'Metrics' must not be empty")
            task = catalog.find_row(sheet, str(name), str(metric))
            if task is None:
                task = _suggest(catalog, sheet, str(name), str(metric), where)
            if task.id in seen:
                raise ScoreFileError(f"{where}: task {task.name!r} appears twice "
                                     f"(first at {seen[task.id]}); keep one row per task")
            seen[task.id] = f"row {rowno}"
            for i, h in model_cols:
                value = row[i] if i < len(row) else None
                if value is None and i < len(written) and isinstance(written[i], str) \
                        and written[i].startswith("="):
                    raise ScoreFileError(f"{path}: sheet {sheet!r}, cell {_column_letter(i)}{rowno} "
                                         f"(task {task.name!r}, column {h!r}): formula "
                                         f"{written[i][:60]!r} has no saved value; open and save the "
                                         "workbook in a spreadsheet program, or type the number")
                x = parse_value(value, task, f"{where}, column {h!r}")
                if x is not None:
                    models[h].raw[task.id] = x
    if not models:
        raise ScoreFileError(f"{path}: no model column found (columns after "
                             f"{', '.join(TEMPLATE_COLUMNS)} are model scores)")
    return list(models.values())


def _suggest(catalog: Catalog, sheet: str, name: str, metric: str, where: str) -> Task:
    """Resolve a row whose exact name did not match, or fail with the closest names."""
    try:
        task = catalog.resolve(name, sheet=sheet)
    except UnknownTaskError as exc:
        raise ScoreFileError(f"{where}: {exc}") from None
    if task.metric_name != metric:
        raise ScoreFileError(f"{where}: task {name!r} is scored with {task.metric_name!r}, "
                             f"not {metric!r}")
    raise ScoreFileError(f"{where}: task {name!r} is not spelled as in the catalog; "
                         f"use {task.task_name!r} (Task Name must match exactly)")


class _Where:
    """`file: row N`, formatted only when an error message needs it (a 100-model file has ~70k
    rows, and building the string for every row cost a fifth of reading it)."""

    __slots__ = ("source", "line_name", "n")

    def __init__(self, source: str, line_name: str, n: int) -> None:
        self.source, self.line_name, self.n = source, line_name, n

    def __str__(self) -> str:
        return f"{self.source}: {self.line_name} {self.n}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _records_to_models(records: Iterable[dict[str, Any]], catalog: Catalog, path: Path,
                       default_model: str, line_name: str) -> list[ModelScores]:
    models: dict[str, ModelScores] = {}
    seen: dict[tuple[str, str], int] = {}
    source = str(path)  # once, not per row: a 100-model file has ~70k rows
    tasks: dict[str, Task] = {}  # key as written -> task: each name is resolved once per file
    for n, rec in enumerate(records, start=2 if line_name == "row" else 1):
        where = _Where(source, line_name, n)
        if not isinstance(rec, dict):
            raise ScoreFileError(f"{where}: expected an object with 'task' and 'score'")
        key = rec.get("task") or rec.get("task_id") or rec.get("id") or rec.get("name")
        if key in (None, ""):
            raise ScoreFileError(f"{where}: field 'task' (task id or name) is missing")
        if "score" not in rec and "raw" not in rec:
            raise ScoreFileError(f"{where}: field 'score' is missing")
        key = str(key)
        task = tasks.get(key)
        if task is None:
            try:
                task = tasks[key] = catalog.resolve(key)
            except UnknownTaskError as exc:
                raise ScoreFileError(f"{where}: {exc}") from None
        model = str(rec.get("model") or default_model)
        first = seen.setdefault((model, task.id), n)
        if first != n:
            raise ScoreFileError(f"{where}: task {task.name!r} of model {model!r} appears twice "
                                 f"(first at {line_name} {first})")
        x = parse_value(rec.get("score", rec.get("raw")), task, where)
        ms = models.get(model)
        if ms is None:
            ms = models[model] = ModelScores(model, source=source)
        if x is not None:
            ms.raw[task.id] = x
    if not models:
        raise ScoreFileError(f"{path}: no scores found")
    return list(models.values())


def read_csv(path: Path, catalog: Catalog) -> list[ModelScores]:
    """CSV with columns task (id or name), score, optional model."""
    text = read_text(path)
    if not text.strip():
        raise ScoreFileError(f"{path}: file is empty")
    fast = _csv_fast(text, catalog, str(path), path.stem)
    if fast is not None:
        return fast
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header or not ({"task", "task_id", "id", "name"} & set(header)):
            raise ScoreFileError(f"{path}: header needs a 'task' column and a 'score' column")
        # csv.DictReader's semantics (short rows padded with None, blank lines skipped) at a third
        # of its cost; long rows' extra cells are ignored (DictReader files them under None)
        width = len(header)
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise ScoreFileError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc})") from None
    records = [dict(zip(header, row, strict=False)) if len(row) >= width else
               dict(zip(header, row + [None] * (width - len(row)), strict=True)) for row in rows]
    return _records_to_models(records, catalog, path, path.stem, "row")


_HUGE = sys.float_info.max


def _csv_fast(text: str, catalog: Catalog, source: str,
              default_model: str) -> list[ModelScores] | None:
    """The models of a well-formed task,score[,model] CSV, read without the csv module or a
    dict per row (most of `level`'s time on a 100-model file); None as soon as anything is not
    plain (a quote, a carriage return or NUL anywhere, a short or long row, an unknown task, a
    cell other than a number, an empty cell or '-', a repeated task, a value out of the metric's
    range), so that the general path reads the file and names the problem exactly.

    Without quotes, NULs and carriage returns other than in CRLF line ends, the csv module's
    rows are the lines split at commas (blank lines skipped), which is what this reads.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # csv.writer's line ends
    if '"' in text or "\r" in text or "\0" in text:
        return None
    lines = text.split("\n")
    header = lines[0].split(",")
    if len(set(header)) != len(header) or "task" not in header or "score" not in header:
        return None
    width = len(header)
    body = [line for line in lines[1:] if line]  # the csv module skips blank lines too
    if not body or any(line.count(",") != width - 1 for line in body):
        return None  # a short or long row: the general path pads or ignores cells
    # Every row has `width` cells: the file's cells, row after row, in one list; a column is a
    # slice of it. Why: one split and C-level slices instead of a list per row (most of `level`'s
    # reading time on a 100-model file).
    flat = ",".join(body).split(",")
    task_cells = flat[header.index("task")::width]
    values = flat[header.index("score")::width]
    model_cells = flat[header.index("model")::width] if "model" in header else [""] * len(body)
    # task cell -> (task id, lowest and highest valid value): NaN and infinities fail both tests
    cells: dict[str, tuple[str, float, float]] = {}
    for name in dict.fromkeys(task_cells):
        if not name:
            return None
        try:
            task = catalog.resolve(name)
        except UnknownTaskError:
            return None
        can_be_negative, at_most_100 = _value_limits(task.metric)
        cells[name] = (task.id, -_HUGE if can_be_negative else 0.0, 100.0 if at_most_100 else _HUGE)
    try:
        numbers: list[float | None] = list(map(float, values))
    except ValueError:  # an empty cell or '-' (unsupported) somewhere, or text: cell by cell
        numbers = []
        for value in values:
            try:
                numbers.append(float(value))
            except ValueError:
                if value.strip() not in {"", "-"}:
                    return None
                numbers.append(None)  # unsupported: kept to find repeats
    # Every task accepts [0, 100] (its limits are -inf or 0, and 100 or +inf): only the values
    # outside it (NaN included) are checked against their own task's limits.
    if None in numbers:
        outside = [i for i, x in enumerate(numbers) if x is not None and not 0.0 <= x <= 100.0]
    else:
        outside = [i for i, x in enumerate(numbers) if not 0.0 <= x <= 100.0]
    for i in outside:
        _, lo, hi = cells[task_cells[i]]
        if not lo <= numbers[i] <= hi:  # type: ignore[operator]
            return None  # a value the general path words the error for
    # Each run of rows of one model becomes its dict in one C-level call; a repeated task shows
    # as a dict shorter than its run, or as a run overlapping the model's earlier runs.
    task_of = {name: cell[0] for name, cell in cells.items()}
    ids = list(map(task_of.__getitem__, task_cells))
    found: dict[str, dict[str, float | None]] = {}
    pos = 0
    for model, run in groupby(model_cells):
        n = len(list(run))
        block = dict(zip(ids[pos:pos + n], numbers[pos:pos + n], strict=True))
        pos += n
        got = found.get(model or default_model)
        if len(block) != n or (got is not None and not got.keys().isdisjoint(block)):
            return None  # a repeated task, which the general path names
        if got is None:
            found[model or default_model] = block
        else:
            got.update(block)
    return [ModelScores(model, raw={k: v for k, v in raw.items() if v is not None}, source=source)
            for model, raw in found.items()]


def read_json(path: Path, catalog: Catalog) -> list[ModelScores]:
    """JSON: a list of {task, score, model?}, {model: {task: score}}, or a generalbench report."""
    text = read_text(path)
    try:
        data = json.loads(text, parse_constant=lambda c: float("nan"))
    except json.JSONDecodeError as exc:
        raise ScoreFileError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise ScoreFileError(f"{path}: not valid JSON (nested too deeply)") from None
    reports = data if isinstance(data, list) and data and all(
        isinstance(d, dict) and "tasks" in d for d in data) else None
    if isinstance(data, dict) and "tasks" in data:
        reports = [data]
    if reports is not None:
        out = []
        for r, rep in enumerate(reports):
            out.append(_report_models(rep, path, f"report {r + 1}" if len(reports) > 1 else "", catalog))
        return [m for models in out for m in models]
    if isinstance(data, dict) and "scores" in data:
        if not isinstance(data["scores"], dict):
            raise ScoreFileError(f"{path}: field 'scores' must be an object {{task: score}}, got "
                                 f"{type(data['scores']).__name__}")
        recs = [{"task": k, "score": v, "model": data.get("model")} for k, v in data["scores"].items()]
        return _records_to_models(recs, catalog, path, path.stem, "entry")
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()) and data:
        recs = [{"task": k, "score": v, "model": m} for m, d in data.items() for k, v in d.items()]
        return _records_to_models(recs, catalog, path, path.stem, "entry")
    if isinstance(data, list):
        return _records_to_models(data, catalog, path, path.stem, "entry")
    raise ScoreFileError(f"{path}: expected a list of {{task, score, model}} objects, "
                         "{model: {task: score}}, or a generalbench report")


def _report_models(rep: dict[str, Any], path: Path, which: str, catalog: Catalog) -> list[ModelScores]:
    """The scores of one `generalbench score` report; wrong types are errors, not empty boards."""
    at = f"{path}: {which + ': ' if which else ''}"
    tasks = rep["tasks"]
    if not isinstance(tasks, list):
        raise ScoreFileError(f"{at}field 'tasks' must be a list of task objects, got "
                             f"{type(tasks).__name__}")
    model = rep.get("model")
    if model is not None and not isinstance(model, str):
        raise ScoreFileError(f"{at}field 'model' must be a string, got {type(model).__name__}")
    recs = []
    for i, t in enumerate(tasks):
        if not isinstance(t, dict):
            raise ScoreFileError(f"{at}tasks[{i}]: must be an object with 'id' and 'raw', got "
                                 f"{type(t).__name__}")
        if not isinstance(t.get("id"), str) or not t["id"]:
            raise ScoreFileError(f"{at}tasks[{i}]: field 'id' (the task id) is missing or not a string")
        if t.get("raw") is not None:
            recs.append({"task": t["id"], "score": t["raw"], "model": model})
    if not recs:
        return [ModelScores(str(model), source=str(path))]
    return _records_to_models(recs, catalog, path, str(model), "task")


def read_score_files(paths: Sequence[Path], catalog: Catalog) -> list[ModelScores]:
    """All models of all files; the same model name twice is an error, not a silent merge."""
    out: list[ModelScores] = []
    owner: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise ScoreFileError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix in {".xlsx", ".xlsm"}:
            models = read_workbook(path, catalog)
        elif suffix == ".csv":
            models = read_csv(path, catalog)
        elif suffix == ".json":
            models = read_json(path, catalog)
        else:
            raise ScoreFileError(f"{path}: unknown file type {suffix!r}; use .xlsx, .csv or .json")
        for m in models:
            if m.model in owner:
                raise ScoreFileError(f"{path}: model {m.model!r} is also in {owner[m.model]}; "
                                     "rename one column or use --model")
            owner[m.model] = str(path)
        out.extend(models)
    return out
