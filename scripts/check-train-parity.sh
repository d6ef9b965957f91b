#!/usr/bin/env bash
# `valley train check` for every engine that installs on the CPU here: the engine's own
# preprocessing (TRL's SFTTrainer dataset preparation and collator; torchtune's dataset
# component and padded_collate_sft; LLaMA-Factory's get_dataset on the converted tokenized_path and
# its SFT collator; axolotl's load_cfg and load_datasets on the converted JSONL and the collator
# its trainer builder picks) on the first N LeetCode traces rendered with the real
# Qwen2.5 tokenizer, compared token for token with valley's ids and loss masks.
# Then the torchtune template: with `data.template = "torchtune"`, valley's rendering in
# torchtune's own format against torchtune's own Qwen2.5 and Llama-3 tokenizers on the same raw
# traces (torchtune's chat_dataset, its labels and padded_collate_sft), for both students, at
# max-seq-len 512 so that about a tenth of the traces meet torchtune's truncation rule.
# Exit 0 when every engine matches on every trace, 1 on any mismatch.
#
#   scripts/check-train-parity.sh          # N=1000
#   N=200 scripts/check-train-parity.sh
#
# Needs scripts/setup.d/65-train-engines.sh (the venvs) and scripts/fetch-tokenizers.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.d/65-train-engines.sh
scripts/fetch-tokenizers.sh
cargo build --quiet -p valley
valley="${CARGO_TARGET_DIR:-$repo/target}/debug/valley"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/spec.toml" <<SPEC
[model]
name = "qwen2.5-7b"
path = "$repo/models/Qwen2.5-7B-Instruct"
tokenizer = "$repo/.cache/tokenizers/qwen2.5"
[data]
train = "$repo/fixtures/traces/leetcode-train.jsonl.gz"
over-length = "truncate"
[output]
dir = "$work/run"
SPEC
status=0
for engine in trl torchtune llama-factory axolotl; do
    case $engine in
        trl) py="$repo/.cache/train-engines/bin/python" ;;
        torchtune) py="$repo/.cache/train-engine-torchtune/bin/python" ;;
        llama-factory) py="$repo/.cache/train-engine-llamafactory/bin/python" ;;
        axolotl) py="$repo/.cache/train-engine-axolotl/bin/python" ;;
    esac
    if [ ! -x "$py" ]; then
        echo "check-train-parity: $engine NOT RUN: its venv is missing: $(cat .cache/train-engines.unavailable 2>/dev/null)" >&2
        # A machine without room for torch is not a parity failure; VALLEY_REQUIRE_GATED=1 (CI)
        # makes it one, as it does a gated test's skip.
        [ "${VALLEY_REQUIRE_GATED:-}" = 1 ] && status=1
        continue
    fi
    "$valley" train check --config "$work/spec.toml" --engine "$engine" --python "$py" \
        --sample "${N:-1000}" --work "$work/$engine" || status=1
done
tt="$repo/.cache/train-engine-torchtune/bin/python"
if [ -x "$tt" ]; then
    for student in qwen2.5:qwen2.5-7b llama3.1:llama3.1-8b; do
        tok="${student%%:*}"
        cat > "$work/spec-$tok.toml" <<SPEC
[model]
name = "${student#*:}"
path = "$repo/models/${student#*:}"
tokenizer = "$repo/.cache/tokenizers/$tok"
[data]
train = "$repo/fixtures/traces/leetcode-train.jsonl.gz"
over-length = "truncate"
template = "torchtune"
[train]
max-seq-len = 512
[output]
dir = "$work/run-$tok"
SPEC
        "$valley" train check --config "$work/spec-$tok.toml" --engine torchtune --python "$tt" \
            --sample "${N:-1000}" --work "$work/torchtune-template-$tok" || status=1
    done
else
    echo "check-train-parity: torchtune template NOT RUN: its venv is missing" >&2
    [ "${VALLEY_REQUIRE_GATED:-}" = 1 ] && status=1
fi
exit $status
