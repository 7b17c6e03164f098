"""Tokenisers and text normalisers shared by the text metrics.

Why our own: nltk's `word_tokenize` needs the punkt model (downloaded at run time, not allowed
here) and its regexes run through a time-limited `regex` wrapper that is ~40x slower than a single
`re` pass; rouge-score's tokenizer deletes every non-ASCII character, which silently scores
Chinese or Cyrillic answers as empty. These are single-regex tokenisers (fast enough for the
full benchmark) that keep every script; CJK ideographs, kana and hangul become one token per
character, the usual convention for Chinese/Japanese n-gram metrics. Every function is pure and
the expensive ones (Porter stemming) are memoised per word. See docs/metrics.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

CJK_RANGES = ("\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
              "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff")
"""CJK radicals, kana, bopomofo, ideographs and hangul: scripts written without spaces."""

_CJK = f"[{CJK_RANGES}]"
_CJK_RE = re.compile(_CJK)
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
_ROUGE_ASCII_SPACES = {c: " " for c in range(128)
                       if chr(c) not in "abcdefghijklmnopqrstuvwxyz0123456789"}
"""ASCII characters outside _ROUGE_ASCII_RE's class mapped to a space (the rest kept)."""
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
    from generalbench.metrics._nltk import submodule  # not `import nltk`: 3 s of imports

    return submodule("nltk.stem.porter").PorterStemmer()


def rouge_tokens(text: str, stem: bool = True) -> list[str]:
    """rouge-score's tokenisation (lowercase, alphanumeric runs, Porter stem of words longer
    than 3 characters), extended so that non-ASCII letters and CJK characters are kept.

    On ASCII text it returns exactly what `rouge_score.tokenize.tokenize` returns.
    """
    text = text.lower()
    if text.isascii():  # _ROUGE_ASCII_RE's runs: every other character a space, then split
        tokens = text.translate(_ROUGE_ASCII_SPACES).split()
    else:
        tokens = _ROUGE_RE.findall(text)
    if stem:  # dict lookups in C (a miss still reaches _StemCache.__missing__)
        return list(map(_STEMS.__getitem__, tokens))
    return tokens


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lowercase, delete punctuation, drop English articles,
    collapse whitespace. Punctuation is any Unicode non-word character (SQuAD: ASCII only)."""
    text = text.lower()
    text = text.translate(_ASCII_PUNCT) if text.isascii() else _PUNCT_RE.sub("", text)
    # Only letters, digits and whitespace are left, so the words _ARTICLES_RE would blank out
    # (whole words between \b boundaries) are exactly whitespace-split words: dropped by a set
    # test instead of a regex scan of every position.
    return " ".join([w for w in text.split() if w not in _ARTICLES])


_ARTICLES = frozenset({"a", "an", "the"})


def answer_tokens(text: str) -> list[str]:
    """Tokens of a normalised answer: whitespace words, CJK split per character."""
    return _NORM_TOKEN_RE.findall(normalize_answer(text))


def normalize_label(text: str) -> str:
    """Canonical form of a class label: NFKC, casefolded, whitespace collapsed, surrounding
    quotes/brackets/punctuation removed. "Positive." == " positive" == "POSITIVE".

    Short strings (labels, short answers) are memoised: the same few are normalised again and
    again (605k calls over the full benchmark for a few thousand distinct strings); long
    answers are not kept, so the memo stays a few MB."""
    if len(text) <= _MEMO_LEN:
        return _normalize_label_memo(text)
    return _normalize_label(text)


_MEMO_LEN = 128


def _normalize_label(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(" \t\"'`.,;:!?()[]{}<>*")


_normalize_label_memo = lru_cache(maxsize=1 << 15)(_normalize_label)


def is_cjk(char: str) -> bool:
    return re.fullmatch(_CJK, char) is not None


# --- nltk.word_tokenize, as the official NLP scorer's BLEU-1 uses it ------------------------------
_SENTENCE_END = re.compile(r"(\S+)\.([\"'\)\]}>»”’]*)\s+(?=(\S))")
_LEADING_PUNCT = re.compile(r"^[\(\[{<\"'`«“‘„]+")
_INITIAL = re.compile(r"^[^\W\d]$")
_NUMBER = re.compile(r"^-?[\d.,]*\d$")
_QUOTE_CHARS = frozenset("\"'`«“‘„»”’")
_CONTRACTION_HINT = re.compile(r"(?i)cannot|d'ye|gimme|gonna|gotta|lemme|more'n|wanna|'t(?:is|was)")


@lru_cache(maxsize=1)
def _sentence_rules() -> tuple[frozenset[str], frozenset[str]]:
    """(abbreviations, sentence starters) from abbreviations.yaml."""
    from generalbench.yamlload import safe_load

    data = safe_load(resources.files("generalbench.metrics").joinpath("abbreviations.yaml")
                     .read_text("utf-8"))
    return (frozenset(str(a).lower() for a in data["abbreviations"]),
            frozenset(str(a).lower() for a in data["sentence_starters"]))


def sentences(text: str) -> list[str]:
    """English sentences the way Punkt splits them for word tokenisation (approximated).

    A word ending in a period and followed by more text ends a sentence, except: a known
    abbreviation ("Mr."; "e.g." is not one, Punkt splits there too) or an initial ("J.") followed
    by anything but a capitalised sentence starter ("The", "It"); an initial or a number followed
    by a lower-case word; an ellipsis. Only the period matters downstream: the word tokeniser
    splits the final period of each sentence off its word.
    """
    if "." not in text:
        return [text]
    out: list[str] = []
    start = 0
    abbrev, starters = _sentence_rules()
    for m in _SENTENCE_END.finditer(text):
        word = _LEADING_PUNCT.sub("", m.group(1))
        typ = word.lower()
        if not word or typ.endswith("."):
            continue
        nxt = text[m.end():].split(None, 1)[0]
        starter = nxt[:1].isupper() and nxt.lower().rstrip(".,;:!?") in starters
        if typ in abbrev or typ.split("-")[-1] in abbrev:
            if not starter:
                continue
        elif _INITIAL.match(word):
            if nxt[:1].islower() or (nxt[:1].isupper() and not starter):
                continue
        elif _NUMBER.match(word) and nxt[:1].islower():
            continue
        out.append(text[start:m.end()])
        start = m.end()
    out.append(text[start:])
    return [s for s in out if s.strip()]


# Characters without which a Treebank rule cannot match, by its pattern: a rule whose characters
# are all absent is skipped (a C-level `in` test instead of a regex scan). A pattern not listed
# here (a future nltk changing its rules) always runs, so skipping never changes the result.
_RULE_TRIGGERS: dict[str, str] = {
    r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*+)\s*$": ".",
    r"([:,])([^\d])": ":,",
    r"([:,])$": ":,",
    r"\.{2,}": ".",
    r"[;@#$%&]": ";@#$%&",
    r"[\u2012-\u2015]": "\u2012\u2013\u2014\u2015",
    r'([^\.])(\.)([\]\)}>"\']*)\s*$': ".",
    r"[?!]": "?!",
    r"([^'])' ": "'",
    r"[*]": "*",
    r"[\]\[\(\)\{\}\<\>]": "[](){}<>",
    r"--": "-",
}


@lru_cache(maxsize=1)
def _treebank() -> tuple:
    """nltk's NLTKWordTokenizer rules, recompiled with `re` (same patterns, read from nltk):
    (starting quotes, punctuation + brackets + dashes with their trigger characters, ending
    quotes, contractions)."""
    from generalbench.metrics._nltk import submodule  # not `import nltk`: 3 s of imports

    T = submodule("nltk.tokenize.destructive").NLTKWordTokenizer  # noqa: N806

    def rules(pairs: list) -> list[tuple[re.Pattern, Any]]:
        return [(re.compile(rx.pattern), _replacer(repl)) for rx, repl in pairs]

    middle = [(rx, repl, _RULE_TRIGGERS.get(rx.pattern))
              for rx, repl in rules([*T.PUNCTUATION, T.PARENS_BRACKETS, T.DOUBLE_DASHES])]
    return (rules(T.STARTING_QUOTES), middle, rules(T.ENDING_QUOTES),
            [re.compile(rx.pattern) for rx in (*T.CONTRACTIONS2, *T.CONTRACTIONS3)])


_TEMPLATE_PART = re.compile(r"\\(?:(\d+)|g<(\d+)>)")


def _replacer(template: str) -> Any:
    """A `re.sub` replacement equal to `template`, as a function when the template holds only
    literal text and group references (\\1, \\g<0>): the re module expands a template in Python
    for every match, ~2x the cost of joining the groups. Anything else stays a template."""
    parts: list[str | int] = []
    pos = 0
    for m in _TEMPLATE_PART.finditer(template):
        parts.append(template[pos:m.start()])
        parts.append(int(m.group(1) or m.group(2)))
        pos = m.end()
    parts.append(template[pos:])
    if any("\\" in p for p in parts if isinstance(p, str)):
        return template  # other escapes: let re expand them
    if not any(isinstance(p, int) for p in parts):
        return template  # no group: re uses a literal replacement as is

    def replace(m: re.Match) -> str:
        return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in parts)

    return replace


_CONTRACTION_WORDS = ("cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "wanna",
                      "'tis", "'twas")
"""_CONTRACTION_HINT's alternatives, for a substring test on lower-cased ASCII text."""


def _may_contract(text: str) -> bool:
    """Whether _CONTRACTION_HINT matches; on ASCII text by substring tests (same answer, a
    third of the time), else by the regex (case folding beyond ASCII)."""
    if text.isascii():
        low = text.lower()
        return any(w in low for w in _CONTRACTION_WORDS)
    return _CONTRACTION_HINT.search(text) is not None


def treebank_tokens(sentence: str) -> list[str]:
    """nltk's `NLTKWordTokenizer().tokenize` on one sentence (identical rules, `re` engine);
    rules run only when the sentence has a character they act on."""
    starting, middle, ending, contractions = _treebank()
    text = sentence
    quotes = not _QUOTE_CHARS.isdisjoint(text)
    if quotes:
        for rx, repl in starting:
            text = rx.sub(repl, text)
    chars = set(text)  # the middle rules only add spaces: the set stays valid through them
    for rx, repl, trigger in middle:
        if trigger is None or not chars.isdisjoint(trigger):
            text = rx.sub(repl, text)
    text = " " + text + " "
    if quotes:
        for rx, repl in ending:
            text = rx.sub(repl, text)
    if _may_contract(text):
        for rx in contractions:
            text = rx.sub(r" \1 \2 ", text)
    return text.split()


_CJK_SPLIT = re.compile(rf"{_CJK}|[^{CJK_RANGES}]+")


_PLAIN_WORDS = re.compile(r"[A-Za-z0-9 ]*")
"""ASCII letters, digits and spaces: text on which no Punkt split and no Treebank rule acts."""


def _plain_tokens(text: str) -> list[str] | None:
    """word_tokens of a plain sentence (ASCII letters, digits and spaces, at most one final
    period and trailing spaces), else None. On such text `sentences` finds no split, the only
    Treebank rules that act split the final period off, so the tokens are the words plus "."
    (most captions and short answers: a split instead of the rule chain, same tokens)."""
    body = text.rstrip(" ")
    dot = body.endswith(".")
    core = body[:-1] if dot else body
    if _PLAIN_WORDS.fullmatch(core) is None or _may_contract(core):
        return None
    tokens = core.split()
    if dot:
        tokens.append(".")
    return tokens


def word_tokens(text: str) -> list[str]:
    """`nltk.word_tokenize(text)`: Punkt sentences (approximated by `sentences`), then nltk's
    Treebank word rules on each. "self.items" and "e.g." stay whole inside a sentence, "..." is
    one token, "didn't" is "did" + "n't", and only a sentence's final period is split off.

    One deliberate difference: CJK characters are one token each (nltk keeps a run of Chinese
    as one token, so a generated Chinese sentence would score all-or-nothing).
    """
    plain = _plain_tokens(text)
    if plain is not None:
        return plain
    tokens = [tok for sent in sentences(text) for tok in treebank_tokens(sent)]
    if text.isascii():
        return tokens
    return [part for tok in tokens for part in (_CJK_SPLIT.findall(tok) if _CJK_RE.search(tok)
                                                 else (tok,))]
