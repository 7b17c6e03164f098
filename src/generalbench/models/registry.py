"""Backend construction: the backend name maps to a module (models/defaults.yaml), imported lazily
so optional dependencies (torch, vllm) are only needed by the backends that use them."""

from __future__ import annotations

import importlib

from generalbench.models.api import ModelAPI
from generalbench.models.config import ModelConfig, backend_defaults


def create_backend(config: ModelConfig) -> ModelAPI:
    """A ready backend for `config` (its module's `create(config)`)."""
    module = importlib.import_module(backend_defaults()[config.backend]["module"])
    return module.create(config)
