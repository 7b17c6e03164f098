"""YAML data files read through libyaml when PyYAML has it.

Why: the catalog, metric specs, parsing rules and model registry are read at start-up of most
commands; PyYAML's C loader (CSafeLoader) reads them about 7x faster than the pure-Python
SafeLoader and builds the same plain data. A PyYAML built without libyaml falls back to
SafeLoader, so the result never depends on which one ran.
"""

from __future__ import annotations

from typing import Any


def safe_load(text: str) -> Any:
    """yaml.safe_load(text), through libyaml when available."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
