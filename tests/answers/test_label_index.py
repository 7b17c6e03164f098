"""The indexed label vocabulary finds exactly the mentions the per-option scan finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.answers.parse import INDEX_MIN_OPTIONS, _Vocabulary, _vocabulary, parse_label

WORDS = ["cat", "dog", "red", "a", "b1", "x-ray", "new york", "york", "café", "C++", "_", "1"]
SEPS = [" ", "  ", ", ", "-", ".", "!", "_", "/", "(", ")", "é", "", "\n"]

label = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
text = st.lists(st.tuples(st.sampled_from(WORDS + ["xyz", "CAT", "Dog."]), st.sampled_from(SEPS)),
                max_size=12).map(lambda parts: "".join(w + s for w, s in parts))


@settings(deadline=None, max_examples=400)
@given(labels=st.lists(label, min_size=1, max_size=40, unique=True), texts=st.lists(text, max_size=5))
def test_index_agrees_with_scan(labels, texts):
    vocab = _vocabulary(tuple(labels))
    scan = _Vocabulary(vocab.by_key, 0)  # too few options for an index: the per-option scan
    indexed = _Vocabulary(vocab.by_key, INDEX_MIN_OPTIONS)
    assert scan.index is None and indexed.index is not None
    for t in texts:
        assert indexed.mentions(t) == scan.mentions(t)


def test_large_vocabulary_uses_the_index_and_parses_the_same():
    labels = [f"class {i} {w}" for i in range(1000) for w in ("alpha",)]
    assert len(labels) >= INDEX_MIN_OPTIONS and _vocabulary(tuple(labels)).index is not None
    assert parse_label("It is class 417 alpha, clearly.", labels=labels).value == "class 417 alpha"
    assert not parse_label("class 1 alpha or class 2 alpha", labels=labels).ok
    assert parse_label("Answer: CLASS 3 ALPHA", labels=labels).value == "class 3 alpha"
