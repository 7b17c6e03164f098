"""General-Level: normalisation, per-modality and overall Level-2..5 scores, scopes and ranking.

Pure functions over numbers and catalog tasks, no I/O. The rules are those of the General-Level
paper (section 3.2) as written in docs/scoring.md, including where generalbench deliberately
differs from the official scoring tool (every difference has a worked example there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    """Whether a score beats the task's specialist (the rules: `_outcome`)."""
    return _outcome(norm, sota_norm, raw, task.sota, _spec(task.metric).at_least_as_good)[1]


def _outcome(norm: float, sota_norm: float, raw: float, sota: float,
             at_least_as_good: Callable[[float, float], bool]) -> tuple[bool, bool]:
    """(supported, win) of one normalised score: the paper's rules, in one place.

    Supported means a non-zero normalised score. A win needs it supported, `sigma >= sigma_sota`
    (ties win), and a raw value at least as good as the specialist's. The last test decides only
    ties, where the normalisation saturates in floating point (docs/scoring.md, the rules).
    """
    supported = norm > 0
    return supported, supported and norm >= sota_norm and at_least_as_good(raw, sota)


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
    supported, win = _outcome(norm, sota_norm, raw, task.sota, _spec(task.metric).at_least_as_good)
    return raw, norm, sota_norm, supported, win


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


@dataclass(frozen=True)
class _Plan:
    """The catalog side of General-Level, computed once per catalog.

    `level` evaluates the same catalog for every model of a file: the task -> (normalisation rule,
    normalised SoTA, group) look-ups, the group sizes and the catalog's hash are the same for
    every model, so a model's result is one pass over its own scores (a 100-model file used to
    spend most of its time repeating this per model and per task).
    """

    catalog: Catalog
    cells: dict[str, tuple[Callable[[float], float], float, Callable[[float, float], bool], float,
                           int]]
    """task id -> (normalise, normalised SoTA, at-least-as-good, SoTA, group index)."""
    groups: tuple[tuple[str, str], ...]
    sizes: tuple[int, ...]
    modalities: tuple[tuple[str, int | None, int | None], ...]
    """(modality, its comprehension group, its generation group); None: no such task."""
    language: int | None
    info: dict[str, str]


_PLANS: dict[int, _Plan] = {}


def _plan(catalog: Catalog) -> _Plan:
    """The catalog's plan, built once (keyed by identity, the catalog kept alive by the plan)."""
    hit = _PLANS.get(id(catalog))
    if hit is not None and hit.catalog is catalog:
        return hit
    groups: dict[tuple[str, str], int] = {}
    cells = {}
    for t in catalog:
        g = groups.setdefault((t.modality, t.paradigm), len(groups))
        cells[t.id] = (_rule(t.metric).apply, _sota_normalised(t.metric, t.sota),
                       _spec(t.metric).at_least_as_good, t.sota, g)
    sizes = [0] * len(groups)
    for *_, g in cells.values():
        sizes[g] += 1
    plan = _Plan(catalog=catalog, cells=cells, groups=tuple(groups), sizes=tuple(sizes),
                 modalities=tuple((m, groups.get((m, "comprehension")), groups.get((m, "generation")))
                                  for m in modalities_of(catalog)),
                 language=groups.get(("language", "language")), info=catalog.info())
    if len(_PLANS) >= 8:
        _PLANS.clear()
    _PLANS[id(catalog)] = plan
    return plan


def evaluate(catalog: Catalog, raw: Mapping[str, float | None], model: str = "model", *,
             keep_tasks: bool = True, details: Mapping[str, Mapping[str, object]] | None = None
             ) -> LevelResult:
    """General-Level result of one model from its raw per-task scores (keyed by task id).

    Every catalog task enters the denominators; tasks missing from `raw` (or None) are unsupported.
    `details` may add parse counts or notes per task id (they are reported, never used in math).
    """
    plan = _plan(catalog)
    cells = plan.cells
    # Per group: the positive normalised scores, the supported count, the winning scores. The
    # means are exact sums (math.fsum) over the group size, so order and zeros do not matter.
    norms: list[list[float]] = [[] for _ in plan.groups]
    synergy: list[list[float]] = [[] for _ in plan.groups]
    per_task: dict[str, tuple[float, float, bool, bool]] | None = {} if keep_tasks else None
    if not raw.keys() <= cells.keys():
        catalog.get(next(k for k in raw if k not in cells))  # UnknownTaskError with suggestions
    for task_id, value in raw.items():
        if value is None:
            continue
        apply, sota_norm, at_least_as_good, sota, g = cells[task_id]
        value = float(value)
        norm = apply(value)
        supported, win = _outcome(norm, sota_norm, value, sota, at_least_as_good)
        if supported:
            norms[g].append(norm)
            if win:
                synergy[g].append(norm)
        if per_task is not None:
            per_task[task_id] = (value, norm, supported, win)

    def group(g: int | None) -> GroupScore:
        if g is None:
            return GroupScore(total=0, supported=0, wins=0, score=0.0, synergy_score=0.0)
        n = plan.sizes[g]
        return GroupScore(total=n, supported=len(norms[g]), wins=len(synergy[g]),
                          score=math.fsum(norms[g]) / n, synergy_score=math.fsum(synergy[g]) / n)

    modalities = {m: modality_score(group(c), group(gen)) for m, c, gen in plan.modalities}
    language = group(plan.language)
    n = len(modalities)
    s2 = math.fsum(v.level2 for v in modalities.values()) / n
    s3 = math.fsum(v.level3 for v in modalities.values()) / n
    s4 = math.fsum(v.level4 for v in modalities.values()) / n
    s5 = s4 * language.synergy_score / 100.0
    scores = {"level2": s2, "level3": min(s3, s2), "level4": min(s4, s3), "level5": min(s5, s4)}
    return LevelResult(model=model, level=classify(scores), scores=scores, modalities=modalities,
                       language=language, catalog=dict(plan.info),
                       tasks=None if per_task is None else _task_scores(plan, per_task, details))


def _task_scores(plan: _Plan, numbers: Mapping[str, tuple[float, float, bool, bool]],
                 details: Mapping[str, Mapping[str, object]] | None) -> list[TaskScore]:
    """The per-task objects, in catalog order, from the numbers evaluate computed."""
    out = []
    for task in plan.catalog:
        raw, norm, supported, win = numbers.get(task.id, (None, 0.0, False, False))
        ts = TaskScore(id=task.id, name=task.name, modality=task.modality, paradigm=task.paradigm,
                       skill=task.skill, metric=task.metric, metric_name=task.metric_name, raw=raw,
                       normalised=norm, sota=task.sota, sota_normalised=plan.cells[task.id][1],
                       supported=supported, win=win)
        if details and task.id in details:
            ts = ts.model_copy(update=dict(details[task.id]))
        out.append(ts)
    return out


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
