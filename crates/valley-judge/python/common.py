# valley judge harness: shared helpers (framing, result reporting).
#
# The harness is our own code, written from research/judge-spec.md. Rust concatenates the files
# of this folder (common, lcb, taco, strict, assert_style, zygote) and runs them with `python -c`
# inside the sandbox; protocol.rs holds the other side of the wire format described here.
#
# Wire format, both directions: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.

import ast
import builtins
import faulthandler
import gc
import io
import json
import math
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time
import warnings
from decimal import Decimal, InvalidOperation
from types import ModuleType


def lazy_import(name):
    """Puts `name` in sys.modules without running it: it loads on first attribute read, and
    attributes set before that (the guards' `subprocess.Popen = None`) survive the load. Keeps
    `subprocess` (and with it `threading`, whose fork handler costs every grading child ~0.4 ms)
    out of the zygote while programs still see a module whose Popen is disabled."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


subprocess = sys.modules.get("subprocess") or lazy_import("subprocess")


# The private working folder: the sandbox's own /tmp, or a folder Rust made for this worker.
# Nothing outside it is ever written or removed.
WORK = os.environ.get("VALLEY_JUDGE_WORKDIR") or os.getcwd()


def work(name):
    return os.path.join(WORK, name)


def read_exact(fd, n):
    chunks = []
    while n > 0:
        b = os.read(fd, n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame(fd):
    head = read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    body = read_exact(fd, n)
    if body is None:
        return None
    return json.loads(body)


def encode_frame(obj):
    body = json.dumps(obj, default=repr).encode("utf-8", "replace")
    return struct.pack(">I", len(body)) + body


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def trunc(s, n=300):
    if not isinstance(s, str):
        try:
            s = repr(s)
        except Exception:
            s = "<unprintable>"
    return s if len(s) <= n else s[: n // 2] + "...(truncated)..." + s[-n // 2 :]


# The outcome of one test, as sent back to Rust.
AC, WA, TLE, RE, MLE, OLE, CE = "AC", "WA", "TLE", "RE", "MLE", "OLE", "CE"


def exception_outcome(e):
    """RE, or MLE for an allocation failure (the address-space limit)."""
    return MLE if isinstance(e, MemoryError) else RE


def exit_code_of(e):
    """The exit status Python gives a SystemExit."""
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def run_as_main(src, filename):
    """Body of a forked process that runs `src` as a fresh `__main__` program over fds 0, 1, 2,
    exiting with the status a `python file` run would give."""
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", write_through=True)
    sys.argv = [filename]
    main = ModuleType("__main__")
    main.__file__ = filename
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    status = 0
    try:
        exec(compile(src, filename, "exec"), main.__dict__)
    except SystemExit as e:
        status = exit_code_of(e)
    except BaseException:
        import traceback

        try:
            traceback.print_exc()
        except Exception:
            pass
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 120
    os._exit(status)


class Run:
    """What one forked program run did."""

    def __init__(self):
        self.stdout = b""
        self.stderr = b""
        self.exit_code = None
        self.signal = None
        self.timed_out = False
        self.output_exceeded = False
        self.cpu = 0.0
        self.wall = 0.0

    def ok(self):
        return not self.timed_out and not self.output_exceeded and self.exit_code == 0

    def memory_error(self):
        return b"MemoryError" in self.stderr[-4000:]


def run_program(src, stdin_text, wall, cpu=None, memory=None, out_limit=64 << 20,
                filename="main.py", body=None, stdin_path=None):
    """Forks a process that runs `src` as `__main__` (or calls `body()`), stdin from a file
    holding `stdin_text`, stdout and stderr captured; kills it at `wall` seconds or when stdout
    passes `out_limit` bytes."""
    if stdin_path is None:
        stdin_path = work(".valley-stdin")
        with open(stdin_path, "w", encoding="utf-8") as f:
            f.write(stdin_text)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    run = Run()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            fd = os.open(stdin_path, os.O_RDONLY)
            os.dup2(fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            import resource

            for res, want in ((resource.RLIMIT_CPU, int(math.ceil(cpu)) if cpu else None),
                              (resource.RLIMIT_AS, memory)):
                if want:
                    hard = resource.getrlimit(res)[1]
                    if hard != resource.RLIM_INFINITY:
                        want = min(want, hard)
                    resource.setrlimit(res, (want, hard))
            if body is not None:
                body()
            else:
                run_as_main(src, filename)
        finally:
            os._exit(1)
    os.close(out_w)
    os.close(err_w)
    pidfd = os.pidfd_open(pid)
    bufs = {out_r: bytearray(), err_r: bytearray()}
    open_fds = [out_r, err_r]
    deadline = start + wall
    exited = False
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            run.timed_out = True
            break
        watch = open_fds + ([] if exited else [pidfd])
        ready, _, _ = select.select(watch, [], [], remaining if not exited else min(remaining, 0.05))
        if not ready and exited:
            break  # a grandchild holds the pipes open; the program itself is done
        for fd in ready:
            if fd == pidfd:
                exited = True
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.remove(fd)
                continue
            bufs[fd] += chunk
            if fd == out_r and len(bufs[fd]) > out_limit:
                run.output_exceeded = True
                open_fds = []
                break
    if run.timed_out or run.output_exceeded or not exited:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status, usage = os.wait4(pid, 0)
    run.wall = time.monotonic() - start
    os.close(out_r)
    os.close(err_r)
    os.close(pidfd)
    run.stdout = bytes(bufs[out_r][:out_limit])
    run.stderr = bytes(bufs[err_r][-65536:])
    if os.WIFSIGNALED(status):
        run.signal = os.WTERMSIG(status)
        if run.signal == signal.SIGXCPU:
            run.timed_out = True
    else:
        run.exit_code = os.WEXITSTATUS(status)
    run.cpu = usage.ru_utime + usage.ru_stime
    return run
