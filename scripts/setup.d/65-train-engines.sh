#!/usr/bin/env bash
# Python training engines on the CPU, for `valley train check` (parity of the engines' own
# preprocessing with valley's tokens and masks) and the CPU runs of the transformers launcher.
# From PyPI only, into .cache/ (git-ignored):
#   .cache/train-engines/           torch (PyPI's Linux wheel; see below), transformers, TRL
#   .cache/train-engine-torchtune/  torchtune 0.6.1 + torchao 0.11 (newer torchao lacks
#                                   torchao.dtypes.nf4tensor, which torchtune 0.6.1 imports);
#                                   reuses the first venv's torch through a .pth file
#   .cache/train-engine-llamafactory/ LLaMA-Factory 0.9.5 and its pins, same torch (.pth)
#   .cache/train-engine-axolotl/      axolotl 0.19.0 and its pure-Python pins, same torch (.pth)
# Why the full torch: PyPI's Linux torch wheel is a CUDA build; `pip install torch --no-deps`
# plus its pure dependencies fails at `import torch` (libtorch_global_deps.so needs
# libcudart.so.13, and the CUDA libraries come only as the nvidia-* dependencies), and the
# CPU-only wheels live on download.pytorch.org, which CI cannot reach. So torch comes with its
# CUDA libraries (about 5.9 GB installed) once, and the other engine venvs share it.
# Idempotent; set VALLEY_SETUP_SKIP_TRAIN_ENGINES=1 to skip. When the disk cannot hold torch, or
# pip fails for an engine, it removes that half-made venv, appends the reason to
# .cache/train-engines.unavailable and goes on: the rest of the setup and tests run, and
# scripts/check-train-parity.sh says plainly which engine it did not check and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${VALLEY_SETUP_SKIP_TRAIN_ENGINES:-}" ]; then exit 0; fi
base=.cache/train-engines
mark=.cache/train-engines.unavailable
rm -f "$mark"
# Refuse to start (rather than fill the disk half way) when the install cannot fit: torch's
# wheels are ~3 GB to fetch and ~6 GB installed. pip unpacks into TMPDIR; keep that on the same
# disk as .cache (a small tmpfs /tmp fills first) and keep no second copy in pip's cache.
need_gb=${VALLEY_TRAIN_ENGINES_NEED_GB:-12}
mkdir -p .cache/pip-tmp
export TMPDIR="$PWD/.cache/pip-tmp" PIP_NO_CACHE_DIR=1
trap 'rm -rf .cache/pip-tmp' EXIT
# Records why an engine is missing (the caller removed its half-made venv) and goes on.
unavailable() {
    echo "warning: training engine not installed: $*" >&2
    echo "warning: \`valley train check\` for it will say it did not run" >&2
    echo "$*" >> "$mark"
}
# A download of torch's ~3 GB of wheels that breaks off is tried once more before the engine
# counts as not installed.
twice() {
    "$@" || { echo "train engines: \`$*\` failed; trying once more" >&2; "$@"; }
}
if ! "$base/bin/python" -c "import torch, transformers, trl, datasets" 2>/dev/null; then
    free_gb=$(df -Pk .cache | awk 'NR==2 { print int($4 / 1048576) }')
    echo "train engines: installing torch, transformers, TRL (${free_gb} GB free on $(df -P .cache | awk 'NR==2 { print $6 }'))"
    if [ "$free_gb" -lt "$need_gb" ]; then
        unavailable "all engines: only ${free_gb} GB free under .cache, the install needs ${need_gb} GB"
        exit 0
    fi
    python3 -m venv "$base"
    if ! { "$base/bin/pip" install -q --upgrade pip &&
        twice "$base/bin/pip" install -q "torch==2.15.0" "trl==1.16.0" "transformers==5.24.0" datasets accelerate; }; then
        rm -rf "$base"
        unavailable "all engines: pip install of torch/TRL failed (see the setup log)"
        exit 0
    fi
fi
site="$(cd "$base" && pwd)/lib/python$("$base/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')/site-packages"

# A venv that sees the base venv's torch through a .pth file (its own packages come first).
venv_on_shared_torch() {
    python3 -m venv "$1" &&
        echo "$site" > "$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz-valley-torch-base.pth" &&
        "$1/bin/pip" install -q --upgrade pip
}

tt=.cache/train-engine-torchtune
if ! "$tt/bin/python" -c "import torchtune, torch; from torchtune.data import padded_collate_sft" 2>/dev/null; then
    { venv_on_shared_torch "$tt" &&
        "$tt/bin/pip" install -q "torchtune==0.6.1" "torchao==0.11.0" omegaconf; } ||
        { rm -rf "$tt"; unavailable "torchtune: pip install failed (see the setup log)"; }
fi
# LLaMA-Factory 0.9.5, on the same torch. Its own pins (transformers <= 5.6, TRL <= 0.24,
# datasets <= 4.0) go in its venv, ahead of the base venv's. Installed without its torch,
# torchvision and torchaudio requirements: they would pull a second torch, and PyPI's newest
# torchaudio (2.11) refuses to load beside torch 2.15; the parity check runs its text path only.
lf=.cache/train-engine-llamafactory
if ! "$lf/bin/python" -c "import importlib.metadata as m; m.version('llamafactory'); import transformers, datasets, trl, peft" 2>/dev/null; then
    { venv_on_shared_torch "$lf" &&
        "$lf/bin/pip" install -q --no-deps "llamafactory==0.9.5" &&
        "$lf/bin/pip" install -q "accelerate>=1.3.0,<=1.11.0" "av>=10.0.0,<=16.0.0" \
            "datasets>=2.16.0,<=4.0.0" einops fastapi fire "gradio>=4.38.0,<=5.50.0" hf-transfer \
            "matplotlib>=3.7.0" modelscope numpy omegaconf packaging pandas "peft>=0.18.0,<=0.18.1" \
            protobuf pydantic pyyaml safetensors scipy sentencepiece sse-starlette tiktoken \
            "torchdata>=0.10.0,<=0.11.0" "transformers>=4.55.0,<=5.6.0,!=4.52.0,!=4.57.0" \
            "trl>=0.18.0,<=0.24.0" "tyro<0.9.0" uvicorn; } ||
        { rm -rf "$lf"; unavailable "llama-factory: pip install failed (see the setup log)"; }
fi
# axolotl 0.19.0, on the same torch: it pins torch <= 2.13 and, for its GPU kernels, xformers,
# bitsandbytes, triton, liger-kernel and flash-linear-attention, none of which its config
# validation and dataset preparation (what the parity check runs) import. So axolotl itself goes
# in without its requirements, then its pure-Python requirements at its own pins; its cloud
# and tracking extras (wandb, modal, s3fs, gcsfs, adlfs, lm_eval, gradio) stay out.
ax=.cache/train-engine-axolotl
if ! "$ax/bin/python" -c "import importlib.metadata as m; m.version('axolotl'); from axolotl.cli.config import load_cfg; from axolotl.common.datasets import load_datasets" 2>/dev/null; then
    { venv_on_shared_torch "$ax" &&
        "$ax/bin/pip" install -q --no-deps "axolotl==0.19.0" &&
        "$ax/bin/pip" install -q "packaging==26.0" "huggingface_hub==1.17.0" "peft==0.20.0" \
            "tokenizers==0.23.1" "transformers==5.16.1" "accelerate==1.13.0" "datasets==4.8.4" \
            "trl==1.9.0" "hf_xet==1.4.3" "typing-extensions==4.15.0" "optimum==1.16.2" \
            hf_transfer sentencepiece "pydantic==2.12.5" addict fire "PyYAML==6.0.3" requests \
            einops colorama "numba>=0.63.1,<1.0" "numpy>=2.1,<3.0" "typer==0.25.1" scipy \
            "python-dotenv==1.0.1" "zstandard==0.22.0" fastcore "immutabledict==4.2.0" \
            "posthog==6.7.11" pillow "axolotl-contribs-lgpl==0.0.7" "axolotl-contribs-mit==0.0.6"; } ||
        { rm -rf "$ax"; unavailable "axolotl: pip install failed (see the setup log)"; }
fi
touch .cache/env.sh
for pair in "TRAIN:$base" "TORCHTUNE:$tt" "LLAMAFACTORY:$lf" "AXOLOTL:$ax"; do
    [ -x "${pair#*:}/bin/python" ] || continue
    line="export VALLEY_${pair%%:*}_PYTHON=$(pwd)/${pair#*:}/bin/python"
    grep -qxF "$line" .cache/env.sh || echo "$line" >> .cache/env.sh
done
