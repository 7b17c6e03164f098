"""Render General-Level results: leaderboard tables (terminal, Markdown, CSV) and JSON."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from generalbench.levels import LEVEL_KEYS, LevelResult, Scope, rank

_LEVEL_LABELS = {"level2": "L2", "level3": "L3", "level4": "L4", "level5": "L5"}


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def result_json(result: LevelResult, *, rank_no: int | None = None,
                scope: Scope | None = None, with_tasks: bool = False) -> dict[str, Any]:
    data = result.model_dump(exclude={"tasks"} if not with_tasks else set())
    if rank_no is not None:
        data["rank"] = rank_no
    if scope is not None and scope.kind != "A":
        data["board"] = {"scope": _scope_label(scope), **scope.board_value(result)}
    return data


def to_json(results: Sequence[LevelResult], scope: Scope | None = None,
            with_tasks: bool = False) -> str:
    """One object for one model, a ranked list for several (the `--format json` contract)."""
    if len(results) == 1:
        return json.dumps(result_json(results[0], scope=scope, with_tasks=with_tasks), indent=1,
                          ensure_ascii=False)
    items = [result_json(r, rank_no=n, scope=scope, with_tasks=with_tasks)
             for n, r in rank(results, scope)]
    if len(items) < FAST_ROWS:
        return json.dumps(items, indent=1, ensure_ascii=False)
    # Many models: one per line. Why: `indent` takes json's pure-Python encoder, about a tenth of
    # `level`'s time on a 100-model file; the C encoder writes each line, the list stays readable.
    return "[\n" + ",\n".join(json.dumps(item, ensure_ascii=False) for item in items) + "\n]"


def _scope_label(scope: Scope) -> str:
    return scope.label()


def _compact_rows(results: Sequence[LevelResult]) -> tuple[list[str], list[list[str]]]:
    header = ["Rank", "Model", "Level", *(_LEVEL_LABELS[k] for k in LEVEL_KEYS),
              "supported", "wins", "NLP wins"]
    rows = []
    for n, r in rank(results):
        groups = [g for ms in r.modalities.values() for g in (ms.comprehension, ms.generation)]
        total = sum(g.total for g in groups)
        rows.append([str(n), r.model, str(r.level) if r.level else "-",
                     *(_fmt(r.scores[k]) for k in LEVEL_KEYS),
                     f"{sum(g.supported for g in groups)}/{total}",
                     f"{sum(g.wins for g in groups)}/{total}",
                     f"{r.language.wins}/{r.language.total}"])
    return header, rows


def leaderboard_rows(results: Sequence[LevelResult], scope: Scope | None = None,
                     compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the leaderboard for a scope (A: the paper's overall table)."""
    scope = scope or Scope("A")
    ranked = rank(results, scope)
    if scope.kind == "A" and compact:
        return _compact_rows(results)
    if scope.kind == "A":
        mods = list(results[0].modalities) if results else []
        header = ["Rank", "Model", "Level", *(_LEVEL_LABELS[k] for k in LEVEL_KEYS),
                  *(f"{m} L2/L3/L4" for m in mods), *(f"{m} sup/win" for m in mods),
                  "NLP sup/win"]
        rows = []
        for n, r in ranked:
            rows.append([
                str(n), r.model, str(r.level) if r.level else "-",
                *(_fmt(r.scores[k]) for k in LEVEL_KEYS),
                *("/".join(_fmt(getattr(r.modalities[m], k)) for k in ("level2", "level3", "level4"))
                  for m in mods),
                *(f"{ms.comprehension.supported + ms.generation.supported}"
                  f"/{ms.comprehension.wins + ms.generation.wins}"
                  f" of {ms.comprehension.total + ms.generation.total}"
                  for ms in (r.modalities[m] for m in mods)),
                f"{r.language.supported}/{r.language.wins} of {r.language.total}",
            ])
        return header, rows
    header = ["Rank", "Model", *scope.board_value(results[0]).keys()] if results else ["Rank", "Model"]
    rows = [[str(n), r.model, *(_fmt(v) if isinstance(v, float) else str(v)
                                for v in scope.board_value(r).values())] for n, r in ranked]
    return header, rows


def _flat_rows(results: Sequence[LevelResult]) -> tuple[list[str], list[list[str]]]:
    """Scope A with one value per column (for CSV: the table's `L2/L3/L4` and `sup/win of n`
    cells are split, so a spreadsheet reads numbers, not text)."""
    scope = Scope("A")
    mods = list(results[0].modalities) if results else []
    header = ["Rank", "Model", "Level", *(_LEVEL_LABELS[k] for k in LEVEL_KEYS),
              *(f"{m} {lv}" for m in mods for lv in ("L2", "L3", "L4")),
              *(f"{m} {c}" for m in mods for c in ("supported", "wins", "total")),
              "NLP supported", "NLP wins", "NLP total"]
    rows = []
    for n, r in rank(results, scope):
        row = [str(n), r.model, str(r.level) if r.level else "",
               *(_fmt(r.scores[k]) for k in LEVEL_KEYS),
               *(_fmt(getattr(r.modalities[m], k)) for m in mods
                 for k in ("level2", "level3", "level4"))]
        for m in mods:
            ms = r.modalities[m]
            row += [str(ms.comprehension.supported + ms.generation.supported),
                    str(ms.comprehension.wins + ms.generation.wins),
                    str(ms.comprehension.total + ms.generation.total)]
        row += [str(r.language.supported), str(r.language.wins), str(r.language.total)]
        rows.append(row)
    return header, rows


def to_csv(results: Sequence[LevelResult], scope: Scope | None = None) -> str:
    if scope is None or scope.kind == "A":
        header, rows = _flat_rows(results)
    else:
        header, rows = leaderboard_rows(results, scope)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def to_markdown(results: Sequence[LevelResult], scope: Scope | None = None) -> str:
    header, rows = leaderboard_rows(results, scope)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def print_table(results: Sequence[LevelResult], scope: Scope | None = None, *,
                title: str | None = None, console: Any = None) -> None:
    """The leaderboard, plus the per-modality Scope-B/C detail for Scope A: Rich tables for a
    few models, plain text tables (text_table) for many."""
    scope = scope or Scope("A")
    header, rows = leaderboard_rows(results, scope, compact=True)
    cat = results[0].catalog if results else {"version": "?", "hash": "?"}
    tables = [(title or f"General-Level, scope {_scope_label(scope)} ({cat['version']}, "
               f"{cat['hash']})",
               [(h, {"justify": "left" if h == "Model" else "right", "no_wrap": h == "Model",
                     "overflow": "fold"}) for h in header], rows)]
    if scope.kind == "A" and results:
        columns = [(h, {"justify": "left" if h in {"Model", "modality"} else "right"})
                   for h in ("Model", "modality", "L2", "L3", "L4", "C score", "C synergy",
                             "C sup/win/total", "G score", "G synergy", "G sup/win/total")]
        detail = []
        for _, r in rank(results, scope):
            for m, ms in r.modalities.items():
                c, g = ms.comprehension, ms.generation
                detail.append([r.model, m, _fmt(ms.level2), _fmt(ms.level3), _fmt(ms.level4),
                               _fmt(c.score), _fmt(c.synergy_score),
                               f"{c.supported}/{c.wins}/{c.total}", _fmt(g.score),
                               _fmt(g.synergy_score), f"{g.supported}/{g.wins}/{g.total}"])
        tables.append(("per modality (Scope-B) and paradigm (Scope-C)", columns, detail))
    emit_tables(tables, console, plain=len(rows) >= FAST_ROWS)


def emit_tables(tables: Sequence[tuple[str, Any, Sequence[Sequence[str]]]], console: Any = None,
                *, plain: bool) -> None:
    """Print (title, columns, rows) tables: as plain text (text_table) when `plain` and the
    text fits (_text_tables), else as Rich tables. Cells are plain text either way (no markup)."""
    texts = _text_tables(tables, console) if plain else None
    if texts is None:
        from rich.console import Console

        console = console or Console()
        for t in tables:
            console.print(_rich_table(*t))
    elif console is None:
        sys.stdout.write("".join(texts))
    else:
        for text in texts:
            console.out(text, highlight=False, end="")


FAST_ROWS = 16
"""From this many leaderboard rows on, print_table writes plain text tables, not Rich tables,
and to_json one model per line."""


def _text_tables(tables: Sequence[tuple[str, Any, Sequence[Sequence[str]]]],
                 console: Any) -> list[str] | None:
    """The tables as text (text_table), or None where they are Rich's to draw.

    Rich measures, wraps and renders every cell on its own (about 0.2 ms each): the 500 rows of
    a 100-model leaderboard took most of `level`'s time. Text needs every cell to be plain
    printable text (no line breaks) and, on a terminal, every table no wider than the terminal
    (a wider one is Rich's to wrap); a file or a pipe gets the full width, unwrapped. An output
    that cannot take the box characters (not UTF-8) gets ASCII ones.
    """
    if not all(c.isprintable() for _, _, body in tables for row in body for c in row):
        return None
    if console is not None:
        terminal, width, encoding = console.is_terminal, console.width, console.encoding
    else:
        terminal, encoding = sys.stdout.isatty(), getattr(sys.stdout, "encoding", None) or ""
        width = shutil.get_terminal_size().columns if terminal else 0
    box = BOX if encoding.lower().startswith("utf") else ASCII_BOX
    texts = [text_table(*t, box=box) for t in tables]
    if terminal and any(cell_width(text.split("\n", 2)[1]) > width for text in texts):
        return None
    return texts


def _rich_table(title: str, columns: Sequence[tuple[str, dict[str, Any]]],
                rows: Sequence[Sequence[str]]) -> Any:
    """A Rich table of plain-text cells: a model name or a note quoting `pip install 'x[extra]'`
    is shown as it is, never read as Rich markup (the text tables show it as it is too)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for name, kw in columns:
        table.add_column(name, **kw)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def cell_width(text: str) -> int:
    """Terminal columns of a text: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


BOX = ("┏━┳┓", "┃", "┡━╇┩", "│", "└─┴┘")
"""Rich's default table box (HEAVY_HEAD): top rule, header bar, header rule, body bar, bottom
rule (each rule: left end, fill, column separator, right end)."""
ASCII_BOX = ("+-++", "|", "+=++", "|", "+-++")


def text_table(title: str, columns: Sequence[tuple[str, dict[str, Any]]],
               rows: Sequence[Sequence[str]], box: Sequence[str] = BOX) -> str:
    """A table as lines of text, drawn like Rich's default table (`box`) with the title centred
    above it: each column as wide as its widest cell, nothing wrapped, cells justified as their
    column's `justify` says (left unless "right")."""
    heads = [name for name, _ in columns]
    widths = [max(cell_width(c) for c in col) for col in zip(heads, *rows, strict=True)]
    right = [kw.get("justify") == "right" for _, kw in columns]

    def line(cells: Sequence[str], bar: str) -> str:
        parts = []
        for text, width, r in zip(cells, widths, right, strict=True):
            pad = " " * (width - cell_width(text))
            parts.append(f" {pad}{text} " if r else f" {text}{pad} ")
        return bar + bar.join(parts) + bar

    def rule(chars: str) -> str:
        left, fill, mid, end = chars
        return left + mid.join(fill * (w + 2) for w in widths) + end

    top = rule(box[0])
    out = [title.center(len(top)).rstrip(), top, line(heads, box[1]), rule(box[2])]
    out += [line(row, box[3]) for row in rows]
    out.append(rule(box[4]))
    return "\n".join(out) + "\n"


NOTE_WIDTH = 160
"""Characters of a task note shown in a terminal table; the full note is in tasks.csv."""


def note_cell(note: str | None, full: Any = None) -> str:
    """A task note for a table cell: when cut, pointing to where the whole note is."""
    note = note or ""
    if len(note) <= NOTE_WIDTH:
        return note
    where = f"full note in {full}" if full else "full note: rerun with --out DIR, see DIR/tasks.csv"
    return f"{note[:NOTE_WIDTH]}... ({where})"
