#!/usr/bin/env python3
"""Writes fixtures/torchtune/expected.jsonl: conversations rendered by torchtune's own Qwen2.5 and
Llama-3 tokenizers (torchtune 0.6.1, `tokenize_messages` and `SFTTransform`'s labels), which
crates/valley-data/tests/real_tokenizers.rs compares with valley's `TorchtuneRenderer`.

    .cache/train-engine-torchtune/bin/python scripts/make-torchtune-fixture.py .cache/tokenizers

Qwen2.5 reads vocab.json and merges.txt written from .cache/tokenizers/qwen2.5/tokenizer.json;
Llama 3 reads .cache/tokenizers/llama3.1/tokenizer.model (PyPI llama-models 0.3.0).
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "valley-train", "python"))
from torchtune.data import Message  # noqa: E402
from valley_parity import torchtune_tokenizer  # noqa: E402

CASES = [
    # name, system, user, assistant, train_on_input, max_seq_len
    ("plain", None, "Add 2 and 3. <think>", "<think>\n2+3=5\n</think>\n\n5", False, 32768),
    ("no-max", None, "Add 2 and 3.", "5", False, None),
    ("system-cut", "Be brief.", "say <|im_end|> or <|eot_id|> \u001c", "\nfine <|eot_id|>", False, 24),
    ("train-on-input", "Be brief.", "  spaced \n", "cafe\u0301 \u00e9 \u3000", True, 4096),
    ("long-run", None, "q", "x" * 26000 + " " + "y" * 10, False, 32768),
]


def main():
    tokenizer_dir = sys.argv[1]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torchtune", "expected.jsonl")
    with tempfile.TemporaryDirectory() as work:
        rows = []
        for family in ("qwen2.5", "llama3.1"):
            folder = os.path.join(tokenizer_dir, family)
            for name, system, user, assistant, train_on_input, max_seq_len in CASES:
                if name == "long-run" and family != "llama3.1":
                    continue  # torchtune cuts long runs only in its tiktoken (Llama) encoder
                messages = []
                if system is not None:
                    messages.append(Message(role="system", content=system, masked=True))
                messages.append(Message(role="user", content=user, masked=not train_on_input))
                messages.append(Message(role="assistant", content=assistant, masked=False))
                tokenizer = torchtune_tokenizer(folder, max_seq_len, work)
                tokens, mask = tokenizer.tokenize_messages(messages)
                rows.append({
                    "tokenizer": family, "case": name, "system": system, "user": user,
                    "assistant": assistant, "train_on_input": train_on_input,
                    "max_seq_len": max_seq_len, "input_ids": tokens,
                    "loss_mask": [0 if m else 1 for m in mask],
                })
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} renderings to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
