"""docs/metrics.md's failure-policy table is generated from specs.yaml and must be current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_metric_docs.py"


def _module():
    spec = importlib.util.spec_from_file_location("gen_metric_docs", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_failure_policy_table_is_up_to_date():
    mod = _module()
    text = mod.DOC.read_text("utf-8")
    assert mod.BEGIN in text, "run python scripts/gen_metric_docs.py"
    assert mod.render(text) == text, "docs/metrics.md is out of date: run scripts/gen_metric_docs.py"


def test_every_metric_has_a_row():
    from generalbench.metrics import load_specs

    block = _module().table()
    for name, spec in load_specs().items():
        assert f"| `{name}` | {spec.family} |" in block
