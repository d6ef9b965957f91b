"""Converts valley's pre-tokenised rows into what HF-Trainer-based engines load pre-tokenised.

    python valley_tokens_to_hf.py TOKENS.jsonl OUT --format jsonl   # axolotl (ds_type json)
    python valley_tokens_to_hf.py TOKENS.jsonl OUT --format disk    # LLaMA-Factory tokenized_path

Each row becomes `input_ids`, `attention_mask` (all 1) and `labels` (-100 where valley's loss
mask is 0). The output is written to a temporary name and renamed when complete.
"""

import argparse
import json
import os
import shutil


def rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                ids, mask = r["input_ids"], r["loss_mask"]
                yield {
                    "input_ids": ids,
                    "attention_mask": [1] * len(ids),
                    "labels": [t if m else -100 for t, m in zip(ids, mask)],
                }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tokens")
    p.add_argument("out")
    p.add_argument("--format", choices=["jsonl", "disk"], required=True)
    a = p.parse_args()
    tmp = a.out + ".tmp"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    if a.format == "jsonl":
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows(a.tokens):
                f.write(json.dumps(r) + "\n")
    else:
        import datasets

        datasets.Dataset.from_list(list(rows(a.tokens))).save_to_disk(tmp)
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
