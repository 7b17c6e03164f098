"""Metric models loaded through transformers: CLIP, DINO/DINOv2 (CLS features) and CLAP.

All three return L2-normalised embeddings as float64 numpy arrays, so metric code stays numpy-only
and cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generalbench.metricmodels.base import MetricModel, pick_device, require
from generalbench.metricmodels.image_io import rgb_images


def _pooled(out: Any) -> Any:
    """Projected features across transformers versions (tensor in 4.x, output object in 5.x)."""
    return out if hasattr(out, "detach") else out.pooler_output


def _normalise(x: Any) -> np.ndarray:
    arr = x.detach().to("cpu").double().numpy()
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)


class _HfModel(MetricModel):
    model: Any
    device: str

    def _common_load(self, auto_cls: str) -> None:
        torch = require("torch", purpose=self.id)
        transformers = require("transformers", purpose=self.id)
        self.device = pick_device(self.device_request)
        cls = getattr(transformers, auto_cls)
        self.model = cls.from_pretrained(str(self.weights.root)).to(self.device).eval()
        self._torch = torch

    def _to(self, inputs: Any) -> dict[str, Any]:
        return {k: v.to(self.device) for k, v in inputs.items()}


class ClipModel(_HfModel):
    """CLIP image and text embeddings (L2-normalised projections)."""

    def _load(self) -> None:
        self._common_load("CLIPModel")
        transformers = require("transformers")
        self.processor = transformers.CLIPProcessor.from_pretrained(str(self.weights.root))

    def embed_images(self, images: Sequence[Any]) -> np.ndarray:
        def run(batch: Sequence[Any]) -> list[np.ndarray]:
            inputs = self.processor(images=rgb_images(batch), return_tensors="pt")
            with self._torch.no_grad():
                feats = _pooled(self.model.get_image_features(pixel_values=inputs["pixel_values"].to(self.device)))
            return list(_normalise(feats))

        return np.stack(self.map_batches(list(images), run))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        max_len = int(getattr(self.model.config.text_config, "max_position_embeddings", 77))

        def run(batch: Sequence[str]) -> list[np.ndarray]:
            inputs = self.processor.tokenizer(list(batch), padding=True, truncation=True,
                                              max_length=max_len, return_tensors="pt")
            with self._torch.no_grad():
                feats = _pooled(self.model.get_text_features(**self._to(inputs)))
            return list(_normalise(feats))

        return np.stack(self.map_batches(list(texts), run))


class HfImageClsModel(_HfModel):
    """CLS-token features of a ViT-style backbone (DINO v1 ViT, DINOv2) via AutoModel."""

    def _load(self) -> None:
        self._common_load("AutoModel")
        transformers = require("transformers")
        self.processor = transformers.AutoImageProcessor.from_pretrained(str(self.weights.root))

    def embed_images(self, images: Sequence[Any]) -> np.ndarray:
        def run(batch: Sequence[Any]) -> list[np.ndarray]:
            inputs = self.processor(images=rgb_images(batch), return_tensors="pt")
            with self._torch.no_grad():
                out = self.model(pixel_values=inputs["pixel_values"].to(self.device))
            return list(_normalise(out.last_hidden_state[:, 0]))

        return np.stack(self.map_batches(list(images), run))


class ClapModel(_HfModel):
    """LAION-CLAP audio and text embeddings (L2-normalised projections)."""

    def _load(self) -> None:
        self._common_load("ClapModel")
        transformers = require("transformers")
        self.processor = transformers.ClapProcessor.from_pretrained(str(self.weights.root))
        self.sample_rate = int(self.processor.feature_extractor.sampling_rate)

    def embed_audio(self, clips: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
        from generalbench.metricmodels.audio_io import to_mono_rate

        def run(batch: Sequence[tuple[np.ndarray, int]]) -> list[np.ndarray]:
            waves = [to_mono_rate(a, sr, self.sample_rate) for a, sr in batch]
            inputs = self.processor.feature_extractor(waves, sampling_rate=self.sample_rate,
                                                      return_tensors="pt")
            with self._torch.no_grad():
                feats = _pooled(self.model.get_audio_features(**self._to(inputs)))
            return list(_normalise(feats))

        return np.stack(self.map_batches(list(clips), run))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        def run(batch: Sequence[str]) -> list[np.ndarray]:
            inputs = self.processor.tokenizer(list(batch), padding=True, truncation=True,
                                              return_tensors="pt")
            with self._torch.no_grad():
                feats = _pooled(self.model.get_text_features(**self._to(inputs)))
            return list(_normalise(feats))

        return np.stack(self.map_batches(list(texts), run))
