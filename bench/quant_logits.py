#!/usr/bin/env python3
"""Logits of valley's serving engine (quantised kernels) and of its f32 path, each against
llama.cpp's own logits on the same GGUF and the same token ids: for every file given (any
quantisation; bench/requantize.py writes Q8_0, Q4_0, Q5_1, Q4_K_M, Q5_K_M and Q6_K copies),
at every position of a chat prompt followed by a code answer:

- max |Δ centred logit| / std (logits compared up to a constant shift, which changes no
  probability), and the largest KL(llama.cpp ‖ valley) in nats;
- the share of positions where valley's argmax is llama.cpp's, and whether every disagreement is
  a near-tie (llama.cpp's margin between the two tokens under 0.5 nats).

"engine" is `valley model logits --quantized` (the file's blocks as stored, activations quantised
to 8 bits as llama.cpp does: what `valley serve` decodes with); "f32" is `valley model logits`
(the weights dequantised to f32). The engine should be at least as close to llama.cpp as the f32
path. Prints one JSON object per file.

Usage: quant_logits.py VALLEY GGUF [GGUF ...]   (run with the llama.cpp server's Python:
llama_cpp and numpy)
"""
import json
import os
import subprocess
import sys
import tempfile

import llama_cpp
import numpy as np

PROMPT = (
    "<|im_start|>user\nWrite a Python function that returns the n-th Fibonacci number.<|im_end|>\n"
    "<|im_start|>assistant\nHere is a simple iterative version:\n\n```python\n"
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```\n"
)


def centred(x):
    return x - x.mean(axis=1, keepdims=True)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def compare(ours, ref):
    sd = ref.std(axis=1)
    worst = float((np.abs(centred(ours) - centred(ref)).max(axis=1) / sd).max())
    lp, lq = log_softmax(ref.astype(np.float64)), log_softmax(ours.astype(np.float64))
    kl = float((np.exp(lp) * (lp - lq)).sum(axis=1).max())
    a, b = ours.argmax(axis=1), ref.argmax(axis=1)
    margins = ref[np.arange(len(b)), b] - ref[np.arange(len(a)), a]
    near_ties = bool((margins[a != b] < 0.5).all())
    return {"max_centred_delta_over_std": round(worst, 4), "max_kl": round(kl, 5),
            "argmax_agreement": round(float((a == b).mean()), 4), "disagreements_near_ties": near_ties}


def valley_logits(valley, gguf, ids, extra):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        out = subprocess.run([valley, "model", "logits", "--model", gguf, "--ids", ",".join(map(str, ids)),
                              "--out", f.name, "--json"] + extra, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"valley model logits {gguf}: {out.stderr}")
        vocab = json.loads(out.stdout)["vocab"]
        return np.fromfile(f.name, dtype="<f4").reshape(len(ids), vocab)


def main():
    valley, files = sys.argv[1], sys.argv[2:]
    for gguf in files:
        llm = llama_cpp.Llama(model_path=gguf, logits_all=True, n_ctx=512, n_threads=os.cpu_count(),
                              verbose=False)
        ids = llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
        llm.eval(ids)
        ref = np.array(llm.scores[: len(ids)], dtype=np.float32)
        ftype = llm.metadata.get("general.file_type", "?")
        del llm
        row = {"file": os.path.basename(gguf), "file_type": ftype, "positions": len(ids)}
        for name, extra in (("engine", ["--quantized"]), ("f32", [])):
            row[name] = compare(valley_logits(valley, gguf, ids, extra), ref)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
