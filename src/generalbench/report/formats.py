"""The report's tables as Markdown (pipe tables), LaTeX (booktabs, a compile-ready document)
and CSV (every table stacked, its name in the first column)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from generalbench.report.tables import Table

_MD_ESCAPE = re.compile(r"([\\|*_`<>]|\](?=\())")


def md_cell(text: str) -> str:
    """A cell that cannot break the pipe table or turn into emphasis, links or HTML."""
    return _MD_ESCAPE.sub(r"\\\1", " ".join(str(text).split()))


def to_markdown(tables: Sequence[Table], title: str = "General-Level report") -> str:
    out = [f"# {md_cell(title)}", ""]
    for t in tables:
        out += [f"## {md_cell(t.title)}", ""]
        if t.caption:
            out += [md_cell(t.caption), ""]
        out.append("| " + " | ".join(md_cell(h) for h in t.header) + " |")
        out.append("|" + "|".join("---:" if num else ":---" for num in
                                  (t.numeric or [False] * len(t.header))) + "|")
        if not t.rows:
            out.append("| " + " | ".join(["-"] * len(t.header)) + " |")
        for row in t.rows:
            out.append("| " + " | ".join(md_cell(c) for c in row) + " |")
        out.append("")
    return "\n".join(out)


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                "|": r"\textbar{}"}


def tex_escape(text: str) -> str:
    """Text safe in a LaTeX cell: every special character escaped, whitespace collapsed,
    characters outside Latin-1 dropped (pdflatex without extra packages)."""
    text = " ".join(str(text).split())
    escaped = "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)
    return escaped.encode("latin-1", "ignore").decode("latin-1")


def to_latex(tables: Sequence[Table], title: str = "General-Level report") -> str:
    """A standalone document: `pdflatex report.tex` compiles it (booktabs, longtable)."""
    out = [r"\documentclass[10pt]{article}", r"\usepackage[T1]{fontenc}",
           r"\usepackage[utf8]{inputenc}", r"\usepackage[margin=1.5cm,landscape]{geometry}",
           r"\usepackage{booktabs}", r"\usepackage{longtable}", r"\begin{document}",
           rf"\section*{{{tex_escape(title)}}}"]
    for t in tables:
        spec = "".join("r" if num else "l" for num in (t.numeric or [False] * len(t.header)))
        out += [rf"\subsection*{{{tex_escape(t.title)}}}", r"{\footnotesize",
                rf"\begin{{longtable}}{{{spec}}}"]
        if t.caption:
            out.append(rf"\caption*{{{tex_escape(t.caption)}}}\\")
        out += [r"\toprule", " & ".join(tex_escape(h) for h in t.header) + r" \\", r"\midrule",
                r"\endhead"]
        for row in t.rows:
            out.append(" & ".join(tex_escape(c) for c in row) + r" \\")
        out += [r"\bottomrule", r"\end{longtable}", "}"]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


def to_csv(tables: Sequence[Table]) -> str:
    """All tables in one CSV: each block starts with a header row whose first cell is 'table'."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, t in enumerate(tables):
        if i:
            writer.writerow([])
        writer.writerow(["table", *t.header])
        for row in t.rows:
            writer.writerow([t.key, *row])
    return buf.getvalue()
