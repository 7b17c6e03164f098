"""`level` on many models into a file imports neither numpy nor Rich, nor PyYAML once the metric
specs' parsed copy is cached: the table is plain text and the math plain Python (each import
was a sizeable part of ranking 100 models)."""

from __future__ import annotations

import os
import subprocess
import sys

from generalbench.catalog import load_catalog
from generalbench.report.render import FAST_ROWS


def test_level_table_into_a_file_imports_no_numpy_rich_or_yaml(tmp_path):
    tasks = list(load_catalog())[:40]
    path = tmp_path / "scores.csv"
    lines = ["task,score,model"]
    lines += [f"{t.id},{t.sota},m{i}" for i in range(FAST_ROWS + 2) for t in tasks]
    path.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "GENERALBENCH_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-X", "importtime", "-m", "generalbench", "level", str(path)]
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # writes the specs' copy
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    assert "m17" in res.stdout and "┏" in res.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines()
                if line.startswith("import time:")}
    assert not {m for m in imported if m.split(".")[0] in {"numpy", "rich", "yaml"}}
