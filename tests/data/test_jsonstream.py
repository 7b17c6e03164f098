"""The streaming `data` reader agrees with the json module, chunk boundaries anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generalbench.data.jsonstream import iter_data
from generalbench.errors import DataError
from tests.strategies import json_values


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(json_values, max_size=8), before=st.dictionaries(st.sampled_from(["task", "type", "v"]), json_values),
       after=st.dictionaries(st.sampled_from(["x", "y"]), json_values), chunk=st.integers(1, 64),
       indent=st.sampled_from([None, 1, 3]))
def test_matches_json_module(tmp_path_factory, data, before, after, chunk, indent):
    doc = {**before, "data": data, **after}
    path = tmp_path_factory.mktemp("js") / "a.json"
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False), "utf-8")
    assert list(iter_data(path, chunk=chunk)) == json.loads(path.read_text("utf-8"))["data"]


@pytest.mark.parametrize("text,match", [
    ('{"task": "t",\n "data": [{"id": 1},\n {"id": 2,}]}', r"line 3: not valid JSON"),
    ('{"task": "t", "data": [{"id": 1}', r"line 1: not valid JSON"),
    ('{"task": "t", "data": {"id": 1}}', r"field='data': must be a list"),
    ('{"task": "t"}', r"field='data': missing"),
    ('[1, 2]', r"expected '\{'"),
    ('{"data": []} trailing', r"extra data"),
])
def test_errors_have_lines(tmp_path, text, match):
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        list(iter_data(path, chunk=5))


def test_big_record_and_many_records(tmp_path):
    big = {"id": "big", "rle": "x" * 3_000_000}
    doc = {"task": "t", "data": [big] + [{"id": i} for i in range(20000)]}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc))
    items = iter_data(path, chunk=4096)
    assert next(items) == big
    assert sum(1 for _ in items) == 20000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(json_values, max_size=8), before=st.dictionaries(st.sampled_from(["task", "type", "v"]), json_values),
       tail=st.sampled_from(["", "]", "}", " x", ', "data": [1]']))
def test_whole_file_fast_path_agrees_with_streaming(tmp_path_factory, data, before, tail):
    """Small files are decoded in one call; the values, and the errors of broken files (which
    fall back to the streaming parser), are exactly the streaming parser's."""
    path = tmp_path_factory.mktemp("js") / "a.json"
    path.write_text(json.dumps({**before, "data": data})[:-1] + tail + "}", "utf-8")

    def read(**kw):
        try:
            return list(iter_data(path, **kw))
        except DataError as exc:
            return str(exc)

    assert read() == read(chunk=7)
