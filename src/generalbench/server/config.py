"""Service limits and the benchmark an operator loaded (stored in the database's settings table,
so the web tier and every worker, on any machine, agree on them)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from generalbench.server.db import get_setting, put_setting

_CATALOGS: dict = {}
_CATALOG_LOCK = threading.Lock()


@dataclass
class Limits:
    """Per-upload, per-team and queue limits (an operator passes other values to `serve`)."""

    max_upload_bytes: int = 200 * 1024**2
    max_files: int = 20_000
    max_unpacked_bytes: int = 2 * 1024**3
    daily_submissions: int = 5
    total_submissions: int = 100
    daily_failed: int = 10
    concurrent_jobs: int = 2
    lease_s: float = 60.0
    max_wait_s: float = 24 * 3600.0
    board_max_age_s: int = 5
    """How long a browser or proxy may reuse a board JSON/CSV without asking (Cache-Control
    max-age; after that it revalidates with its ETag and gets a 304 if nothing changed). 0: ask
    every time."""


@dataclass
class Benchmark:
    """The closed set: inputs for participants, the answer key for workers, catalog files."""

    data: str = ""
    answers: str = ""
    catalog_extra: list[str] = field(default_factory=list)
    sota_overrides: list[str] = field(default_factory=list)
    quick: int = 6

    def catalog(self):
        """The catalog with the operator's extras and overrides (memoised: every upload, board
        and job needs it, and parsing the task table takes ~0.1 s)."""
        files = tuple(self.catalog_extra), tuple(self.sota_overrides)
        stamp = tuple((p, Path(p).stat().st_mtime_ns if Path(p).exists() else 0)
                      for p in files[0] + files[1])
        key = (files, stamp)
        with _CATALOG_LOCK:
            if key not in _CATALOGS:
                from generalbench.catalog import load_catalog

                _CATALOGS.clear()
                catalog = load_catalog([Path(p) for p in files[0]], [Path(p) for p in files[1]])
                _CATALOGS[key] = (catalog, catalog.info())
            return _CATALOGS[key][0]

    def catalog_info(self) -> dict[str, str]:
        """The catalog's version and hash (memoised with it: the hash covers every task)."""
        catalog = self.catalog()
        with _CATALOG_LOCK:
            for cat, info in _CATALOGS.values():
                if cat is catalog:
                    return info
        return catalog.info()

    @classmethod
    def load(cls, session) -> Benchmark:
        raw = get_setting(session, "benchmark")
        return cls(**json.loads(raw)) if raw else cls()

    def save(self, session) -> None:
        put_setting(session, "benchmark", json.dumps(self.__dict__))


def minibench_closed_set(storage: Path) -> Benchmark:
    """The built-in mini-bench (default seed) as the closed set; its annotated folder, the
    references `make-mini --oracle` writes out, is the answer key."""
    from generalbench.data.minibench import is_current, make_mini

    root = storage / "benchmark" / "mini-bench"
    if not is_current(root):
        make_mini(root)
    return Benchmark(data=str(root.resolve()), answers=str(root.resolve()))
