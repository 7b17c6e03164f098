"""`generalbench level` on a 100-model score file, whole process, against a plain numpy scorer.

    python benchmarks/bench_level.py                  # 100 models, best of 5
    python benchmarks/bench_level.py --models 300 --repeat 3

What is measured (each command in its own process; wall time, and CPU time and peak RSS from
wait4; best of --repeat runs after one warm-up run of each, which also byte-compiles (into
the work folder, PYTHONDONTWRITEBYTECODE or not: an installed package has its .pyc files) and
caches the parsed metric specs, as any earlier command would have):
- generalbench: `python -m generalbench level FILE` (the table, stdout to a file) and
  `python -m generalbench level FILE --format json`: start-up, reading the CSV, the catalog,
  every model's General-Level scores, ranking, rendering. Target (issue 13): < 0.5 s wall.
- the baseline: what a competent engineer would write without generalbench, in this file
  (`--baseline-run`): csv.reader of the same file, a model x task numpy matrix (NaN = no
  score), then General-Level vectorised over all models at once (docs/scoring.md,
  /work/shared reference general-level.md): normalisation per rule, wins with the tie rule of
  levels.wins (normalised >= SoTA's and the raw value at least as good as the SoTA's raw value),
  per-group means, per-modality Level-2/3/4, overall means, Level-5, the level. pandas is no
  generalbench dependency, so plain csv + numpy. It shares generalbench's catalog (task ids,
  groups, SoTA values, direction) and each metric's NormaliseRule formula (called with np.exp /
  np.tanh on whole columns), as the scoring bench shares answer parsing: the catalog and the
  normalisation constants are data, not scoring logic. It writes its scores as JSON.
The score file: `task,score,model` rows, each model a value for ~80% of the catalog's tasks
(seeded), drawn as SoTA x U(0, 1.3) (percent metrics capped at 100), plus a few exact ties with
the SoTA and raw zeros, so the tie and zero rules are exercised.
The script fails (exit 1) unless, for every model, the baseline and generalbench's JSON agree on
the level, the four overall scores, every modality's Level-2/3/4 and its groups' scores,
synergy scores, supported and win counts, and the language group's (1e-9 absolute on scores;
counts and levels exact). It prints both sides' wall and CPU times, the ratio, the peak RSS and
PASS/FAIL against the 0.5 s target (`--require-target`: a miss exits 1 too). It also times the
floor both sides share (the interpreter importing generalbench's catalog and loading it).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from generalbench.catalog import Catalog

TARGET_S = 0.5
TOL = 1e-9
GROUP_FIELDS = ("total", "supported", "wins", "score", "synergy_score")

# --- the measured commands ------------------------------------------------------------------------
_LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(job["cmd"], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "code": os.waitstatus_to_exitcode(status),
                      "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}),
          flush=True)
"""


class Launcher:
    """A small process that starts the measured commands.

    Why: a child's peak RSS (ru_maxrss) counts what it had mapped before exec, a copy of its
    parent; started from this process once it holds the catalog, every command would report
    this process's size. The launcher is started before this process imports generalbench.
    """

    def __init__(self, pycache: Path) -> None:
        # bytecode as an installed package has it, whatever PYTHONDONTWRITEBYTECODE says: the
        # warm-up run compiles into `pycache`, the measured runs read it (both sides alike)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def run(self, cmd: list[str], stdout: Path) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, "stdout": str(stdout)}) + "\n")
        self.proc.stdin.flush()
        res = json.loads(self.proc.stdout.readline())
        if res["code"] != 0:
            raise SystemExit(f"error: {' '.join(cmd[:5])} ... exited with {res['code']}")
        return {k: res[k] for k in ("wall", "cpu", "rss_mb")}

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


# --- the score file -------------------------------------------------------------------------------
def model_scores(catalog: Catalog, n_models: int, seed: int = 0,
                 coverage: float = 0.8) -> list[tuple[str, dict[str, float]]]:
    """Seeded raw scores per model: ~`coverage` of the tasks, SoTA x U(0, 1.3) (percent capped
    at 100), 2% exact ties with the SoTA and 1% raw zeros (a perfect lower-is-better value,
    an unsupported higher-is-better one)."""
    out = []
    for m in range(n_models):
        rng = random.Random(seed * 1_000_003 + m)
        raw: dict[str, float] = {}
        for t in catalog:
            if rng.random() >= coverage:
                continue
            u = rng.random()
            if u < 0.02:
                v = t.sota
            elif u < 0.03:
                v = 0.0
            else:
                v = t.sota * rng.uniform(0.0, 1.3)
                v = min(v, 100.0) if t.unit == "percent" else v
            raw[t.id] = v
        out.append((f"model-{m:03d}", raw))
    return out


def write_score_file(path: Path, models: list[tuple[str, dict[str, float]]]) -> int:
    """The CSV `level` reads (`task,score,model`); floats as repr, so both sides read the same
    numbers. Returns the row count."""
    n = 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "score", "model"])
        for name, raw in models:
            for task_id, v in raw.items():
                w.writerow([task_id, repr(v), name])
                n += 1
    return n


# --- the baseline ---------------------------------------------------------------------------------
def read_matrix(path: Path, task_ids: list[str]) -> tuple[list[str], np.ndarray]:
    """Models (first-seen order) and their model x task matrix of raw values, NaN = no score."""
    col = {t: i for i, t in enumerate(task_ids)}
    models: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for task, score, model in reader:
            rows.append(models.setdefault(model, len(models)))
            cols.append(col[task])
            vals.append(float(score))
    mat = np.full((len(models), len(task_ids)), np.nan)
    mat[rows, cols] = vals
    return list(models), mat


def _normalise(rules: list[Any], raw: np.ndarray) -> np.ndarray:
    """Every column through its task's rule, vectorised per distinct rule; NaN stays NaN."""
    out = np.full(raw.shape, np.nan)
    by_rule: dict[Any, list[int]] = {}
    for j, r in enumerate(rules):
        by_rule.setdefault(r, []).append(j)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for rule, cols in by_rule.items():
            x = raw[:, cols]
            y = np.asarray(rule.formula(x, np.exp, np.tanh), dtype=float)
            if rule.kind == "sigmoid":
                y = np.where(x == 0, 100.0, y)  # a perfect lower-is-better value
            out[:, cols] = np.where(np.isnan(x), np.nan, np.clip(y, 0.0, 100.0))
    return out


def general_level(catalog: Catalog, raw: np.ndarray) -> list[dict[str, Any]]:
    """General-Level of every model (rows of `raw`, columns in catalog order), all at once."""
    from generalbench.catalog import MODALITIES
    from generalbench.metrics.specs import get_spec

    tasks = list(catalog)
    rules = [get_spec(t.metric).normalise for t in tasks]
    sota = np.array([t.sota for t in tasks], dtype=float)
    higher = np.array([t.direction == "higher" for t in tasks])
    present = ~np.isnan(raw)
    norm = _normalise(rules, raw)
    sota_norm = _normalise(rules, sota[None, :])[0]
    with np.errstate(invalid="ignore"):
        as_good = np.where(higher, raw >= sota, raw <= sota)
        win = present & (norm > 0) & (norm >= sota_norm) & as_good
        supported = present & (norm > 0)
    norm = np.where(present, norm, 0.0)

    def group(modality: str, paradigm: str) -> dict[str, np.ndarray]:
        cols = [j for j, t in enumerate(tasks) if t.modality == modality and t.paradigm == paradigm]
        n = len(cols)
        zeros = np.zeros(raw.shape[0])
        if n == 0:
            return {"total": zeros.astype(int), "supported": zeros.astype(int),
                    "wins": zeros.astype(int), "score": zeros, "synergy_score": zeros}
        x, w = norm[:, cols], win[:, cols]
        return {"total": np.full(raw.shape[0], n), "supported": supported[:, cols].sum(1),
                "wins": w.sum(1), "score": x.sum(1) / n,
                "synergy_score": np.where(w, x, 0.0).sum(1) / n}

    extra = sorted({t.modality for t in tasks} - set(MODALITIES) - {"language"})
    mods = {}
    for m in [*MODALITIES, *extra]:
        c, g = group(m, "comprehension"), group(m, "generation")
        sc, sg = c["synergy_score"], g["synergy_score"]
        with np.errstate(invalid="ignore", divide="ignore"):
            harm = np.where((sc > 0) & (sg > 0),
                            np.minimum(2 * sc * sg / (sc + sg), (sc + sg) / 2), 0.0)
        mods[m] = {"level2": (c["score"] + g["score"]) / 2, "level3": (sc + sg) / 2,
                   "level4": harm, "comprehension": c, "generation": g}
    lang = group("language", "language")
    s2 = np.mean([v["level2"] for v in mods.values()], axis=0)
    s3 = np.minimum(np.mean([v["level3"] for v in mods.values()], axis=0), s2)
    s4 = np.minimum(np.mean([v["level4"] for v in mods.values()], axis=0), s3)
    s5 = np.minimum(s4 * lang["synergy_score"] / 100.0, s4)
    scores = np.stack([s2, s3, s4, s5], axis=1)
    level = np.where(scores > 0, np.arange(2, 6), 0).max(axis=1)

    def row(d: dict[str, np.ndarray], i: int) -> dict[str, float | int]:
        return {k: (int(d[k][i]) if k in ("total", "supported", "wins") else float(d[k][i]))
                for k in GROUP_FIELDS}

    out = []
    for i in range(raw.shape[0]):
        out.append({
            "level": int(level[i]) or None,
            "scores": {f"level{k}": float(scores[i, k - 2]) for k in (2, 3, 4, 5)},
            "modalities": {m: {"level2": float(v["level2"][i]), "level3": float(v["level3"][i]),
                               "level4": float(v["level4"][i]),
                               "comprehension": row(v["comprehension"], i),
                               "generation": row(v["generation"], i)} for m, v in mods.items()},
            "language": row(lang, i),
        })
    return out


def baseline_run(score_file: Path, out: Path) -> int:
    """The baseline process: read, pivot, score, write `{model: result}` as JSON."""
    from generalbench.catalog import load_catalog

    catalog = load_catalog()
    models, mat = read_matrix(score_file, [t.id for t in catalog])
    results = general_level(catalog, mat)
    out.write_text(json.dumps(dict(zip(models, results, strict=True))), "utf-8")
    return 0


# --- agreement ------------------------------------------------------------------------------------
def differences(ours: dict[str, Any], theirs: dict[str, Any], where: str = "") -> list[str]:
    """Every leaf of `theirs` that `ours` lacks or differs on (numbers: TOL absolute; ints and
    None exactly), as 'path: ours vs theirs' lines."""
    out = []
    for k, b in theirs.items():
        path = f"{where}.{k}" if where else k
        a = ours.get(k) if isinstance(ours, dict) else None
        if isinstance(b, dict):
            out += differences(a if isinstance(a, dict) else {}, b, path)
        elif isinstance(b, float) and isinstance(a, (int, float)):
            if not math.isclose(a, b, rel_tol=0.0, abs_tol=TOL):
                out.append(f"{path}: {a!r} vs {b!r}")
        elif a != b or type(a) is not type(b):
            out.append(f"{path}: {a!r} vs {b!r}")
    return out


# --- main -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs per command")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="folder for the files (default: temp)")
    ap.add_argument("--require-target", action="store_true",
                    help="exit 1 when generalbench misses the 0.5 s target too")
    ap.add_argument("--baseline-run", nargs=2, type=Path, metavar=("FILE", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline_run:
        return baseline_run(*args.baseline_run)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-level-"))
    work.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(work / "pycache")
    try:
        return _bench(args, work, launcher)
    finally:
        launcher.close()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _bench(args: argparse.Namespace, work: Path, launcher: Launcher) -> int:
    from generalbench.catalog import load_catalog

    catalog = load_catalog()
    score_file = work / "scores.csv"
    rows = write_score_file(score_file, model_scores(catalog, args.models, args.seed))
    print(f"score file: {args.models} models, {rows:,} rows over {len(catalog)} tasks "
          f"({rows / args.models / len(catalog):.0%} coverage), {score_file.stat().st_size:,} bytes")

    py = sys.executable
    commands = {
        "generalbench level (table)": ([py, "-m", "generalbench", "level", str(score_file)],
                                       work / "table.txt"),
        "generalbench level --format json": ([py, "-m", "generalbench", "level", str(score_file),
                                              "--format", "json"], work / "ours.json"),
        "baseline (csv + numpy)": ([py, __file__, "--baseline-run", str(score_file),
                                    str(work / "baseline.json")], work / "baseline.out"),
        # the floor both sides share: the interpreter and the catalog, nothing scored
        "floor: load_catalog() alone": ([py, "-c", "from generalbench.catalog import load_catalog;"
                                         " load_catalog()"], work / "floor.out"),
    }
    for cmd, out in commands.values():  # warm-up: bytecode, page cache
        launcher.run(cmd, out)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # interleaved, so load changes hit every side alike
        for name, (cmd, out) in commands.items():
            runs[name].append(launcher.run(cmd, out))
    best = {}
    for name, rs in runs.items():
        b = min(rs, key=lambda r: r["wall"])
        best[name] = b
        print(f"{name:34s} best of {args.repeat}: {b['wall']:.3f} s wall, {b['cpu']:.3f} s CPU, "
              f"peak RSS {max(r['rss_mb'] for r in rs):.0f} MB "
              f"(walls {', '.join(format(r['wall'], '.2f') for r in rs)})")

    ours = {r["model"]: r for r in json.loads((work / "ours.json").read_text("utf-8"))}
    theirs = json.loads((work / "baseline.json").read_text("utf-8"))
    bad = [f"{m}: model missing from generalbench's output" for m in theirs if m not in ours]
    bad += [f"{m}: model missing from the baseline's output" for m in ours if m not in theirs]
    for m, t in theirs.items():
        bad += [f"{m} {d}" for d in differences(ours.get(m, {}), t)]
    for line in bad[:20]:
        print(f"MISMATCH {line}", file=sys.stderr)
    print(f"agreement: {len(theirs) - len({b.split(' ')[0] for b in bad})}/{len(theirs)} models "
          f"agree on every number (level, scores, modalities, groups; tolerance {TOL:g})")

    base = best["baseline (csv + numpy)"]
    worst = max(best[n]["wall"] for n in commands if n.startswith("generalbench"))
    for name in (n for n in commands if n.startswith("generalbench")):
        b = best[name]
        print(f"RATIO {name}: {b['wall'] / base['wall']:.2f}x the baseline's wall, "
              f"{b['cpu'] / base['cpu']:.2f}x its CPU")
    ok = worst < TARGET_S
    print(f"TARGET < {TARGET_S} s wall for `level` on {args.models} models: "
          f"{'PASS' if ok else 'FAIL'} ({worst:.3f} s, the slower output format); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if bad:
        print(f"error: {len(bad)} number(s) disagree", file=sys.stderr)
        return 1
    return 0 if ok or not args.require_target else 1


if __name__ == "__main__":
    sys.exit(main())
