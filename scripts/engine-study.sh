#!/usr/bin/env bash
# Runs examples/llama-cpp.toml: a study whose generate step starts llama.cpp's own server
# (llama-cpp-python, built by scripts/setup-llm-server.sh) with two replicas over
# SmolLM2-135M-Instruct (scripts/setup.d/70-smollm2.sh), then judges and reports.
#
#   bash scripts/engine-study.sh [valley study run flags…]
#
# The server's Python (VALLEY_LLM_PYTHON, else $VALLEY_LLM_HOME/venv/bin/python) goes first on
# PATH, where `valley generate --engine llama.cpp` looks for `python3`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/env.sh ] && . .cache/env.sh
home="${VALLEY_LLM_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/valley-llm}"
py="${VALLEY_LLM_PYTHON:-$home/venv/bin/python}"
if ! "$py" -c "import llama_cpp.server" 2>/dev/null; then
  echo "error: no llama-cpp-python server at $py; run scripts/setup-llm-server.sh" >&2
  exit 2
fi
if [ ! -s .cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  echo "error: no SmolLM2 GGUF in .cache/models/smollm2; run scripts/setup.d/70-smollm2.sh" >&2
  exit 2
fi
valley="${VALLEY:-}"
if [ -z "$valley" ]; then
  cargo build --quiet -p valley
  valley="${CARGO_TARGET_DIR:-target}/debug/valley"
fi
PATH="$(dirname "$py"):$PATH" exec "$valley" study run examples/llama-cpp.toml "$@"
