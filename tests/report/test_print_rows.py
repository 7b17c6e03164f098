"""print_table writes many rows as plain text tables (text_table) and few as Rich tables; the
text table holds every cell, aligned, in rank order, and a narrow terminal or a cell that is not
plain text goes back to Rich."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from tests.levels.test_levels import tiny_catalog

from generalbench.levels import evaluate, rank
from generalbench.report.render import FAST_ROWS, cell_width, print_table, text_table

CAT = tiny_catalog()
IDS = [t.id for t in CAT]


def _results(n: int, name: str = "model-{i}") -> list:
    out = []
    for i in range(n):
        raw = {tid: float((i * 7 + j * 13) % 101) for j, tid in enumerate(IDS) if (i + j) % 3}
        out.append(evaluate(CAT, raw, name.format(i=i), keep_tasks=False))
    return out


def _body(text: str) -> list[list[str]]:
    """The cells of a text table's body rows."""
    return [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]


def test_text_table_layout():
    cols = [("Model", {"justify": "left"}), ("L2", {"justify": "right"})]
    text = text_table("the title", cols, [["a", "1.00"], ["longer name", "100.00"]])
    lines = text.splitlines()
    assert lines[0].strip() == "the title"
    assert lines[1:] == [
        "┏━━━━━━━━━━━━━┳━━━━━━━━┓",
        "┃ Model       ┃     L2 ┃",
        "┡━━━━━━━━━━━━━╇━━━━━━━━┩",
        "│ a           │   1.00 │",
        "│ longer name │ 100.00 │",
        "└─────────────┴────────┘",
    ]


def test_wide_characters_keep_columns_aligned():
    assert cell_width("日本語") == 6 and cell_width("e\u0301") == 1 and cell_width("abc") == 3
    text = text_table("t", [("Model", {}), ("x", {"justify": "right"})],
                      [["日本語モデル", "1"], ["m", "22"]])
    assert len({cell_width(line) for line in text.splitlines()[1:]}) == 1


@pytest.mark.parametrize("console", [None, "file"])
def test_many_models_print_every_number_in_rank_order(console, capsys):
    results = _results(FAST_ROWS + 4, name="a model named [bold]{i}: :smile:")
    con = Console(file=io.StringIO(), width=60) if console else None
    print_table(results, console=con)
    text = con.file.getvalue() if con else capsys.readouterr().out
    assert "┏" in text and "╭" not in text  # the text tables, whatever the file's width
    board, detail = text.split("per modality (Scope-B) and paradigm (Scope-C)")
    assert "General-Level, scope A" in board
    rows = _body(board)
    ranked = rank(results)
    assert [r[1] for r in rows] == [r.model for _, r in ranked]  # names verbatim, no markup
    for row, (n, r) in zip(rows, ranked, strict=True):
        assert row[0] == str(n)
        assert row[3:7] == [f"{r.scores[k]:.2f}" for k in ("level2", "level3", "level4", "level5")]
        assert row[9] == f"{r.language.wins}/{r.language.total}"
    cells = _body(detail)
    assert len(cells) == 4 * len(results)
    first = ranked[0][1]
    assert cells[0][:5] == [first.model, "image", *(f"{getattr(first.modalities['image'], k):.2f}"
                                                    for k in ("level2", "level3", "level4"))]
    for part in (board, detail):  # every line of a table equally wide
        widths = {cell_width(line) for line in part.splitlines() if re.match("[┏┃┡│└]", line)}
        assert len(widths) == 1


def test_few_models_or_odd_cells_or_a_narrow_terminal_take_rich():
    def printed(results, **kw):
        con = Console(file=io.StringIO(), **kw)
        print_table(results, console=con)
        return con.file.getvalue()

    few = printed(_results(FAST_ROWS - 1), width=200)
    assert "model-0" in few and "per modality" in few
    assert "┏" in few  # Rich's own table: same box, Rich's layout
    assert "multi\nline" not in printed(_results(FAST_ROWS, name="multi\nline{i}"), width=200)
    narrow = printed(_results(FAST_ROWS), width=60, force_terminal=True)
    assert max(cell_width(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in narrow.splitlines()) <= 60
    wide = printed(_results(FAST_ROWS), width=250, force_terminal=True)
    assert "\x1b[" not in wide and _body(wide)  # fits: the text table


def test_an_output_without_utf8_gets_ascii_boxes(monkeypatch):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    monkeypatch.setattr("sys.stdout", out)
    print_table(_results(FAST_ROWS))
    out.flush()
    lines = raw.getvalue().decode("ascii").splitlines()
    assert lines[1].startswith("+-") and lines[3].startswith("+=")
    assert lines[4].startswith("|") and "model-" in lines[4]
