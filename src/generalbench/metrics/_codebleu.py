"""CodeBLEU as the `codebleu` package computes it, with a data-flow match that does not depend on
PYTHONHASHSEED.

Why this exists: the package merges the parent variables of a data-flow edge with
`list(set(names))` (codebleu/parser/DFG.py for loops and branches, and
dataflow_match.get_data_flow), so the order of the names, and with it the normalised `var_i`
numbering that decides which edges match, changes with the string hash seed. One task's CodeBLEU
moved between 71.52 and 71.80 from run to run. Here those two modules see an insertion-ordered
`set` while the data flow is extracted (names in order of first appearance, duplicates dropped:
one of the orders the package can produce, and the same one every run); everything else (BLEU,
keyword-weighted BLEU, syntax match, tokenizer, keyword lists) is the package's own code.

Second difference, on purpose: the package replaces a data-flow score of 0 by 1
(`dataflow_match_score or 1`), meant for a corpus whose references have no data flow at all, but
it also fires when the references do have data flow and nothing matches, so a corpus of empty
predictions scored 25. Here a score of 0 stays 0; when the references have no data flow, the
component is left out and the other three weights are rescaled to sum to the same total.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_PATCH_LOCK = threading.Lock()


class _OrderedSet(dict):
    """The part of `set` the package's data-flow code uses (construct, add, in, iterate, len),
    iterating in insertion order instead of hash order."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(dict.fromkeys(items))

    def add(self, item: Any) -> None:
        self[item] = None


@contextmanager
def _insertion_ordered_sets() -> Iterator[None]:
    """Let the package's data-flow modules see `_OrderedSet` as `set` for the duration."""
    from codebleu import dataflow_match
    from codebleu.parser import DFG

    with _PATCH_LOCK:
        for module in (DFG, dataflow_match):
            module.set = _OrderedSet  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for module in (DFG, dataflow_match):
                del module.set  # type: ignore[attr-defined]


def _dataflow_match(references: Sequence[Sequence[str]], candidates: Sequence[str], lang: str,
                    tree_sitter_language: Any) -> float | None:
    """Corpus data-flow match (the package's rule, set order fixed); None when the references
    have no data-flow edges."""
    from codebleu import dataflow_match as dm
    from codebleu.parser import remove_comments_and_docstrings
    from tree_sitter import Parser

    parser = Parser()
    parser.language = tree_sitter_language
    pair = [parser, dm.dfg_function[lang]]

    def edges(code: str) -> list[tuple[Any, ...]]:
        try:
            code = remove_comments_and_docstrings(code, lang)
        except Exception:  # noqa: BLE001 - the package ignores unparsable comments the same way
            pass
        return dm.normalize_dataflow(dm.get_data_flow(code, pair))

    matched = total = 0
    with _insertion_ordered_sets():
        for refs, cand in zip(references, candidates, strict=True):
            cand_base = edges(cand)
            for ref in refs:
                ref_edges = edges(ref)
                cand_edges = list(cand_base)
                total += len(ref_edges)
                for edge in ref_edges:
                    if edge in cand_edges:
                        matched += 1
                        cand_edges.remove(edge)
    return matched / total if total else None


def corpus_codebleu(references: Sequence[Sequence[str]], predictions: Sequence[str], lang: str,
                    weights: tuple[float, float, float, float]) -> dict[str, float | None]:
    """Corpus CodeBLEU in [0, 1] and its four components, keyed as `calc_codebleu` keys them
    (the data-flow component is None when the references have no data flow)."""
    from codebleu import bleu, syntax_match, weighted_ngram_match
    from codebleu.codebleu import PACKAGE_DIR
    from codebleu.utils import AVAILABLE_LANGS, get_tree_sitter_language

    if lang not in AVAILABLE_LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(AVAILABLE_LANGS)}")
    language = get_tree_sitter_language(lang)
    refs = [[r.strip() for r in group] for group in references]
    hyps = [p.strip() for p in predictions]
    tok_hyps = [h.split() for h in hyps]
    tok_refs = [[r.split() for r in group] for group in refs]
    ngram = bleu.corpus_bleu(tok_refs, tok_hyps)
    keywords = set((PACKAGE_DIR / "keywords" / f"{lang}.txt").read_text(encoding="utf-8").split())
    weighted_refs = [[[toks, {t: 1 if t in keywords else 0.2 for t in toks}] for toks in group]
                     for group in tok_refs]
    weighted = weighted_ngram_match.corpus_bleu(weighted_refs, tok_hyps)
    syntax = syntax_match.corpus_syntax_match(refs, hyps, lang, tree_sitter_language=language)
    flow = _dataflow_match(refs, hyps, lang, language)
    alpha, beta, gamma, theta = weights
    if flow is None:
        scale = (alpha + beta + gamma + theta) / (alpha + beta + gamma)
        alpha, beta, gamma, theta = alpha * scale, beta * scale, gamma * scale, 0.0
    score = alpha * ngram + beta * weighted + gamma * syntax + theta * (flow or 0.0)
    return {"codebleu": score, "ngram_match_score": ngram, "weighted_ngram_match_score": weighted,
            "syntax_match_score": syntax,
            "dataflow_match_score": flow}
