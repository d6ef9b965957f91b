#!/usr/bin/env python3
"""GPU parity of valley's native backend against HF transformers (run by native-parity.sh).

prepare OUT: a randomly initialised SmolLM2-135M-shaped Llama (fp32, seed 0) saved as an HF folder
             in OUT/ref, and a batch (4 rows x 1024 tokens, loss on the last 768) in OUT/batch.json.
compare OUT: after `parity` wrote OUT/native, compares loss and every gradient (relative error),
             loads valley's checkpoint in transformers and compares logits, measures transformers'
             training throughput on the same batch and GPU, and writes OUT/parity.json.
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

ROWS, SEQ, PROMPT = 4, 1024, 256


def config():
    return LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                       num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5, rope_theta=100000.0,
                       max_position_embeddings=8192, tie_word_embeddings=True, torch_dtype="float32")


def prepare(out):
    torch.manual_seed(0)
    model = LlamaForCausalLM(config()).float()
    model.save_pretrained(os.path.join(out, "ref"), safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 49152, (ROWS, SEQ), generator=g)
    mask = torch.zeros(ROWS, SEQ, dtype=torch.long)
    mask[:, PROMPT:] = 1
    with open(os.path.join(out, "batch.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "loss_mask": mask.tolist()}, f)


def masked_loss(model, ids, mask):
    logits = model(input_ids=ids).logits.float()
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    picked = logp.gather(-1, ids[:, 1:, None])[..., 0]
    w = mask[:, 1:].float()
    return -(picked * w).sum() / w.sum(), logits


def step_time(model, ids, mask, steps, autocast):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    times = []
    for _ in range(steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss, _ = masked_loss(model, ids, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    steady = sorted(times[1:]) or times
    return ROWS * SEQ / steady[len(steady) // 2]


def compare(out):
    dev = "cuda"
    batch = json.load(open(os.path.join(out, "batch.json")))
    ids = torch.tensor(batch["input_ids"], device=dev)
    mask = torch.tensor(batch["loss_mask"], device=dev)
    native = json.load(open(os.path.join(out, "native", "native.json")))
    ref = AutoModelForCausalLM.from_pretrained(os.path.join(out, "ref"), torch_dtype=torch.float32,
                                               attn_implementation="eager").to(dev)
    loss, _ = masked_loss(ref, ids, mask)
    loss.backward()
    ours = load_file(os.path.join(out, "native", "grads.safetensors"))
    errs = {}
    for name, p in ref.named_parameters():
        g = p.grad.float().cpu()
        o = ours[name].reshape(g.shape)
        errs[name] = ((o - g).norm() / g.norm().clamp_min(1e-30)).item()
    worst = max(errs, key=errs.get)
    # valley's checkpoint in transformers: logits on the batch.
    ck = AutoModelForCausalLM.from_pretrained(native["checkpoint"], torch_dtype=torch.float32,
                                              attn_implementation="eager").to(dev)
    with torch.no_grad():
        logits = ck(input_ids=ids).logits.float().reshape(ROWS * SEQ, -1).cpu()
    theirs = load_file(os.path.join(out, "native", "logits.safetensors"))["logits"]
    logit_err = ((theirs - logits).abs().max() / logits.abs().max()).item()
    del ck, ref
    torch.cuda.empty_cache()
    # transformers' training throughput on the same model, batch and GPU.
    tput = {}
    for name, autocast, attn in [("fp32_eager", False, "eager"), ("fp32_sdpa", False, "sdpa"), ("bf16_autocast_sdpa", True, "sdpa")]:
        m = AutoModelForCausalLM.from_pretrained(os.path.join(out, "ref"), torch_dtype=torch.float32,
                                                attn_implementation=attn).to(dev)
        m.train()
        tput[name] = step_time(m, ids, mask, 6, autocast)
        del m
        torch.cuda.empty_cache()
    report = {
        "gpu": torch.cuda.get_device_name(0),
        "batch": [ROWS, SEQ],
        "loss_native": native["loss"],
        "loss_transformers": loss.item(),
        "loss_relative_error": abs(native["loss"] - loss.item()) / abs(loss.item()),
        "grad_relative_error_max": errs[worst],
        "grad_relative_error_max_param": worst,
        "grad_relative_error_median": sorted(errs.values())[len(errs) // 2],
        "checkpoint_logits_max_abs_error_over_max_abs": logit_err,
        "native_train_tokens_per_s": native["train_tokens_per_second"],
        "native_step_seconds": native["step_seconds"],
        "transformers_train_tokens_per_s": tput,
        "ratio_native_over_transformers_fp32_sdpa": native["train_tokens_per_second"] / tput["fp32_sdpa"],
        "ratio_native_over_transformers_bf16": native["train_tokens_per_second"] / tput["bf16_autocast_sdpa"],
    }
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    {"prepare": prepare, "compare": compare}[sys.argv[1]](sys.argv[2])
