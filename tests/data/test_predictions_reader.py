"""The whole-file predictions reader gives exactly what the line-by-line reader gives: the same
rows, the same line numbers, the same errors."""

from __future__ import annotations

import pytest

from generalbench.data.predictions import _iter_jsonl_lines, iter_jsonl
from generalbench.errors import PredictionError

GOOD = [
    b'{"id": "a", "prediction": "x"}\n{"id": 2, "prediction": [1, 2]}\n',
    b'\xef\xbb\xbf{"id": "a", "prediction": "x"}\r\n\r\n  \n{"id": "b", "prediction": null}',
    b'{"id": "a", "prediction": {"bbox": [1, 2, 3, 4]}}\n\n\n{"id": "c", "prediction": "\\u2028"}\n',
    b'{"id": "a", "prediction": "caf\xc3\xa9 \xe2\x80\xa8 line"}\n',
    b"",
]
BAD = [
    b'{"id": "a", "prediction": "x"}\n{"id": "b", "prediction": 1e999}\n',
    b'{"id": "a", "prediction": NaN}\n',
    b'{"id": "a", "prediction": "x"}\n{"id": "b", "prediction": [1,\n2]}\n',
    b'{"id": "a", "prediction": "x"}, {"id": "b", "prediction": "y"}\n',
    b'{"id": "a", "prediction": "x"}\n\xff\xfe\n',
    b'{"id": "a", "prediction": "x"}\n\xef\xbb\xbf{"id": "b", "prediction": "y"}\n',
    b'{"id": " ", "prediction": "x"}\n',
    b'{"id": true, "prediction": "x"}\n',
    b'{"id": "a"}\n',
    b'["a", "x"]\n',
    b"[" * 100000 + b"\n",
]


def _read(reader, path):
    rows = []
    try:
        for row in reader(path, "t"):
            rows.append(row)
    except PredictionError as exc:
        return rows, str(exc)
    return rows, None


@pytest.mark.parametrize("content", GOOD + BAD)
def test_whole_file_reader_equals_line_reader(tmp_path, content):
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    fast, slow = _read(iter_jsonl, path), _read(_iter_jsonl_lines, path)
    assert fast[0] == slow[0]
    assert (fast[1] is None) == (slow[1] is None)
    if fast[1] is not None:  # same line named; the JSON message itself may be worded differently
        assert fast[1].split(": task=")[0] == slow[1].split(": task=")[0]
    assert (fast[1] is None) == (content in GOOD)
