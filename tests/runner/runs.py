"""Helpers for the tests that start `generalbench run` as a subprocess and interrupt it."""

from __future__ import annotations

import time
from pathlib import Path


def wait_for_journal(out: Path, answers: int, timeout: float = 60.0) -> None:
    """Return once the run in `out` has journalled `answers` answers (or `timeout` passed): the
    moment to kill or signal it mid-run. The caller asserts what was saved."""
    journal = out / "journal" / "journal.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= answers:
            return
        time.sleep(0.01)
