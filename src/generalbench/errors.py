"""User-facing error families.

Every failure a user can cause (a bad file, an unknown task, a missing model) raises one of these
with a message that names the file, task and field and says what to do. The CLI prints the message
as one line and exits with code 2; only `--debug` shows a traceback.
"""

from __future__ import annotations


class GeneralBenchError(Exception):
    """Base of all user-facing errors."""

    exit_code = 2


class CatalogError(GeneralBenchError):
    """The task catalog, an extra catalog or a SoTA-overrides file is invalid."""


class UnknownTaskError(CatalogError):
    """A task name or id does not resolve in the catalog."""


class UnknownMetricError(CatalogError):
    """A metric name does not resolve to a metric spec."""


class ScoreFileError(GeneralBenchError):
    """A per-task score file (workbook, CSV, JSON) is malformed."""


class DataError(GeneralBenchError):
    """A dataset folder, annotation or media file is malformed."""


class PredictionError(GeneralBenchError):
    """A predictions folder or submission is malformed."""


class MetricError(GeneralBenchError):
    """A metric cannot be computed on the given inputs."""


class MissingWeightsError(GeneralBenchError):
    """A metric model's weights are not available locally."""


class ModelError(GeneralBenchError):
    """A model backend cannot be configured or reached."""


def location(file: object = None, **where: object) -> str:
    """Format 'file: sheet=..., row=...' prefixes consistently across error messages."""
    parts = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in where.items() if v is not None]
    head = str(file) if file is not None else ""
    if parts:
        return f"{head}: {', '.join(parts)}" if head else ", ".join(parts)
    return head
