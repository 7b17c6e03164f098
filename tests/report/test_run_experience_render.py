"""What the terminal and CSV show: one value per CSV column, notes with brackets kept and cut
notes pointing to tasks.csv."""

from __future__ import annotations

import csv
import io
import random

import pytest
from rich.console import Console

from generalbench.levels import evaluate
from generalbench.report.render import NOTE_WIDTH, emit_tables, note_cell, to_csv


def test_level_csv_has_one_value_per_column(catalog):
    rng = random.Random(3)
    raw = {t.id: t.sota * rng.uniform(0.5, 1.2) for t in catalog if rng.random() < 0.5}
    results = [evaluate(catalog, raw, "alpha"), evaluate(catalog, {}, "beta")]
    rows = list(csv.reader(io.StringIO(to_csv(results))))
    header, first = rows[0], rows[1]
    assert len(header) == len(first) and "image L2" in header and "NLP wins" in header
    for cell in first[2:]:  # every value a number (or empty), never "a/b/c" or "x of y"
        assert cell == "" or float(cell) == float(cell), cell


@pytest.mark.parametrize("plain", [False, True], ids=["rich", "text"])
def test_notes_keep_brackets_and_cut_notes_point_to_tasks_csv(plain):
    """Rich tables (a few tasks) and text tables (many) show a note as it is: brackets are not
    read as markup; a cut note names tasks.csv."""
    long = "x" * (NOTE_WIDTH + 50)
    rows = [["t1", "install it: pip install 'generalbench[code]' [bold]"],
            ["t2", note_cell(long, "out/tasks.csv")]]
    console = Console(width=400, record=True)
    emit_tables([("tasks", [("task", {}), ("note", {"overflow": "fold"})], rows)], console,
                plain=plain)
    text = console.export_text()
    assert "generalbench[code]' [bold]" in text
    assert "full note in out/tasks.csv" in text and "x" * (NOTE_WIDTH + 1) not in text
