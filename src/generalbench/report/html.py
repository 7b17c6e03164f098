"""The HTML report: one self-contained file (inline CSS, inline SVG charts, a few lines of
inline JavaScript for sorting and filtering tables) that makes no network request."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timezone

from generalbench import __version__
from generalbench.report.figures import CHARTS, svg_text
from generalbench.report.tables import Table, level_sentence
from generalbench.stats.bootstrap import ModelBoot

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem auto;max-width:1400px;
padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}
th,td{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{border-bottom:2px solid #444;cursor:pointer;user-select:none;white-space:nowrap}
td.num,th.num{text-align:right;white-space:nowrap}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.caption{color:#555;font-size:.8rem}.chart svg{max-width:100%;height:auto}
input.filter{margin:.3rem 0;padding:.3rem;width:24rem}
.sentence{font-size:1rem}.meta{color:#777;font-size:.75rem}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = !th.classList.contains('asc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc ? 'asc' : 'desc');
      var num = th.classList.contains('num');
      rows.sort(function(a, b){
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        if (num) { x = parseFloat(x); y = parseFloat(y);
          x = isNaN(x) ? -Infinity : x; y = isNaN(y) ? -Infinity : y;
          return asc ? x - y : y - x; }
        return asc ? x.localeCompare(y) : y.localeCompare(x);
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
document.querySelectorAll('input.filter').forEach(function(input){
  var table = document.getElementById(input.dataset.table);
  input.addEventListener('input', function(){
    var q = input.value.toLowerCase();
    Array.from(table.tBodies[0].rows).forEach(function(r){
      r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    });
  });
});
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
"""Content-Security-Policy: even a stray URL in a task name could not make the page fetch."""


def table_html(t: Table, filterable: bool = False) -> str:
    e = html.escape
    numeric = t.numeric or [False] * len(t.header)
    head = "".join(f'<th class="{"num" if n else ""}">{e(h)}</th>'
                   for h, n in zip(t.header, numeric, strict=True))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if n else ""}">{e(c)}</td>'
                                    for c, n in zip(row, numeric, strict=True)) + "</tr>"
                   for row in t.rows)
    parts = [f'<h2 id="h-{e(t.key)}">{e(t.title)}</h2>']
    if t.caption:
        parts.append(f'<p class="caption">{e(t.caption)}</p>')
    if filterable:
        parts.append(f'<input class="filter" type="search" data-table="t-{e(t.key)}" '
                     f'placeholder="filter rows (task, modality, metric, note...)">')
    parts.append(f'<table id="t-{e(t.key)}" class="sortable"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>")
    return "\n".join(parts)


def to_html(boots: Sequence[ModelBoot], tables: Sequence[Table],
            title: str = "General-Level report") -> str:
    e = html.escape
    sentences = "".join(f'<li class="sentence"><b>{e(b.model)}</b>: {e(level_sentence(b))}</li>'
                        for b in boots)
    by_key = {t.key: t for t in tables}
    charts = "".join(f'<div class="chart" id="chart-{name}">{svg_text(draw(boots))}</div>'
                     for name, draw in CHARTS.items())
    body = [f"<h1>{e(title)}</h1>", f"<ul>{sentences}</ul>", table_html(by_key["overview"]),
            '<h2 id="h-charts">Charts</h2>', charts]
    for t in tables:
        if t.key != "overview":
            body.append(table_html(t, filterable=t.key in ("tasks", "comparison-tasks", "comparison-boards",
                                                           "skills")))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body.append(f'<p class="meta">generalbench {e(__version__)}, {e(stamp)}; '
                f"{boots[0].resamples if boots else 0} bootstrap resamples, seed "
                f"{boots[0].seed if boots else 0}. Method: docs/statistics.md.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + f"\n<script>{_JS}</script>\n</body></html>\n")
