"""`TaskData.records` (what the scorer reads) gives the same instances as `instances`: the same
ids, inputs, targets and meta in the same order, and the same error at the first malformed
record; only records of generalbench's own schema become plain `Record`s."""

from __future__ import annotations

import pytest

from generalbench.data import open_dataset
from generalbench.data.adapters.common import Record
from generalbench.data.instances import Instance
from generalbench.errors import DataError

from .helpers import write_task

FIELDS = ("id", "task_id", "inputs", "target", "meta")


def _fields(item: object) -> tuple:
    return tuple(getattr(item, f) for f in FIELDS)


def test_records_equal_instances_on_the_mini_bench(minibench, catalog):
    ds = open_dataset(minibench.root, catalog)
    kinds = set()
    for td in ds.tasks():
        records, instances = td.records(), list(td.instances())
        assert [_fields(r) for r in records] == [_fields(i) for i in instances], td.task.id
        assert [_fields(r) for r in td.records(quick=3)] == [
            _fields(i) for i in td.instances(quick=3)]
        kinds.update(type(r) for r in records)
    assert kinds == {Record, Instance}  # native files give records; official layouts Instances


def test_records_raise_what_instances_raise(tmp_path, catalog):
    write_task(tmp_path, "image/comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "boxes", "data": [
            {"id": "a", "input": {"prompt": "p", "choices": ["x", 3]}, "output": {"answer": []}},
            {"id": "b", "input": {}, "output": {"answer": []}}]})
    td = open_dataset(tmp_path, catalog).task("image-comprehension-wood-anomaly-detection")
    with pytest.raises(DataError) as slow:
        list(td.instances())
    with pytest.raises(DataError) as fast:
        td.records()
    assert str(fast.value) == str(slow.value) and "input.choices" in str(fast.value)
    write_task(tmp_path, "image/comprehension/WoodAnomalyDetection", {
        "task": "Wood Anomaly Detection", "type": "boxes", "data": [
            {"id": "a", "input": {"prompt": "p"}, "output": {"answer": []}},
            {"id": "a", "input": {"prompt": "p"}, "output": {"answer": []}}]})
    td = open_dataset(tmp_path, catalog).task("image-comprehension-wood-anomaly-detection")
    with pytest.raises(DataError, match="duplicate instance id"):
        td.records()
