"""Tokenisers and text normalisers shared by the text metrics.

Why our own: nltk's `word_tokenize` needs the punkt model (downloaded at run time, not allowed
here) and rouge-score's tokenizer deletes every non-ASCII character, which silently scores
Chinese or Cyrillic answers as empty. These are single-regex tokenisers (fast enough for the
full benchmark) that keep every script; CJK ideographs, kana and hangul become one token per
character, the usual convention for Chinese/Japanese n-gram metrics. Every function is pure and
the expensive ones (Porter stemming) are memoised per word. See docs/metrics.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CJK_RANGES = ("\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
              "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff")
"""CJK radicals, kana, bopomofo, ideographs and hangul: scripts written without spaces."""

_CJK = f"[{CJK_RANGES}]"
_WORD = rf"[^\W{CJK_RANGES}]+"  # a run of letters/digits/underscore outside CJK

# Words for BLEU: numbers with inner separators (3.14, 1,000), words with inner hyphens or
# apostrophes (well-known, o'clock), single CJK characters, single punctuation marks.
_BLEU_RE = re.compile(rf"\d+(?:[.,:]\d+)+|{_WORD}(?:[-'’]{_WORD})*|{_CJK}|[^\w\s]")
_BLEU_ASCII_RE = re.compile(r"\d+(?:[.,:]\d+)+|\w+(?:[-'’]\w+)*|[^\w\s]", re.ASCII)
# ROUGE: alphanumeric runs (underscore splits, like rouge-score), single CJK characters.
_ROUGE_RE = re.compile(rf"{_CJK}|[^\W_{CJK_RANGES}]+")
# Token F1 / exact match (SQuAD style, punctuation deleted first): words and CJK characters.
_NORM_TOKEN_RE = re.compile(rf"{_CJK}|[^\s{CJK_RANGES}]+")
_PUNCT_RE = re.compile(r"[^\w\s]|_")
_ROUGE_ASCII_RE = re.compile(r"[a-z0-9]+")
_ASCII_PUNCT = str.maketrans("", "", "".join(chr(c) for c in range(128)
                                             if not (chr(c).isalnum() or chr(c).isspace())))
_ARTICLES_RE = re.compile(r"\b(?:a|an|the)\b")
_SPACE_RE = re.compile(r"\s+")


def bleu_tokens(text: str) -> list[str]:
    """Case-preserving word/punctuation tokens (the granularity of nltk's word_tokenize).

    Differences from nltk's Treebank rules, all symmetric between prediction and reference:
    clitics stay attached ("don't" is one token), quotes are not rewritten to `` and '', and
    CJK text is split per character instead of being one token per run.
    """
    if text.isascii():  # same tokens, a cheaper pattern (no CJK ranges)
        return _BLEU_ASCII_RE.findall(text)
    return _BLEU_RE.findall(text)


class _StemCache(dict):
    """word -> Porter stem, filled on first sight (a C-level dict lookup per token afterwards)."""

    limit = 1 << 20

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:  # bound memory on endless vocabularies
            self.clear()
        stem = _stemmer().stem(word) if len(word) > 3 else word
        self[word] = stem
        return stem


_STEMS = _StemCache()


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import porter

    return porter.PorterStemmer()


def rouge_tokens(text: str, stem: bool = True) -> list[str]:
    """rouge-score's tokenisation (lowercase, alphanumeric runs, Porter stem of words longer
    than 3 characters), extended so that non-ASCII letters and CJK characters are kept.

    On ASCII text it returns exactly what `rouge_score.tokenize.tokenize` returns.
    """
    text = text.lower()
    tokens = (_ROUGE_ASCII_RE if text.isascii() else _ROUGE_RE).findall(text)
    if stem:
        cache = _STEMS
        return [cache[t] for t in tokens]
    return tokens


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lowercase, delete punctuation, drop English articles,
    collapse whitespace. Punctuation is any Unicode non-word character (SQuAD: ASCII only)."""
    text = text.lower()
    text = text.translate(_ASCII_PUNCT) if text.isascii() else _PUNCT_RE.sub("", text)
    return " ".join(_ARTICLES_RE.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """Tokens of a normalised answer: whitespace words, CJK split per character."""
    return _NORM_TOKEN_RE.findall(normalize_answer(text))


def normalize_label(text: str) -> str:
    """Canonical form of a class label: NFKC, casefolded, whitespace collapsed, surrounding
    quotes/brackets/punctuation removed. "Positive." == " positive" == "POSITIVE"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(" \t\"'`.,;:!?()[]{}<>*")


def is_cjk(char: str) -> bool:
    return re.fullmatch(_CJK, char) is not None
