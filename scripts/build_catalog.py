"""Rebuild src/generalbench/catalog/general-bench-v1.csv from the official task table.

Usage: python scripts/build_catalog.py ../shared/reference/general-bench-tasks.csv
The output is committed; the package never reads the reference table at run time.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from generalbench.catalog.catalog import CATALOG_FILE, write_catalog_csv
from generalbench.catalog.derive import task_from_row


def main(src: str) -> None:
    rows = list(csv.DictReader(open(src, encoding="utf-8")))
    tasks = [task_from_row(r, where=f"{src}: row {i}") for i, r in enumerate(rows, start=2)]
    out = Path(__file__).resolve().parents[1] / "src/generalbench/catalog" / CATALOG_FILE
    with open(out, "w", encoding="utf-8", newline="") as fh:
        write_catalog_csv(tasks, fh)
    print(f"wrote {len(tasks)} tasks to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/general-bench-tasks.csv")
