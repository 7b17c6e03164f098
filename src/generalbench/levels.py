"""General-Level: normalisation, per-modality and overall Level-2..5 scores, scopes and ranking.

Pure functions over numbers and catalog tasks, no I/O. The rules are those of the General-Level
paper (section 3.2) as written in docs/scoring.md, including where generalbench deliberately
differs from the official scoring tool (every difference has a worked example there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from generalbench.catalog import MODALITIES, Catalog, Task
from generalbench.metrics.specs import get_spec

LEVEL_KEYS = ("level2", "level3", "level4", "level5")


def normalise(task: Task, raw: float) -> float:
    """A raw metric value (in the catalog's unit) mapped to [0, 100], higher is better."""
    return get_spec(task.metric).normalise.apply(float(raw))


class TaskScore(BaseModel):
    """One task's score, traceable from raw value to the numbers General-Level uses."""

    id: str
    name: str
    modality: str
    paradigm: str
    skill: str
    metric: str
    metric_name: str
    raw: float | None
    normalised: float
    sota: float
    sota_normalised: float
    supported: bool
    win: bool
    parsed: int | None = None
    failed: int | None = None
    instances: int | None = None
    note: str | None = None


class GroupScore(BaseModel):
    """A comprehension, generation or language group (Scope-C board entry)."""

    total: int
    supported: int
    wins: int
    score: float
    """Mean normalised score over all tasks of the group (unsupported count 0)."""
    synergy_score: float
    """Mean of the normalised score where the model beats the specialist, else 0."""


class ModalityScore(BaseModel):
    """Scope-B board entry: one modality's Level-2/3/4."""

    level2: float
    level3: float
    level4: float
    comprehension: GroupScore
    generation: GroupScore


class SkillScore(BaseModel):
    """Scope-D board entry: one skill within one modality (and paradigm)."""

    modality: str
    paradigm: str
    skill: str
    total: int
    supported: int
    wins: int
    score: float


class LevelResult(BaseModel):
    """A model's General-Level result; the JSON of `generalbench level --format json`."""

    model: str
    level: int | None
    scores: dict[str, float]
    modalities: dict[str, ModalityScore]
    language: GroupScore
    catalog: dict[str, str]
    tasks: list[TaskScore] | None = None

    def skills(self) -> list[SkillScore]:
        """Scope-D boards computed from this result's task list."""
        if self.tasks is None:
            raise ValueError("skill boards need the per-task list (evaluate(..., keep_tasks=True))")
        return skill_boards(self.tasks)


def score_task(task: Task, raw: float | None) -> TaskScore:
    """Normalise one task's raw score and compare it with the specialist.

    `raw is None` means unsupported: 0 in every mean, never a win. A raw value that normalises to
    0 is supported=False too (the paper's definition: supported means a non-zero score).
    """
    sota_norm = normalise(task, task.sota)
    if raw is None:
        norm, win = 0.0, False
    else:
        norm = normalise(task, raw)
        win = norm >= sota_norm
    return TaskScore(id=task.id, name=task.name, modality=task.modality, paradigm=task.paradigm,
                     skill=task.skill, metric=task.metric, metric_name=task.metric_name, raw=raw,
                     normalised=norm, sota=task.sota, sota_normalised=sota_norm,
                     supported=raw is not None and norm > 0, win=win and norm > 0)


def group_score(scores: Sequence[TaskScore]) -> GroupScore:
    n = len(scores)
    if n == 0:
        return GroupScore(total=0, supported=0, wins=0, score=0.0, synergy_score=0.0)
    return GroupScore(
        total=n,
        supported=sum(s.supported for s in scores),
        wins=sum(s.win for s in scores),
        score=math.fsum(s.normalised for s in scores) / n,
        synergy_score=math.fsum(s.normalised for s in scores if s.win) / n,
    )


def harmonic(a: float, b: float) -> float:
    """Harmonic mean, 0 when either side is 0 (Level-4's synergy requirement).

    Capped at the arithmetic mean so that floating-point rounding can never make S4 > S3.
    """
    if a <= 0 or b <= 0:
        return 0.0
    return min(2.0 * a * b / (a + b), (a + b) / 2.0)


def modality_score(comp: GroupScore, gen: GroupScore) -> ModalityScore:
    return ModalityScore(
        level2=(comp.score + gen.score) / 2.0,
        level3=(comp.synergy_score + gen.synergy_score) / 2.0,
        level4=harmonic(comp.synergy_score, gen.synergy_score),
        comprehension=comp,
        generation=gen,
    )


def classify(scores: Mapping[str, float]) -> int | None:
    """The highest level k in 2..5 with S_k > 0, or None when the model scores nothing."""
    level = None
    for k in (2, 3, 4, 5):
        if scores[f"level{k}"] > 0:
            level = k
    return level


def modalities_of(catalog: Catalog | Iterable[Task]) -> list[str]:
    """The four General-Level modalities plus any a catalog extra adds, in a stable order."""
    extra = sorted({t.modality for t in catalog if t.modality not in MODALITIES
                    and t.modality != "language"})
    return [*MODALITIES, *extra]


def evaluate(catalog: Catalog, raw: Mapping[str, float | None], model: str = "model", *,
             keep_tasks: bool = True, details: Mapping[str, Mapping[str, object]] | None = None
             ) -> LevelResult:
    """General-Level result of one model from its raw per-task scores (keyed by task id).

    Every catalog task enters the denominators; tasks missing from `raw` (or None) are unsupported.
    `details` may add parse counts or notes per task id (they are reported, never used in math).
    """
    unknown = [k for k in raw if k not in catalog]
    if unknown:
        catalog.get(unknown[0])  # raises UnknownTaskError with suggestions
    task_scores = []
    for task in catalog:
        ts = score_task(task, raw.get(task.id))
        if details and task.id in details:
            ts = ts.model_copy(update=dict(details[task.id]))
        task_scores.append(ts)
    by_group: dict[tuple[str, str], list[TaskScore]] = {}
    for ts in task_scores:
        by_group.setdefault((ts.modality, ts.paradigm), []).append(ts)

    modalities = {}
    for m in modalities_of(catalog):
        modalities[m] = modality_score(group_score(by_group.get((m, "comprehension"), [])),
                                       group_score(by_group.get((m, "generation"), [])))
    language = group_score(by_group.get(("language", "language"), []))
    n = len(modalities)
    s2 = math.fsum(v.level2 for v in modalities.values()) / n
    s3 = math.fsum(v.level3 for v in modalities.values()) / n
    s4 = math.fsum(v.level4 for v in modalities.values()) / n
    s5 = s4 * language.synergy_score / 100.0
    scores = {"level2": s2, "level3": min(s3, s2), "level4": min(s4, s3), "level5": min(s5, s4)}
    return LevelResult(model=model, level=classify(scores), scores=scores, modalities=modalities,
                       language=language, catalog=catalog.info(),
                       tasks=task_scores if keep_tasks else None)


def skill_boards(tasks: Iterable[TaskScore]) -> list[SkillScore]:
    """Scope-D: mean normalised score and wins per (modality, paradigm, skill)."""
    groups: dict[tuple[str, str, str], list[TaskScore]] = {}
    for ts in tasks:
        groups.setdefault((ts.modality, ts.paradigm, ts.skill), []).append(ts)
    out = []
    for (m, p, s), items in sorted(groups.items()):
        g = group_score(items)
        out.append(SkillScore(modality=m, paradigm=p, skill=s, total=g.total,
                              supported=g.supported, wins=g.wins, score=g.score))
    return out


@dataclass(frozen=True)
class Scope:
    """A leaderboard scope: A (overall), B:<modality>, C:<modality>-<paradigm>, D:<skill>."""

    kind: str
    modality: str | None = None
    paradigm: str | None = None
    skill: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        from generalbench.errors import GeneralBenchError

        kind, _, rest = text.partition(":")
        kind = kind.strip().upper()
        if kind == "A" and not rest:
            return cls("A")
        if kind == "B" and rest:
            return cls("B", modality=rest.strip().lower())
        if kind == "C" and "-" in rest:
            m, _, p = rest.strip().lower().rpartition("-")
            if p in {"comprehension", "generation"}:
                return cls("C", modality=m, paradigm=p)
        if kind == "D" and rest:
            head, sep, tail = rest.partition(":")
            modality = {"nlp": "language"}.get(head.strip().lower(), head.strip().lower())
            if sep and tail.strip() and modality in (*MODALITIES, "language"):
                return cls("D", modality=modality, skill=tail.strip())
            return cls("D", skill=rest.strip())
        raise GeneralBenchError(
            f"bad scope {text!r}: use A, B:<modality>, C:<modality>-<comprehension|generation> "
            "or D:[<modality>:]<skill>")

    def select(self, catalog: Catalog) -> list[Task]:
        """The tasks a run in this scope must evaluate."""
        if self.kind == "A":
            return list(catalog)
        if self.kind == "B":
            return catalog.filter(modality=self.modality)
        if self.kind == "C":
            return catalog.filter(modality=self.modality, paradigm=self.paradigm)
        scope = self.resolve_skill(catalog)
        return [t for t in catalog if scope._skill_matches(t.modality, t.skill)]

    def _skill_matches(self, modality: str, skill: str) -> bool:
        """Scope-D: the skill by its exact name (any case), within the modality when named."""
        return (skill.lower() == (self.skill or "").lower()
                and (self.modality is None or modality == self.modality))

    def resolve_skill(self, catalog: Catalog) -> Scope:
        """This Scope-D with its modality filled in: a skill name that several modalities share
        must be given as D:<modality>:<skill> (their boards are separate), an unknown one is an
        error naming the close matches."""
        from generalbench.errors import GeneralBenchError

        if self.kind != "D":
            return self
        found = sorted({t.modality for t in catalog if self._skill_matches(t.modality, t.skill)})
        if len(found) == 1:
            return Scope("D", modality=found[0], skill=self.skill)
        if found:
            raise GeneralBenchError(
                f"skill {self.skill!r} exists in {', '.join(found)}: say which board, e.g. "
                f"--scope D:{found[0]}:{self.skill}")
        close = sorted({t.skill for t in catalog if (self.skill or "").lower() in t.skill.lower()})
        hint = f" (did you mean {', '.join(close[:5])}?)" if close else ""
        raise GeneralBenchError(f"no skill {self.skill!r}"
                                + (f" in {self.modality}" if self.modality else "") + hint)

    def board_value(self, result: LevelResult) -> dict[str, float | int]:
        """The numbers this scope's leaderboard ranks by, in ranking order."""
        if self.kind == "A":
            return dict(result.scores)
        if self.kind == "B":
            ms = result.modalities[self.modality]  # type: ignore[index]
            return {"level4": ms.level4, "level3": ms.level3, "level2": ms.level2}
        if self.kind == "C":
            g = getattr(result.modalities[self.modality], self.paradigm)  # type: ignore[index,arg-type]
            return {"synergy_score": g.synergy_score, "score": g.score, "wins": g.wins,
                    "supported": g.supported}
        items = [s for s in result.skills() if self._skill_matches(s.modality, s.skill)]
        if len({s.modality for s in items}) > 1:  # one board per skill within a modality
            from generalbench.errors import GeneralBenchError

            found = sorted({s.modality for s in items})
            raise GeneralBenchError(
                f"skill {self.skill!r} exists in {', '.join(found)}: say which board, e.g. "
                f"--scope D:{found[0]}:{self.skill}")
        return {"score": sum(s.score * s.total for s in items) / max(1, sum(s.total for s in items)),
                "wins": sum(s.wins for s in items)}


def rank(results: Sequence[LevelResult], scope: Scope | None = None) -> list[tuple[int, LevelResult]]:
    """Leaderboard order: Scope-A by level then the level's score then lower levels' scores.

    Ties share a rank (1, 1, 3). Each result is computed independently, so adding models never
    changes another model's numbers (Property-1), only positions.
    """
    scope = scope or Scope("A")

    def key(r: LevelResult) -> tuple[float, ...]:
        if scope.kind == "A":
            lv = r.level or 0
            return (lv, r.scores.get(f"level{lv}", 0.0) if lv else 0.0,
                    *(r.scores[k] for k in reversed(LEVEL_KEYS)))
        return tuple(float(v) for v in scope.board_value(r).values())

    ordered = sorted(results, key=key, reverse=True)
    out: list[tuple[int, LevelResult]] = []
    for i, r in enumerate(ordered):
        if i and key(r) == key(ordered[i - 1]):
            out.append((out[-1][0], r))
        else:
            out.append((i + 1, r))
    return out
