"""Scoring speed, end to end: `generalbench score` from files on disk against a plain per-instance
scorer reading the same files, on a synthetic General-Bench prediction set shaped like the catalog.

    python benchmarks/bench_scoring.py                 # 325,876 instances over the catalog mix
    python benchmarks/bench_scoring.py --scale 0.05    # a quick run (5% of the instances)
    python benchmarks/bench_scoring.py --dense         # peak memory of one 1,000-map dense task

What is measured (each side in its own process, wall time, and CPU time and peak RSS from
wait4, which include the worker processes a process waited for):
- generalbench: `python -m generalbench score PRED --data DATA --out OUT --jobs N` (start-up,
  reading the annotations and predictions, parsing, decoding, every metric, writing
  instances.jsonl, tasks.json/csv and report.json), with N the usable CPUs (the CLI's default)
  and with N = 1 (one process, like the baseline). The headline ratio is the wall time of the
  whole process, what a user waits for; CPU ratios are printed next to it. Every side runs
  `--repeat` times (default 2), interleaved, and each side's best round is compared (the ratio
  of every round is printed too): this shared VM's speed drifts by up to 1.5x between runs;
- the baseline: what a competent engineer would write without generalbench, in this file
  (`--baseline-run`): json.load of the same files, the same answer parsing
  (generalbench.answers.parse: both sides do the same parsing work), then per instance the
  reference libraries: nltk `sentence_bleu` (method 4), BLEU-4 n-gram counts, rouge-score's
  `RougeScorer` (given generalbench's tokenizer so both compute the same numbers), pycocoevalcap's
  `Cider`, the official SQuAD v1.1 script's normaliser and F1 as published, a dynamic-programming
  Levenshtein for ANLS, Python loops for label F1 and errors, pycocotools' COCOeval for box AP;
  it writes one line per instance and the per-task values.
The script fails (exit 1) unless both sides agree on every task's value. It also times the metric
step alone (parsed values in memory, both sides) and prints every ratio and the peak RSS.

The mix: the catalog's tasks whose metric needs no model and whose output is text, label
(vocabularies of 2 to 1,000 labels), label set, number or boxes (AP, AP50, AP75, AP10), in the
catalog's proportions, plus the catalog's masks, mask videos, point labels, depth maps and
videos, optical flow, point clouds and tracks (benchmarks/_dense_mix.py, which states their sizes;
their baseline is benchmarks/_dense_baseline.py, and the metric step alone leaves them out).
`--dense` measures the memory of a 1,000-map mask task and depth task (benchmarks/bench_memory.py).
CodeBLEU (a tree-sitter extra, the same library call on both sides) is left out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _dense_baseline import score_task as dense_baseline
from _dense_mix import DENSE_METRICS, dense_tasks, write_dense_tasks

from generalbench.metrics._tokenize import bleu_tokens, rouge_tokens

if TYPE_CHECKING:
    from generalbench.catalog import Task

FULL_SIZE = 325_876
METRICS = {"accuracy", "em_at_1", "macro_accuracy", "token_f1", "span_f1", "micro_f1", "bleu1",
           "bleu4", "rouge1", "rougeL", "cider", "anls", "f_score", "mae", "rmse",
           "ap", "ap50", "ap75", "ap10"}
OUTPUTS = ("text", "label", "label_set", "number", "boxes")
BOX_THRESHOLDS: dict[str, list[float] | None] = {"ap": None, "ap50": [0.5], "ap75": [0.75],
                                                 "ap10": [0.1]}

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
    if task.output == "label":  # realistic vocabularies: mostly small, some up to 1,000 labels
        size = rng.choice([2, 3, 4, 5, 8, 10, 20, 50, 100, 300, 1000])
        labels = [f"class {_sentence(rng, 1, 2).rstrip('.').lower()} {k}" for k in range(size)]
    box_labels = [f"object {c}" for c in string.ascii_lowercase[:rng.choice([1, 1, 3, 10])]]
    for i in range(n):
        iid = str(i)
        r = rng.random()
        if task.output == "boxes":
            ref = []
            for _ in range(rng.randint(1, 4)):
                x, y = rng.uniform(0, 500), rng.uniform(0, 400)
                ref.append({"bbox": [round(x, 1), round(y, 1), round(rng.uniform(8, 120), 1),
                                     round(rng.uniform(8, 120), 1)],
                            "label": rng.choice(box_labels)})
            out = [{"bbox": [round(v + rng.gauss(0, 4), 2) for v in b["bbox"]],
                    "label": b["label"] if rng.random() < 0.9 else rng.choice(box_labels),
                    "score": round(rng.random(), 3)} for b in ref if rng.random() < 0.85]
            out += [{"bbox": [round(rng.uniform(0, 500), 1), round(rng.uniform(0, 400), 1),
                              30.0, 20.0], "label": rng.choice(box_labels),
                     "score": round(rng.random(), 3)} for _ in range(rng.randint(0, 2))]
            insts.append(Inst(iid, ref, {}))
        elif task.metric in ("mae", "rmse"):
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
    """normalize_answer of the official SQuAD v1.1 evaluate script, as published."""
    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text: str) -> str:
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


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
        from generalbench.answers.parse import answer_span  # exact match drops "Final answer:"

        per = []
        for p, r in zip(vals, refs, strict=True):
            if p is None:
                per.append(0.0)
                continue
            def key(x: str) -> str:
                return _squad_norm(x) or "\0" + _norm_label(x)
            pk = key(answer_span(p))
            per.append(max(float(pk == key(g)) for g in _refs(r)))
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
            hyp = bleu_tokens(p) if p is not None else []
            per.append(max(sentence_bleu([bleu_tokens(g)], hyp, weights=(1, 0, 0, 0),
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
    if m in BOX_THRESHOLDS:
        return _baseline_coco(vals, refs, BOX_THRESHOLDS[m])
    raise AssertionError(m)


def _baseline_coco(vals: list[Any], refs: list[Any], thrs: list[float] | None) -> float:
    """COCO AP with pycocotools' COCOeval, the reference implementation, once per task."""
    import contextlib
    import io

    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    agnostic = len({_box_label(b) for r in refs for b in r}) <= 1
    cats: dict[str, int] = {}
    images, gts, dts = [], [], []
    for img, (p, r) in enumerate(zip(vals, refs, strict=True), start=1):
        images.append({"id": img})
        for b in r:
            x, y, w, h = (float(v) for v in b["bbox"])
            c = cats.setdefault("" if agnostic else _box_label(b), len(cats) + 1)
            gts.append({"id": len(gts) + 1, "image_id": img, "bbox": [x, y, w, h], "area": w * h,
                        "iscrowd": int(b.get("iscrowd", 0)), "category_id": c})
        for b in p or []:
            x, y, w, h = (float(v) for v in b["bbox"])
            c = cats.setdefault("" if agnostic else _box_label(b), len(cats) + 1)
            dts.append({"image_id": img, "bbox": [x, y, max(w, 0.0), max(h, 0.0)],
                        "score": float(b.get("score", 1.0)), "category_id": c})
    if not gts or not dts:
        return 100.0 if not gts and not dts else 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": gts,
                      "categories": [{"id": i} for i in cats.values()]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dts), "bbox")
        if thrs is not None:
            ev.params.iouThrs = np.asarray(thrs, dtype=float)
        ev.params.maxDets = [100]
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, :, 0, -1]
    return float(prec[prec > -1].mean() * 100.0) if (prec > -1).any() else 0.0


def _box_label(b: dict) -> str:
    return " ".join(str(b.get("label", "") or "").lower().split())




# --- files on disk ------------------------------------------------------------------------------
def _task_dir(root: Path, task: Task) -> Path:
    folder = re.sub(r"[^A-Za-z0-9]+", "-", task.task_name).strip("-") or task.id
    if task.paradigm == "language":
        return root / "nlp" / folder
    return root / task.modality / task.paradigm / folder


def write_files(data: list[tuple[Task, list[Inst], dict[str, Any]]], root: Path) -> tuple[Path, Path]:
    """The dataset (generalbench's annotation schema) and a predictions folder, as a run writes."""
    from generalbench.data.predictions import PredictionWriter

    data_root, pred_root = root / "data", root / "predictions"
    for task, insts, _ in data:
        folder = _task_dir(data_root, task)
        folder.mkdir(parents=True, exist_ok=True)
        records = [{"id": i.id, "input": {"prompt": "...", **i.inputs},
                    "output": {"answer": i.target}} for i in insts]
        (folder / "annotation.json").write_text(json.dumps(
            {"task": task.task_name, "type": task.output, "version": "bench", "data": records}),
            "utf-8")
    with PredictionWriter(pred_root, model="bench", fsync=False) as writer:
        for task, _, preds in data:
            for iid, value in preds.items():
                writer.add(task.id, iid, value)
    return data_root, pred_root


_LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    cmd = json.loads(line)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps({"wall": time.perf_counter() - t0, "code": os.waitstatus_to_exitcode(status),
                      "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}),
          flush=True)
"""
_launcher: subprocess.Popen | None = None


def start_launcher() -> None:
    """Start the small process that runs the measured commands, before this one grows.

    Why: a child's peak RSS (ru_maxrss) includes what it had mapped before exec, i.e. a copy of
    its parent; launched from this process once it holds the synthetic set in memory, every
    measured command would report this process's size instead of its own.
    """
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run a command; its wall time, CPU time and peak RSS (its own and its waited-for
    workers', from wait4), launched from the small launcher process when it runs."""
    if _launcher is not None and _launcher.stdin is not None and _launcher.stdout is not None:
        _launcher.stdin.write(json.dumps(cmd) + "\n")
        _launcher.stdin.flush()
        res = json.loads(_launcher.stdout.readline())
    else:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        res = {"wall": time.perf_counter() - t0, "code": os.waitstatus_to_exitcode(status),
               "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}
    if res["code"] != 0:
        raise SystemExit(f"error: {' '.join(cmd[:4])} ... exited with {res['code']}")
    return {k: res[k] for k in ("wall", "cpu", "rss_mb")}


def _compile_bytecode() -> None:
    """Byte-compile generalbench as `pip install` does, so neither side's timing includes
    compiling its source (both import it; PYTHONDONTWRITEBYTECODE would make every run pay)."""
    import generalbench

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(generalbench.__file__).parent)],
                   check=False, stdout=subprocess.DEVNULL,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# --- the baseline process -----------------------------------------------------------------------
def baseline_run(data_root: Path, pred_root: Path, out: Path) -> int:
    """Read the dataset and predictions as plain JSON, parse, score per instance, write results."""
    from generalbench.answers import parse
    from generalbench.catalog import load_catalog

    by_name = {t.task_name: t for t in load_catalog()}
    values: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "instances.jsonl", "w", encoding="utf-8") as rows:
        for ann in sorted(data_root.glob("**/annotation.json")):
            doc = json.loads(ann.read_text("utf-8"))
            task = by_name[doc["task"]]
            preds: dict[str, Any] = {}
            pfile = pred_root / f"{task.id}.jsonl"
            if pfile.exists():
                with open(pfile, encoding="utf-8") as fh:
                    for line in fh:
                        rec = json.loads(line)
                        preds[rec["id"]] = rec["prediction"]
            if DENSE_METRICS.get(task.metric) == task.output:  # benchmarks/_dense_baseline.py
                values[task.id] = dense_baseline(task.metric, doc, ann.parent, preds, pred_root,
                                                 rows, task.id)
                continue
            insts = [Inst(str(r["id"]), r["output"]["answer"],
                          {k: v for k, v in r["input"].items() if k == "choices"})
                     for r in doc["data"]]
            vals, refs = parse_task(task, insts, preds, parse)
            values[task.id] = baseline_task(task, vals, refs)
            for inst, v in zip(insts, vals, strict=True):
                rows.write(json.dumps({"task": task.id, "id": inst.id, "prediction": v}) + "\n")
    (out / "tasks.json").write_text(json.dumps(values, indent=1), "utf-8")
    return 0


def parse_task(task: Task, insts: list[Inst], preds: dict[str, Any], parse: Any = None
               ) -> tuple[list, list]:
    """Parsed predictions (None when missing or unparseable) and references, as score_task does."""
    if parse is None:
        from generalbench.answers import parse
    vals: list[Any] = []
    refs: list[Any] = []
    vocab = sorted({x for i in insts for x in (i.target if isinstance(i.target, list) else [i.target])
                    if isinstance(x, str)}) if task.output in ("label", "label_set") else None
    for inst in insts:
        ch = inst.inputs.get("choices")
        if task.output == "boxes":
            p = preds.get(inst.id)
            vals.append(p if p is not None else None)
            refs.append(inst.target)
            continue
        res = parse(task.output, preds[inst.id], choices=ch, labels=None if ch else vocab) \
            if inst.id in preds else None
        vals.append(res.value if res is not None and res.ok else None)
        refs.append(inst.target)
    return vals, refs


# --- the metric step alone (parsed values in memory) ---------------------------------------------
def metric_step(data: list[tuple[Task, list[Inst], dict[str, Any]]]) -> dict[str, float]:
    import nltk.translate.bleu_score  # noqa: F401  (library imports outside the timing, both sides)
    import pycocoevalcap.cider.cider  # noqa: F401
    import rouge_score.rouge_scorer  # noqa: F401
    import scipy.stats  # noqa: F401

    from generalbench.metrics import compute_detailed
    from generalbench.runner.score import metric_options

    warm = [(t, *parse_task(t, i[:3], p)) for t, i, p in {t.metric: (t, i, p) for t, i, p in data}.values()]
    for task, vals, refs in warm:
        compute_detailed(task.metric, vals, refs, **metric_options(task, []))
        baseline_task(task, vals, refs)
    t0 = time.process_time()
    parsed = [(task, *parse_task(task, insts, preds)) for task, insts, preds in data]
    t_parse = time.process_time() - t0
    t0 = time.process_time()
    for task, vals, refs in parsed:
        compute_detailed(task.metric, vals, refs, **metric_options(task, []))
    t_gb = time.process_time() - t0
    t0 = time.process_time()
    per_metric: Counter = Counter()
    for task, vals, refs in parsed:
        t1 = time.process_time()
        baseline_task(task, vals, refs)
        per_metric[task.metric] += time.process_time() - t1
    t_base = time.process_time() - t0
    print(f"  metric step alone (CPU): parsing {t_parse:.2f} s; generalbench metrics {t_gb:.2f} s, "
          f"baseline metrics {t_base:.2f} s: {t_base / max(t_gb, 1e-9):.1f}x")
    print("    baseline per metric: " + ", ".join(f"{k} {v:.1f}s" for k, v in per_metric.most_common()))
    return {"parse": t_parse, "generalbench": t_gb, "baseline": t_base}


# --- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of the full 325,876 instances (0.05 for a quick run)")
    ap.add_argument("--instances", type=int, default=None, help="exact instance count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="folder for the files (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--jobs", type=int, default=None,
                    help="generalbench score --jobs N (default: usable CPUs, as the CLI); "
                         "--jobs 1 is measured too")
    ap.add_argument("--repeat", type=int, default=2,
                    help="rounds of (generalbench --jobs 1, --jobs N, baseline), interleaved; each "
                         "side's best round is compared (the VM's speed drifts between runs; best "
                         "of R damps that for both sides alike)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-metric-step", action="store_true")
    ap.add_argument("--dense", action="store_true", help="only the dense-task memory check")
    ap.add_argument("--dense-instances", type=int, default=1000)
    ap.add_argument("--dense-side", type=int, default=512)
    ap.add_argument("--baseline-run", nargs=3, type=Path, metavar=("DATA", "PRED", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline_run:
        return baseline_run(*args.baseline_run)
    start_launcher()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.dense:
            from bench_memory import dense_memory

            return dense_memory(work, args.dense_instances, args.dense_side, args.seed)
        return _bench(args, work)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path) -> int:
    from generalbench.catalog import load_catalog
    from generalbench.metrics.specs import get_spec

    n_total = args.instances or max(1, round(FULL_SIZE * args.scale))
    tasks = [t for t in load_catalog() if t.metric in METRICS and t.output in OUTPUTS
             and get_spec(t.metric).needs == "none"]
    dense = dense_tasks(load_catalog())
    base, extra = divmod(n_total, len(tasks) + len(dense))
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    data = [(t, *make_task(t, base + (i < extra), rng)) for i, t in enumerate(tasks)]
    for d in (work / "data", work / "predictions", work / "out-generalbench", work / "out-baseline"):
        shutil.rmtree(d, ignore_errors=True)
    data_root, pred_root = write_files(data, work)
    total = sum(len(insts) for _, insts, _ in data) + write_dense_tasks(
        dense, [base + (len(tasks) + j < extra) for j in range(len(dense))], data_root, pred_root,
        _task_dir, args.seed)
    tasks = tasks + dense
    print(f"synthetic set: {total:,} instances over {len(tasks)} tasks "
          f"(outputs {dict(Counter(t.output for t in tasks).most_common())}; metrics "
          f"{dict(Counter(t.metric for t in tasks).most_common())}) written in "
          f"{time.perf_counter() - t0:.0f} s to {work}")

    _compile_bytecode()
    jobs = args.jobs or _usable_cpus()
    sides = [f"jobs{n}" for n in sorted({1, jobs})] + ([] if args.skip_baseline else ["baseline"])
    rounds: list[dict[str, dict[str, float]]] = []
    for rnd in range(1, max(1, args.repeat) + 1):  # interleaved: a slow spell hits every side
        rounds.append({})
        for side in sides:
            if side == "baseline":
                cmd = [sys.executable, __file__, "--baseline-run", str(data_root), str(pred_root),
                       str(work / "out-baseline")]
                label = "baseline, one process (whole path):"
            else:
                n = int(side[4:])  # --jobs 1: the single-process CPU; --jobs N: what a user sees
                out = work / ("out-generalbench" if n == jobs else f"out-generalbench-jobs{n}")
                cmd = [sys.executable, "-m", "generalbench", "score", str(pred_root), "--data",
                       str(data_root), "--out", str(out), "--format", "json", "--jobs", str(n)]
                label = f"generalbench score --jobs {n} (whole path, own process tree):"
            r = rounds[-1][side] = run_measured(cmd)
            print(f"round {rnd}: {label} {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
                  f"{total / r['wall']:,.0f} instances/s, peak RSS {r['rss_mb']:.0f} MB")
    best = {side: min((r[side] for r in rounds), key=lambda m: m["wall"]) for side in sides}
    gb, one = best[f"jobs{jobs}"], best["jobs1"]
    if args.skip_baseline:
        return 0
    bl = best["baseline"]
    per_round = ", ".join(f"{r['baseline']['wall'] / r[f'jobs{jobs}']['wall']:.1f}x" for r in rounds)

    ours = {t["id"]: t["raw"] for t in
            json.loads((work / "out-generalbench" / "tasks.json").read_text("utf-8"))}
    theirs = json.loads((work / "out-baseline" / "tasks.json").read_text("utf-8"))
    bad = [(k, v, ours.get(k)) for k, v in theirs.items()
           if ours.get(k) is None or abs(v - ours[k]) > 1e-6 * max(1.0, abs(v))]
    worst = max((abs(v - ours[k]) for k, v in theirs.items() if ours.get(k) is not None), default=0.0)
    for k, b, g in bad[:20]:
        print(f"MISMATCH {k}: baseline {b!r} vs generalbench {g!r}", file=sys.stderr)
    print(f"agreement: {len(theirs) - len(bad)}/{len(theirs)} tasks, max |difference| {worst:.1e}")
    print(f"SPEED-UP, whole path, wall of the whole process (the user-facing figure), best of "
          f"{len(rounds)} round(s) each, `score --jobs {jobs}` {gb['wall']:.1f} s vs the baseline "
          f"{bl['wall']:.1f} s: {bl['wall'] / gb['wall']:.1f}x (target >= 5x; per round: "
          f"{per_round}; generalbench < 60 s: {'yes' if gb['wall'] < 60 else 'NO'}; peak RSS "
          f"{gb['rss_mb']:.0f} MB vs {bl['rss_mb']:.0f} MB)")
    print(f"  CPU, `--jobs {jobs}` (workers included) vs the baseline: {bl['cpu'] / gb['cpu']:.1f}x; "
          f"`--jobs 1` vs the baseline: {bl['cpu'] / one['cpu']:.1f}x CPU, "
          f"{bl['wall'] / one['wall']:.1f}x wall; {_usable_cpus()} usable CPUs, load average "
          f"{os.getloadavg()[0]:.1f} (a loaded machine shrinks what --jobs can gain)")
    if not args.skip_metric_step:
        metric_step(data)
    if bad or len(theirs) != len(tasks):
        print(f"error: {len(bad)} task(s) disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
