"""fastjson gives exactly what the standard library gives, value for value and error for error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.data import fastjson
from generalbench.data.predictions import iter_jsonl

pytestmark = pytest.mark.skipif(not fastjson.AVAILABLE, reason="orjson is a core dependency")

EDGE = ['{"a": 1, "a": 2}', "1e400", "-1e400", "123456789012345678901234567890",
        "18446744073709551615", "-9223372036854775809", "9223372036854775808", "-0", "-0.0",
        "5e-324", "1e-400", '"\\ud800"', '"\\ud83d\\ude00"', "NaN", "[Infinity]", "[1,]",
        '{"a": 1} ', "  1\r", "1.7976931348623159e308", "0.10000000000000000555",
        "[" * 2000 + "]" * 2000, '"\\u0000"', "{}", "[]", "", "01", '{"a" 1}']


def _same(text: str) -> None:
    try:
        want: object = ("ok", json.loads(text))
    except (ValueError, RecursionError) as exc:
        want = ("err", type(exc), str(exc))
    try:
        got: object = ("ok", fastjson.loads(text, json.loads))
    except (ValueError, RecursionError) as exc:
        got = ("err", type(exc), str(exc))
    assert repr(got) == repr(want)


@pytest.mark.parametrize("text", EDGE)
def test_edge_cases_decode_as_json_does(text: str) -> None:
    _same(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


@settings(deadline=None, max_examples=300)
@given(_json)
def test_random_values_decode_as_json_does(value: object) -> None:
    _same(json.dumps(value))
    _same(json.dumps(value, ensure_ascii=False))


@settings(deadline=None, max_examples=300)
@given(st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True))
def test_number_literals_decode_as_json_does(text: str) -> None:
    _same(text)


def test_iter_jsonl_same_with_and_without_orjson(tmp_path, monkeypatch) -> None:
    lines = ['{"id": "a", "prediction": "x"}', '{"id": "b", "prediction": 123456789012345678901234}',
             '{"id": "c", "prediction": [1e5, -0.0, {"k": "\\u00e9"}]}',
             '{"id": "d", "prediction": "y", "id": "e"}', '{"id": "f", "prediction": 1e400}']
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")

    def read() -> object:
        try:
            return [(n, i, repr(p)) for n, i, p in iter_jsonl(path, "t")]
        except Exception as exc:  # noqa: BLE001 - compared, not swallowed
            return (type(exc), str(exc))

    fast = read()
    monkeypatch.setattr(fastjson, "_orjson", None)
    assert read() == fast
    path.write_text("\n".join(lines[:4]) + "\n")
    slow = read()
    monkeypatch.undo()
    assert read() == slow
    assert isinstance(slow, list) and slow[1][2] == "123456789012345678901234"


def test_nan_line_error_is_unchanged(tmp_path, monkeypatch) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "prediction": NaN}\n')
    errors = []
    for orjson in (fastjson._orjson, None):
        monkeypatch.setattr(fastjson, "_orjson", orjson)
        with pytest.raises(Exception) as exc:
            list(iter_jsonl(path, "t"))
        errors.append((type(exc.value), str(exc.value)))
    assert errors[0] == errors[1]


@pytest.mark.parametrize(("text", "differ"), [("1" * 18, False), ("1" * 19, True), ("x" + "9" * 30, True),
                                              ("0.1234567890123456789", True), ("é1234567890", False),
                                              ('"12345678901234567890"', True)])
def test_may_differ_flags_every_run_of_19_digits(text: str, differ: bool) -> None:
    assert fastjson.may_differ(text) is differ
    assert fastjson.may_differ(text.encode()) is differ


_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(), st.floats(min_value=-1e-3, max_value=1e-3),
                    st.sampled_from([1e16, 1e-5, 9.9e-5, 1e-4, -0.0, 5e-324, 1e22]),
                    st.text(max_size=6), st.sampled_from(["a,b", "k: v", "null", "1e5", "é", "\n"]))
_VALUES = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=4), st.sampled_from(["a,b", "x:"])), inner,
                    max_size=3)), max_leaves=12)


@given(_VALUES)
@settings(max_examples=1500, deadline=None)
def test_dumps_is_json_dumps_or_declines(value):
    got = fastjson.dumps(value)
    assert got is None or got == json.dumps(value, ensure_ascii=False)


def test_dumps_takes_boxes_and_tracks():
    """The shapes it is for are not declined (else it would only cost time)."""
    boxes = [{"bbox": [104.46, 27.44, 40.71, 85.59], "label": "object f", "score": 0.861},
             {"bbox": [1, 2, 3, 4], "label": "", "score": 1.0}]
    track = [[398.13, 187.38, 117.05, 76.71], None, [0.5, 1e-4, 3.0, 12345678.9]]
    for value in (boxes, track, [[1.5, None]], [0.0, -0.0, 2**63 - 1]):
        assert fastjson.dumps(value) == json.dumps(value, ensure_ascii=False)
    for value in ([float("nan")], [[1.0, float("inf")], None], [1e-7], ["a:b"], {"a": "x,y"}):
        assert fastjson.dumps(value) is None


@pytest.mark.parametrize("number", ["1e400", "-2E+999", "1" + "0" * 309 + ".5"])
def test_a_number_that_overflows_in_a_structured_prediction_is_refused(tmp_path, number):
    """A non-string prediction is walked for infinities when the file has a number literal that
    could overflow (found by one scan of the file), wherever in the file that literal is."""
    from generalbench.errors import PredictionError

    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "0", "prediction": "1e400 as text"}\n'
                    '{"id": "1", "prediction": [{"bbox": [1, 2, 3, 4]}]}\n'
                    f'{{"id": "2", "prediction": [{{"bbox": [1, 2, {number}, 4]}}]}}\n')
    with pytest.raises(PredictionError, match=r"line 3: .*predictions must be finite"):
        list(iter_jsonl(path, "t"))
    path.write_text('{"id": "0", "prediction": "1e400 as text"}\n'
                    '{"id": "1", "prediction": [{"bbox": [1, 2.5e3, 3, 4]}]}\n')
    assert [r[1] for r in iter_jsonl(path, "t")] == ["0", "1"]
