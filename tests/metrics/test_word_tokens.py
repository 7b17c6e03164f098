"""BLEU-1's tokeniser reproduces `nltk.word_tokenize` (Punkt sentences + Treebank words).

The expected token lists below were produced by nltk 3.10's `word_tokenize` with the Punkt
English model (which the tests cannot load: it is a download); `scripts/official_nlp_golden.py`
shows how. The Treebank half is also checked live against nltk's own tokenizer.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.metrics import compute
from generalbench.metrics._tokenize import sentences, treebank_tokens, word_tokens

CASES = {
    "Mr. Smith went to Washington. He didn't stop...":
        ["Mr.", "Smith", "went", "to", "Washington", ".", "He", "did", "n't", "stop", "..."],
    "Call self.items.append(x) then return. Done":
        ["Call", "self.items.append", "(", "x", ")", "then", "return", ".", "Done"],
    "It costs $3.88 (roughly) in N.Y. today.":
        ["It", "costs", "$", "3.88", "(", "roughly", ")", "in", "N.Y.", "today", "."],
    'He said "hello" and left.': ["He", "said", "``", "hello", "''", "and", "left", "."],
    "Wait... what?": ["Wait", "...", "what", "?"],
    "Use e.g. a list, i.e. a sequence. Then stop.":
        ["Use", "e.g", ".", "a", "list", ",", "i.e", ".", "a", "sequence", ".", "Then", "stop", "."],
    "Dr. J. R. Smith arrived at 5 p.m. on Jan. 5. It rained.":
        ["Dr.", "J.", "R.", "Smith", "arrived", "at", "5", "p.m.", "on", "Jan.", "5", ".", "It",
         "rained", "."],
    "He moved to the U.S. Then he left.":
        ["He", "moved", "to", "the", "U.S.", "Then", "he", "left", "."],
    "The U.S. It grew.": ["The", "U.S", ".", "It", "grew", "."],
    "Return self.items[0] if self.items else None.":
        ["Return", "self.items", "[", "0", "]", "if", "self.items", "else", "None", "."],
    "I can't go; she won't either!":
        ["I", "ca", "n't", "go", ";", "she", "wo", "n't", "either", "!"],
    "In 2019. the end": ["In", "2019.", "the", "end"],
}


@pytest.mark.parametrize("text", list(CASES))
def test_word_tokens_equal_nltk_word_tokenize(text):
    assert word_tokens(text) == CASES[text]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["the", "cat", "didn't", "it's", "3.5", "1,000", "...", "(a)",
                                 "[b]", '"q"', "'s'", "--", "$5", "50%", "why?", "a,b", "c;d",
                                 "foo:bar", "well-known", "O'Neil", "gonna", "cannot", "x*y",
                                 "self.items", "stop!"]), min_size=1, max_size=12).map(" ".join))
def test_treebank_half_equals_nltk(text):
    from nltk.tokenize import NLTKWordTokenizer

    assert treebank_tokens(text) == NLTKWordTokenizer().tokenize(text)


def test_sentences_split_only_at_real_ends():
    assert sentences("Mr. Smith left. He came back.") == ["Mr. Smith left. ", "He came back."]
    assert sentences("no period here") == ["no period here"]


def test_bleu1_keeps_dotted_identifiers_and_ellipsis():
    # Regex tokens ("self", ".", "items") made a wrong identifier share 2 of 3 tokens.
    assert compute("bleu1", ["self.items"], ["self.data"]) == 0.0
    assert compute("bleu1", ["Wait..."], ["Wait..."]) == pytest.approx(100.0)
    assert compute("bleu1", ["我爱北京"], ["我爱上海"]) == pytest.approx(50.0)


def _rule_chain(text: str) -> list[str]:
    """word_tokens without its plain-text shortcut (Punkt sentences, then every Treebank rule)."""
    return [tok for sent in sentences(text) for tok in treebank_tokens(sent)]


@given(st.lists(st.sampled_from(["the", "Cat", "42", "x9", " ", "  ", ".", "..", "cannot", "gonna",
                                 "'tis", "a.", "\t", "\n", "!", "didn't"]), max_size=12))
@settings(max_examples=400, deadline=None)
def test_plain_shortcut_equals_the_rule_chain(parts):
    """The shortcut for plain ASCII sentences gives exactly the tokens of the full rule chain."""
    text = "".join(parts)
    assert word_tokens(text) == _rule_chain(text)


@pytest.mark.parametrize("text", ["", " ", ".", " .", ". ", "a man runs.", "a man runs .  ",
                                  "Two dogs 3 cats", "cannot stop.", "A b."])
def test_plain_shortcut_edge_cases(text):
    assert word_tokens(text) == _rule_chain(text)
