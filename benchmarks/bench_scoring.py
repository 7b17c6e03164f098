"""Scoring speed: a synthetic full-size General-Bench prediction set (325,876 instances over the
catalog's text, label, label-set and number tasks), scored by generalbench's pipeline and by a
straightforward per-instance implementation of the same metrics measured in the same run.

    .venv/bin/python benchmarks/bench_scoring.py [--instances 325876] [--seed 0] [--skip-baseline]

Both sides parse every raw model output with `generalbench.answers.parse` (the same work), then
score: generalbench through `runner.score.score_task` (registry metrics), the baseline the way
the official recipe and the reference libraries do it, one instance at a time: nltk
`sentence_bleu` (method 4), per-sentence BLEU-4 n-gram counting, rouge-score's `RougeScorer` (given our tokenizer so
both sides compute the same numbers), pycocoevalcap's `Cider`, the SQuAD script's F1/EM, a
dynamic-programming Levenshtein for ANLS, Python loops for label F1 and errors. The script checks
that both sides agree on every task and prints instances/s, the ratio and the peak RSS.
CodeBLEU (2 tasks, a tree-sitter extra, identical library call on both sides) is left out.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import string
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from generalbench.answers import parse
from generalbench.answers.parse import answer_span
from generalbench.catalog import Task, load_catalog
from generalbench.metrics import compute_detailed
from generalbench.metrics._tokenize import bleu_tokens, rouge_tokens, word_tokens
from generalbench.runner.score import metric_options, score_task

FULL_SIZE = 325_876
METRICS = {"accuracy", "em_at_1", "macro_accuracy", "token_f1", "span_f1", "micro_f1", "bleu1",
           "bleu4", "rouge1", "rougeL", "cider", "anls", "f_score", "mae", "rmse"}

WORDS = ("the a man woman dog cat red blue green small large runs sits walks on in near with of "
         "street park table car bicycle tree house water sky people two three holding playing "
         "looking white black young old building field ball grass sunny beach wooden chair "
         "window door mountain river city night morning light boat bird").split()


@dataclass
class Inst:
    """The slice of generalbench.data.Instance that scoring reads."""

    id: str
    target: Any
    inputs: dict


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    n = rng.randint(lo, hi)
    words = [WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] if rng.random() < 0.5
             else rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _perturb(rng: random.Random, text: str, keep: float) -> str:
    words = text.rstrip(".").split()
    out = [w if rng.random() < keep else rng.choice(WORDS) for w in words if rng.random() < 0.92]
    if rng.random() < 0.3:
        out += rng.sample(WORDS, 3)
    return " ".join(out) + "."


def make_task(task: Task, n: int, rng: random.Random) -> tuple[list[Inst], dict[str, Any]]:
    """n synthetic instances with references and raw model outputs in the task's native type."""
    insts: list[Inst] = []
    preds: dict[str, Any] = {}
    labels = [f"class {c}" for c in string.ascii_lowercase[:rng.randint(2, 8)]]
    for i in range(n):
        iid = str(i)
        r = rng.random()
        if task.metric in ("mae", "rmse"):
            ref = float(rng.randint(0, 120))
            guess = max(0, int(ref + rng.gauss(0, 6)))
            out = (f"I count {guess} objects in the image." if r < 0.85 else
                   "twelve" if r < 0.95 else "I cannot tell.")
            insts.append(Inst(iid, ref, {}))
        elif task.output == "label_set":
            pool = [f"label {c}" for c in string.ascii_lowercase[:12]]
            ref = rng.sample(pool, rng.randint(0, 4))
            pred = [x for x in ref if rng.random() < 0.7] + rng.sample(pool, rng.randint(0, 2))
            out = ", ".join(pred) if pred else "None"
            insts.append(Inst(iid, ref, {}))
        elif task.output == "label":
            choices = None
            if task.metric == "accuracy" and i % 2 == 0:  # multiple choice with options
                choices = [_sentence(rng, 2, 5) for _ in range(4)]
                k = rng.randrange(4)
                ref = choices[k]
                j = k if r < 0.6 else rng.randrange(4)
                out = rng.choice([f"The answer is ({'ABCD'[j]}).", f"{'ABCD'[j]}",
                                  f"Answer: {choices[j]}", f"I think {'ABCD'[j]}. {choices[j]}"])
            else:
                ref = rng.choice(labels)
                guess = ref if r < 0.6 else rng.choice(labels)
                out = rng.choice([guess, f"{guess.capitalize()}.", f"The label is {guess}",
                                  f"Answer: {guess}"]) if r < 0.95 else "I am not sure."
            insts.append(Inst(iid, ref, {"choices": choices} if choices else {}))
        else:  # text
            if task.metric in ("accuracy", "em_at_1", "token_f1", "anls"):
                ref = [_sentence(rng, 1, 4).rstrip(".") for _ in range(rng.randint(1, 3))]
                out = (ref[0] if r < 0.4 else _perturb(rng, ref[0], 0.7) if r < 0.9
                       else "Final answer: " + ref[-1])
            elif task.metric in ("rouge1", "rougeL"):
                ref = _sentence(rng, 25, 70)
                out = _perturb(rng, ref, 0.6)
            else:
                ref = [_sentence(rng, 8, 22) for _ in range(5 if task.metric == "cider" else 1)]
                ref = ref if len(ref) > 1 else ref[0]
                out = _perturb(rng, ref[0] if isinstance(ref, list) else ref, 0.6)
            insts.append(Inst(iid, ref, {}))
        if rng.random() > 0.005:  # a few instances have no prediction at all
            preds[iid] = out
    return insts, preds


# --- baseline: one instance at a time, official-recipe style ----------------------------------
def _squad_norm(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _squad_f1(p: str, g: str) -> float:
    pt, gt = _squad_norm(p).split(), _squad_norm(g).split()
    if not pt or not gt:
        return float(pt == gt)
    same = sum((Counter(pt) & Counter(gt)).values())
    if same == 0:
        return 0.0
    pr, rc = same / len(pt), same / len(gt)
    return 2 * pr * rc / (pr + rc)


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class _Tok:
    def tokenize(self, text: str) -> list[str]:
        return rouge_tokens(text)


def _refs(r: Any) -> list[str]:
    return list(r) if isinstance(r, list) else [r]


def _norm_label(x: str) -> str:
    return " ".join(x.casefold().split()).strip(" \t\"'`.,;:!?()[]{}<>*")


def parse_task(task: Task, insts: list[Inst], preds: dict[str, Any]) -> tuple[list, list]:
    """Parsed predictions (None when missing or unparseable) and references, as score_task does."""
    vals: list[Any] = []
    refs: list[Any] = []
    vocab = sorted({x for i in insts for x in (i.target if isinstance(i.target, list) else [i.target])
                    if isinstance(x, str)}) if task.output in ("label", "label_set") else None
    for inst in insts:
        ch = inst.inputs.get("choices")
        res = parse(task.output, preds[inst.id], choices=ch, labels=None if ch else vocab) \
            if inst.id in preds else None
        vals.append(res.value if res is not None and res.ok else None)
        refs.append(inst.target)
    return vals, refs


def baseline_task(task: Task, vals: list[Any], refs: list[Any]) -> float:
    """The task's metric, one instance at a time with the reference libraries."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge_score import rouge_scorer

    m = task.metric
    if m in ("mae", "rmse"):
        lo, hi = min(refs), max(refs)
        errs = []
        for p, r in zip(vals, refs, strict=True):
            if p is None:
                p = lo if r - lo >= hi - r else hi
            errs.append(abs(p - r))
        return sum(errs) / len(errs) if m == "mae" else math.sqrt(sum(e * e for e in errs) / len(errs))
    if m in ("micro_f1", "span_f1"):
        tp = fp = fn = 0
        for p, r in zip(vals, refs, strict=True):
            ps = {_norm_label(x) for x in ([p] if isinstance(p, str) else p or [])} - {""}
            rs = {_norm_label(x) for x in ([r] if isinstance(r, str) else r)} - {""}
            tp += len(ps & rs)
            fp += len(ps - rs) + (task.output == "label" and not ps)  # single label: a wrong one
            fn += len(rs - ps)
        return 100 * 2 * tp / (2 * tp + fp + fn) if tp else (100.0 if not fp + fn else 0.0)
    if m == "accuracy" and task.output == "label":
        return 100 * sum(p is not None and _norm_label(p) == _norm_label(r)
                         for p, r in zip(vals, refs, strict=True)) / len(refs)
    if m in ("macro_accuracy", "f_score"):
        classes = sorted({_norm_label(r) for r in refs})
        scores = []
        for c in classes:
            tp = sum(1 for p, r in zip(vals, refs, strict=True)
                     if p is not None and _norm_label(p) == c and _norm_label(r) == c)
            n_ref = sum(1 for r in refs if _norm_label(r) == c)
            n_pred = sum(1 for p in vals if p is not None and _norm_label(p) == c)
            scores.append(tp / n_ref if m == "macro_accuracy" else
                          (2 * tp / (n_ref + n_pred) if n_ref + n_pred else 0.0))
        return 100 * sum(scores) / len(scores)
    if m in ("accuracy", "em_at_1"):
        per = []
        for p, r in zip(vals, refs, strict=True):
            if p is None:
                per.append(0.0)
                continue
            def key(x: str) -> str:
                return _squad_norm(x) or "\0" + _norm_label(x)
            p = answer_span(p)  # exact match drops an answer prefix ("Final answer: ...")
            per.append(max(float(key(p) == key(g)) for g in _refs(r)))
        return 100 * sum(per) / len(per)
    if m == "token_f1":
        return 100 * sum(0.0 if p is None else max(_squad_f1(p, g) for g in _refs(r))
                         for p, r in zip(vals, refs, strict=True)) / len(refs)
    if m == "anls":
        per = []
        for p, r in zip(vals, refs, strict=True):
            best = 0.0
            for g in _refs(r) if p is not None else []:
                a, b = " ".join(p.lower().split()), " ".join(g.lower().split())
                nl = _lev(a, b) / max(len(a), len(b), 1)
                best = max(best, 1 - nl if nl < 0.5 else 0.0)
            per.append(best)
        return 100 * sum(per) / len(per)
    if m == "bleu1":
        sm = SmoothingFunction().method4
        per = []
        for p, r in zip(vals, refs, strict=True):
            hyp = word_tokens(p) if p is not None else []
            per.append(max(sentence_bleu([word_tokens(g)], hyp, weights=(1, 0, 0, 0),
                                         smoothing_function=sm) if hyp else 0.0
                           for g in _refs(r)))
        return 100 * sum(per) / len(per)
    if m == "bleu4":  # per sentence, summed (nltk's corpus_bleu minus its short-sentence quirk)
        def cap(s: str) -> list[str]:
            return [t for t in bleu_tokens(s.lower()) if t[0].isalnum() or len(t) > 1]
        num, den, hl, rl = [0] * 4, [0] * 4, 0, 0
        for p, r in zip(vals, refs, strict=True):
            hyp = cap(p) if p is not None else []
            rs = [cap(g) for g in _refs(r)]
            hl += len(hyp)
            rl += min((len(x) for x in rs), key=lambda k: (abs(k - len(hyp)), k))
            for n in range(1, 5):
                hc = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
                mx: Counter = Counter()
                for x in rs:
                    mx |= Counter(tuple(x[i:i + n]) for i in range(len(x) - n + 1))
                num[n - 1] += sum(min(c, mx[g]) for g, c in hc.items())
                den[n - 1] += sum(hc.values())
        if min(num) == 0:
            return 0.0
        bp = 1.0 if hl > rl else math.exp(1 - rl / hl)
        return 100 * bp * math.exp(sum(math.log(a / b) for a, b in zip(num, den, strict=True)) / 4)
    if m in ("rouge1", "rougeL"):
        scorer = rouge_scorer.RougeScorer([m], tokenizer=_Tok())
        return 100 * sum(0.0 if p is None else max(scorer.score(g, p)[m].fmeasure for g in _refs(r))
                         for p, r in zip(vals, refs, strict=True)) / len(refs)
    if m == "cider":
        from pycocoevalcap.cider.cider import Cider

        def cap2(s: str) -> str:
            return " ".join(t for t in bleu_tokens(s.lower()) if t[0].isalnum() or len(t) > 1)
        gts = {i: [cap2(g) for g in _refs(r)] for i, r in enumerate(refs)}
        res = {i: [cap2(p) if p is not None else ""] for i, p in enumerate(vals)}
        return 100 * Cider().compute_score(gts, res)[0]
    raise AssertionError(m)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=FULL_SIZE)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args(argv)

    catalog = load_catalog()
    tasks = [t for t in catalog if t.metric in METRICS
             and t.output in ("text", "label", "label_set", "number")]
    base, extra = divmod(args.instances, len(tasks))
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    data = [(t, *make_task(t, base + (i < extra), rng)) for i, t in enumerate(tasks)]
    total = sum(len(insts) for _, insts, _ in data)
    print(f"synthetic set: {total} instances over {len(tasks)} tasks "
          f"({Counter(t.metric for t in tasks).most_common()}) built in "
          f"{time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    import nltk.stem.porter  # noqa: F401  (both sides use nltk/scipy; import them outside the timing)
    import pycocoevalcap.cider.cider  # noqa: F401
    import rouge_score.rouge_scorer  # noqa: F401
    import scipy.stats  # noqa: F401
    print(f"library imports (not timed below): {time.perf_counter() - t0:.1f} s")

    # 1. the whole pipeline (parse + decode + metric + per-instance rows), the < 60 s target
    t0, c0 = time.perf_counter(), time.process_time()
    fast: dict[str, float | None] = {}
    for task, insts, preds in data:
        detail, _ = score_task(task, insts, preds)
        fast[task.id] = detail.raw
    t_pipe, c_pipe = time.perf_counter() - t0, time.process_time() - c0
    print(f"generalbench pipeline (parse + metrics): {t_pipe:.2f} s wall, {c_pipe:.2f} s CPU, "
          f"{total / t_pipe:,.0f} instances/s, peak RSS {peak_rss_mb():.0f} MB")
    if None in fast.values():
        print("error: some tasks were not scored", file=sys.stderr)
        return 1

    # 2. parsing alone (identical input to both metric implementations below)
    t0 = time.perf_counter()
    parsed = [(task, *parse_task(task, insts, preds)) for task, insts, preds in data]
    t_parse = time.perf_counter() - t0
    print(f"  of which answer parsing: {t_parse:.2f} s")

    # 3. metrics alone: generalbench's registry implementations
    t0, c0 = time.perf_counter(), time.process_time()
    for task, vals, refs in parsed:
        compute_detailed(task.metric, vals, refs, **metric_options(task, []))
    t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0
    print(f"generalbench metrics: {t_fast:.2f} s wall, {c_fast:.2f} s CPU, "
          f"{total / t_fast:,.0f} instances/s")
    if args.skip_baseline:
        return 0

    # 4. metrics alone: the per-instance baseline on the same parsed values
    t0, c0 = time.perf_counter(), time.process_time()
    worst = 0.0
    per_metric: dict[str, float] = {}
    for task, vals, refs in parsed:
        t1 = time.perf_counter()
        b = baseline_task(task, vals, refs)
        per_metric[task.metric] = per_metric.get(task.metric, 0.0) + time.perf_counter() - t1
        worst = max(worst, abs(b - fast[task.id]))
        if abs(b - fast[task.id]) > 1e-6 * max(1.0, abs(b)):
            print(f"MISMATCH {task.id} ({task.metric}): baseline {b!r} vs generalbench "
                  f"{fast[task.id]!r}", file=sys.stderr)
    t_base, c_base = time.perf_counter() - t0, time.process_time() - c0
    print(f"baseline metrics:     {t_base:.2f} s wall, {c_base:.2f} s CPU, "
          f"{total / t_base:,.0f} instances/s "
          f"(per metric: {', '.join(f'{k} {v:.1f}s' for k, v in sorted(per_metric.items()))})")
    print(f"max |baseline - generalbench| over {len(parsed)} tasks: {worst:.2e}")
    print(f"speed-up, metrics: {t_base / t_fast:.1f}x wall, {c_base / c_fast:.1f}x CPU; whole "
          f"pipeline vs parse + baseline metrics: {(t_parse + t_base) / t_pipe:.1f}x wall; "
          f"peak RSS {peak_rss_mb():.0f} MB; load average {os.getloadavg()[0]:.1f}")
    return 0 if worst <= 1e-6 * 100 else 1


if __name__ == "__main__":
    sys.exit(main())
