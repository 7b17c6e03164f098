"""`generalbench report`: the JSON contract, Markdown that renders as tables, compile-ready
LaTeX, CSV, figures, comparisons, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import run_cli

RESAMPLES = "200"


@pytest.fixture(scope="module")
def json_report(report_runs) -> list[dict]:
    res = run_cli("report", report_runs["baseline"], report_runs["oracle"], "--data",
                  report_runs["data"], "--format", "json", "--resamples", RESAMPLES, "--quiet")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_json_has_the_contract_shape_and_probabilities_sum_to_one(json_report):
    assert [m["model"] for m in json_report] == ["baseline", "oracle"]
    for m in json_report:
        assert set(m["scores"]) == {"level2", "level3", "level4", "level5"}
        for v in m["scores"].values():
            assert v["low"] <= v["value"] + 1e-9 and v["value"] <= v["high"] + 1e-9
        assert set(m["level_probability"]) == {"none", "2", "3", "4", "5"}
        assert sum(m["level_probability"].values()) == pytest.approx(1.0)
        for t in m["tasks"]:
            assert {"id", "raw", "low", "high", "win_probability"} <= set(t)
            assert 0.0 <= t["win_probability"] <= 1.0


def test_oracle_wins_every_scored_task_for_sure_and_ranks_above_the_baseline(json_report):
    baseline, oracle = json_report
    scored = [t for t in oracle["tasks"] if t["raw"] is not None]
    assert len(scored) == 8
    assert all(t["win_probability"] == 1.0 for t in scored)
    assert oracle["level_probability"][str(oracle["level"])] == 1.0
    methods = {t["id"]: t["method"] for t in scored}
    assert methods["language-topic-classification"] == "counts_f1"  # micro-F1 from TP/FP/FN
    assert methods["language-time-series"] == "rms"
    assert methods["image-comprehension-small-object-detection"] == "recompute"
    cmp = baseline["comparisons"][0]
    assert cmp["a"] == "baseline" and cmp["b"] == "oracle"
    assert cmp["probability_a_above"]["A"] == 0.0
    # paired wherever both models scored the task (a task whose every baseline answer failed is
    # unsupported for the baseline: nothing to pair)
    both = {t["id"] for t in baseline["tasks"] if t["raw"] is not None} & {t["id"] for t in scored}
    both.discard("image-generation-image-deblurring")
    assert both and all(t["paired"] for t in cmp["tasks"] if t["id"] in both)


def test_a_run_compared_with_itself_gives_one_half(report_runs, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(report_runs["baseline"] / "score", copy)
    res = run_cli("report", report_runs["baseline"], copy, "--format", "json", "--resamples",
                  "100", "--quiet")
    assert res.code == 0, res.err
    a, b = json.loads(res.out)
    assert b["model"] == "baseline (again)"
    assert set(a["comparisons"][0]["probability_a_above"].values()) == {0.5}
    # the copied score folder knows no dataset: micro-F1 falls back to scaled per-instance F1
    method = {t["id"]: t["method"] for t in b["tasks"]}
    assert method["language-topic-classification"] == "scaled"


def test_markdown_renders_as_tables(report_runs, tmp_path):
    from markdown_it import MarkdownIt

    out = tmp_path / "report.md"
    res = run_cli("report", report_runs["baseline"], report_runs["oracle"], "--data",
                  report_runs["data"], "--out", out, "--resamples", RESAMPLES, "--quiet")
    assert res.code == 0, res.err
    tokens = MarkdownIt("commonmark").enable("table").parse(out.read_text())
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) >= 8  # overview, 4 modalities, comp/gen, skills, tasks, comparisons
    html = MarkdownIt("commonmark").enable("table").render(out.read_text())
    assert re.search(r"<th[^>]*>Model</th>", html) and re.search(r"<td[^>]*>oracle</td>", html)
    # every row of every table has as many cells as its header
    for block in out.read_text().split("\n\n"):
        lines = [x for x in block.splitlines() if x.startswith("|")]
        if lines:
            widths = {len(re.findall(r"(?<!\\)\|", x)) for x in lines}
            assert len(widths) == 1, block


def _renamed_score_folder(src: Path, dest: Path, name: str) -> Path:
    shutil.copytree(src, dest)
    report = json.loads((dest / "report.json").read_text())
    report["model"] = name
    (dest / "report.json").write_text(json.dumps(report))
    return dest


def test_latex_is_balanced_booktabs_with_escaped_names(report_runs, tmp_path):
    name = "my_model & co 100% #1 {x} ~^\\"
    folder = _renamed_score_folder(report_runs["baseline"] / "score", tmp_path / "s", name)
    out = tmp_path / "report.tex"
    res = run_cli("report", folder, "--out", out, "--resamples", "50", "--quiet")
    assert res.code == 0, res.err
    tex = out.read_text()
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "\\usepackage{booktabs}" in tex and "\\toprule" in tex and "\\bottomrule" in tex
    assert r"my\_model \& co 100\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}" in tex
    unescaped = re.sub(r"\\[{}&%$#_]", "", tex)
    assert unescaped.count("{") == unescaped.count("}")
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack.pop() == env
    assert stack == []
    for spec, body in re.findall(r"\\begin\{longtable\}\{([lr]+)\}(.*?)\\end\{longtable\}", tex, re.S):
        for line in body.splitlines():
            if line.endswith("\\\\") and not line.startswith("\\caption"):
                assert len(re.findall(r"(?<!\\)&", line)) == len(spec) - 1, line
    # no raw special character outside commands
    assert not re.search(r"(?<!\\)[%#]", tex)
    if shutil.which("pdflatex"):  # where TeX is installed, it really compiles
        import subprocess

        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               out.name], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert (tmp_path / "report.pdf").stat().st_size > 1000


def test_csv_stacks_every_table(report_runs, tmp_path):
    out = tmp_path / "report.csv"
    res = run_cli("report", report_runs["baseline"], "--out", out, "--resamples", "50", "--quiet")
    assert res.code == 0, res.err
    rows = list(csv.reader(io.StringIO(out.read_text())))
    headers = [r for r in rows if r and r[0] == "table"]
    assert {r[0] for r in rows if r and r[0] != "table"} >= {"overview", "tasks", "skills"}
    assert len(headers) >= 8


def test_figures_are_written_as_svg_and_png(report_runs, tmp_path):
    res = run_cli("report", report_runs["baseline"], "--out", tmp_path / "r.html", "--figures",
                  tmp_path / "figs", "--resamples", "50", "--quiet")
    assert res.code == 0, res.err
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == sorted(f"{n}.{e}" for n in ("modalities", "comprehension-generation",
                                                        "skill-wins", "level-probability")
                           for e in ("svg", "png"))
    assert (tmp_path / "figs" / "modalities.png").read_bytes()[:4] == b"\x89PNG"


def test_broken_score_folder_is_one_clear_error(report_runs, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(report_runs["baseline"] / "score", folder)
    with open(folder / "instances.jsonl", "a") as fh:
        fh.write("{not json\n")
    res = run_cli("report", folder, "--format", "json")
    assert res.code == 2 and "instances.jsonl: line" in res.err and len(res.err.splitlines()) == 1
    (folder / "report.json").write_text("[1, 2]")
    res = run_cli("report", folder, "--format", "json")
    assert res.code == 2 and "report.json" in res.err and len(res.err.splitlines()) == 1


def test_predictions_folder_without_data_is_one_clear_error(report_runs, tmp_path):
    res = run_cli("report", tmp_path / "missing")
    assert res.code == 2 and res.err.startswith("error:") and len(res.err.splitlines()) == 1
    preds = tmp_path / "preds"
    shutil.copytree(report_runs["oracle"], preds)
    res = run_cli("report", preds)
    assert res.code == 2 and "--data" in res.err and len(res.err.splitlines()) == 1
