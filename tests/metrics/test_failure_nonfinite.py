"""The NaN/inf screen's one-loop shortcut for boxes and flat records agrees with the plain
recursive walk it replaces, on any nesting of numbers, text, lists and dicts."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics.failure import _MAX_DEPTH, nonfinite


def walk(x: Any, depth: int = 0) -> bool:
    """The plain recursive walk (the definition the shortcut must keep)."""
    if x is None or isinstance(x, (str, bool)):
        return False
    if isinstance(x, float):
        return not math.isfinite(x)
    if isinstance(x, Number) and not isinstance(x, int):
        return not math.isfinite(float(x))
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc" and not bool(np.isfinite(x).all())
    if depth >= _MAX_DEPTH:
        return False
    if isinstance(x, dict):
        return any(walk(v, depth + 1) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(walk(v, depth + 1) for v in x)
    return False


leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(allow_nan=True, allow_infinity=True, width=32).map(np.float32))
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=2), inner, max_size=4)),
    max_leaves=30)


@given(values)
@settings(max_examples=500, deadline=None)
def test_nonfinite_equals_the_recursive_walk(value):
    assert nonfinite(value) == walk(value)


@given(st.lists(st.fixed_dictionaries({
    "bbox": st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=4, max_size=4),
    "label": st.text(max_size=3), "score": st.floats(allow_nan=True, allow_infinity=True)}),
    max_size=5), st.integers(0, _MAX_DEPTH + 1))
@settings(max_examples=300, deadline=None)
def test_boxes_at_any_depth(boxes, depth):
    assert nonfinite(boxes, depth) == walk(boxes, depth)


@given(st.lists(st.one_of(st.none(), st.lists(st.one_of(st.integers(), st.floats(allow_nan=True,
                                                                              allow_infinity=True)),
                                              min_size=4, max_size=4)), max_size=6),
       st.integers(0, _MAX_DEPTH + 1))
@settings(max_examples=300, deadline=None)
def test_tracks_and_flat_lists_at_any_depth(track, depth):
    assert nonfinite(track, depth) == walk(track, depth)
    flat = [b[0] if b else b for b in track]
    assert nonfinite(flat, depth) == walk(flat, depth)
