"""From a model id to a loaded metric model: resolve weights, check the extra, build once.

The `loader` field of models.yaml names the class (data, not branches on model names). Loaded
models are kept in a small per-process cache keyed by (id, weights path, device, batch size), so
a run that scores many tasks with CLIP loads CLIP once.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from generalbench.errors import MetricError
from generalbench.metricmodels.registry import get_model
from generalbench.metricmodels.weights import ResolvedWeights, resolve

# loader -> (module, class, python package the module imports)
LOADERS: dict[str, tuple[str, str, str]] = {
    "clip": ("generalbench.metricmodels.hf", "ClipModel", "transformers"),
    "hf_image_cls": ("generalbench.metricmodels.hf", "HfImageClsModel", "transformers"),
    "clap": ("generalbench.metricmodels.hf", "ClapModel", "transformers"),
    "inception_fid": ("generalbench.metricmodels.inception", "InceptionFIDModel", "torch"),
    "i3d_torchscript": ("generalbench.metricmodels.video_audio_nets", "I3DTorchScriptModel", "torch"),
    "vggish": ("generalbench.metricmodels.video_audio_nets", "VGGishModel", "torch"),
    "linear_head": ("generalbench.metricmodels.heads", "LinearHeadModel", "torch"),
    "musiq": ("generalbench.metricmodels.musiq", "MusiqModel", "torch"),
    "raft": ("generalbench.metricmodels.raft", "RaftModel", "torch"),
    "cotracker": ("generalbench.metricmodels.cotracker", "CoTrackerModel", "torch"),
    "dnsmos": ("generalbench.metricmodels.speech", "DnsmosModel", "onnxruntime"),
    # basic_pitch itself is imported by the model (transcription.py), with its install command
    "basic_pitch": ("generalbench.metricmodels.transcription", "BasicPitchModel", "onnxruntime"),
    "whisper_ct2": ("generalbench.metricmodels.speech", "WhisperCt2Model", "faster_whisper"),
    # gguf_causal_lm (the local text judge) and hf_image_text_to_text (the local vision-language
    # judge) are loaded by the models layer's hf backend (metricmodels/judges.py builds a
    # models.hf.HFBackend), not here
    # VBench runs in its own interpreter (vbench_backend.py): nothing extra to import here
    "vbench": ("generalbench.metricmodels.vbench_backend", "VBenchModel", "json"),
    "t2m_motion_evaluator": ("generalbench.metricmodels.t2m_evaluator", "HumanML3DMotionEvaluator", "torch"),
}


def model_class(loader: str) -> type[Any]:
    """The class for a loader name; a missing optional package raises a MetricError naming the extra."""
    if loader not in LOADERS:
        raise MetricError(f"metricmodels/models.yaml: unknown loader {loader!r}; known: {sorted(LOADERS)}")
    module, cls, package = LOADERS[loader]
    try:
        importlib.import_module(package)
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise MetricError(f"loader {loader!r} needs the Python package {package!r}, which is not "
                          f"installed ({exc}); pip install 'generalbench[models]' (torch first: "
                          "pip install torch==2.13.0)") from None


@lru_cache(maxsize=16)
def _cached(model_id: str, root: str, origin: str, device: str, batch_size: int) -> Any:
    entry = get_model(model_id)
    cls = model_class(entry.loader)
    resolved = resolve(model_id, path=root) if origin == "explicit" else _resolve_again(model_id)
    return cls(resolved, device=device, batch_size=batch_size)


def _resolve_again(model_id: str) -> ResolvedWeights:
    return resolve(model_id)


def load_model(model_id: str, *, weights: str | os.PathLike[str] | None = None,
               device: str = "auto", batch_size: int = 16, metric: str | None = None) -> Any:
    """A metric model ready to use (its weights load on first use, once per process).

    Weights are resolved first, so a missing model raises MissingWeightsError naming `metric`.
    """
    resolved = resolve(model_id, path=weights, metric=metric)
    return _cached(model_id, str(resolved.root), resolved.origin, device, batch_size)


def clear_cache() -> None:
    """Forget loaded models (tests, or to free memory between task groups)."""
    _cached.cache_clear()
