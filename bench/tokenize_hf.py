#!/usr/bin/env python3
"""The Python baseline of bench/tokenize.sh: HF `tokenizers` `encode_batch` on the same traces.

Each trace is rendered with the tokenizer folder's chat template by transformers
(`apply_chat_template(tokenize=False)`, not timed), then the texts are encoded with
`tokenizers.Tokenizer.encode_batch(texts, add_special_tokens=False)` in batches of --batch
(timed: only the encode calls). Prints one JSON object: rows, tokens, seconds, tokens_per_second,
and the same for `encode_batch_fast` (no offsets) when the installed tokenizers has it.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import tokenizers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402


def batches(path, size, system):
    batch = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            msgs = [{"role": "user", "content": r["question"]}, {"role": "assistant", "content": r["response"]}]
            if system is not None:
                msgs.insert(0, {"role": "system", "content": system})
            batch.append(msgs)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--input", required=True)
    p.add_argument("--tokenizer", required=True, help="folder with tokenizer.json and tokenizer_config.json")
    p.add_argument("--system")
    p.add_argument("--batch", type=int, default=1000)
    a = p.parse_args()

    hf = AutoTokenizer.from_pretrained(a.tokenizer)
    raw = tokenizers.Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    has_fast = hasattr(raw, "encode_batch_fast")
    rows = tokens = tokens_fast = 0
    seconds = seconds_fast = render_seconds = 0.0
    for convs in batches(a.input, a.batch, a.system):
        t0 = time.perf_counter()
        texts = [hf.apply_chat_template(m, tokenize=False) for m in convs]
        t1 = time.perf_counter()
        encs = raw.encode_batch(texts, add_special_tokens=False)
        t2 = time.perf_counter()
        render_seconds += t1 - t0
        seconds += t2 - t1
        tokens += sum(len(e.ids) for e in encs)
        del encs
        if has_fast:
            t3 = time.perf_counter()
            encs = raw.encode_batch_fast(texts, add_special_tokens=False)
            seconds_fast += time.perf_counter() - t3
            tokens_fast += sum(len(e.ids) for e in encs)
            del encs
        rows += len(convs)
    out = {
        "rows": rows,
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_second": tokens / seconds if seconds else 0.0,
        "render_seconds_untimed": render_seconds,
        "tokenizers_version": tokenizers.__version__,
    }
    if has_fast:
        out.update(
            fast_tokens=tokens_fast,
            fast_seconds=seconds_fast,
            fast_tokens_per_second=tokens_fast / seconds_fast if seconds_fast else 0.0,
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
