"""Board summaries give the same values and order as generalbench.levels on full results."""

from __future__ import annotations

from generalbench.levels import LevelResult, Scope, evaluate, rank
from generalbench.server.boards import Entry, _rank_values, scope_key, scopes, skill_key, summarise


def test_summaries_match_levels_on_every_scope(catalog):
    ids = [t.id for t in catalog][:60]
    results = [evaluate(catalog, {i: (k * 7 + j) % 100 / 10 for j, i in enumerate(ids) if (j + k) % 3},
                        f"m{k}") for k in range(4)]
    entries = []
    for k, r in enumerate(results):
        s = summarise(r)
        entries.append(Entry(k, "t", r.model, False, LevelResult.model_validate(s["result"]),
                             s["counts"], s["skills"]))
    for text in scopes(catalog)[:30] + [s for s in scopes(catalog) if s.startswith("D:")][:10]:
        scope = Scope.parse(text)
        expected = [(pos, r.model, scope.board_value(r)) for pos, r in rank(results, scope)]
        if scope.kind == "D":
            values = {e.submission_id: e.skills.get(skill_key(scope.modality, scope.skill),
                                                    {"score": 0.0, "wins": 0})
                      for e in entries}
            got = [(pos, e.model, values[e.submission_id]) for pos, e in _rank_values(entries, values)]
        else:
            got = [(pos, r.model, scope.board_value(r))
                   for pos, r in rank([e.result for e in entries], scope)]
        assert [(p, m) for p, m, _ in got] == [(p, m) for p, m, _ in expected], text
        for (_, _, a), (_, _, b) in zip(got, expected, strict=True):
            assert {k: float(v) for k, v in a.items()} == {k: float(v) for k, v in b.items()}
        for e, r in zip(entries, results, strict=True):
            tasks = [t for t in r.tasks if scope_key(Scope(
                scope.kind, modality=t.modality if scope.kind in "BCD" else None,
                paradigm=t.paradigm if scope.kind == "C" else None,
                skill=t.skill if scope.kind == "D" else None)) == scope_key(scope)]
            assert e.counts.get(scope_key(scope), [0, 0, 0]) == \
                [sum(t.supported for t in tasks), sum(t.win for t in tasks), len(tasks)]
