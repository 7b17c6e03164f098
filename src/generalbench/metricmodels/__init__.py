"""Metric models: the learned networks behind model-based metrics, and their weights.

- registry (models.yaml): which model each metric needs, pinned sources, hashes, licences
- weights: resolve (explicit path, $GENERALBENCH_WEIGHTS, installed package, HF cache), fetch, verify
- loaders.load_model(model_id, weights=, device=, batch_size=): a loaded MetricModel, once per process
- featmath / statcache / motion: pure numeric cores and the reference-statistics cache
Nothing here imports torch, transformers or onnxruntime at import time.
"""

from generalbench.metricmodels.registry import all_models, default_model, get_model, metric_models
from generalbench.metricmodels.weights import ENV_VAR, fetch, resolve, verify

__all__ = ["ENV_VAR", "all_models", "default_model", "fetch", "get_model", "metric_models",
           "resolve", "verify"]
