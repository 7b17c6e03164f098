"""Small linear heads on top of embeddings (the LAION aesthetic predictor).

The LAION aesthetic predictor v1 is one `nn.Linear(768, 1)` applied to the L2-normalised CLIP
ViT-L/14 image embedding; it predicts a 1-10 rating. VBench's aesthetic_quality divides it by 10.
"""

from __future__ import annotations

import numpy as np
import torch

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel


class LinearHeadModel(MetricModel):
    """A linear layer saved as a state dict with `weight` (out x in) and `bias` (out)."""

    def _load(self) -> None:
        state = torch.load(self.weights.file(), map_location="cpu", weights_only=True)
        if not {"weight", "bias"} <= set(state):
            raise MetricError(f"{self.weights.file()}: expected a linear state dict with 'weight' "
                              f"and 'bias', found keys {sorted(state)[:5]}")
        self.weight = state["weight"].double().numpy()
        self.bias = state["bias"].double().numpy()

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Apply the head to N x D embeddings -> N (first output)."""
        self.load()
        emb = np.asarray(embeddings, dtype=np.float64)
        if emb.shape[1] != self.weight.shape[1]:
            raise MetricError(f"head {self.id!r} expects {self.weight.shape[1]}-d embeddings, got "
                              f"{emb.shape[1]}-d (pair it with the matching CLIP model)")
        return (emb @ self.weight.T + self.bias)[:, 0]
