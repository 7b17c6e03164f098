"""A located problem in a dataset or predictions file: file, task, instance, field, message.

Validation collects these instead of stopping at the first one; strict readers raise them as
DataError / PredictionError with the same one-line text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    task: str | None = None
    instance: str | None = None
    field: str | None = None
    line: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = [f"line {self.line}" if self.line is not None else None,
                 f"task={self.task!r}" if self.task else None,
                 f"id={self.instance!r}" if self.instance is not None else None,
                 f"field={self.field!r}" if self.field else None]
        loc = ", ".join(w for w in where if w)
        return f"{self.file}: {loc}: {self.message}" if loc else f"{self.file}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def rel(path: Path | str, root: Path | None = None) -> str:
    """A path shown relative to `root` when it lies inside it (shorter, stable messages)."""
    p = Path(path)
    if root is not None:
        try:
            return str(p.relative_to(root))
        except ValueError:
            pass
    return str(p)
