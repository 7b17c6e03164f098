"""Shipped YAML data files, parsed once per content: a marshal copy kept in the cache folder.

Why: the metric specs (metrics/specs.yaml) are read by every command that touches the catalog
or General-Level; importing PyYAML and building its Python objects cost about 30 ms of `level`'s
half second on a 100-model file, against well under 1 ms to read back the same data with marshal.
The copy is keyed by the file's sha256 and the interpreter's tag, so an edited file or another
Python never reads a stale or foreign copy; any copy that cannot be read or written (a
read-only home, a damaged file, a type marshal cannot hold) falls back to parsing the YAML.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any

CACHE_ENV = "GENERALBENCH_CACHE"


def cache_root() -> Path:
    """Where generalbench keeps what it can rebuild (mini-bench, unpacked archives, feature
    statistics, judge answers, parsed YAML): $GENERALBENCH_CACHE, else
    $XDG_CACHE_HOME/generalbench, else ~/.cache/generalbench. One rule, so that one variable
    moves every cache (CI and read-only homes rely on that)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "generalbench"


def cache_folder() -> Path:
    """The parsed-YAML copies: `cache_root()/yaml`."""
    return cache_root() / "yaml"


def load_yaml(text: str, name: str) -> Any:
    """`yaml.safe_load(text)` (with libyaml where installed), through the cached copy for `name`."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    path = cache_folder() / f"{name}-{key}.{sys.implementation.cache_tag}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    from generalbench.yamlload import safe_load

    data = safe_load(text)
    try:
        blob = marshal.dumps(data)
    except ValueError:  # a type marshal cannot hold (a date): parsed every time
        return data
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(blob)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old state or the whole copy
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return data
