"""Write official-format result workbooks: the template sheets, a column per model, and a
`level-scores` sheet, so results move between generalbench and the official tooling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from generalbench.atomic import atomic_open
from generalbench.catalog import SHEET_NAMES, Catalog
from generalbench.levels import LEVEL_KEYS, LevelResult
from generalbench.report.scorefiles import LEVEL_SHEET, SOTA_COLUMN, TEMPLATE_COLUMNS, ModelScores


def write_workbook(path: Path, catalog: Catalog, models: Sequence[ModelScores],
                   results: Sequence[LevelResult]) -> Path:
    """Write atomically (a temporary file renamed into place): a failure leaves no half file."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    sheets = list(SHEET_NAMES.values()) + sorted({t.sheet for t in catalog} - set(SHEET_NAMES.values()))
    for sheet in sheets:
        ws = wb.create_sheet(sheet)
        ws.append([*TEMPLATE_COLUMNS, SOTA_COLUMN, *(m.model for m in models)])
        for task in (t for t in catalog if t.sheet == sheet):
            ws.append([task.no, task.task_name, task.short_name, task.metric_name, task.sota,
                       *(m.raw.get(task.id) for m in models)])
    ws = wb.create_sheet(LEVEL_SHEET)
    modalities = list(results[0].modalities) if results else []
    ws.append(["Model", "Level", *(k.replace("level", "Level-") for k in LEVEL_KEYS),
               *(f"{m} {k}" for m in modalities for k in ("Level-2", "Level-3", "Level-4")),
               "NLP wins", "catalog version", "catalog hash"])
    for r in results:
        ws.append([r.model, r.level, *(r.scores[k] for k in LEVEL_KEYS),
                   *(getattr(r.modalities[m], k) for m in modalities
                     for k in ("level2", "level3", "level4")),
                   r.language.wins, r.catalog["version"], r.catalog["hash"]])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:  # normal file mode (not tempfile's 0600)
        wb.save(fh)
    return path
