#!/usr/bin/env python3
"""A stand-in for an inference engine's server (vLLM, SGLang, llama.cpp, valley serve), for
valley's orchestration tests and benchmarks: it takes any engine's command line, records it,
and serves a fake OpenAI-compatible API on the `--host`/`--port` it was given.

Answers are a pure function of the prompt and seed. Each completion has FAKE_ENGINE_TOKENS
tokens (cut at `max_tokens`), produced at a fixed FAKE_ENGINE_TOKEN_MS per token, at most
FAKE_ENGINE_BATCH requests at once (a GPU's batch; more wait their turn). Environment:

  FAKE_ENGINE_RECORD      append {"argv", "pid", "cuda_visible_devices", "port",
                          "slurm_step_id"} here (JSON Lines)
  FAKE_ENGINE_TOKEN_MS    milliseconds per completion token (default 0)
  FAKE_ENGINE_TOKENS      completion tokens of an answer (default 16)
  FAKE_ENGINE_BATCH       requests served at once (default 0: unbounded)
  FAKE_ENGINE_SLOW_GPU    this replica is FAKE_ENGINE_SLOW_FACTOR (default 4) times slower when
                          its CUDA_VISIBLE_DEVICES starts with this id
  FAKE_ENGINE_STARTUP_MS  wait before listening (loading weights)
  FAKE_ENGINE_MODE        ok | exit (fails at start like an out-of-memory engine) | hang (never
                          listens) | clash-once:FILE (the first start, while FILE is absent,
                          reports its port taken)
  FAKE_ENGINE_CHILD       1: start a child process that outlives a plain kill of this one
  FAKE_ENGINE_LIFETIME_S  exits after this many seconds (default 600), so a test never leaves it
"""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def flag(argv, *names, default=None):
    for i, a in enumerate(argv):
        for n in names:
            if a == n and i + 1 < len(argv):
                return argv[i + 1]
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return default


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    argv = sys.argv[1:]
    env = os.environ
    port = int(flag(argv, "--port", default="8000"))
    host = flag(argv, "--host", default="127.0.0.1")
    name = flag(argv, "--served-model-name", "--model_alias", "--alias", "--name", default="fake")
    gpus = env.get("CUDA_VISIBLE_DEVICES")
    record = env.get("FAKE_ENGINE_RECORD")
    if record:
        with open(record, "a") as f:
            f.write(json.dumps({"argv": argv, "pid": os.getpid(), "cuda_visible_devices": gpus,
                                "port": port, "slurm_step_id": env.get("SLURM_STEP_ID")}) + "\n")
    mode = env.get("FAKE_ENGINE_MODE", "ok")
    print(f"fake engine: pid {os.getpid()}, port {port}, gpus {gpus}, mode {mode}", flush=True)
    if mode == "exit":
        print("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB", file=sys.stderr)
        sys.exit(1)
    if mode.startswith("clash-once:"):
        marker = mode.split(":", 1)[1]
        if not os.path.exists(marker):
            open(marker, "w").close()
            print(f"ERROR: [Errno 98] error while attempting to bind on address "
                  f"('{host}', {port}): address already in use", file=sys.stderr)
            sys.exit(1)
    lifetime = float(env.get("FAKE_ENGINE_LIFETIME_S", "600"))
    if env.get("FAKE_ENGINE_CHILD") == "1":
        # names this script in its command line, so a test can look for survivors
        subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))",
                          str(lifetime), sys.argv[0]])
    if mode == "hang":
        time.sleep(lifetime)
        sys.exit(0)
    time.sleep(float(env.get("FAKE_ENGINE_STARTUP_MS", "0")) / 1000)

    token_s = float(env.get("FAKE_ENGINE_TOKEN_MS", "0")) / 1000
    slow = env.get("FAKE_ENGINE_SLOW_GPU")
    if slow is not None and gpus is not None and gpus.split(",")[0] == slow:
        token_s *= float(env.get("FAKE_ENGINE_SLOW_FACTOR", "4"))
    tokens = int(env.get("FAKE_ENGINE_TOKENS", "16"))
    batch = int(env.get("FAKE_ENGINE_BATCH", "0"))
    slots = threading.BoundedSemaphore(batch) if batch > 0 else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, {})
            elif self.path == "/v1/models":
                self.reply(200, {"object": "list", "data": [{"id": name, "object": "model"}]})
            else:
                self.reply(404, {"error": {"message": "not found"}})

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            try:
                req = json.loads(self.rfile.read(length))
            except ValueError:
                return self.reply(400, {"error": {"message": "body is not JSON"}})
            chat = self.path == "/v1/chat/completions"
            if not chat and self.path != "/v1/completions":
                return self.reply(404, {"error": {"message": "not found"}})
            if req.get("model") != name:
                return self.reply(404, {"error": {"message": f"model {req.get('model')} not served"}})
            prompt = req["messages"][-1]["content"] if chat else req["prompt"]
            n = tokens
            finish = "stop"
            if req.get("max_tokens") is not None and req["max_tokens"] < n:
                n, finish = req["max_tokens"], "length"
            if slots:
                slots.acquire()
            try:
                time.sleep(token_s * n)
            finally:
                if slots:
                    slots.release()
            digest = fnv1a(prompt.encode()) ^ (req.get("seed") or 0)
            words = " ".join(["step"] * max(n - 4, 0))
            text = f"<think>\n{words}\n</think>\n```python\nprint({digest})\n```\n"
            choice = {"index": 0, "finish_reason": finish}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            self.reply(200, {"id": "fake", "object": "chat.completion" if chat else "text_completion",
                             "model": name, "choices": [choice],
                             "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": n}})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    print(f"fake engine: serving {name} at http://{host}:{port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
