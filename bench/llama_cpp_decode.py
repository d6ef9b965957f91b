#!/usr/bin/env python3
"""llama.cpp's own decoding speed, without a server: the C library of llama-cpp-python driven
through its ctypes bindings, one `llama_decode` per step, greedy sampling in C (no per-token
Python work beyond the call). For each batch size B: B sequences each read a prompt of P token
ids (sequence s: id i = (i * 7919 + s * 104729) mod vocab, the ids `examples/decode` uses; prompt
time not counted), then STEPS steps decode the greedy token of every sequence together;
tokens/s = B * STEPS / decode seconds. The reference that `examples/decode` (valley's engine,
also without HTTP) is compared with: same GGUF, same token ids, same threads. Prints one JSON
object.

Usage (with the llama.cpp server's Python, VALLEY_LLM_PYTHON):
  llama_cpp_decode.py GGUF THREADS PROMPT_TOKENS STEPS BATCH [BATCH ...]
"""
import ctypes
import json
import sys
import time

import llama_cpp as L


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    path, threads, n_prompt, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    batches = [int(b) for b in sys.argv[5:]]
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    model = L.llama_model_load_from_file(path.encode(), mp)
    if not model:
        sys.exit(f"error: llama.cpp could not load {path}")
    n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    out = {"gguf": path, "threads": threads, "steps": steps, "prompt_tokens": n_prompt,
           "llama_cpp_python": L.__version__}
    for b in batches:
        cp = L.llama_context_default_params()
        cp.n_ctx = b * (n_prompt + steps + 8)
        cp.n_batch = max(512, b * n_prompt)
        cp.n_ubatch = cp.n_batch
        cp.n_seq_max = b
        cp.n_threads = threads
        cp.n_threads_batch = threads
        ctx = L.llama_init_from_model(model, cp)
        if not ctx:
            sys.exit(f"error: llama.cpp could not make a context for batch {b}")
        smpl = L.llama_sampler_init_greedy()
        batch = L.llama_batch_init(cp.n_batch, 0, b)

        def add(i, tok, pos, seq, logits):
            batch.token[i] = tok
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits

        n = 0
        for s in range(b):
            for p in range(n_prompt):
                add(n, (p * 7919 + s * 104729) % n_vocab, p, s, p == n_prompt - 1)
                n += 1
        batch.n_tokens = n
        p0 = time.perf_counter()
        if L.llama_decode(ctx, batch) != 0:
            sys.exit("error: llama_decode failed on the prompts")
        out[f"batch_{b}_prompt_tokens_per_s"] = round(n / (time.perf_counter() - p0), 2)
        last = [L.llama_sampler_sample(smpl, ctx, (s + 1) * n_prompt - 1) for s in range(b)]
        t0 = time.perf_counter()
        for step in range(steps):
            for s in range(b):
                add(s, last[s], n_prompt + step, s, True)
            batch.n_tokens = b
            if L.llama_decode(ctx, batch) != 0:
                sys.exit(f"error: llama_decode failed at step {step}")
            last = [L.llama_sampler_sample(smpl, ctx, s) for s in range(b)]
        secs = time.perf_counter() - t0
        out[f"batch_{b}_tokens_per_s"] = round(b * steps / secs, 2)
        L.llama_batch_free(batch)
        L.llama_sampler_free(smpl)
        L.llama_free(ctx)
    L.llama_model_free(model)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
