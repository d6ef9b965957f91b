#!/usr/bin/env bash
# Python training engines on the CPU, for `valley train check` (parity of the engines' own
# preprocessing with valley's tokens and masks) and the CPU runs of the transformers launcher.
# From PyPI only, into .cache/ (git-ignored):
#   .cache/train-engines/           torch (PyPI's Linux wheel; see below), transformers, TRL
#   .cache/train-engine-torchtune/  torchtune 0.6.1 + torchao 0.11 (newer torchao lacks
#                                   torchao.dtypes.nf4tensor, which torchtune 0.6.1 imports);
#                                   reuses the first venv's torch through a .pth file
# Why the full torch: PyPI's Linux torch wheel is a CUDA build; `pip install torch --no-deps`
# plus its pure dependencies fails at `import torch` (libtorch_global_deps.so needs
# libcudart.so.13, and the CUDA libraries come only as the nvidia-* dependencies), and the
# CPU-only wheels live on download.pytorch.org, which CI cannot reach. So torch comes with its
# CUDA libraries (about 5.9 GB installed) once, and the other engine venvs share it.
# Idempotent; set VALLEY_SETUP_SKIP_TRAIN_ENGINES=1 to skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${VALLEY_SETUP_SKIP_TRAIN_ENGINES:-}" ]; then exit 0; fi
base=.cache/train-engines
if ! "$base/bin/python" -c "import torch, transformers, trl, datasets" 2>/dev/null; then
    python3 -m venv "$base"
    "$base/bin/pip" install -q --upgrade pip
    "$base/bin/pip" install -q "torch==2.15.0" "trl==1.16.0" "transformers==5.24.0" datasets accelerate
fi
site="$(cd "$base" && pwd)/lib/python$("$base/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')/site-packages"
tt=.cache/train-engine-torchtune
if ! "$tt/bin/python" -c "import torchtune, torch; from torchtune.data import padded_collate_sft" 2>/dev/null; then
    python3 -m venv "$tt"
    ttsite="$("$tt/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$site" > "$ttsite/zz-valley-torch-base.pth"
    "$tt/bin/pip" install -q --upgrade pip
    "$tt/bin/pip" install -q "torchtune==0.6.1" "torchao==0.11.0" omegaconf
fi
touch .cache/env.sh
for line in "export VALLEY_TRAIN_PYTHON=$(pwd)/$base/bin/python" \
    "export VALLEY_TORCHTUNE_PYTHON=$(pwd)/$tt/bin/python"; do
    grep -qxF "$line" .cache/env.sh || echo "$line" >> .cache/env.sh
done
