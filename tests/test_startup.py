"""CLI start-up stays light: `generalbench --help` imports no YAML parser, numpy or pydantic."""

from __future__ import annotations

import subprocess
import sys


def test_help_imports_stay_light():
    code = ("import sys; from generalbench.cli import app; "
            "print(','.join(m for m in ('yaml', 'numpy', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_level_imports_no_numpy():
    """`level` (catalog, score files, General-Level, tables) never computes a metric: importing
    the metric registry (numpy) cost a third of ranking 100 models."""
    code = ("import sys; import generalbench.cli, generalbench.commands.level_cmd, "
            "generalbench.levels, generalbench.report.scorefiles, generalbench.report.render; "
            "from generalbench.catalog import load_catalog; load_catalog(); "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
