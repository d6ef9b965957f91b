#!/usr/bin/env python3
"""Aggregate throughput of an OpenAI-compatible server under concurrent requests: the same R
chat requests (the first R LeetCode problems, greedy, max_tokens each) sent one at a time, then
C at a time; aggregate completion tokens per second of wall time for each, and their ratio.
Prints one JSON object, then the ratio. Standard library only.

Usage: native_concurrency.py URL MODEL [CONCURRENCY] [REQUESTS] [MAX_TOKENS]
"""
import json
import sys
import threading
import time
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=1800) as r:
        return json.loads(r.read())


def run(url, model, questions, max_tokens, concurrency):
    """(completion tokens, wall seconds) of all requests with `concurrency` in flight."""
    todo = list(enumerate(questions))
    lock = threading.Lock()
    tokens = [0]

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                _, q = todo.pop(0)
            body = {"model": model, "messages": [{"role": "user", "content": q}],
                    "max_tokens": max_tokens, "temperature": 0}
            r = post(url + "/chat/completions", body)
            with lock:
                tokens[0] += r["usage"]["completion_tokens"]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tokens[0], time.perf_counter() - t0


def main():
    url, model = sys.argv[1:3]
    c = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    max_tokens = int(sys.argv[5]) if len(sys.argv) > 5 else 128
    questions = [json.loads(l)["question_content"] for l in open("examples/data/leetcode-lcb.jsonl")][:n]
    one_tokens, one_s = run(url, model, questions, max_tokens, 1)
    many_tokens, many_s = run(url, model, questions, max_tokens, c)
    one, many = one_tokens / one_s, many_tokens / many_s
    print(json.dumps({"requests": len(questions), "max_tokens": max_tokens, "concurrency": c,
                      "one_at_a_time_tokens_per_s": round(one, 2), "one_at_a_time_tokens": one_tokens,
                      "concurrent_tokens_per_s": round(many, 2), "concurrent_tokens": many_tokens,
                      "ratio": round(many / one, 3)}))
    print(f"ratio {c} concurrent / 1 (aggregate tokens/s): {many / one:.2f}")


if __name__ == "__main__":
    main()
