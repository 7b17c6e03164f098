"""Shards partition the instances: disjoint, complete, independent of order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generalbench.errors import GeneralBenchError
from generalbench.runner.shard import Shard


@given(ids=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=60, unique=True),
       n=st.integers(1, 7))
def test_every_instance_is_in_exactly_one_shard(ids, n):
    for i in ids:
        owners = [k for k in range(n) if Shard(k, n).holds("task-x", i)]
        assert len(owners) == 1


def test_shards_are_balanced_for_many_instances():
    counts = [sum(Shard(k, 4).holds("t", str(i)) for i in range(4000)) for k in range(4)]
    assert min(counts) > 900


@pytest.mark.parametrize("text", ["4/4", "-1/2", "1", "a/b", "0/0"])
def test_bad_shard_specs_are_refused(text):
    with pytest.raises(GeneralBenchError, match="I/N"):
        Shard.parse(text)


def test_parse():
    assert Shard.parse("2/5") == Shard(2, 5) and Shard.parse(None) == Shard(0, 1)
