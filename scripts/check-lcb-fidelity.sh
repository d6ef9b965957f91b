#!/usr/bin/env bash
# valley's LiveCodeBench extraction and prompt styles against LiveCodeBench's own code (issue 13):
# the extraction corpus (fixtures/lcb/extraction.jsonl) against its `extract_code`, and every
# prompt style `valley generate` renders against its `format_prompt_generation`. Needs the venv
# of scripts/setup.d/55-lcb-reference.sh (VALLEY_LCB_PYTHON); LCB_SRC=<LiveCodeBench git repo>
# checks against its source at HEAD instead (every style, and the CodeLlama rule as it was before
# its regression). Exit 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/env.sh ] && . .cache/env.sh
PY="${VALLEY_LCB_PYTHON:-python3}"
VALLEY="${VALLEY:-${CARGO_TARGET_DIR:-target}/debug/valley}"
[ -x "$VALLEY" ] || cargo build --quiet -p valley
src=()
[ -n "${LCB_SRC:-}" ] && src=(--lcb-src "$LCB_SRC")
"$PY" scripts/check-lcb-extraction.py "${src[@]}"
llama=()
[ -d .cache/tokenizers/llama3 ] && llama=(--llama3-tokenizer .cache/tokenizers/llama3)
"$PY" scripts/check-lcb-prompts.py --valley "$VALLEY" "${src[@]}" "${llama[@]}"
