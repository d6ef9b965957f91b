#!/usr/bin/env python3
"""Writes the tokenizer a GGUF file carries as an HF tokenizer folder (tokenizer.json +
tokenizer_config.json with the chat template), for tools that read tokenizer folders (valley
train's data path, transformers). Mirrors valley-native's `gguf::tokenizer_files`; the gated
test crates/valley-native/tests/smollm2.rs checks the two give the same token ids.

Usage: gguf_tokenizer.py MODEL.gguf OUT_DIR   (standard library only)
"""
import json
import os
import struct
import sys

TYPES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_metadata(path):
    with open(path, "rb") as f:
        def rd(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))[0]

        def rstr():
            return f.read(rd("Q")).decode("utf-8", "replace")

        def val(t):
            if t == 8:
                return rstr()
            if t == 9:
                et, n = rd("I"), rd("Q")
                return [val(et) for _ in range(n)]
            return rd(TYPES[t])

        if f.read(4) != b"GGUF":
            sys.exit(f"error: {path}: not a GGUF file")
        rd("I"), rd("Q")
        n_kv = rd("Q")
        meta = {}
        for _ in range(n_kv):
            k = rstr()
            meta[k] = val(rd("I"))
        return meta


PRE = {
    "smollm": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
    "gpt2": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
}
PRE["starcoder"] = PRE["refact"] = PRE["smollm"]
PRE["default"] = PRE["gpt2"]


def main():
    path, out = sys.argv[1], sys.argv[2]
    m = read_metadata(path)
    if m.get("tokenizer.ggml.model") != "gpt2":
        sys.exit(f"error: {path}: tokenizer.ggml.model {m.get('tokenizer.ggml.model')!r} is not byte-level BPE")
    pre = m.get("tokenizer.ggml.pre", "default")
    if pre not in PRE:
        sys.exit(f"error: {path}: tokenizer.ggml.pre {pre!r} is not supported")
    tokens = m["tokenizer.ggml.tokens"]
    types = m.get("tokenizer.ggml.token_type", [1] * len(tokens))
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": types[i] == 3}
             for i, t in enumerate(tokens) if types[i] in (3, 4)]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None, "pre_tokenizer": PRE[pre],
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": m["tokenizer.ggml.merges"]},
    }
    arch = m.get("general.architecture", "llama")
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False,
           "model_max_length": m.get(f"{arch}.context_length", 2048)}
    for hf, key in [("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id"),
                    ("unk_token", "tokenizer.ggml.unknown_token_id"), ("pad_token", "tokenizer.ggml.padding_token_id")]:
        if key in m:
            cfg[hf] = tokens[m[key]]
    if "tokenizer.chat_template" in m:
        cfg["chat_template"] = m["tokenizer.chat_template"]
    os.makedirs(out, exist_ok=True)
    for name, doc in [("tokenizer.json", tok), ("tokenizer_config.json", cfg)]:
        tmp = os.path.join(out, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(out, name))


if __name__ == "__main__":
    main()
