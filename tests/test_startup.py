"""CLI start-up stays light: `generalbench --help` imports no YAML parser, numpy or pydantic."""

from __future__ import annotations

import subprocess
import sys


def test_help_imports_stay_light():
    code = ("import sys; from generalbench.cli import app; "
            "print(','.join(m for m in ('yaml', 'numpy', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
