"""Fuzz: a seeded corpus of malformed inputs thrown at `level`, `validate`, `score`, `merge`,
`split` and the archive reader (issue 12, "Must show").

Every input is malformed by construction (a truncated object, an invalid UTF-8 byte, a value
of the wrong type, a hostile archive), with the place and kind of damage drawn from a seeded
random generator, so the corpus is the same on every run. Each must end with exit code 2,
exactly one line on stderr ("error: ..."), no traceback, and no file written or changed
anywhere but `--out` (the unpack cache included). The CLI runs in-process through
`generalbench.cli.main`, so the whole corpus takes seconds.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.inprocess import call

SEED = 20261203
PER_FAMILY = 15
LANG = "language-time-series"
GEN = "image-generation-image-deblurring"
INVALID_UTF8 = [b"\xff", b"\xfe\xfe", b"\xc3(", b"\xe2\x82", b"\xf0\x28\x8c\x28", b"\xed\xa0\x80",
                b"\x80"]


@dataclass
class Env:
    root: Path
    """Per-case scratch folder (also the working directory)."""
    mini: Path
    oracle: Path
    cache: Path


Case = Callable[[Env, random.Random], list]
FAMILIES: dict[str, tuple[str, Case]] = {}


def family(name: str, command: str):
    def register(fn: Case) -> Case:
        FAMILIES[name] = (command, fn)
        return fn
    return register


def _bad_utf8(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(0, len(data) + 1)
    return data[:at] + rng.choice(INVALID_UTF8) + data[at:]


def _truncate(text: str, rng: random.Random) -> str:
    """A strict prefix of a JSON object/array text: never valid JSON."""
    return text[: rng.randrange(1, len(text))]


def _wrong_type(rng: random.Random, *avoid: type) -> object:
    options = ["text", 42, -1.5, True, None, [], ["x", 1], {}, {"a": [1]}]
    return rng.choice([o for o in options if not isinstance(o, avoid) or o is None])


def _word(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# --- level: score files ----------------------------------------------------------------------
GOOD_CSV = f"task,score,model\n{LANG},50,m\nlanguage-topic-classification,40,m\n"


@family("level-csv", "level")
def level_csv(env: Env, rng: random.Random) -> list:
    kind = rng.choice(["utf8", "huge", "word", "unknown", "header", "nan", "percent"])
    if kind == "utf8":
        data: str | bytes = _bad_utf8(GOOD_CSV.encode(), rng)
    elif kind == "huge":
        data = GOOD_CSV.replace("50", "5" * rng.randrange(131_073, 300_000))
    elif kind == "word":
        data = GOOD_CSV.replace("50", _word(rng))
    elif kind == "unknown":
        data = GOOD_CSV.replace(LANG, f"zz-no-task-{_word(rng)}")
    elif kind == "header":
        data = GOOD_CSV.replace("task,score,model", f"{_word(rng)},{_word(rng)},model")
    elif kind == "nan":
        data = GOOD_CSV.replace("50", rng.choice(["nan", "inf", "-inf", "NaN"]))
    else:
        data = GOOD_CSV.replace("50", str(rng.randrange(101, 10_000)))
    return ["level", _write(env.root / "scores.csv", data)]


def _report() -> dict:
    return {"model": "m", "tasks": [{"id": LANG, "raw": 50.0},
                                    {"id": "language-topic-classification", "raw": 40.0}]}


@family("level-json", "level")
def level_json(env: Env, rng: random.Random) -> list:
    kind = rng.choice(["truncate", "utf8", "deep", "tasks", "item", "id", "raw", "scores"])
    doc = _report()
    if kind == "truncate":
        data: str | bytes = _truncate(json.dumps(doc), rng)
    elif kind == "utf8":
        data = _bad_utf8(json.dumps(doc).encode(), rng)
    elif kind == "deep":
        depth = rng.randrange(5_000, 150_000)
        data = rng.choice(["[", '{"a":']) * 1 + "[" * depth + "]" * depth + rng.choice(["]", "}"])
    elif kind == "tasks":
        doc["tasks"] = _wrong_type(rng, list)
        data = json.dumps(doc)
    elif kind == "item":
        doc["tasks"][rng.randrange(2)] = _wrong_type(rng, dict)
        data = json.dumps(doc)
    elif kind == "id":
        task = doc["tasks"][rng.randrange(2)]
        if rng.random() < 0.5:
            del task["id"]
        else:
            task["id"] = _wrong_type(rng, str)
        data = json.dumps(doc)
    elif kind == "raw":
        doc["tasks"][rng.randrange(2)]["raw"] = rng.choice([_word(rng), [1], {"x": 1}, True])
        data = json.dumps(doc)
    else:
        data = json.dumps({"model": "m", "scores": _wrong_type(rng, dict)})
    return ["level", _write(env.root / "scores.json", data)]


@family("level-overrides", "level")
def level_overrides(env: Env, rng: random.Random) -> list:
    scores = _write(env.root / "scores.csv", GOOD_CSV)
    kind = rng.choice(["utf8", "truncate", "sota", "task"])
    if kind == "utf8":
        data: str | bytes = _bad_utf8(f"task,sota\n{LANG},12\n".encode(), rng)
        name = "sota.csv"
    elif kind == "truncate":
        data, name = _truncate(json.dumps([{"task": LANG, "sota": 12.0}]), rng), "sota.json"
    elif kind == "sota":
        data = json.dumps([{"task": LANG, "sota": rng.choice([_word(rng), None, [1], "nan"])}])
        name = "sota.json"
    else:
        data, name = json.dumps([{"task": f"zz-{_word(rng)}", "sota": 1}]), "sota.json"
    return ["level", scores, "--sota-overrides", _write(env.root / name, data)]


# --- predictions folders: validate and score -------------------------------------------------
def _preds_copy(env: Env) -> Path:
    dst = env.root / "preds"
    shutil.copytree(env.oracle, dst)
    return dst


def _damage_predictions(env: Env, rng: random.Random) -> Path:
    preds = _preds_copy(env)
    kind = rng.choice(["manifest-truncate", "manifest-utf8", "manifest-type", "unknown-task",
                       "symlink-jsonl", "fifo-jsonl", "folder-jsonl"])
    manifest = preds / "run.json"
    if kind == "manifest-truncate":
        _write(manifest, _truncate(manifest.read_text(), rng))
    elif kind == "manifest-utf8":
        _write(manifest, _bad_utf8(manifest.read_bytes(), rng))
    elif kind == "manifest-type":
        _write(manifest, json.dumps(_wrong_type(rng, dict)))
    elif kind == "unknown-task":
        _write(preds / f"zz-{_word(rng)}.jsonl", '{"id": "0000", "prediction": "x"}\n')
    elif kind == "symlink-jsonl":
        target = _write(env.root / "outside" / "secret.jsonl", '{"id": "0000", "prediction": 1}\n')
        (preds / f"{LANG}.jsonl").unlink()
        (preds / f"{LANG}.jsonl").symlink_to(target)
    elif kind == "fifo-jsonl":
        (preds / f"{LANG}.jsonl").unlink()
        os.mkfifo(preds / f"{LANG}.jsonl")
    else:
        (preds / f"{LANG}.jsonl").unlink()
        (preds / f"{LANG}.jsonl").mkdir()
    return preds


@family("validate-predictions", "validate")
def validate_predictions(env: Env, rng: random.Random) -> list:
    return ["validate", env.mini, "--predictions", _damage_predictions(env, rng)]


@family("score-predictions", "score")
def score_predictions(env: Env, rng: random.Random) -> list:
    return ["score", _damage_predictions(env, rng), "--data", env.mini, "--out", env.root / "out"]


# --- the archive reader ----------------------------------------------------------------------
def _zip(path: Path, members: list[tuple[str, bytes]], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            if name in links:
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, data)
            else:
                zf.writestr(name, data)
    return path


@family("archive", "score")
def archive(env: Env, rng: random.Random) -> list:
    good = [("preds/run.json", (env.oracle / "run.json").read_bytes()),
            (f"preds/{LANG}.jsonl", (env.oracle / f"{LANG}.jsonl").read_bytes())]
    kind = rng.choice(["garbage", "truncated", "duplicate", "climb", "absolute", "symlink"])
    path = env.root / "preds.zip"
    if kind == "garbage":
        _write(path, rng.randbytes(rng.randrange(1, 4096)))
    elif kind == "truncated":
        full = io.BytesIO()
        with zipfile.ZipFile(full, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in good:
                zf.writestr(name, data)
        raw = full.getvalue()
        _write(path, raw[: rng.randrange(1, len(raw) - 22)])  # the end record is lost
    elif kind == "duplicate":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _zip(path, [*good, (good[1][0], b'{"id": "0000", "prediction": 99}\n')])
    elif kind == "climb":
        _zip(path, [*good, ("../" * rng.randrange(1, 4) + f"{_word(rng)}.jsonl", b"{}")])
    elif kind == "absolute":
        _zip(path, [*good, (f"/tmp/{_word(rng)}.jsonl", b"{}")])
    else:
        _zip(path, [*good, ("preds/artifacts/x.png", b"/etc/passwd")], links=("preds/artifacts/x.png",))
    return ["score", path, "--data", env.mini, "--out", env.root / "out"]


# --- merge -----------------------------------------------------------------------------------
def _run_info() -> dict:
    return {"manifest": {"model": "m", "shard": "0/2", "data": "x"},
            "summary": {"instances": 1, "cached": 0, "answered": 1, "failed": 0, "retries": 0,
                        "predictions": 1, "errors": {}, "failed_by_task": {}}}


@family("merge", "merge")
def merge(env: Env, rng: random.Random) -> list:
    info = _run_info()
    kind = rng.choice(["truncate", "utf8", "top", "manifest", "shard", "summary", "count", "map"])
    if kind == "truncate":
        data: str | bytes = _truncate(json.dumps(info), rng)
    elif kind == "utf8":
        data = _bad_utf8(json.dumps(info).encode(), rng)
    elif kind == "top":
        data = json.dumps(_wrong_type(rng, dict))
    elif kind == "manifest":
        info["manifest"] = _wrong_type(rng, dict)
        data = json.dumps(info)
    elif kind == "shard":
        info["manifest"]["shard"] = rng.choice([_word(rng), 3, None, "1/", "/2", "a/b"])
        data = json.dumps(info)
    elif kind == "summary":
        info["summary"] = _wrong_type(rng, dict)
        data = json.dumps(info)
    elif kind == "count":
        info["summary"][rng.choice(["instances", "answered", "failed"])] = rng.choice(
            [_word(rng), [1], {"a": 1}, 1.5, True])
        data = json.dumps(info)
    else:
        info["summary"][rng.choice(["errors", "failed_by_task"])] = rng.choice(
            [_word(rng), [1], {"x": _word(rng)}])
        data = json.dumps(info)
    shard = env.root / "shard0"
    _write(shard / "run-info.json", data)
    return ["merge", shard, "--out", env.root / "out", "--no-score"]


# --- split -----------------------------------------------------------------------------------
@family("split", "split")
def split(env: Env, rng: random.Random) -> list:
    data_dir = env.root / "data"
    shutil.copytree(env.mini, data_dir)
    ann = next(data_dir.rglob("annotation.json"))
    doc = json.loads(ann.read_text())
    kind = rng.choice(["truncate", "utf8", "data", "top", "deep"])
    if kind == "truncate":
        _write(ann, _truncate(json.dumps(doc), rng))
    elif kind == "utf8":
        _write(ann, _bad_utf8(json.dumps(doc).encode(), rng))
    elif kind == "data":
        doc["data"] = _wrong_type(rng, list)
        _write(ann, json.dumps(doc))
    elif kind == "top":
        _write(ann, json.dumps(_wrong_type(rng, dict)))
    else:
        depth = rng.randrange(5_000, 100_000)
        _write(ann, '{"task": "x", "data": [' + "[" * depth + "]" * depth + "]}")
    return ["split", data_dir, "--out", env.root / "out"]


CORPUS = [(name, i) for name in FAMILIES for i in range(PER_FAMILY)]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 100
    assert {cmd for cmd, _ in FAMILIES.values()} == {"level", "validate", "score", "merge", "split"}


@pytest.fixture(scope="module")
def bench(mini_cut):
    return mini_cut([LANG, GEN], per_task=3)


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                out[p] = (st.st_size, st.st_mtime_ns) if not stat.S_ISDIR(st.st_mode) else (0, 0)
    return out


@pytest.mark.parametrize("name, index", CORPUS, ids=[f"{n}-{i}" for n, i in CORPUS])
def test_malformed_input_is_one_clear_line(name, index, bench, tmp_path, monkeypatch):
    mini, oracle = bench
    cache = tmp_path / "cache"
    cache.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("GENERALBENCH_CACHE", str(cache))
    monkeypatch.chdir(work)
    env = Env(work, mini, oracle, cache)
    rng = random.Random(f"{SEED}:{name}:{index}")
    args = FAMILIES[name][1](env, rng)
    before = _snapshot(tmp_path, mini, oracle)
    res = call(*args)
    assert res.crash is None, res.crash
    assert res.code == 2, (args, res.code, res.err, res.out[-500:])
    lines = [x for x in res.err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    assert "Traceback" not in res.err + res.out
    out_dir = str(work / "out")
    parsed = str(cache / "yaml")  # the shipped YAML files' parse cache (datafiles): not the user's
    after = _snapshot(tmp_path, mini, oracle)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)
               and not any(p == d or p.startswith(d + os.sep) for d in (out_dir, parsed))}
    assert not changed, sorted(changed)
