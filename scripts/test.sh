#!/usr/bin/env bash
# The test command: the whole workspace's tests, with the optional fixtures (real tokenizers,
# reference tools) enabled when scripts/setup.sh has fetched them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .cache/env.sh ] && . .cache/env.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
