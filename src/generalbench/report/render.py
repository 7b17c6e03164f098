"""Render General-Level results: leaderboard tables (terminal, Markdown, CSV) and JSON."""

from __future__ import annotations

import csv
import io
import json
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
    ranked = rank(results, scope)
    return json.dumps([result_json(r, rank_no=n, scope=scope, with_tasks=with_tasks)
                       for n, r in ranked], indent=1, ensure_ascii=False)


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
    """The leaderboard as a rich table, plus the per-modality Scope-B/C detail for Scope A."""
    from rich.console import Console

    console = console or Console()
    scope = scope or Scope("A")
    header, rows = leaderboard_rows(results, scope, compact=True)
    cat = results[0].catalog if results else {"version": "?", "hash": "?"}
    columns = [(h, {"justify": "left" if h == "Model" else "right", "no_wrap": h == "Model",
                    "overflow": "fold"}) for h in header]
    print_rows(console, title or f"General-Level, scope {_scope_label(scope)} "
               f"({cat['version']}, {cat['hash']})", columns, rows)
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
        print_rows(console, "per modality (Scope-B) and paradigm (Scope-C)", columns, detail)


FAST_ROWS = 16
"""From this many rows on, print_rows lays a table out as one row of multi-line cells."""


def print_rows(console: Any, title: str, columns: Sequence[tuple[str, dict[str, Any]]],
               rows: Sequence[Sequence[str]]) -> None:
    """Print a Rich table of text cells, as `Table.add_row` for every row would.

    Rich measures, wraps and renders every cell on its own (about 0.2 ms each): the 500 rows of
    a 100-model leaderboard took most of `generalbench level`'s second. Column widths depend only
    on each column's widest line and longest word, so Rich lays out one row whose cells hold
    every row's text; the body lines are then written here (cells wider than their column are
    wrapped by Rich's own Text.wrap, the other cells of their row padded to the same height), and
    the title, header and borders come from Rich. The text is the same (tests/report/
    test_print_rows.py); on a colour terminal the body is not highlighted. Tables of few rows,
    cells with markup, emoji codes or line breaks, a cell too wide for a no-wrap column, or a
    Rich without the width calculation used here take Rich's own path.
    """
    from rich.cells import cell_len
    from rich.segment import Segment, Segments
    from rich.table import Table
    from rich.text import Text

    def rich_table(widths: Sequence[int | None] | None = None) -> Table:
        t = Table(title=title)
        for (name, kw), width in zip(columns, widths or [None] * len(columns), strict=True):
            t.add_column(name, width=width, **kw)
        return t

    def plain() -> None:
        t = rich_table()
        for row in rows:
            t.add_row(*row)
        console.print(t)

    if len(rows) < FAST_ROWS or any(_special(c) for row in rows for c in row):
        plain()
        return
    proxy = rich_table()
    proxy.add_row(*("\n".join(col) for col in zip(*rows, strict=True)))
    try:
        widths = proxy._calculate_column_widths(  # noqa: SLF001 - falls back below
            console, console.options.update_width(console.options.max_width - proxy._extra_width))
        widths = [w - proxy._get_padding_width(i) for i, w in enumerate(widths)]  # noqa: SLF001
    except (AttributeError, TypeError):  # a Rich that lays tables out differently
        plain()
        return
    if min(widths) < 1:
        plain()
        return
    body: list[str] = []
    for row in rows:
        cells = [[c] for c in row]
        for j, c in enumerate(row):
            if cell_len(c) > widths[j]:
                kw = columns[j][1]
                if kw.get("no_wrap"):
                    plain()
                    return
                cells[j] = [line.plain for line in Text(c).wrap(
                    console, widths[j], justify=kw.get("justify", "left"),
                    overflow=kw.get("overflow", "ellipsis"))]
        for i in range(max(len(c) for c in cells)):
            parts = []
            for j, c in enumerate(cells):
                text = c[i] if i < len(c) else ""
                pad = " " * (widths[j] - cell_len(text))
                right = columns[j][1].get("justify") == "right"
                parts.append(f" {pad}{text} " if right else f" {text}{pad} ")
            body.append("│" + "│".join(parts) + "│")
    frame = console.render_lines(rich_table(widths), pad=False)  # title, header, borders
    out: list[Segment] = []
    for line in [*frame[:-1], *([Segment(b)] for b in body), frame[-1]]:
        out.extend(line)
        out.append(Segment.line())
    console.print(Segments(out))


def _special(cell: str) -> bool:
    """Whether Rich would change a cell's text (markup, an emoji code) or it spans lines."""
    if "[" in cell or "\n" in cell:
        return True
    if ":" in cell:
        try:
            from rich._emoji_replace import _emoji_replace
        except ImportError:  # a Rich without it: let Rich render
            return True

        return _emoji_replace(cell) != cell
    return False


NOTE_WIDTH = 160
"""Characters of a task note shown in a terminal table; the full note is in tasks.csv."""


def note_cell(note: str | None, full: Any = None) -> str:
    """A task note for a Rich table: markup escaped (a note quoting `pip install 'x[extra]'`
    must not lose its brackets) and, when cut, pointing to where the whole note is."""
    from rich.markup import escape

    note = note or ""
    if len(note) <= NOTE_WIDTH:
        return escape(note)
    where = f"full note in {full}" if full else "full note: rerun with --out DIR, see DIR/tasks.csv"
    return escape(f"{note[:NOTE_WIDTH]}... ({where})")
