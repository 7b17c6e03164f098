"""The one interface every metric model follows: load once, then embed or score batches.

A metric model is built from resolved weights, a device and a batch size. It loads lazily on the
first call (so constructing one is cheap and errors about missing extras surface at a clear
point), processes inputs in batches of `batch_size`, and reports its identity for result details.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

from generalbench.errors import MetricError
from generalbench.metricmodels.weights import ResolvedWeights

T = TypeVar("T")


def require(module: str, extra: str = "models", purpose: str = "") -> ModuleType:
    """Import an optional dependency or raise one clear error naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = f" for {purpose}" if purpose else ""
        raise MetricError(f"the Python package {module.split('.')[0]!r} is needed{why} but is not "
                          f"installed ({exc}); install the extra: pip install 'generalbench[{extra}]' "
                          "(torch first: pip install torch==2.13.0)") from None


def pick_device(device: str | None = None) -> str:
    """'cuda' when asked for or when 'auto' finds a GPU, else 'cpu'."""
    if device not in (None, "auto"):
        return str(device)
    torch = require("torch")
    return "cuda" if torch.cuda.is_available() else "cpu"


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    if size < 1:
        raise MetricError(f"batch_size must be >= 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start:start + size]


class MetricModel(ABC):
    """Base of all metric models: weights, device and batch size, with a load-once guard."""

    def __init__(self, weights: ResolvedWeights, *, device: str | None = "auto",
                 batch_size: int = 16) -> None:
        self.weights = weights
        self.device_request = device
        self.batch_size = batch_size
        self._loaded = False

    @property
    def id(self) -> str:
        return self.weights.model.id

    def load(self) -> None:
        """Load the weights once; later calls are free."""
        if not self._loaded:
            self._load()
            self._loaded = True

    @abstractmethod
    def _load(self) -> None:
        """Read the weights into memory (called once, by `load`)."""

    def info(self) -> dict[str, Any]:
        """Identity recorded in every result that this model produced."""
        info: dict[str, Any] = {"model": self.id, "weights": str(self.weights.root),
                                "origin": self.weights.origin, "loader": self.weights.model.loader}
        folder = self.weights.root if self.weights.root.is_dir() else self.weights.root.parent
        if (folder / "TINY_RANDOM_WEIGHTS.txt").is_file():  # metricmodels/tiny.py stand-ins
            info["tiny_random_weights"] = True
        return info

    def map_batches(self, items: Sequence[T], fn: Callable[[Sequence[T]], Any]) -> list[Any]:
        """Load, then apply `fn` to each batch and concatenate the per-item results."""
        self.load()
        out: list[Any] = []
        for batch in batches(items, self.batch_size):
            out.extend(fn(batch))
        return out
