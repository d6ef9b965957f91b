#!/usr/bin/env python3
"""Decoding speed of two OpenAI-compatible servers serving the same model: valley serve (native,
quantised kernels) and llama.cpp's server. Same prompts (chat, the first K LeetCode problems of
examples/data/leetcode-lcb.jsonl), greedy, same max_tokens, one request at a time, alternating
servers; each answer streamed (server-sent events), so prompt reading and decoding are timed
apart: decode tokens/s = (pieces after the first) / (time from the first piece to the last).
Also the whole-request rate and how much of the greedy output agrees (both answers tokenized by
llama.cpp's /extras/tokenize; the share of generated tokens in the common prefix). Prints one
JSON object, then the ratio. Standard library only.

Usage: native_generate.py VALLEY_URL VALLEY_MODEL LLAMA_URL LLAMA_MODEL [K] [MAX_TOKENS]
"""
import json
import sys
import time
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def stream(url, body):
    """(text, pieces, seconds to the first piece, seconds of the whole request, finish_reason)."""
    body = dict(body, stream=True)
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    first = last = None
    text, pieces, finish = [], 0, None
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            for c in chunk.get("choices", []):
                piece = c.get("delta", {}).get("content") or c.get("text") or ""
                if piece:
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    pieces += 1
                    text.append(piece)
                finish = c.get("finish_reason") or finish
    end = time.perf_counter()
    return "".join(text), pieces, (first or end) - t0, (last or end) - (first or end), end - t0, finish


def main():
    v_url, v_model, l_url, l_model = sys.argv[1:5]
    k = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    max_tokens = int(sys.argv[6]) if len(sys.argv) > 6 else 128
    questions = [json.loads(l)["question_content"] for l in open("examples/data/leetcode-lcb.jsonl")][:k]
    root = l_url.rsplit("/v1", 1)[0]
    tok = lambda text: post(root + "/extras/tokenize", {"input": text})["tokens"]
    names = ["valley", "llama.cpp"]
    # per server: generated tokens, decode pieces, decode seconds, whole-request seconds, first-piece seconds
    stats = {n: [0, 0, 0.0, 0.0, 0.0] for n in names}
    agree, total, identical = 0, 0, 0
    for q in questions:
        msgs = [{"role": "user", "content": q}]
        outs = {}
        for name, url, model in [("valley", v_url, v_model), ("llama.cpp", l_url, l_model)]:
            body = {"model": model, "messages": msgs, "max_tokens": max_tokens, "temperature": 0}
            if name == "llama.cpp":
                # llama-cpp-python's server applies repeat_penalty 1.1 by default, even at
                # temperature 0: its "greedy" text then leaves the model's argmax wherever a token
                # repeats (its own logprobs show the unpenalised top token). Off, for plain greedy.
                body["repeat_penalty"] = 1.0
            text, pieces, ttft, decode, whole, _ = stream(url + "/chat/completions", body)
            s = stats[name]
            s[0] += len(tok(text))
            s[1] += max(pieces - 1, 0)
            s[2] += decode
            s[3] += whole
            s[4] += ttft
            outs[name] = text
        a, b = tok(outs["valley"]), tok(outs["llama.cpp"])
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        agree += n
        total += max(len(a), len(b))
        identical += outs["valley"] == outs["llama.cpp"]
    # decode rate in tokens: pieces are tokens in both servers (one piece per sampled token, a
    # multi-byte character aside), so pieces after the first over the time after the first
    decode = {n: stats[n][1] / max(stats[n][2], 1e-9) for n in names}
    whole = {n: stats[n][0] / max(stats[n][3], 1e-9) for n in names}
    print(json.dumps({
        "prompts": len(questions), "max_tokens": max_tokens,
        "valley_decode_tokens_per_s": round(decode["valley"], 2),
        "llama_cpp_decode_tokens_per_s": round(decode["llama.cpp"], 2),
        "ratio_decode_valley_over_llama_cpp": round(decode["valley"] / decode["llama.cpp"], 3),
        "valley_request_tokens_per_s": round(whole["valley"], 2),
        "llama_cpp_request_tokens_per_s": round(whole["llama.cpp"], 2),
        "valley_seconds_to_first_token": round(stats["valley"][4] / len(questions), 3),
        "llama_cpp_seconds_to_first_token": round(stats["llama.cpp"][4] / len(questions), 3),
        "greedy_common_prefix_token_share": round(agree / max(total, 1), 3),
        "identical_answers": identical,
    }))
    print(f"ratio valley/llama.cpp (batch-1 decode): {decode['valley'] / decode['llama.cpp']:.2f}")
    print(f"ratio valley/llama.cpp (whole requests, prompt reading included): {whole['valley'] / whole['llama.cpp']:.2f}")


if __name__ == "__main__":
    main()
