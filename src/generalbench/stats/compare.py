"""Paired comparison of two models' bootstraps: P(A ranks above B) on each scope's board and
per-task differences with intervals.

Both bootstraps must use the same seed and number of resamples: a task's resample indices then
coincide wherever both models answered the same instances (bootstrap.resample_indices), so the
differences are paired. A tie in a resample counts one half, which makes a model compared
with itself exactly 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.errors import GeneralBenchError
from generalbench.stats.bootstrap import ModelBoot, interval
from generalbench.stats.glevel import LevelArrays


def _above(keys_a: Sequence[np.ndarray], keys_b: Sequence[np.ndarray]) -> float:
    """P(A > B) + P(tie) / 2 over resamples, comparing key tuples lexicographically."""
    b = len(keys_a[0])
    decided = np.zeros(b, dtype=bool)
    wins = np.zeros(b, dtype=bool)
    for ka, kb in zip(keys_a, keys_b, strict=True):
        gt, lt = (ka > kb) & ~decided, (ka < kb) & ~decided
        wins |= gt
        decided |= gt | lt
    return float(wins.mean() + 0.5 * (~decided).mean())


def board_keys(arrays: LevelArrays, scope: str) -> list[np.ndarray]:
    """The per-resample ranking keys of one board, in levels.rank's order.

    scope: "A", "B:<modality>", "C:<modality>-<paradigm>" or "D:<skill>".
    """
    if scope == "A":
        lv = arrays.level
        own = np.zeros(len(lv))
        for k in (2, 3, 4, 5):
            own = np.where(lv == k, arrays.scores[f"level{k}"], own)
        return [lv.astype(float), own, *(arrays.scores[f"level{k}"] for k in (5, 4, 3, 2))]
    kind, _, rest = scope.partition(":")
    if kind == "B":
        m = arrays.modalities[rest]
        return [m["level4"], m["level3"], m["level2"]]
    if kind == "C":
        modality, _, paradigm = rest.rpartition("-")
        g = arrays.groups[(modality, paradigm)]
        return [g.synergy_score, g.score, g.wins.astype(float), g.supported.astype(float)]
    if kind == "D":
        cols = [j for j, t in enumerate(arrays.tasks) if t.skill.lower() == rest.lower()]
        return [arrays.normalised[:, cols].mean(1), arrays.wins[:, cols].sum(1).astype(float)]
    raise ValueError(f"bad scope {scope!r}")


def scopes_of(*boots: ModelBoot) -> list[str]:
    """The boards where at least one of the models has a score: A, then B per modality, C per
    modality and paradigm, D per skill (boards nobody is scored on would all be ties)."""
    scored = [t for j, t in enumerate(boots[0].tasks) if any(b.boots[j].raw is not None for b in boots)]
    out = ["A"]
    out += [f"B:{m}" for m in boots[0].arrays.modalities if any(t.modality == m for t in scored)]
    out += [f"C:{m}-{p}" for (m, p) in boots[0].arrays.groups
            if m != "language" and any((t.modality, t.paradigm) == (m, p) for t in scored)]
    out += [f"D:{s}" for s in sorted({t.skill for t in scored})]
    return out


def compare(a: ModelBoot, b: ModelBoot) -> dict[str, Any]:
    """P(A ranks above B) per board and per-task differences of normalised scores (A - B)."""
    if a.resamples != b.resamples or a.seed != b.seed:
        raise GeneralBenchError("paired comparison needs bootstraps with the same --resamples "
                                "and --seed")
    if [t.id for t in a.tasks] != [t.id for t in b.tasks]:
        raise GeneralBenchError(f"models {a.model!r} and {b.model!r} were scored on different "
                                "catalogs; use the same --catalog-extra for both")
    boards = {s: _above(board_keys(a.arrays, s), board_keys(b.arrays, s)) for s in scopes_of(a, b)}
    tasks = []
    for j, task in enumerate(a.tasks):
        ta, tb = a.boots[j], b.boots[j]
        if ta.raw is None and tb.raw is None:
            continue
        d = a.arrays.normalised[:, j] - b.arrays.normalised[:, j]
        lo, hi = interval(d, a.confidence)
        point = _point_norm(a, task.id) - _point_norm(b, task.id)
        tasks.append({"id": task.id, "name": task.name, "difference": point, "low": lo,
                      "high": hi, "probability_a_better": float((d > 0).mean() + 0.5 * (d == 0).mean()),
                      "paired": bool(ta.ids and ta.ids == tb.ids)})
    return {"a": a.model, "b": b.model, "probability_a_above": boards, "tasks": tasks}


def _point_norm(boot: ModelBoot, task_id: str) -> float:
    ts = next((t for t in boot.point.tasks or [] if t.id == task_id), None)
    return float(ts.normalised) if ts is not None else 0.0
