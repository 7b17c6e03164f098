"""The typed metric interface: what a metric returns and the record of what produced it.

Compare inspect_ai's `Scorer -> Score(value, explanation, metadata)` with a separate aggregation:
a metric function maps aligned prediction/reference lists to a `MetricResult` (the aggregate in
the catalog's unit, per-instance values where it is a mean of them, and details), and the
registry adds the `Provenance` and applies the failure policy (metrics/failure.py), so neither
is written again in each metric. Metrics whose spec says `aggregate: mean` can also be fed one
instance at a time through a `MeanAccumulator`, which keeps only running sums: the scorer then
decodes a large file-valued prediction (a depth map, a mask), scores it and drops it, and peak
memory does not grow with the number of instances. Corpus metrics whose value is a function of
per-instance counts (mIoU's confusion matrix, PQ's per-class TP/FP/FN) stream the same way: the
module gives a `MetricStream` (running counts), the registry wraps it with the failure policy
into an `Accumulator`, and the list function is the same stream run over the list, so both
paths give identical values by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata
from typing import Any, Protocol

FAMILY_LIBRARIES: dict[str, tuple[str, ...]] = {
    "text": ("nltk", "rouge-score", "codebleu", "tree-sitter"),
    "numbers": ("numpy",),
    "boxes": ("numpy", "pycocotools"),
    "masks": ("numpy", "scipy"),
    "dense": ("numpy",),
    "tracks": ("numpy", "scipy"),
    "pointclouds": ("numpy", "scipy"),
    "image_quality": ("numpy", "scipy", "pillow"),
    "audio": ("numpy", "scipy", "soundfile"),
    "image_models": ("numpy", "torch", "torchvision", "transformers"),
    "video_models": ("numpy", "torch", "torchvision", "transformers", "av"),
    "audio_models": ("numpy", "torch", "transformers", "onnxruntime", "faster-whisper", "jiwer"),
    "motion_models": ("numpy", "torch"),
    "judge": ("httpx",),
}
"""The libraries whose version can change a family's numbers (recorded in every result)."""


@cache
def library_version(name: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions(family: str) -> dict[str, str]:
    """Installed versions of the libraries that matter for a metric family."""
    out = {}
    for lib in FAMILY_LIBRARIES.get(family, ()):
        v = library_version(lib)
        if v is not None:
            out[lib] = v
    return out


@dataclass(frozen=True)
class Provenance:
    """What produced a value: a reader of any number can tell exactly where it came from."""

    implementation: str
    """module:function of the metric implementation."""
    libraries: dict[str, str] = field(default_factory=dict)
    metric_model: str | None = None
    weights_sha256: str | None = None
    """sha256 of the metric model's weights lock (models.yaml `sha256:`)."""
    weights_sha256_missing: str | None = None
    """Why `weights_sha256` is None for a value that used a metric model (undeclared, no lock)."""
    judge_model: str | None = None
    rubric_sha256: str | None = None
    tiny_random_weights: bool = False
    """The metric model is a tiny random stand-in (metricmodels/tiny.py): the value is meaningless."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MetricResult:
    """A metric value in the catalog's unit, plus per-instance values where it is a mean of them.

    `failed` counts the instances the failure policy handled (missing, unparseable, NaN/inf,
    wrong-shaped); `dropped` those the `drop` policy left out of the value.
    """

    value: float
    per_instance: list[float | None] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    provenance: Provenance | None = None
    failed: int = 0
    dropped: int = 0


class MetricStream(Protocol):
    """A metric's running state, fed one (prediction, reference) at a time.

    `add` sees predictions after the failure policy (never NaN/inf; None only under `worst`),
    keeps counts, not arrays, and returns the instance's own value (None when it has none);
    `result` gives the value the list call would give.
    """

    def add(self, prediction: Any, reference: Any) -> float | None: ...

    def result(self) -> MetricResult: ...


class Accumulator(Protocol):
    """What the scorer feeds one instance at a time (MeanAccumulator, registry.StreamAccumulator)."""

    metric: str
    per_instance: list[float | None]
    failed: int
    rejected: dict[int, str]

    def update(self, prediction: Any, reference: Any) -> float | None: ...

    def result(self) -> MetricResult: ...


def run_stream(stream: MetricStream, predictions: Iterable[Any], references: Iterable[Any]
               ) -> MetricResult:
    """The list form of a streaming metric: the same stream fed every instance in order."""
    for prediction, reference in zip(predictions, references, strict=True):
        stream.add(prediction, reference)
    return stream.result()


class MeanAccumulator:
    """Running mean of per-instance values for `aggregate: mean` metrics.

    `update(prediction, reference)` scores one instance (through `score_one`, which returns a
    MetricResult for a one-element list) and keeps only the value; `result()` gives the same
    MetricResult the list call would. None per-instance values (a reference with nothing to
    score) are kept in `per_instance` and left out of the mean.
    """

    def __init__(self, metric: str, score_one: Any) -> None:
        self.metric = metric
        self._score_one = score_one
        self.per_instance: list[float | None] = []
        self._sum = 0.0
        self._n = 0
        self.failed = 0
        self.provenance: Provenance | None = None
        self.details: dict[str, Any] = {}
        self.rejected: dict[int, str] = {}
        """index -> why the registry failed that prediction (NaN/inf, wrong shape)."""

    def update(self, prediction: Any, reference: Any) -> float | None:
        res: MetricResult = self._score_one(prediction, reference)
        self.provenance = self.provenance or res.provenance
        self.failed += res.failed
        why = res.details.get("rejected", {}).get(0)
        if why:
            self.rejected[len(self.per_instance)] = why
        v = res.per_instance[0] if res.per_instance else res.value
        if v is not None and math.isfinite(v):
            self._sum += v
            self._n += 1
        self.per_instance.append(v)
        return v

    def result(self) -> MetricResult:
        from generalbench.errors import MetricError

        if self._n == 0:
            raise MetricError(f"metric {self.metric!r}: no instance could be scored")
        return MetricResult(self._sum / self._n, self.per_instance, dict(self.details),
                            self.provenance, self.failed)
