"""The Treebank tokeniser's shortcuts give what the regexes give: group-joining replacements
equal re's template expansion, and the ASCII contraction pre-check equals the regex's answer."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics._tokenize import (
    _CONTRACTION_HINT,
    _CONTRACTION_WORDS,
    _may_contract,
    _replacer,
    _treebank,
)

PIECES = st.sampled_from([*_CONTRACTION_WORDS, "CANNOT", "GoNnA", "'TWAS", "'T", "is", "d'", "ye",
                          " ", "a", ".", "'", "n", "t", "ſ", "İ", "K", "é"])


@settings(deadline=None, max_examples=300)
@given(st.lists(PIECES, max_size=8).map("".join))
def test_contraction_precheck_equals_regex(text):
    assert _may_contract(text) == (_CONTRACTION_HINT.search(text) is not None)


TEMPLATES = [r"\1 \2\3 ", r" \g<0> ", r" \1 ", r"\1 ' ", " -- ", r"\1 \2 ", "``", r"a\\b", r"\n\1"]


@settings(deadline=None, max_examples=200)
@given(st.sampled_from(TEMPLATES), st.text(alphabet="ab.' -\n", max_size=12))
def test_replacer_equals_template(template, text):
    rx = re.compile(r"(a)(b)?('?)|(\.)")
    groups = rx.groups
    if max((int(g) for g in re.findall(r"\\(\d)", template)), default=0) > groups:
        return
    assert rx.sub(_replacer(template), text) == rx.sub(template, text)


def test_every_treebank_rule_still_applies_the_same(tmp_path):
    from nltk.tokenize.destructive import NLTKWordTokenizer as T

    samples = ['He said, "it\'s 3.5 (approx)... isn\'t it?" -- yes; #1 & @me*', "« Bonjour » l'ami.",
               "''quoted'' and ``this'' end.", "a--b [c] {d} <e> 'tis"]
    ours = [rule for group in _treebank()[:3] for rule in (group if group else [])]
    theirs = [*T.STARTING_QUOTES, *T.PUNCTUATION, T.PARENS_BRACKETS, T.DOUBLE_DASHES,
              *T.ENDING_QUOTES]
    assert len(ours) == len(theirs)
    for (rx, repl, *_), (orig, template) in zip(ours, theirs, strict=True):
        for text in samples:
            assert rx.sub(repl, text) == orig.sub(template, text)
