"""The one adapter between the service and `generalbench score`'s code.

Workers call `score_folder`, which calls `generalbench.runner.score.score_predictions` exactly as
the `score` command does, so a submission's numbers are the numbers a participant gets locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Scored:
    """One scoring pass: the General-Level JSON and the per-task raw scores boards recompute from."""

    result: dict[str, Any]
    raw: dict[str, float | None]
    details: dict[str, dict[str, Any]]


def score_folder(predictions: Path, answers: Path, catalog, *, out_dir: Path,
                 quick: int | None) -> Scored:
    """Score an extracted predictions folder against the answer key (workers only)."""
    from generalbench.runner.score import score_predictions

    result, details = score_predictions(predictions, answers, catalog, out_dir=out_dir, quick=quick)
    return Scored(result.model_dump(), {k: d.raw for k, d in details.items()},
                  {k: d.level_details() for k, d in details.items()})
