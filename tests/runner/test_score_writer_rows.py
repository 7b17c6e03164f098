"""instances.jsonl rows put together from encoded strings are exactly the rows `json.dumps`
writes for the same dicts, whatever the fields hold."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.runner.score import InstanceScore
from generalbench.runner.score_writer import encode_rows

texts = st.text(alphabet=st.characters(), max_size=8)
scores = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3))
parsed = st.recursive(st.one_of(st.none(), texts, st.floats(), st.integers(), st.booleans()),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(texts, inner, max_size=3)),
                      max_leaves=8)


@given(st.lists(st.builds(InstanceScore, texts, texts, st.sampled_from(["ok", "failed", "missing"]),
                          scores, texts, parsed), max_size=6))
@settings(max_examples=300, deadline=None)
def test_rows_equal_json_dumps_of_their_dicts(rows):
    expected = "".join(json.dumps({"task": r.task, "id": r.id, "status": r.status, "score": r.score,
                                   "reason": r.reason, "parsed": r.parsed},
                                  ensure_ascii=False, default=str) + "\n" for r in rows)
    assert encode_rows(rows) == expected


@pytest.mark.parametrize("accelerator", ["missing", "changed"])
def test_encoder_without_the_private_accelerator_is_json_dumps(monkeypatch, accelerator):
    """The row encoder uses CPython's private C encoder only when it answers as json.dumps."""
    from json import encoder as je

    from generalbench.runner import score_writer

    if accelerator == "missing":
        monkeypatch.setattr(je, "c_make_encoder", None)
    else:
        monkeypatch.setattr(je, "c_make_encoder", lambda *a: (lambda value, level: iter(["?"])))
    encode = score_writer._make_encoder()
    value = {"a": [1, 2.5, None, "é"], "b": {"c": float("nan")}}
    assert encode(value) == json.dumps(value, ensure_ascii=False, default=str)
    assert encode("x") == '"x"'


def test_repeated_scores_and_signed_zeros_are_written_as_json_dumps_writes_them():
    scores = [0.0, -0.0, 0.0, 5.5, 5.5, -0.0, 100.0, 1e-7, 1e-7]
    rows = [InstanceScore("t", str(i), "ok", s, "", None) for i, s in enumerate(scores)]
    assert encode_rows(rows) == "".join(
        json.dumps({"task": "t", "id": str(i), "status": "ok", "score": s, "reason": "",
                    "parsed": None}, ensure_ascii=False) + "\n" for i, s in enumerate(scores))
