"""General-Level: normalisation, per-modality and overall Level-2..5 scores, scopes and ranking.

Pure functions over numbers and catalog tasks, no I/O. The rules are those of the General-Level
paper (section 3.2) as written in docs/scoring.md, including where generalbench deliberately
differs from the official scoring tool (every difference has a worked example there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from pydantic import BaseModel

from generalbench.catalog import MODALITIES, Catalog, Task
from generalbench.metrics.specs import MetricSpec, NormaliseRule, get_spec

LEVEL_KEYS = ("level2", "level3", "level4", "level5")


def normalise(task: Task, raw: float) -> float:
    """A raw metric value (in the catalog's unit) mapped to [0, 100], higher is better."""
    return _rule(task.metric).apply(float(raw))


@cache
def _rule(metric: str) -> NormaliseRule:
    """The metric's normalisation rule, looked up once per metric name (specs are immutable)."""
    return get_spec(metric).normalise


def wins(task: Task, raw: float, norm: float, sota_norm: float) -> bool:
    """Whether a score beats the task's specialist: supported, `sigma >= sigma_sota` (ties win),
    and a raw value at least as good as the specialist's. The last test decides only ties, where
    the normalisation saturates in floating point (docs/scoring.md, the rules)."""
    return norm > 0 and norm >= sota_norm and _spec(task.metric).at_least_as_good(raw, task.sota)


@cache
def _spec(metric: str) -> MetricSpec:
    return get_spec(metric)


@lru_cache(maxsize=4096)
def _sota_normalised(metric: str, sota: float) -> float:
    """A specialist score normalised once: every model's result compares against the same value."""
    return _rule(metric).apply(float(sota))


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
    provenance: dict[str, object] | None = None
    """What produced the numbers (generalbench version and commit, catalog, model config hash);
    set by the scorer (runner/score_writer.py)."""

    def skills(self) -> list[SkillScore]:
        """Scope-D boards computed from this result's task list."""
        if self.tasks is None:
            raise ValueError("skill boards need the per-task list (evaluate(..., keep_tasks=True))")
        return skill_boards(self.tasks)


def _task_numbers(task: Task, raw: float | None) -> tuple[float | None, float, float, bool, bool]:
    """(raw, normalised, sota_normalised, supported, win) of one task: the math of score_task."""
    sota_norm = _sota_normalised(task.metric, task.sota)
    if raw is None:
        return None, 0.0, sota_norm, False, False
    raw = float(raw)
    norm = normalise(task, raw)
    return raw, norm, sota_norm, norm > 0, wins(task, raw, norm, sota_norm)


def score_task(task: Task, raw: float | None) -> TaskScore:
    """Normalise one task's raw score and compare it with the specialist.

    `raw is None` means unsupported: 0 in every mean, never a win. A raw value that normalises to
    0 is supported=False too (the paper's definition: supported means a non-zero score).
    """
    raw, norm, sota_norm, supported, win = _task_numbers(task, raw)
    return TaskScore(id=task.id, name=task.name, modality=task.modality, paradigm=task.paradigm,
                     skill=task.skill, metric=task.metric, metric_name=task.metric_name, raw=raw,
                     normalised=norm, sota=task.sota, sota_normalised=sota_norm,
                     supported=supported, win=win)


def _group(numbers: Sequence[tuple[float, bool, bool]]) -> GroupScore:
    """GroupScore from (normalised, supported, win) triples, in catalog order."""
    n = len(numbers)
    if n == 0:
        return GroupScore(total=0, supported=0, wins=0, score=0.0, synergy_score=0.0)
    return GroupScore(
        total=n,
        supported=sum(s for _, s, _ in numbers),
        wins=sum(w for _, _, w in numbers),
        score=math.fsum(x for x, _, _ in numbers) / n,
        synergy_score=math.fsum(x for x, _, w in numbers if w) / n,
    )


def group_score(scores: Sequence[TaskScore]) -> GroupScore:
    return _group([(s.normalised, s.supported, s.win) for s in scores])


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


_TABLES: dict[int, tuple[Catalog, list[tuple[Task, NormaliseRule, float, tuple[str, str]]]]] = {}


def _task_table(catalog: Catalog) -> list[tuple[Task, NormaliseRule, float, tuple[str, str]]]:
    """(task, normalisation rule, normalised SoTA, group) per task, built once per catalog.

    `level` evaluates the same catalog for every model of a file; the catalog is immutable, so the
    spec look-ups and SoTA normalisation are shared (keyed by identity, the catalog kept alive).
    """
    hit = _TABLES.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    table = [(t, _rule(t.metric), _sota_normalised(t.metric, t.sota), (t.modality, t.paradigm))
             for t in catalog]
    if len(_TABLES) >= 8:
        _TABLES.clear()
    _TABLES[id(catalog)] = (catalog, table)
    return table


def _groups(catalog: Catalog) -> dict[tuple[str, str], None]:
    return dict.fromkeys(g for _, _, _, g in _task_table(catalog))


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
    # The means are computed from plain numbers; the per-task TaskScore objects (pydantic, ~14 us
    # each) are only built when asked for, so ranking 100 models stays well under a second.
    task_scores: list[TaskScore] = []
    by_group: dict[tuple[str, str], list[tuple[float, bool, bool]]] = {
        g: [] for g in _groups(catalog)}
    for task, rule, sota_norm, group in _task_table(catalog):
        value = raw.get(task.id)
        if value is None:
            by_group[group].append((0.0, False, False))
        else:
            value = float(value)
            norm = rule.apply(value)
            by_group[group].append((norm, norm > 0, wins(task, value, norm, sota_norm)))
        if keep_tasks:
            ts = score_task(task, value)
            if details and task.id in details:
                ts = ts.model_copy(update=dict(details[task.id]))
            task_scores.append(ts)

    modalities = {}
    for m in modalities_of(catalog):
        modalities[m] = modality_score(_group(by_group.get((m, "comprehension"), [])),
                                       _group(by_group.get((m, "generation"), [])))
    language = _group(by_group.get(("language", "language"), []))
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


SCOPE_HELP = ("A, B:<modality>, C:<modality>-<comprehension|generation>, L (the language tasks), "
              "D:<skill> or D:<modality>:<skill>")


@dataclass(frozen=True)
class Scope:
    """A leaderboard scope: A (overall), B:<modality>, C:<modality>-<paradigm>, L (language),
    D:[<modality>:]<skill>.

    Scope-D boards are per skill within one modality: two modalities may name a skill alike
    (an extra catalog can), and their tasks must not merge. The language tasks are no Scope-B
    modality (General-Level uses them only for Level-5's synergy), so they have scope L.
    """

    kind: str
    modality: str | None = None
    paradigm: str | None = None
    skill: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """The scope a user typed, checked for form only (`check` checks it against a catalog)."""
        from generalbench.catalog.task import MODALITY_ALIASES
        from generalbench.errors import GeneralBenchError

        kind, _, rest = text.partition(":")
        kind, rest = kind.strip().upper(), rest.strip()

        def modality(name: str) -> str:
            name = name.strip().lower()
            return MODALITY_ALIASES.get(name, name)

        if kind == "A" and not rest:
            return cls("A")
        if kind in ("L", "LANGUAGE", "NLP") and not rest:
            return cls("L", modality="language")
        if kind == "B" and rest:
            if modality(rest) == "language":
                raise GeneralBenchError(f"bad scope {text!r}: the language tasks are not a Scope-B "
                                        "modality; use --scope L")
            return cls("B", modality=modality(rest))
        if kind == "C" and "-" in rest:
            m, _, p = rest.lower().rpartition("-")
            if p in {"comprehension", "generation"}:
                return cls("C", modality=modality(m), paradigm=p)
        if kind == "D" and rest:
            m, sep, skill = rest.partition(":")
            if sep and skill.strip():
                return cls("D", modality=modality(m), skill=skill.strip())
            if not sep:
                return cls("D", skill=rest)
        raise GeneralBenchError(f"bad scope {text!r}: use {SCOPE_HELP}")

    def check(self, catalog: Catalog) -> Scope:
        """This scope resolved against `catalog`: an unknown modality or skill is an error that
        lists the valid ones (never an empty board); D:<skill> gains its modality when the skill
        belongs to one, and is an error naming the D:<modality>:<skill> choices when it does not."""
        from generalbench.errors import CatalogError

        mods = [m for m in catalog.modalities() if m != "language"]
        if self.kind in ("B", "C") and self.modality not in mods:
            raise CatalogError(f"scope {self.label()!r}: unknown modality {self.modality!r}; use one "
                               f"of {', '.join(mods)} (the language tasks are scope L)")
        if self.kind == "C" and not catalog.filter(modality=self.modality, paradigm=self.paradigm):
            raise CatalogError(f"scope {self.label()!r}: the catalog has no {self.paradigm} tasks "
                               f"in {self.modality!r}")
        if self.kind != "D":
            return self
        if self.modality is not None and self.modality not in catalog.modalities():
            raise CatalogError(f"scope {self.label()!r}: unknown modality {self.modality!r}; use one "
                               f"of {', '.join(catalog.modalities())}")
        owners = sorted({t.modality for t in self._skill_tasks(catalog, None)})
        if not owners or (self.modality is not None and self.modality not in owners):
            where = f" in {self.modality!r}" if self.modality else ""
            pool = sorted({t.skill for t in catalog if self.modality in (None, t.modality)})
            import difflib

            close = difflib.get_close_matches(self.skill or "", pool, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
                "; `generalbench tasks` lists the skills"
            raise CatalogError(f"scope {self.label()!r}: no skill {self.skill!r}{where}{hint}")
        if self.modality is None:
            if len(owners) > 1:
                choices = ", ".join(f"D:{m}:{self.skill}" for m in owners)
                raise CatalogError(f"scope {self.label()!r}: skill {self.skill!r} exists in "
                                   f"{len(owners)} modalities; name one: {choices}")
            return Scope("D", modality=owners[0], skill=self.skill)
        return self

    def label(self) -> str:
        if self.kind in ("A", "L"):
            return self.kind
        if self.kind == "B":
            return f"B:{self.modality}"
        if self.kind == "C":
            return f"C:{self.modality}-{self.paradigm}"
        return f"D:{self.modality}:{self.skill}" if self.modality else f"D:{self.skill}"

    def _skill_tasks(self, tasks: Iterable[Task], modality: str | None) -> list[Task]:
        want = (self.skill or "").lower()
        return [t for t in tasks if t.skill.lower() == want and modality in (None, t.modality)]

    def select(self, catalog: Catalog) -> list[Task]:
        """The tasks a run in this scope must evaluate."""
        if self.kind == "A":
            return list(catalog)
        if self.kind in ("B", "L"):
            return catalog.filter(modality=self.modality)
        if self.kind == "C":
            return catalog.filter(modality=self.modality, paradigm=self.paradigm)
        return self._skill_tasks(catalog, self.modality)

    def board_value(self, result: LevelResult) -> dict[str, float | int]:
        """The numbers this scope's leaderboard ranks by, in ranking order."""
        from generalbench.errors import GeneralBenchError

        if self.kind == "A":
            return dict(result.scores)
        if self.kind == "L":
            g = result.language
            return {"synergy_score": g.synergy_score, "score": g.score, "wins": g.wins,
                    "supported": g.supported}
        if self.kind in ("B", "C") and self.modality not in result.modalities:
            raise GeneralBenchError(f"scope {self.label()!r}: no modality {self.modality!r} in the "
                                    f"result (modalities: {', '.join(result.modalities)})")
        if self.kind == "B":
            ms = result.modalities[self.modality]  # type: ignore[index]
            return {"level4": ms.level4, "level3": ms.level3, "level2": ms.level2}
        if self.kind == "C":
            g = getattr(result.modalities[self.modality], self.paradigm)  # type: ignore[index,arg-type]
            return {"synergy_score": g.synergy_score, "score": g.score, "wins": g.wins,
                    "supported": g.supported}
        want = (self.skill or "").lower()
        items = [s for s in result.skills() if s.skill.lower() == want
                 and self.modality in (None, s.modality)]
        owners = sorted({s.modality for s in items})
        if len(owners) != 1:
            raise GeneralBenchError(
                f"scope {self.label()!r}: " + (f"no skill {self.skill!r} in the result" if not owners
                                               else f"skill {self.skill!r} exists in {', '.join(owners)}; "
                                               "name one as D:<modality>:<skill>"))
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
