"""print_rows lays big tables out itself: its text must be exactly what Rich prints for the
same rows added one by one, at every width (wrapped, squeezed and wide terminals)."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.table import Table

from generalbench.report.render import FAST_ROWS, print_rows

NAMES = ["m", "model-{i}", "a very long model name number {i}", "x" * 37, "日本語モデル{i}",
         "openai:gpt-4o:{i}", ":smile: m{i}", "[bold]b{i}"]


def _rich(console: Console, title: str, columns, rows) -> None:
    t = Table(title=title)
    for name, kw in columns:
        t.add_column(name, **kw)
    for row in rows:
        t.add_row(*row)
    console.print(t)


def _rows(rng: random.Random, n: int) -> list[list[str]]:
    return [[rng.choice(NAMES).format(i=i), rng.choice(["image", "video", "3d"]),
             f"{rng.uniform(0, 100):.2f}", f"{rng.uniform(0, 100):.2f}",
             f"{rng.randint(0, 99)}/{rng.randint(0, 99)}/{rng.randint(0, 300)}",
             f"{rng.uniform(0, 1000):.2f}"] for i in range(n)]


HEADERS = ("Model", "modality", "L2", "L3", "C sup/win/total", "G score")
PLAIN = [(h, {"justify": "left" if h in {"Model", "modality"} else "right"}) for h in HEADERS]
NO_WRAP = [(h, dict(kw, no_wrap=h == "Model", overflow="fold")) for h, kw in PLAIN]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("columns", [PLAIN, NO_WRAP], ids=["plain", "no-wrap-model"])
def test_same_text_as_rich(seed, columns):
    rng = random.Random(seed)
    rows = _rows(rng, rng.choice([FAST_ROWS, 40, 120]))
    for width in (30, 40, 60, 80, 120, 200):
        want, got = io.StringIO(), io.StringIO()
        _rich(Console(file=want, width=width), "title", columns, rows)
        print_rows(Console(file=got, width=width), "title", columns, rows)
        assert got.getvalue() == want.getvalue(), width


def test_plain_names_take_the_fast_path(monkeypatch):
    """Ordinary rows never render cell by cell (Table.add_row is not called per row)."""
    calls = []
    add_row = Table.add_row

    def counting(self, *cells, **kw):
        calls.append(cells)
        return add_row(self, *cells, **kw)

    monkeypatch.setattr(Table, "add_row", counting)
    rows = [[f"model-{i}", "image", "1.00", "2.00", "1/2/3", "4.00"] for i in range(50)]
    print_rows(Console(file=io.StringIO(), width=200), "t", PLAIN, rows)
    assert len(calls) == 1  # the one layout row
