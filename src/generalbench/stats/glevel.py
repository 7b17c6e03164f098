"""General-Level over a resample axis: levels.evaluate's math on a (B, T) matrix of normalised
task scores, so that 1,000 bootstrap resamples cost a few matrix products instead of 1,000
calls of evaluate().

Every quantity mirrors generalbench.levels exactly (same denominators, the same harmonic-mean
cap, the same min() chain of S3 <= S2 etc.); tests/stats check that one resample equal to the
observed scores reproduces evaluate() to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from generalbench.catalog import Task
from generalbench.levels import LEVEL_KEYS, modalities_of
from generalbench.metrics.specs import NormaliseRule, get_spec


def normalise_array(rule: NormaliseRule, x: np.ndarray) -> np.ndarray:
    """NormaliseRule.apply over an array, through the rule's one formula (NaN stays NaN: an
    undefined resample). A raw 0 maps to 100 under the sigmoid rule as in `apply`: -T/0 is -inf
    here, whose exp is 0 (-0.0 is made +0.0 first, else -T/-0.0 would be +inf)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        y = rule.formula(np.where(x == 0, 0.0, x), np.exp, np.tanh)
    return np.clip(y, 0.0, 100.0)


def normalise_task(task: Task, raw: np.ndarray) -> np.ndarray:
    return normalise_array(get_spec(task.metric).normalise, raw)


def harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """levels.harmonic elementwise: 0 when either side is 0, capped at the arithmetic mean."""
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.minimum(2.0 * a * b / (a + b), (a + b) / 2.0)
    return np.where((a > 0) & (b > 0), h, 0.0)


@dataclass
class GroupArrays:
    """A comprehension/generation/language group, one value per resample."""

    total: int
    supported: np.ndarray
    wins: np.ndarray
    score: np.ndarray
    synergy_score: np.ndarray


@dataclass
class LevelArrays:
    """levels.LevelResult with every number replaced by a (B,) array over resamples."""

    scores: dict[str, np.ndarray]
    level: np.ndarray
    """Level per resample; 0 where the model scores nothing (level None)."""
    modalities: dict[str, dict[str, np.ndarray]]
    """modality -> level2/level3/level4 arrays."""
    groups: dict[tuple[str, str], GroupArrays]
    """(modality, paradigm) -> group arrays; ('language', 'language') is the NLP group."""
    normalised: np.ndarray
    """(B, T) normalised task scores the levels were computed from."""
    wins: np.ndarray
    """(B, T) booleans: the task beats its specialist in that resample."""
    tasks: list[Task] = field(default_factory=list)


def sota_normalised(tasks: Sequence[Task]) -> np.ndarray:
    return np.array([get_spec(t.metric).normalise.apply(float(t.sota)) for t in tasks])


def evaluate_arrays(tasks: Sequence[Task], normalised: np.ndarray,
                    sota_norm: np.ndarray | None = None, raw: np.ndarray | None = None
                    ) -> LevelArrays:
    """General-Level of each row of `normalised` (B, T), columns in `tasks` order.

    An unsupported task is a column of zeros; wins and supported are recomputed per row
    (norm > 0, norm >= specialist and, given the raw values (B, T), raw at least as good as
    the specialist's), exactly like levels.wins.
    """
    norm = np.atleast_2d(np.asarray(normalised, dtype=float))
    sota_norm = sota_normalised(tasks) if sota_norm is None else sota_norm
    supported = norm > 0
    wins = (norm >= sota_norm[None, :]) & supported
    if raw is not None:
        raw = np.atleast_2d(np.asarray(raw, dtype=float))
        for j, t in enumerate(tasks):
            wins[:, j] &= get_spec(t.metric).at_least_as_good(raw[:, j], float(t.sota))
    synergy = np.where(wins, norm, 0.0)
    b = norm.shape[0]
    groups: dict[tuple[str, str], GroupArrays] = {}
    members: dict[tuple[str, str], list[int]] = {}
    for j, t in enumerate(tasks):
        members.setdefault((t.modality, t.paradigm), []).append(j)

    def group(key: tuple[str, str]) -> GroupArrays:
        cols = members.get(key, [])
        if not cols:
            z = np.zeros(b)
            return GroupArrays(0, z.astype(int), z.astype(int), z, z)
        n = len(cols)
        return GroupArrays(n, supported[:, cols].sum(1), wins[:, cols].sum(1),
                           norm[:, cols].sum(1) / n, synergy[:, cols].sum(1) / n)

    modalities: dict[str, dict[str, np.ndarray]] = {}
    for m in modalities_of(tasks):
        comp, gen = group((m, "comprehension")), group((m, "generation"))
        groups[(m, "comprehension")], groups[(m, "generation")] = comp, gen
        modalities[m] = {"level2": (comp.score + gen.score) / 2.0,
                         "level3": (comp.synergy_score + gen.synergy_score) / 2.0,
                         "level4": harmonic(comp.synergy_score, gen.synergy_score)}
    language = group(("language", "language"))
    groups[("language", "language")] = language
    n = len(modalities)
    s2 = sum(v["level2"] for v in modalities.values()) / n
    s3 = np.minimum(sum(v["level3"] for v in modalities.values()) / n, s2)
    s4_raw = sum(v["level4"] for v in modalities.values()) / n
    s4 = np.minimum(s4_raw, s3)
    s5 = np.minimum(s4_raw * language.synergy_score / 100.0, s4)
    scores = dict(zip(LEVEL_KEYS, (s2, s3, s4, s5), strict=True))
    level = np.zeros(b, dtype=int)
    for k in (2, 3, 4, 5):
        level = np.where(scores[f"level{k}"] > 0, k, level)
    return LevelArrays(scores=scores, level=level, modalities=modalities, groups=groups,
                       normalised=norm, wins=wins, tasks=list(tasks))
