"""Shared fixtures: the shipped catalog (loaded once) and a CLI runner through `main()`."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from generalbench.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


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
