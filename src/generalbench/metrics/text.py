"""Text, label and label-set metrics: exact match, F1 family, BLEU, ROUGE, CIDEr-D, ANLS, CodeBLEU.

Inputs follow docs/contracts.md: a prediction is a `str` (a label set a `list[str]`) or `None`
when the model's answer could not be parsed; `None` always scores as wrong. A reference may be a
list of acceptable strings (the best match counts). Values are percent (0-100).

Why not call nltk/rouge-score per instance: the full benchmark is ~326k instances and those
libraries cost 100-300 us per pair (Fractions, four n-gram orders, re-tokenising). Here each
metric is a short closed form over token Counters with memoised stemming, checked against those
libraries in tests/metrics/test_text*.py. Definitions and deviations: docs/metrics.md.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from generalbench.errors import MetricError
from generalbench.metrics._tokenize import (
    answer_tokens,
    bleu_tokens,
    normalize_answer,
    normalize_label,
    rouge_tokens,
    word_tokens,
)
from generalbench.metrics.registry import MetricResult, register


# --- helpers -------------------------------------------------------------------------------
def _refs(ref: Any) -> list[str]:
    """A reference as a non-empty list of acceptable strings."""
    if isinstance(ref, (list, tuple)):
        out = [str(r) for r in ref if r is not None]
        return out or [""]
    return ["" if ref is None else str(ref)]


def _mean_result(per: list[float], **details: Any) -> MetricResult:
    value = math.fsum(per) / len(per) if per else 0.0
    return MetricResult(value, per, details)


def _best(scores: Iterable[float]) -> float:
    return max(scores, default=0.0)


def _clipped_matches(tokens: Sequence[str], ref: Sequence[str]) -> int:
    """Multiset overlap of two token lists: sum over shared tokens of the smaller count (BLEU's
    clipped unigram matches, ROUGE-1's overlap), counted by using up the reference's counts
    token by token (a plain dict: building two Counters cost more than the whole count on
    sentence-length lists)."""
    counts: dict[str, int] = {}
    get = counts.get
    for w in ref:
        counts[w] = get(w, 0) + 1
    matches = 0
    for w in tokens:
        n = get(w)
        if n:
            counts[w] = n - 1
            matches += 1
    return matches


# --- exact match ---------------------------------------------------------------------------
def _match_key(text: str, normalize: str) -> str:
    if normalize == "label":
        return normalize_label(text)
    if normalize == "none":
        return text.strip()
    key = normalize_answer(text)
    # "A" or "the" normalise to "" (articles): fall back to the label form so that a choice
    # letter still has to match itself.
    return key if key else "\0" + normalize_label(text)


def exact_match_scores(predictions: Sequence[Any], references: Sequence[Any],
                       normalize: str = "answer") -> list[float]:
    """100 where the normalised prediction equals any normalised reference, else 0.

    An exact-match answer is short by definition, so an answer prefix ("Final answer:",
    "Output:") in front of it is dropped here; free-text parsing leaves such prefixes alone.
    """
    from generalbench.answers.parse import answer_span

    # labels and short answers repeat within a task: each distinct text is normalised once
    pred_keys: dict[str, str] = {}
    ref_keys: dict[str, str] = {}
    out = []
    for pred, ref in zip(predictions, references, strict=True):
        text = str(pred)
        key = pred_keys.get(text)
        if key is None:
            key = pred_keys[text] = _match_key(answer_span(text), normalize)
        hit = False
        for r in _refs(ref):
            rk = ref_keys.get(r)
            if rk is None:
                rk = ref_keys[r] = _match_key(r, normalize)
            if rk == key:
                hit = True
                break
        out.append(100.0 if hit else 0.0)
    return out


@register("accuracy", "em_at_1")
def accuracy(predictions: Sequence[Any], references: Sequence[Any], *,
             normalize: str = "answer", **_: Any) -> MetricResult:
    """Exact-match accuracy, in percent.

    normalize: "answer" (SQuAD normalisation: case, punctuation, articles, spaces; default),
    "label" (case/space/surrounding punctuation only, for class labels and choice letters) or
    "none" (strip only: the official recipe).
    """
    return _mean_result(exact_match_scores(predictions, references, normalize))


@register("exact_sql")
def exact_sql(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Exact SQL match after case-folding and whitespace/semicolon normalisation."""

    def norm(sql: str) -> str:
        return " ".join(sql.replace(";", " ").lower().split())

    per = [100.0 * any(norm(str(p)) == norm(r) for r in _refs(ref))
           for p, ref in zip(predictions, references, strict=True)]
    return _mean_result(per)


@register("macro_accuracy")
def macro_accuracy(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Mean over reference classes of the per-class accuracy (balanced accuracy), percent."""
    hits: dict[str, list[int]] = {}
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        gold = normalize_label(_refs(ref)[0])
        ok = pred is not None and normalize_label(str(pred)) == gold
        stats = hits.setdefault(gold, [0, 0])
        stats[0] += ok
        stats[1] += 1
        per.append(100.0 * ok)
    value = 100.0 * math.fsum(h / n for h, n in hits.values()) / len(hits) if hits else 0.0
    return MetricResult(value, None, {"instance_scores": per, "classes": len(hits)})


# --- F1 family -----------------------------------------------------------------------------
def _f1(common: float, n_pred: int, n_ref: int) -> float:
    if n_pred == 0 or n_ref == 0:
        return 100.0 if n_pred == n_ref else 0.0
    if common == 0:
        return 0.0
    p, r = common / n_pred, common / n_ref
    return 100.0 * 2 * p * r / (p + r)


@register("token_f1")
def token_f1(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """SQuAD token F1 (normalised answers, multiset overlap), best reference, mean, percent."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        pt = answer_tokens(str(pred))
        best = 0.0
        for r in _refs(ref):
            rt = answer_tokens(r)
            common = _clipped_matches(pt, rt)
            best = max(best, _f1(common, len(pt), len(rt)))
        per.append(best)
    return _mean_result(per)


def _item_key(item: Any) -> str:
    """Canonical, hashable form of one label or structured span (dict/list of fields)."""
    if isinstance(item, str):
        return normalize_label(item)
    if isinstance(item, dict):
        return json.dumps({str(k): _item_key(v) for k, v in sorted(item.items())},
                          ensure_ascii=False, sort_keys=True)
    if isinstance(item, (list, tuple)):
        return json.dumps([_item_key(v) for v in item], ensure_ascii=False)
    return normalize_label(str(item))


def label_set(value: Any, separator: str = "<p>") -> frozenset[str]:
    """A label set from a list (or a `separator`-joined string, the official format).

    Each item is normalised (normalize_label); empty items are dropped, duplicates merged.
    """
    if value is None:
        return frozenset()
    items = value.split(separator) if isinstance(value, str) else value
    if isinstance(items, dict):
        items = [items]
    keys = {normalize_label(i) if isinstance(i, str) else _item_key(i) for i in items}
    keys.discard("")
    return frozenset(keys)


def _single_label(predictions: Sequence[Any], references: Sequence[Any], separator: str) -> bool:
    """Whether every reference and prediction is one plain label (a classification task).

    An empty string is read as the official multi-label form of "no labels", not as a label.
    """
    def one(x: Any) -> bool:
        return isinstance(x, str) and bool(x.strip()) and separator not in x

    return all(one(r) for r in references) and all(p is None or one(p) for p in predictions)


def _set_f1(predictions: Sequence[Any], references: Sequence[Any], separator: str) -> MetricResult:
    """Micro F1 over label sets. On a single-label corpus a missing or unreadable prediction
    (None) still stands for one wrong label, a false positive as much as a label outside the
    reference set is, so micro-F1 equals accuracy there (the official scorer's
    `"<p>"`-split sets give the same: one predicted item per instance)."""
    single = _single_label(predictions, references, separator)
    tp = fp = fn = 0
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        ps = label_set(pred, separator)
        rs = label_set(ref, separator)
        t = len(ps & rs)
        tp += t
        fp += len(ps) - t + (single and not ps)
        fn += len(rs) - t
        per.append(_f1(t, len(ps), len(rs)))
    value = _f1(tp, tp + fp, tp + fn)
    return MetricResult(value, None, {"instance_scores": per, "tp": tp, "fp": fp, "fn": fn})


@register("micro_f1")
def micro_f1(predictions: Sequence[Any], references: Sequence[Any], *, separator: str = "<p>",
             **_: Any) -> MetricResult:
    """Micro-F1 over label sets: TP/FP/FN summed over the corpus, percent.

    The official recipe (sets split on '<p>', corpus sums) with its faults fixed: every label is
    normalised on both sides (the official code lowercases only references and never strips
    items), empty labels are dropped, and a corpus with no gold and no predicted labels scores
    100 instead of 0. A plain string is split on `separator`; a single label is a 1-item set.
    """
    return _set_f1(predictions, references, separator)


@register("span_f1")
def span_f1(predictions: Sequence[Any], references: Sequence[Any], *, separator: str = "<p>",
            **_: Any) -> MetricResult:
    """Micro F1 over extracted spans (entities, relations, events, labels), percent.

    Spans may be strings or structured records (dicts/lists of fields, e.g. {"type", "text"});
    a span counts as correct only when every field matches after label normalisation.
    """
    return _set_f1(predictions, references, separator)


POSITIVE_LABELS = ("yes", "true", "1", "positive", "sarcastic", "sarcasm", "pos")


@register("f_score")
def f_score(predictions: Sequence[Any], references: Sequence[Any], *, positive: str | None = None,
            **_: Any) -> MetricResult:
    """F1 of the positive class for binary labels (macro-F1 over classes otherwise), percent.

    positive: the positive label; by default the reference class found in POSITIVE_LABELS
    (yes/true/1/positive/sarcastic ...) when there are two classes.
    """
    gold = [normalize_label(_refs(r)[0]) for r in references]
    pred = [normalize_label(str(p)) for p in predictions]
    classes = sorted(set(gold))
    if positive is None and len(classes) <= 2:
        positive = next((c for c in POSITIVE_LABELS if c in classes), None)
    targets = [normalize_label(positive)] if positive is not None else classes
    f1s = []
    for c in targets:
        tp = sum(1 for p, g in zip(pred, gold, strict=True) if p == c and g == c)
        n_pred = sum(1 for p in pred if p == c)
        n_gold = sum(1 for g in gold if g == c)
        f1s.append(_f1(tp, n_pred, n_gold) if (n_pred or n_gold) else 0.0)
    per = [100.0 * (p == g) for p, g in zip(pred, gold, strict=True)]
    value = math.fsum(f1s) / len(f1s) if f1s else 0.0
    return MetricResult(value, None, {"instance_scores": per,
                                      "average": "binary" if positive is not None else "macro",
                                      "positive": positive})


# --- BLEU ----------------------------------------------------------------------------------
def bleu1_pair(hyp: Sequence[str], ref: Sequence[str]) -> float:
    """Sentence BLEU-1 of one hypothesis against one reference, as a fraction.

    Equals nltk `sentence_bleu([ref], hyp, weights=(1, 0, 0, 0), smoothing_function=method4)`:
    with unigram weights only, smoothing never applies (nltk returns 0 when no unigram matches),
    so BLEU-1 = brevity penalty x clipped unigram precision.
    """
    c = len(hyp)
    if c == 0:
        return 0.0
    matches = _clipped_matches(hyp, ref)
    if matches == 0:
        return 0.0
    r = len(ref)
    bp = 1.0 if c > r else math.exp(1.0 - r / c)
    return bp * matches / c


@register("bleu1")
def bleu1(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Sentence-level BLEU-1 (official recipe: nltk smoothing method 4, best single reference,
    mean over instances) x100, on the tokens of `nltk.word_tokenize` as the official scorer uses
    it (_tokenize.word_tokens: "self.items", "e.g." and "..." stay whole)."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        hyp = word_tokens(str(pred))
        if type(ref) is str:  # one reference (most): no list, no generator
            per.append(100.0 * bleu1_pair(hyp, word_tokens(ref)))
        else:
            per.append(100.0 * _best(bleu1_pair(hyp, word_tokens(r)) for r in _refs(ref)))
    return _mean_result(per)


def _caption_tokens(text: str) -> list[str]:
    """Lowercased words without punctuation (the coco-caption PTB tokenizer's output form)."""
    return [t for t in bleu_tokens(text.lower()) if t[0].isalnum() or len(t) > 1]


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]],
                max_n: int = 4) -> float:
    """Corpus BLEU-N with uniform weights and no smoothing (nltk `corpus_bleu`), a fraction.

    Clipped n-gram counts and hypothesis lengths are summed over the corpus; the reference length
    is the closest reference length per sentence (shorter on ties). Unlike nltk (which adds 1 to
    an order's denominator for a sentence too short to hold an n-gram of it, so that a corpus of
    perfect answers containing a one-word answer scores below 100), such a sentence adds nothing,
    as in coco-caption; the brevity penalty still counts its length.
    """
    num = [0] * max_n
    den = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, rs in zip(hyps, refs, strict=True):
        hyp_len += len(hyp)
        ref_len += min((len(r) for r in rs), key=lambda n: (abs(n - len(hyp)), n), default=0)
        for n in range(1, max_n + 1):
            hc = _ngrams(hyp, n)
            if not hc:
                continue
            den[n - 1] += sum(hc.values())
            best: Counter = Counter()
            for r in rs:
                best |= _ngrams(r, n)
            num[n - 1] += sum(min(c, best[g]) for g, c in hc.items())
    if num[0] == 0 or any(v == 0 for v in num):
        return 0.0
    log_p = math.fsum(math.log(a / b) for a, b in zip(num, den, strict=True)) / max_n
    bp = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    return bp * math.exp(log_p)


@register("bleu4")
def bleu4(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """Corpus BLEU-4 (coco-caption convention: lowercased, punctuation dropped, all references),
    x100. Failed predictions arrive as empty hypotheses (on_failure: empty: they add reference
    length, no matches)."""
    hyps = [_caption_tokens(str(p)) for p in predictions]
    refs = [[_caption_tokens(r) for r in _refs(ref)] for ref in references]
    return MetricResult(100.0 * corpus_bleu(hyps, refs, 4), None, {"aggregate": "corpus"})


# --- ROUGE ---------------------------------------------------------------------------------
def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Hyyrö 2004): O(len(b)) big-int
    operations instead of the O(len(a) * len(b)) table rouge-score builds."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        m = masks.get(tok)
        if m is None:
            continue
        u = v & m
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _rouge_f(overlap: int, n_pred: int, n_ref: int) -> float:
    if n_pred == 0 or n_ref == 0 or overlap == 0:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def rouge_pair(pred: Sequence[str], ref: Sequence[str], kind: str) -> float:
    """ROUGE-1 or ROUGE-L F-measure of two token lists, a fraction (rouge-score's formulas)."""
    if kind == "rouge1":
        overlap = _clipped_matches(pred, ref)
    else:
        overlap = lcs_length(ref, pred)
    return _rouge_f(overlap, len(pred), len(ref))


def _rouge(predictions: Sequence[Any], references: Sequence[Any], kind: str,
           stem: bool) -> MetricResult:
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        pt = rouge_tokens(str(pred), stem)
        if type(ref) is str:  # one reference (most): no list, no generator
            per.append(100.0 * rouge_pair(pt, rouge_tokens(ref, stem), kind))
        else:
            per.append(100.0 * _best(rouge_pair(pt, rouge_tokens(r, stem), kind)
                                     for r in _refs(ref)))
    return _mean_result(per)


@register("rouge1")
def rouge1(predictions: Sequence[Any], references: Sequence[Any], *, stem: bool = True,
           **_: Any) -> MetricResult:
    """ROUGE-1 F-measure (rouge-score formulas, Porter stemming), best reference, mean, x100."""
    return _rouge(predictions, references, "rouge1", stem)


@register("rougeL")
def rouge_l(predictions: Sequence[Any], references: Sequence[Any], *, stem: bool = True,
            **_: Any) -> MetricResult:
    """ROUGE-L (sentence-level LCS) F-measure, stemming, best reference, mean, x100."""
    return _rouge(predictions, references, "rougeL", stem)


# --- CIDEr-D -------------------------------------------------------------------------------
def _cook(tokens: Sequence[str], n: int) -> Counter:
    counts: Counter = Counter()
    for k in range(1, n + 1):
        counts.update(tuple(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
    return counts


def cider_d_scores(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]],
                   n: int = 4, sigma: float = 6.0) -> np.ndarray:
    """Per-instance CIDEr-D (coco-caption's `CiderScorer`, the variant reported as "CIDEr"):
    tf-idf n-gram vectors with document frequencies from the references of this corpus,
    hypothesis weights clipped at the reference's, a Gaussian length penalty (length counted
    as coco-caption does, in bigrams), averaged over n = 1..4 and over references, x10."""
    crefs = [[_cook(r, n) for r in rs] for rs in refs]
    df: Counter = Counter()
    for rs in crefs:
        df.update({g for r in rs for g in r})
    log_n = math.log(max(1, len(crefs)))
    log_df: dict[tuple, float] = {g: math.log(max(1.0, c)) for g, c in df.items()}

    def vec(counts: Counter) -> tuple[dict, list[float], int]:
        v: dict[tuple, float] = {}
        norm = [0.0] * n
        length = 0
        for g, tf in counts.items():
            w = tf * (log_n - log_df.get(g, 0.0))
            v[g] = w
            k = len(g) - 1
            norm[k] += w * w
            if k == 1:
                length += tf
        return v, [math.sqrt(x) for x in norm], length

    out = np.zeros(len(hyps))
    for i, (hyp, rs) in enumerate(zip(hyps, crefs, strict=True)):
        hv, hn, hl = vec(_cook(hyp, n))
        total = 0.0
        for r in rs:
            rv, rn, rl = vec(r)
            val = [0.0] * n
            for g, w in hv.items():
                wr = rv.get(g)
                if wr is not None:
                    val[len(g) - 1] += min(w, wr) * wr
            pen = math.exp(-((hl - rl) ** 2) / (2 * sigma ** 2))
            total += sum((val[k] / (hn[k] * rn[k]) if hn[k] and rn[k] else val[k]) * pen
                         for k in range(n)) / n
        out[i] = 10.0 * total / len(rs) if rs else 0.0
    return out


@register("cider")
def cider(predictions: Sequence[Any], references: Sequence[Any], **_: Any) -> MetricResult:
    """CIDEr-D x100 (coco-caption convention: lowercased words, punctuation dropped), mean of
    per-instance scores; failed predictions arrive as empty captions (score 0)."""
    hyps = [_caption_tokens(str(p)) for p in predictions]
    refs = [[_caption_tokens(r) for r in _refs(ref)] for ref in references]
    per = (100.0 * cider_d_scores(hyps, refs)).tolist()
    return _mean_result(per)


# --- ANLS ----------------------------------------------------------------------------------
def _levenshtein(a: str, b: str) -> int:
    """Edit distance (rapidfuzz, a core dependency: C speed for the ANLS of long strings)."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)


@register("anls")
def anls(predictions: Sequence[Any], references: Sequence[Any], *, threshold: float = 0.5,
         **_: Any) -> MetricResult:
    """Average Normalised Levenshtein Similarity (ST-VQA), x100: per instance the best over
    references of 1 - NL where NL = edit distance / longer length, 0 when NL >= threshold.
    Strings are lowercased and whitespace-collapsed first."""
    per = []
    for pred, ref in zip(predictions, references, strict=True):
        p = " ".join(str(pred).lower().split())
        best = 0.0
        for r in _refs(ref):
            g = " ".join(r.lower().split())
            longest = max(len(p), len(g))
            nl = _levenshtein(p, g) / longest if longest else 0.0
            best = max(best, 1.0 - nl if nl < threshold else 0.0)
        per.append(100.0 * best)
    return _mean_result(per)


# --- CodeBLEU ------------------------------------------------------------------------------
@register("codebleu")
def codebleu(predictions: Sequence[Any], references: Sequence[Any], *, lang: str = "python",
             weights: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25),
             **_: Any) -> MetricResult:
    """Corpus CodeBLEU (the `codebleu` package, as the official recipe), x100.

    Needs the `code` extra (codebleu + a tree-sitter grammar). Unlike the official recipe,
    failures raise MetricError instead of silently scoring 0, the data-flow component does not
    depend on PYTHONHASHSEED, and a data-flow match of 0 counts as 0 (see `_codebleu`).
    """
    try:
        import codebleu as _package  # noqa: F401 - only to say what to install
    except ModuleNotFoundError:
        raise MetricError("metric 'codebleu' needs the codebleu package: "
                          "pip install 'generalbench[code]'") from None
    from generalbench.metrics._codebleu import corpus_codebleu

    preds = [str(p) for p in predictions]
    refs = [_refs(r) for r in references]
    try:
        out = corpus_codebleu(refs, preds, lang=lang, weights=weights)
    except (ImportError, ValueError) as exc:
        raise MetricError(f"metric 'codebleu' ({lang}): {exc}") from None
    return MetricResult(100.0 * float(out["codebleu"]), None,
                        {"aggregate": "corpus",
                         **{k: float(v) for k, v in out.items() if v is not None}})
