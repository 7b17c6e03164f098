"""Shared fixtures: the shipped catalog (loaded once), the mini-bench (generated once per session,
subsets cut from it) and a CLI runner through `main()`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from generalbench.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@dataclass(frozen=True)
class MiniBench:
    """The session's mini-bench: every task, DEFAULT_PER_TASK instances each."""

    root: Path
    oracle: Path
    """Its oracle predictions (the references as a predictions folder)."""
    seconds: float
    """How long generating it took (make_mini only)."""


@pytest.fixture(scope="session")
def minibench(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> MiniBench:
    """The built-in mini-bench and its oracle, generated once for the whole test session (it was
    generated anew by a dozen modules). Read-only: a test that changes files copies them first."""
    from generalbench.data.minibench import make_mini, write_oracle_predictions

    base = tmp_path_factory.mktemp("minibench")
    start = time.perf_counter()
    root = make_mini(base / "bench", catalog=catalog)
    seconds = time.perf_counter() - start
    return MiniBench(root, write_oracle_predictions(root, base / "oracle", catalog=catalog), seconds)


MiniCut = Callable[..., tuple[Path, Path]]


@pytest.fixture(scope="session")
def mini_cut(minibench: MiniBench, tmp_path_factory: pytest.TempPathFactory,
             catalog: Catalog) -> MiniCut:
    """`mini_cut(tasks, per_task)` -> (root, oracle): a mini-bench of `tasks` (ids or names, None
    for all) and their first `per_task` instances (None for all), cut from the session's mini-bench rather than
    generated again, once per argument set. Read-only, like `minibench`."""
    from generalbench.data.minibench import write_oracle_predictions

    made: dict[tuple[tuple[str, ...] | None, int | None], tuple[Path, Path]] = {}

    def cut(tasks: Sequence[str] | None = None, per_task: int | None = None) -> tuple[Path, Path]:
        key = (tuple(tasks) if tasks else None, per_task)
        if key not in made:
            base = tmp_path_factory.mktemp("minicut")
            root = cut_minibench(minibench.root, base / "bench", tasks, per_task, catalog)
            made[key] = root, write_oracle_predictions(root, base / "oracle", catalog=catalog)
        return made[key]

    return cut


def cut_minibench(src: Path, dest: Path, tasks: Sequence[str] | None, per_task: int | None,
                  catalog: Catalog) -> Path:
    """Copy the folders of `tasks` from the mini-bench `src` to `dest`, keeping the first
    `per_task` records of each annotation.json, with a marker saying what was kept."""
    from generalbench.data.minibench import MARKER, mini_tasks
    from generalbench.data.minibench.common import write_json

    info = json.loads((src / MARKER).read_text("utf-8"))
    per_task = info["per_task"] if per_task is None else per_task
    if not 1 <= per_task <= info["per_task"]:
        raise ValueError(f"per_task={per_task}: the session mini-bench has {info['per_task']}")
    wanted = set(tasks or ())
    keep = {m.task.id for m in mini_tasks(catalog)
            if not wanted or {m.task.id, m.task.task_name, m.task.name} & wanted}
    if not keep:
        raise ValueError(f"none of {sorted(wanted)} is a mini-bench task")
    rels = {task_id: rel for task_id, rel in info["tasks"].items() if task_id in keep}
    for rel in rels.values():
        shutil.copytree(src / rel, dest / rel)
        annotation = dest / rel / "annotation.json"
        doc = json.loads(annotation.read_text("utf-8"))
        write_json(annotation, {**doc, "data": doc["data"][:per_task]})
    write_json(dest / MARKER, {**info, "per_task": per_task, "tasks": rels})
    return dest


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 600) -> CliResult:
    """Run `python -m generalbench ...` in a subprocess: the real entry point, exit codes included."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "generalbench", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def isolated_weights(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model-based tests see only the weights they build: no weights folder, an empty offline
    Hugging Face cache and a fresh generalbench cache (reference statistics, verdicts)."""
    root = tmp_path_factory.mktemp("weights_env")
    monkeypatch.delenv("GENERALBENCH_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GENERALBENCH_CACHE", str(root / "cache"))
    return root
