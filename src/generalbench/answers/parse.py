"""Turn free-form model output into a task's native value (label, number, label set, boxes...).

The rules (answer prefixes, choice-letter patterns, yes/no and number words, separators) are
data in rules.yaml; this module only applies them. Parsing never raises on model output: an
answer that cannot be read gives `ParseResult(None, False, reason)`, which the scorer counts as
wrong and reports per task. See docs/metrics.md, "Answer parsing".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any, NamedTuple

from generalbench.metrics._tokenize import normalize_label
from generalbench.yamlload import safe_load

TEXT_TYPES = frozenset({"text", "label", "label_set", "number", "number_series", "boxes",
                        "yes_no"})
"""Native types whose predictions are read from text; the others (files, arrays) pass through."""

JSON_TYPES = frozenset({"track", "poses", "boxes3d", "tracks3d"})
"""Structured types a text model writes as JSON (the prompt asks for it); decoded and checked."""


class ParseResult(NamedTuple):
    """A parsed prediction: the native value, whether parsing succeeded, and why not.

    Immutable; a named tuple rather than a frozen dataclass because one is built per answer
    and a frozen dataclass's __init__ sets each field through object.__setattr__ (3x slower)."""

    value: Any
    ok: bool
    reason: str = ""


def _fail(reason: str) -> ParseResult:
    return ParseResult(None, False, reason)


@dataclass(frozen=True)
class Rules:
    strip: re.Pattern
    strip_triggers: tuple[str, ...]
    prefixes: re.Pattern
    prefix_keywords: tuple[str, ...]
    choice: tuple[re.Pattern, ...]
    yes: frozenset[str]
    no: frozenset[str]
    words: dict[str, int]
    scales: dict[str, int]
    number_pick: str
    separator: re.Pattern
    empty_set: frozenset[str]
    list_marker: re.Pattern
    text_box: re.Pattern
    text_box_format: str


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The parsing rules shipped in answers/rules.yaml, compiled once."""
    data = safe_load(resources.files("generalbench.answers").joinpath("rules.yaml").read_text("utf-8"))
    flags = re.IGNORECASE | re.DOTALL
    return Rules(
        strip=re.compile("|".join(f"(?:{p})" for p in data["strip"]), flags),
        strip_triggers=tuple(data["strip_triggers"]),
        prefix_keywords=tuple(str(k).lower() for k in data["prefix_keywords"]),
        prefixes=re.compile("|".join(f"(?:{p})" for p in data["answer_prefixes"]), re.IGNORECASE),
        choice=tuple(re.compile(p) for p in data["choice_patterns"]),
        yes=frozenset(str(w).lower() for w in data["yes_words"]),
        no=frozenset(str(w).lower() for w in data["no_words"]),
        words={str(k): int(v) for k, v in data["number_words"].items()},
        scales={str(k): int(v) for k, v in data["number_scales"].items()},
        number_pick=data["number_pick"],
        separator=re.compile("|".join(f"(?:{p})" for p in data["label_separators"])),
        empty_set=frozenset(str(w).lower() for w in data["empty_set_words"]),
        list_marker=re.compile(data["list_marker"]),
        text_box=re.compile(data["text_box_pattern"]),
        text_box_format=data["text_box_format"],
    )


# --- text cleaning ---------------------------------------------------------------------------
def clean(text: str) -> str:
    """Output without reasoning traces and code fences, stripped."""
    r = rules()
    if any(t in text for t in r.strip_triggers):
        text = r.strip.sub("", text)
    return text.strip()


SPAN_MEMO_MAX_CHARS = 256
SPAN_MEMO_SIZE = 1 << 14
_SPANS: dict[str, str] = {}
"""Answer spans of short texts: the prefix search is a keyword scan and, when a keyword occurs,
a regex of alternatives tried at every position (~1 us a character), and short answers repeat
("A", "label a, label b", "Answer: B"); cleared when full, so memory stays bounded."""


def answer_span(text: str) -> str:
    """The text after the last answer prefix ("The answer is", "Answer:"), else all of it."""
    short = len(text) <= SPAN_MEMO_MAX_CHARS
    if short:
        span = _SPANS.get(text)
        if span is not None:
            return span
    r = rules()
    low = text.lower()
    if not any(k in low for k in r.prefix_keywords):
        span = text.strip()
    else:
        span = _prefixed_span(text, r)
    if short:
        if len(_SPANS) >= SPAN_MEMO_SIZE:
            _SPANS.clear()
        _SPANS[text] = span
    return span


def _prefixed_span(text: str, r: Rules) -> str:
    """answer_span of a text holding a prefix keyword: after the last prefix match, if any."""
    last = None
    for m in r.prefixes.finditer(text):
        last = m
    if last is None:
        return text.strip()
    tail = text[last.end():].strip()
    return tail or text.strip()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


# --- labels and choices ----------------------------------------------------------------------
def _letter_choice(text: str, choices: Sequence[str]) -> str | None:
    n = len(choices)
    for pat in rules().choice:
        m = pat.search(text)
        if m:
            idx = ord(m.group(1).upper()) - ord("A")
            if 0 <= idx < n:
                return choices[idx]
    return None


@lru_cache(maxsize=4096)
def _option_keys(options: tuple[str, ...]) -> dict[str, str]:
    """normalised option -> option (memoised: a task's label vocabulary is the same each time).

    Options written with their letter ("A. Paris", "(B) Rome") are also keyed without it.
    """
    keys: dict[str, str] = {}
    for o in options:
        keys.setdefault(normalize_label(o), o)
        m = _OPTION_LETTER.match(o)  # anchored: what .sub("", o) removes, at most once
        if m is not None and m.end():
            keys.setdefault(normalize_label(o[m.end():]), o)
    return keys


_OPTION_LETTER = re.compile(r"^\s*[(\[]?[A-Z][.):\]]\s+")


def _has_word(hay: str, key: str) -> bool:
    """`key` occurs in `hay` not glued to a letter or digit on either side (no regex compile)."""
    start = hay.find(key)
    while start >= 0:
        end = start + len(key)
        if (start == 0 or not hay[start - 1].isalnum()) and (end == len(hay) or not hay[end].isalnum()):
            return True
        start = hay.find(key, start + 1)
    return False


def _mentions(text: str, options: Sequence[str]) -> list[str]:
    """Options that occur in `text` as whole words (longest first, nested ones dropped)."""
    return _vocabulary(options if isinstance(options, tuple) else tuple(options)).mentions(text)


INDEX_MIN_OPTIONS = 32
"""From this many options on, mentions are found by looking the text's word spans up in an index
instead of searching the text once per option (a 1,000-label vocabulary: ~240 us per answer)."""
_NOT_ALNUM = re.compile(r"[\W_]")  # exactly the characters for which str.isalnum() is False


class _Vocabulary:
    """A task's options prepared once: exact-match keys (at once), the mention search order and
    index (on first use: most answers match an option or a letter exactly, and per-question
    choices are prepared for every question)."""

    def __init__(self, by_key: dict[str, str], n_options: int) -> None:
        self.by_key = by_key
        """normalised option -> option (see _option_keys)."""
        self._n_options = n_options

    @cached_property
    def yes_no(self) -> bool:
        """Every option is a yes/no word."""
        r = rules()
        return set(self.by_key) <= r.yes | r.no

    @cached_property
    def keyed(self) -> tuple[tuple[str, str], ...]:
        """(key, option), longest key first, ties in option order: the order mentions are taken."""
        return tuple(sorted(self.by_key.items(), key=lambda ko: -len(ko[0])))

    @cached_property
    def index(self) -> dict[str, tuple[int, str]] | None:
        """key -> (position in `keyed`, option); None for small option lists (scanning is faster)."""
        if self._n_options < INDEX_MIN_OPTIONS:
            return None
        return {key: (rank, opt) for rank, (key, opt) in enumerate(self.keyed) if key}

    @cached_property
    def longest(self) -> int:
        return max((len(k) for k, _ in self.keyed), default=0)

    def mentions(self, text: str) -> list[str]:
        low = normalize_label(text)
        if self.index is None:
            found: list[tuple[str, str]] = []
            for key, opt in self.keyed:
                if key and _has_word(low, key) and not any(key in f for f, _ in found):
                    found.append((key, opt))
            return [opt for _, opt in found]
        return self._indexed_mentions(low)

    def _indexed_mentions(self, low: str) -> list[str]:
        """Mentions by look-up: a key occurs as a whole word exactly when it equals a span of the
        text that starts and ends at a word boundary (not glued to a letter or digit), so every
        such span up to the longest key's length is looked up; hits are then taken in the search
        order with the same nesting rule as the scan."""
        assert self.index is not None
        index, longest = self.index, self.longest
        breaks = [m.start() for m in _NOT_ALNUM.finditer(low)]
        starts = [0, *(p + 1 for p in breaks)]
        ends = [*breaks, len(low)]
        n_ends = len(ends)
        hits: dict[int, str] = {}
        e0 = 0
        for i in starts:
            while e0 < n_ends and ends[e0] <= i:
                e0 += 1
            e = e0
            while e < n_ends and ends[e] - i <= longest:
                hit = index.get(low[i:ends[e]])
                if hit is not None:
                    hits[hit[0]] = low[i:ends[e]]
                e += 1
        found: list[tuple[str, str]] = []
        for rank in sorted(hits):
            key = hits[rank]
            if not any(key in f for f, _ in found):
                found.append((key, index[key][1]))
        return [opt for _, opt in found]


@lru_cache(maxsize=4096)
def _vocabulary(options: tuple[str, ...]) -> _Vocabulary:
    """The options' look-up structures (memoised: a task asks with the same options each time)."""
    return _Vocabulary(_option_keys(options), len(options))


def parse_yes_no(text: str) -> ParseResult:
    span = answer_span(clean(text))
    words = re.findall(r"[\w']+|[^\w\s]", span.lower())
    if not words:
        return _fail("empty output")
    for w in (words[0], normalize_label(_first_line(span))):
        if w in rules().yes:
            return ParseResult("yes", True)
        if w in rules().no:
            return ParseResult("no", True)
    return _fail(f"no yes/no answer in {span[:40]!r}")


def parse_label(text: str, choices: Sequence[str] | None = None,
                labels: Sequence[str] | None = None) -> ParseResult:
    """A choice (its option text) or a class label from `labels`; free label text otherwise."""
    span = answer_span(clean(text))
    if not span:
        return _fail("empty output")
    line = _first_line(span)
    options = tuple(choices or labels or ())
    if options:
        vocab = _vocabulary(options)
        by_key = vocab.by_key
        # a one-line answer (most) is its own first line: each look-up below once, not twice
        candidates = (line,) if line == span else (line, span)
        for candidate in candidates:
            hit = by_key.get(normalize_label(candidate))
            if hit is not None:
                return ParseResult(hit, True)
        if choices:
            first = _letter_choice(line, choices)
            hit = first or (_letter_choice(span, choices) if line != span else first)
            if hit is not None:
                return ParseResult(hit, True)
        if vocab.yes_no:
            yn = parse_yes_no(span)
            if yn.ok:
                match = [o for k, o in by_key.items() if (k in rules().yes) == (yn.value == "yes")]
                if match:
                    return ParseResult(match[0], True)
        for candidate in candidates:
            found = vocab.mentions(candidate)
            if len(found) == 1:
                return ParseResult(found[0], True)
            if len(found) > 1:
                return _fail(f"ambiguous: mentions {len(found)} options")
        return _fail(f"no option matches {line[:40]!r}")
    value = line.strip().rstrip(".。")
    return ParseResult(value, True) if value else _fail("empty output")


# --- numbers ---------------------------------------------------------------------------------
_NUM_RE = re.compile(r"(?<![\w.])[-−+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?"
                     r"(?:\s*/\s*\d+)?")


@lru_cache(maxsize=1)
def _number_words() -> re.Pattern:
    """A run of number words ("twenty-one", "two hundred and five"), compiled once."""
    r = rules()
    vocab = "|".join(sorted((*r.words, *r.scales), key=len, reverse=True))
    return re.compile(rf"\b(?:{vocab})(?:(?:[\s-]+|\s+and\s+)(?:{vocab}))*\b", re.IGNORECASE)


def _words_to_digits(text: str) -> str:
    """'twenty-one apples' -> '21 apples'; 'two hundred' -> '200'."""
    r = rules()
    pattern = _number_words()

    def convert(m: re.Match) -> str:
        total = current = 0
        for w in re.split(r"[\s-]+", m.group(0).lower()):
            if w == "and":
                continue
            if w in r.words:
                current += r.words[w]
            elif w in r.scales:
                scale = r.scales[w]
                if scale == 100:
                    current = max(current, 1) * 100
                else:
                    total += max(current, 1) * scale
                    current = 0
        return str(total + current)

    return pattern.sub(convert, text)


def _numbers(text: str) -> list[float]:
    out = []
    for m in _NUM_RE.finditer(_words_to_digits(text)):
        s = m.group(0).replace("−", "-").replace(",", "").replace(" ", "")
        if not s or not any(c.isdigit() for c in s):
            continue
        try:
            if "/" in s:
                a, b = s.split("/")
                value = float(a) / float(b)
            else:
                value = float(s)
        except (ValueError, ZeroDivisionError):
            continue
        if math.isfinite(value):
            out.append(value)
    return out


def parse_number(text: Any) -> ParseResult:
    """One number: after an answer prefix the first one, otherwise `number_pick` (last)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return ParseResult(float(text), True) if math.isfinite(text) else _fail("not finite")
    body = clean(str(text))
    span = answer_span(body)
    nums = _numbers(span)
    if not nums:
        return _fail(f"no number in {span[:40]!r}")
    if span != body or rules().number_pick == "first":
        return ParseResult(nums[0], True)
    return ParseResult(nums[-1], True)


def parse_number_series(text: Any) -> ParseResult:
    if isinstance(text, (list, tuple)):
        try:
            values = [float(v) for v in text]
        except (TypeError, ValueError):
            return _fail("series holds a non-number")
        return ParseResult(values, True)
    body = answer_span(clean(str(text)))
    loaded = _json(body)
    if isinstance(loaded, list):
        return parse_number_series(loaded)
    nums = _numbers(body)
    return ParseResult(nums, True) if nums else _fail("no numbers")


# --- label sets ------------------------------------------------------------------------------
def _json(text: str) -> Any:
    m = re.search(r"[\[{].*[\]}]", text, re.DOTALL)
    if not m:
        return None
    try:
        return json.loads(m.group(0))
    except ValueError:
        return None


def parse_label_set(text: Any, labels: Sequence[str] | None = None) -> ParseResult:
    """A list of labels: a JSON list, or text split on the first separator that occurs."""
    if isinstance(text, (list, tuple)):
        return ParseResult([x if isinstance(x, (dict, list)) else str(x) for x in text], True)
    body = answer_span(clean(str(text)))
    if normalize_label(body) in rules().empty_set or not body.strip():
        return ParseResult([], True)
    loaded = _json(body) if body.lstrip()[:1] in "[{" else None
    if isinstance(loaded, list):
        return parse_label_set(loaded)
    r = rules()
    parts = r.separator.split(body)
    items = [r.list_marker.sub("", p).strip().strip("\"'") for p in parts]
    items = [i for i in items if normalize_label(i)]
    if labels:
        by_key = _label_keys(labels if isinstance(labels, tuple) else tuple(labels))
        items = [by_key.get(normalize_label(i), i) for i in items]
    return ParseResult(items, True)


@lru_cache(maxsize=4096)
def _label_keys(labels: tuple[str, ...]) -> dict[str, str]:
    """normalised label -> label, the last one winning (memoised: a task's vocabulary is the
    same for every answer; callers only read it)."""
    return {normalize_label(lab): lab for lab in labels}


# --- boxes -----------------------------------------------------------------------------------
def _box_from_json(obj: dict) -> dict | None:
    label = str(obj.get("label", obj.get("category", "")))
    score = obj.get("score", 1.0)
    try:
        if "bbox" in obj:
            x, y, w, h = (float(v) for v in obj["bbox"])
        elif "xyxy" in obj or "box_2d" in obj or "box" in obj:
            x1, y1, x2, y2 = (float(v) for v in obj.get("xyxy", obj.get("box_2d", obj.get("box"))))
            x, y, w, h = x1, y1, x2 - x1, y2 - y1
        else:
            return None
        score = float(score)
    except (TypeError, ValueError):
        return None
    return {"bbox": [x, y, w, h], "label": label, "score": score}


def parse_boxes(text: Any, labels: Sequence[str] | None = None) -> ParseResult:
    """COCO boxes [{"bbox": [x, y, w, h], "label", "score"}] from JSON or bracketed numbers.

    Bracketed text boxes use rules.yaml `text_box_format` (xyxy corners by default); each gets
    the label written just before it when one of `labels` is, else the only label, else "".
    """
    if isinstance(text, list) and all(isinstance(b, dict) for b in text):
        boxes = [_box_from_json(b) for b in text]
        if any(b is None for b in boxes):
            return _fail("a box lacks 'bbox' (xywh) or 'xyxy'")
        return ParseResult(boxes, True)
    body = clean(str(text))
    loaded = _json(body)
    if isinstance(loaded, dict):
        loaded = [loaded]
    if isinstance(loaded, list) and loaded and all(isinstance(b, dict) for b in loaded):
        return parse_boxes(loaded, labels)
    r = rules()
    boxes = []
    prev_end = 0
    for m in r.text_box.finditer(body):
        a, b, c, d = (float(v) for v in m.groups())
        x, y, w, h = (a, b, c - a, d - b) if r.text_box_format == "xyxy" else (a, b, c, d)
        before = body[prev_end:m.start()]
        found = _mentions(before, labels) if labels else []
        label = found[0] if found else (labels[0] if labels and len(labels) == 1 else "")
        boxes.append({"bbox": [x, y, w, h], "label": label, "score": 1.0})
        prev_end = m.end()
    if not boxes:
        if normalize_label(body) in r.empty_set:
            return ParseResult([], True)
        return _fail("no box found")
    return ParseResult(boxes, True)


# --- entry point -----------------------------------------------------------------------------
def _json_candidates(text: str):
    """Every decodable JSON array or object in the text, longest first from its first bracket."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "[{":
            try:
                value, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            yield value


_NO_VALUE = object()


def _whole_json(text: str) -> Any:
    """The JSON value `text` holds from its first to its last character, as json decodes it
    (through orjson where that is the same, data/fastjson.py), else _NO_VALUE. When there is
    one, it is the first of _json_candidates: raw_decode at the first bracket decodes the same
    value and stops at the end."""
    from generalbench.data import fastjson

    try:
        return fastjson.loads(text, json.loads)
    except (ValueError, RecursionError):
        return _NO_VALUE


def parse_json_value(output_type: str, text: Any) -> ParseResult:
    """A structured native value (track, poses, 3-D boxes) from JSON in a model's text output.

    Already-decoded values (from a predictions file) are only checked. The first JSON value in
    the answer span that is a valid value of the type wins, so prose around it is tolerated.
    """
    from generalbench.data.native import check_native

    if not isinstance(text, str):
        err = check_native(output_type, text)
        return ParseResult(text, True) if err is None else _fail(f"not a {output_type}: {err}")
    body = answer_span(clean(text))
    first_error = None
    if body[:1] in "[{" and body[-1:] in "]}":  # the answer is one JSON value (most): orjson
        whole = _whole_json(body)                # decodes the first candidate of the loop
        if whole is not _NO_VALUE:
            if output_type == "boxes3d" and isinstance(whole, dict):
                whole = [whole]
            if check_native(output_type, whole) is None:
                return ParseResult(whole, True)
    for value in _json_candidates(body):
        if output_type == "boxes3d" and isinstance(value, dict):
            value = [value]
        err = check_native(output_type, value)
        if err is None:
            return ParseResult(value, True)
        first_error = first_error or err
    if first_error:
        return _fail(f"JSON is not a {output_type}: {first_error}")
    return _fail(f"no JSON {output_type} found")


def parse(output_type: str, text: Any, *, choices: Sequence[str] | None = None,
          labels: Sequence[str] | None = None) -> ParseResult:
    """Parse one model output into the native value of `output_type`. Never raises on content.

    choices: the options of a multiple-choice question (letters A, B, ... index them); labels:
    the class vocabulary of a classification task. Non-text types (mask, image, track, ...)
    are already native values or file references: they pass through unchanged.
    """
    if text is None:
        return _fail("no prediction")
    try:
        if output_type == "number":
            return parse_number(text)
        if output_type == "number_series":
            return parse_number_series(text)
        if output_type == "label_set":
            return parse_label_set(text, labels)
        if output_type == "boxes":
            return parse_boxes(text, labels)
        if output_type in JSON_TYPES:
            return parse_json_value(output_type, text)
        if output_type not in TEXT_TYPES:
            if isinstance(text, str) and not text.strip():
                return _fail("empty output")
            return ParseResult(text, True)
        if not isinstance(text, str):
            text = json.dumps(text, ensure_ascii=False) if isinstance(text, (dict, list)) else str(text)
        if output_type == "yes_no":
            return parse_yes_no(text)
        if output_type == "label":
            return parse_label(text, choices, labels)
        # Free text (captions, stories, code): answer prefixes are left in place, since
        # "Output:" or "Answer:" inside generated text or code is content, not a wrapper.
        body = clean(text)
        if not body:
            return _fail("empty output")
        return ParseResult(body, True)
    except (ValueError, TypeError, re.error) as exc:  # defensive: content must never crash
        return _fail(f"{type(exc).__name__}: {exc}")
