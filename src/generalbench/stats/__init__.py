"""Bootstrap statistics of General-Level results (docs/statistics.md): per-task intervals and
win probabilities, per-model level probabilities, paired comparisons."""
