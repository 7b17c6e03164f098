"""The report's tables as data (title, header, rows of text cells), built once from the
bootstraps and written by every format (HTML, Markdown, LaTeX, CSV), so the formats cannot
disagree about a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generalbench.levels import LEVEL_KEYS, rank
from generalbench.stats.bootstrap import ModelBoot, interval

LABELS = {"level2": "L2", "level3": "L3", "level4": "L4", "level5": "L5"}


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    numeric: list[bool] = field(default_factory=list)
    """Per column: right-aligned and sorted as numbers."""


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def fmt_ci(v: dict[str, float] | None) -> str:
    """'45.20 [40.10, 50.30]' (value and interval)."""
    if v is None:
        return "-"
    return f"{fmt(v['value'])} [{fmt(v['low'])}, {fmt(v['high'])}]"


def _numeric(header: Sequence[str], numeric_from: int) -> list[bool]:
    return [i >= numeric_from for i in range(len(header))]


def level_sentence(boot: ModelBoot) -> str:
    """'Level 4 with probability 0.93' (the observed level and how often resamples agree)."""
    lv = boot.point.level
    probs = boot.level_probability()
    p = probs[str(lv)] if lv else probs["none"]
    return f"{'Level ' + str(lv) if lv else 'no level'} with probability {p:.2f}"


def overview(boots: Sequence[ModelBoot]) -> Table:
    header = ["Rank", "Model", "Level", "P(level)", *(LABELS[k] for k in LEVEL_KEYS),
              "Supported", "Wins", "NLP wins"]
    by_model = {id(b.point): b for b in boots}
    rows = []
    for n, res in rank([b.point for b in boots]):
        b = by_model[id(res)]
        probs = b.level_probability()
        groups = [g for ms in res.modalities.values() for g in (ms.comprehension, ms.generation)]
        total = sum(g.total for g in groups)
        rows.append([str(n), res.model, str(res.level) if res.level else "-",
                     fmt(probs[str(res.level)] if res.level else probs["none"]),
                     *(fmt_ci(b.score_interval(k)) for k in LEVEL_KEYS),
                     f"{sum(g.supported for g in groups)}/{total}",
                     f"{sum(g.wins for g in groups)}/{total}",
                     f"{res.language.wins}/{res.language.total}"])
    conf = int(round(100 * boots[0].confidence)) if boots else 95
    caption = (f"General-Level scores with {conf}% bootstrap intervals "
               f"({boots[0].resamples if boots else 0} resamples of the instances); P(level) is the "
               "share of resamples in which the model keeps its level.")
    return Table("overview", "Overview (General-Level leaderboard)", header, rows, caption,
                 [h not in ("Model",) for h in header])


def modality_levels(boots: Sequence[ModelBoot], modality: str) -> Table:
    header = ["Model", "L2", "L3", "L4", "Comp. supported/wins/tasks",
              "Gen. supported/wins/tasks"]
    rows = []
    for b in boots:
        ms = b.point.modalities[modality]
        rows.append([b.model, *(fmt_ci(b.modality_interval(modality, k))
                                for k in ("level2", "level3", "level4")),
                     f"{ms.comprehension.supported}/{ms.comprehension.wins}/{ms.comprehension.total}",
                     f"{ms.generation.supported}/{ms.generation.wins}/{ms.generation.total}"])
    return Table(f"modality-{modality}", f"{modality.capitalize()}: Level-2/3/4", header, rows,
                 f"Per-modality scores of the {modality} tasks (the paper's Tables 7-11).",
                 _numeric(header, 1))


def _group_ci(b: ModelBoot, key: tuple[str, str], what: str) -> dict[str, float]:
    g = b.arrays.groups[key]
    arr = getattr(g, what)
    point_group = (b.point.language if key[0] == "language" else
                   getattr(b.point.modalities[key[0]], key[1]))
    lo, hi = interval(arr, b.confidence)
    return {"value": float(getattr(point_group, what)), "low": lo, "high": hi}


def comprehension_generation(boots: Sequence[ModelBoot]) -> Table:
    header = ["Model", "Modality", "Comprehension score", "Comp. wins", "Generation score",
              "Gen. wins"]
    rows = []
    for b in boots:
        for m, ms in b.point.modalities.items():
            rows.append([b.model, m, fmt_ci(_group_ci(b, (m, "comprehension"), "score")),
                         f"{ms.comprehension.wins}/{ms.comprehension.total}",
                         fmt_ci(_group_ci(b, (m, "generation"), "score")),
                         f"{ms.generation.wins}/{ms.generation.total}"])
        lang = b.point.language
        rows.append([b.model, "language (NLP)", fmt_ci(_group_ci(b, ("language", "language"), "score")),
                     f"{lang.wins}/{lang.total}", "-", "-"])
    return Table("comprehension-generation", "Comprehension vs generation", header, rows,
                 "Mean normalised score of each paradigm (unsupported tasks count 0) and wins "
                 "against the specialist.", _numeric(header, 2))


def skill_rows(b: ModelBoot) -> list[dict[str, Any]]:
    """Per (modality, paradigm, skill): tasks, observed wins, expected wins (sum of P(win))."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for j, t in enumerate(b.tasks):
        groups.setdefault((t.modality, t.paradigm, t.skill), []).append(j)
    out = []
    for (m, p, s), cols in sorted(groups.items()):
        wins = b.arrays.wins[:, cols]
        point = [ts for ts in b.point.tasks or [] if (ts.modality, ts.paradigm, ts.skill) == (m, p, s)]
        out.append({"modality": m, "paradigm": p, "skill": s, "tasks": len(cols),
                    "scored": sum(b.boots[j].raw is not None for j in cols),
                    "supported": sum(ts.supported for ts in point), "wins": sum(ts.win for ts in point),
                    "expected_wins": float(wins.sum(1).mean()),
                    "score": float(np.mean([ts.normalised for ts in point])) if point else 0.0})
    return out


def skills(boots: Sequence[ModelBoot]) -> Table:
    header = ["Model", "Modality", "Paradigm", "Skill", "Tasks", "Supported", "Wins",
              "Expected wins", "Score"]
    per_model = [(b, skill_rows(b)) for b in boots]
    keep = {(r["modality"], r["paradigm"], r["skill"]) for _, rs in per_model for r in rs
            if r["supported"]}
    rows = [[b.model, r["modality"], r["paradigm"], r["skill"], str(r["tasks"]),
             str(r["supported"]), str(r["wins"]), fmt(r["expected_wins"]), fmt(r["score"])]
            for b, rs in per_model for r in rs if (r["modality"], r["paradigm"], r["skill"]) in keep]
    return Table("skills", "Wins against the specialist per skill", header, rows,
                 "Expected wins: the sum over the skill's tasks of the probability of beating the "
                 "specialist. Skills without any supported task are left out.",
                 _numeric(header, 4))


def tasks_table(boots: Sequence[ModelBoot]) -> Table:
    ci = f"[{round(100 * boots[0].confidence) if boots else 95}% CI]"
    header = ["Model", "Task", "Modality", "Paradigm", "Metric", f"Raw {ci}",
              f"Normalised {ci}", "Specialist", "P(win)", "Parsed/failed/n", "Method", "Notes"]
    rows = []
    for b in boots:
        for r in b.task_rows():
            if r["raw"] is None and not r["instances"]:
                continue
            raw = (fmt_ci({"value": r["raw"], "low": r["low"], "high": r["high"]})
                   if r["raw"] is not None else "unsupported")
            norm = fmt_ci({"value": r["normalised"], "low": r["normalised_low"],
                           "high": r["normalised_high"]})
            counts = (f"{r['parsed']}/{r['failed']}/{r['instances']}"
                      if r["parsed"] is not None else "-")
            rows.append([b.model, r["id"], r["modality"], r["paradigm"], r["metric"], raw, norm,
                         fmt(r["sota"]), fmt(r["win_probability"]), counts, r["method"],
                         r["note"] or ""])
    numeric = [h.startswith(("Raw", "Normalised")) or h in {"Specialist", "P(win)"} for h in header]
    return Table("tasks", "Per-task scores", header, rows,
                 "Raw metric value and normalised score with bootstrap intervals, the specialist's "
                 "(SoTA) score, the probability of beating it, and how the task was resampled "
                 "(docs/statistics.md).", numeric)


def comparison_tables(comparisons: Sequence[dict[str, Any]]) -> list[Table]:
    if not comparisons:
        return []
    header = ["Model A", "Model B", "Board", "P(A ranks above B)"]
    rows = [[c["a"], c["b"], scope, fmt(p)] for c in comparisons
            for scope, p in c["probability_a_above"].items()]
    boards = Table("comparison-boards", "Comparison: probability of ranking above", header, rows,
                   "Paired bootstrap over the same instances; a tie counts one half.",
                   _numeric(header, 3))
    header2 = ["Model A", "Model B", "Task", "Normalised A - B", "P(A better)", "Paired"]
    rows2 = [[c["a"], c["b"], t["id"],
              fmt_ci({"value": t["difference"], "low": t["low"], "high": t["high"]}),
              fmt(t["probability_a_better"]), "yes" if t["paired"] else "no"]
             for c in comparisons for t in c["tasks"]]
    diffs = Table("comparison-tasks", "Comparison: per-task differences", header2, rows2,
                  "Differences of normalised scores; 'paired' when both models answered the same "
                  "instances.", _numeric(header2, 3))
    return [boards, diffs]


def all_tables(boots: Sequence[ModelBoot], comparisons: Sequence[dict[str, Any]]) -> list[Table]:
    """Every table of the report, in reading order."""
    mods = list(boots[0].point.modalities) if boots else []
    return [overview(boots), *(modality_levels(boots, m) for m in mods),
            comprehension_generation(boots), skills(boots), tasks_table(boots),
            *comparison_tables(comparisons)]
