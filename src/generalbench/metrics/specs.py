"""Metric specifications as data (specs.yaml): units, direction, normalisation, requirements.

The spec registry is deliberately free of heavy imports: the catalog and the General-Level math
read it, and neither may pull in numpy-heavy metric code.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from generalbench.errors import UnknownMetricError
from generalbench.yamlload import safe_load

Direction = Literal["higher", "lower"]
Needs = Literal["none", "model", "judge", "human"]
Aggregate = Literal["mean", "corpus"]
OnFailure = Literal["zero", "empty", "worst", "drop"]

MODEL_FAMILIES = frozenset({"image_models", "video_models", "audio_models", "motion_models", "judge"})
"""Families of model-based metrics: they take the task's prompts and per-task variants as options."""

FAILURE_POLICIES: dict[str, str] = {
    "zero": "the instance scores 0",
    "empty": "scored as the empty prediction of its type (blank text, no labels or boxes, "
             "an all-zero map or one of the metric's `empty_fill` label, one point at the "
             "reference centroid)",
    "worst": "the metric scores it as its worst value (specs.yaml `worst`: a per-instance value, or "
             "`range_end`: the in-range value farthest from the reference)",
    "drop": "left out of the value; the count is reported in the task's note",
}
"""What each `on_failure` policy does to a failed instance (docs/metrics.md shows this text)."""


@dataclass(frozen=True)
class NormaliseRule:
    """How a raw metric value becomes a General-Level score in [0, 100] (higher is better)."""

    kind: Literal["identity", "sigmoid", "tanh", "affine", "complement"]
    params: tuple[float, ...] = ()

    def apply(self, x: float) -> float:
        """Map one raw value; the result is clipped to [0, 100].

        Lower-is-better metrics use y = 100 * (2 * sigmoid(T / x) - 1), so a raw 0 is a perfect
        score and maps to exactly 100 (the limit of the formula), not to 'unsupported'.
        """
        if math.isnan(x):
            raise ValueError("cannot normalise NaN")
        if self.kind == "sigmoid" and x < 0:
            raise ValueError(f"lower-is-better metric value {x} is negative")
        y = 100.0 if self.kind == "sigmoid" and x == 0 else self.formula(x)
        return min(100.0, max(0.0, y))

    def formula(self, x: Any, exp: Callable[[Any], Any] = math.exp,
                tanh: Callable[[Any], Any] = math.tanh) -> Any:
        """The map before clipping, written once for a float and for a numpy array.

        The bootstrap (stats/glevel.py) normalises 1,000 resamples at a time by passing np.exp
        and np.tanh; keeping one formula means the two can never drift, and this module stays
        free of a numpy import. The caller handles NaN, negative and zero inputs.
        """
        if self.kind == "identity":
            return x
        if self.kind == "sigmoid":
            (t,) = self.params
            return 100.0 * (2.0 / (1.0 + exp(-t / x)) - 1.0)
        if self.kind == "tanh":
            (s,) = self.params
            return 100.0 * tanh(x / s)
        if self.kind == "affine":
            lo, hi = self.params
            return 100.0 * (x - lo) / (hi - lo)
        if self.kind == "complement":
            return 100.0 - x
        raise AssertionError(self.kind)  # pragma: no cover - guarded by parsing

    def describe(self) -> str:
        if self.kind == "identity":
            return "x"
        if self.kind == "sigmoid":
            return f"100*(2*sigmoid({self.params[0]:g}/x)-1)"
        if self.kind == "tanh":
            return f"100*tanh(x/{self.params[0]:g})"
        if self.kind == "affine":
            lo, hi = self.params
            return f"100*(x-({lo:g}))/({hi:g}-({lo:g}))"
        return "100-x"


@dataclass(frozen=True)
class MetricSpec:
    """One canonical metric: a distinct way of computing a number."""

    name: str
    spellings: tuple[str, ...]
    family: str
    unit: Literal["percent", "raw"]
    direction: Direction
    normalise: NormaliseRule
    needs: Needs
    output: str

    aggregate: Aggregate = "corpus"
    """mean: the value is the mean of per-instance values (fed one instance at a time); corpus:
    computed over the whole list."""
    on_failure: OnFailure = "worst"
    """What a missing, unparseable, NaN/inf or wrong-shaped prediction becomes (FAILURE_POLICIES)."""
    worst: float | str | None = None
    """With `on_failure: worst`: a number is the per-instance value a failed instance scores (the
    metric then sees only the other instances); `range_end` replaces a failed prediction by the
    end of the references' range farthest from its reference (WORST_RULES). None: the module
    still scores None itself (the metrics not yet moved to this data)."""
    shape: Literal["same", "rows", "any"] = "any"
    """same: a prediction whose shape differs from the reference's is a failed instance; rows:
    one whose length (first axis) differs."""
    negative: bool = False
    """Whether a negative raw value is meaningful (correlations, cosines, MS-SSIM on [-1, 1])."""
    reads_files: bool = False
    """Whether the metric reads the predicted media files itself (VBench), not decoded values."""
    empty_fill: int | None = None
    """The label the `empty` prediction of a label map holds, where 0 is a real class and "nothing
    predicted" is another value: void (255) for panoptic maps, unlabelled (-1) for part labels."""
    options: tuple[str, ...] = ()
    """The keyword options the metric takes."""
    task_options: tuple[str, ...] = ()
    """What the scorer derives from the task as options (metrics/options.py OPTION_SOURCES)."""

    def at_least_as_good(self, a: Any, b: Any) -> Any:
        """Whether raw value `a` is at least as good as `b` in this metric's direction (floats,
        or numpy arrays elementwise).

        General-Level's win test breaks a tie of normalised values with it: a lower-is-better
        specialist such as CD 9.32e-5 normalises to exactly 100.0 in floating point, as does
        any CD below about 0.027, so without it a worse raw value would tie and "win".
        """
        return a >= b if self.direction == "higher" else a <= b

    @property
    def can_be_negative(self) -> bool:
        """Whether a negative raw value is meaningful (specs.yaml `negative`)."""
        return self.negative


WORST_RULES: dict[str, str] = {
    "range_end": "replaced by the end of the references' range farthest from its reference "
                 "(a series reference: an all-zero series)",
    "still": "replaced by a vehicle that never moves (identity poses, as many as the reference has)",
}
"""Named `worst` substitutions (metrics/failure.py applies them)."""


def _parse_worst(entry: dict[str, Any], name: str) -> float | str | None:
    raw = entry.get("worst")
    if raw is None:
        return None
    if entry.get("on_failure", "worst") != "worst":
        raise UnknownMetricError(f"metrics/specs.yaml: metric={name!r}: worst needs on_failure: worst")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if raw in WORST_RULES:
        return str(raw)
    raise UnknownMetricError(f"metrics/specs.yaml: metric={name!r}: worst must be a number or one of "
                             f"{', '.join(WORST_RULES)}, got {raw!r}")


def _parse_rule(raw: Any, name: str) -> NormaliseRule:
    if raw == "identity":
        return NormaliseRule("identity")
    if raw == "complement":
        return NormaliseRule("complement")
    if isinstance(raw, dict) and len(raw) == 1:
        (kind, value), = raw.items()
        params = tuple(float(v) for v in (value if isinstance(value, list) else [value]))
        if kind in {"sigmoid", "tanh", "affine"}:
            return NormaliseRule(kind, params)
    raise UnknownMetricError(f"metrics/specs.yaml: metric={name!r}: bad normalise rule {raw!r}")


def _choice(entry: dict[str, Any], key: str, allowed: tuple[str, ...], default: str,
            name: str) -> Any:
    value = entry.get(key, default)
    if value not in allowed:
        raise UnknownMetricError(f"metrics/specs.yaml: metric={name!r}: {key} must be one of "
                                 f"{', '.join(allowed)}, got {value!r}")
    return value


@lru_cache(maxsize=1)
def load_specs() -> dict[str, MetricSpec]:
    """All canonical metric specs shipped with the package, keyed by canonical name."""
    text = resources.files("generalbench.metrics").joinpath("specs.yaml").read_text("utf-8")
    data = safe_load(text)
    specs: dict[str, MetricSpec] = {}
    for name, entry in data.items():
        specs[name] = MetricSpec(
            name=name,
            spellings=tuple(entry.get("spellings", [])),
            family=entry["family"],
            unit=entry["unit"],
            direction=entry["direction"],
            normalise=_parse_rule(entry["normalise"], name),
            needs=entry["needs"],
            output=entry["output"],
            aggregate=_choice(entry, "aggregate", ("mean", "corpus"), "corpus", name),
            on_failure=_choice(entry, "on_failure", tuple(FAILURE_POLICIES), "worst", name),
            worst=_parse_worst(entry, name),
            shape=_choice(entry, "shape", ("same", "rows", "any"), "any", name),
            negative=bool(entry.get("negative", False)),
            reads_files=bool(entry.get("reads_files", False)),
            empty_fill=entry.get("empty_fill"),
            options=tuple(entry.get("options", [])),
            task_options=tuple(entry.get("task_options", [])),
        )
        if specs[name].on_failure == "zero" and specs[name].aggregate != "mean":
            raise UnknownMetricError(f"metrics/specs.yaml: metric={name!r}: on_failure: zero "
                                     "needs aggregate: mean")
    return specs


def get_spec(name: str) -> MetricSpec:
    """The spec of a canonical metric name or of an official spelling (its default metric)."""
    specs = load_specs()
    if name in specs:
        return specs[name]
    for spec in specs.values():
        if name in spec.spellings:
            return spec
    folded = name.strip().lower()
    for spec in specs.values():
        if any(folded == s.lower() for s in spec.spellings):
            return spec
    choices = list(specs) + [s for spec in specs.values() for s in spec.spellings]
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    raise UnknownMetricError(f"unknown metric {name!r}{hint}; see `generalbench metrics`")
