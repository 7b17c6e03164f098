"""The adapters' shortcuts give exactly what the full path gives: instances built without
re-validation, box and track references recognised in one pass."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.data.adapters import AdaptContext, FieldError
from generalbench.data.adapters.common import _trusted, new_instance, reference
from generalbench.data.instances import Instance
from generalbench.data.native import check_native, coerce_reference, to_refs


def test_adapter_instances_equal_validated_ones():
    """The native adapter's instances (built without re-validation) are exactly what pydantic
    builds from the same fields: equal, same dump and repr, still frozen."""
    assert new_instance is _trusted  # the check at import accepted this pydantic
    args = ("7", "task", {"question": "q", "choices": ["a", "b"]}, "a", {"extra": 1})
    fast = new_instance(*args)
    slow = Instance(id="7", task_id="task", inputs=args[2], target="a", meta=args[4])
    assert fast == slow and fast.model_dump() == slow.model_dump() and repr(fast) == repr(slow)
    with pytest.raises(pydantic.ValidationError):
        fast.id = "8"  # type: ignore[misc]


_NUMBERS = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                     st.booleans(), st.none(), st.text(max_size=1))


@given(st.one_of(
    st.lists(st.one_of(st.none(), st.lists(_NUMBERS, min_size=3, max_size=5), st.just([]),
                       st.fixed_dictionaries({"bbox": st.lists(_NUMBERS, min_size=4, max_size=4)})),
             max_size=4),
    st.lists(st.fixed_dictionaries({"bbox": st.lists(_NUMBERS, min_size=3, max_size=5)},
                                   optional={"label": st.one_of(st.text(max_size=2), st.integers(),
                                                                st.none()),
                                             "score": _NUMBERS}), max_size=3)),
    st.sampled_from(["boxes", "track"]))
@settings(max_examples=400, deadline=None)
def test_reference_shortcut_equals_the_full_chain(value, output):
    """Box and track references recognised in one pass come out exactly as the coerce / check /
    to_refs chain makes them, and everything else still takes that chain."""
    _assert_reference_is_the_chains(value, output, same_type=False)


def _assert_reference_is_the_chains(value, output, same_type=True):
    """`reference` gives what the coerce / check / to_refs chain gives (equal and, with
    `same_type`, of the same type), or fails where it fails."""
    task = SimpleNamespace(output=output, id="t")
    ctx = AdaptContext(task=task, folder=Path("."))  # type: ignore[arg-type]
    coerced = coerce_reference(output, value)
    err = check_native(output, coerced, reference=True)
    if err:
        with pytest.raises(FieldError):
            reference(value, ctx, "output.answer")
    else:
        got = reference(value, ctx, "output.answer")
        want = to_refs(output, coerced, Path("."))
        assert got == want and (not same_type or type(got) is type(want))


_LEAF = st.one_of(st.text(max_size=3), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True),
                  st.booleans(), st.none())


@given(st.one_of(_LEAF, st.lists(_LEAF, max_size=3), st.lists(st.text(max_size=3), max_size=3)),
       st.sampled_from(["label_set", "text", "label", "number"]))
@settings(max_examples=600, deadline=None)
def test_plain_reference_shortcuts_equal_the_full_chain(value, output):
    """Label sets, lists of texts and numbers recognised in one pass come out exactly as the
    coerce / check / to_refs chain makes them (or fail as it fails)."""
    if value is not None:
        _assert_reference_is_the_chains(value, output)


@given(st.sampled_from(["image", "mask", "video", "nope"]),
       st.one_of(st.sampled_from(["a/b.png", "./a:b", "a//b/../c", "C:/x", "a\\b", ".", "x"]),
                 st.text(max_size=6)),
       st.one_of(st.none(), st.text(max_size=3)))
@settings(max_examples=300, deadline=None)
def test_trusted_media_ref_equals_the_validated_one(kind, path, sha):
    """media_ref's MediaRef built without validation is exactly the validated one, or the
    validation error where validation fails."""
    from generalbench.data.adapters.common import _trusted_media, _validated_media, new_media_ref

    assert new_media_ref is _trusted_media
    base = Path("/data/task")
    try:
        want = _validated_media(kind, path, sha, base)
    except pydantic.ValidationError:
        with pytest.raises(pydantic.ValidationError):
            _trusted_media(kind, path, sha, base)
        return
    got = _trusted_media(kind, path, sha, base)
    assert got == want and repr(got) == repr(want) and got.model_dump() == want.model_dump()
    assert got.base == want.base and got.__pydantic_fields_set__ == want.__pydantic_fields_set__
