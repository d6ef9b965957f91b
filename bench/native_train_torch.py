#!/usr/bin/env python3
"""PyTorch (CPU) side of bench/native.sh: a randomly initialised SmolLM2-135M-shaped Llama (fp32)
and one batch, shared with valley's `parity` tool; then transformers' training throughput on it.

prepare OUT ROWS SEQ: OUT/ref (HF folder) and OUT/batch.json (loss on the last 3/4 of each row)
measure OUT STEPS:    tokens/s of full AdamW steps (forward, backward, clip, step), median after the
                      first; prints one JSON object.
"""
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM


def prepare(out, rows, seq):
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5, rope_theta=100000.0,
                      max_position_embeddings=8192, tie_word_embeddings=True)
    LlamaForCausalLM(cfg).float().save_pretrained(os.path.join(out, "ref"), safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 49152, (rows, seq), generator=g)
    mask = torch.zeros(rows, seq, dtype=torch.long)
    mask[:, seq // 4:] = 1
    with open(os.path.join(out, "batch.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "loss_mask": mask.tolist()}, f)


def measure(out, steps):
    batch = json.load(open(os.path.join(out, "batch.json")))
    ids = torch.tensor(batch["input_ids"])
    mask = torch.tensor(batch["loss_mask"])
    model = AutoModelForCausalLM.from_pretrained(os.path.join(out, "ref"), torch_dtype=torch.float32,
                                                 attn_implementation="sdpa")
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        logits = model(input_ids=ids).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        w = mask[:, 1:].float()
        loss = -(logp.gather(-1, ids[:, 1:, None])[..., 0] * w).sum() / w.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    steady = sorted(times[1:]) or times
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "loss": loss.item(),
                      "step_seconds": times, "train_tokens_per_s": ids.numel() / steady[len(steady) // 2]}))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        measure(sys.argv[2], int(sys.argv[3]))
