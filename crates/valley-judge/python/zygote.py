# valley judge harness: the warm interpreter ("zygote").
#
# Runs as pid 1 of the sandbox's PID namespace. It imports what graded programs commonly import
# once, then serves jobs: for each record it forks a child that grades every test of the record
# (profile code: lcb.py, taco.py, strict.py, assert_style.py) and writes one result frame on a
# pipe. What does not depend on the candidate's running is done here, before the fork, so each
# child inherits it instead of redoing it (the problem's tests, decoded once per problem; for
# lcb the prelude, the transformed and compiled candidate: see lcb_prepare). The zygote enforces
# the record deadline, collects CPU time and peak memory, answers Rust, then kills every
# leftover process of the namespace and empties its working folder.

PRELOAD = (
    "string re datetime collections heapq bisect copy math random statistics itertools "
    "functools operator io sys json typing decimal fractions"
).split()
# numpy is preloaded unless Rust says the zygote serves only the lcb profile
# (VALLEY_JUDGE_NUMPY=lazy): TACO's header imports it in every test, but LiveCodeBench programs
# rarely use it, and it doubles the zygote's address space, which every fork copies (~0.3 ms of
# CPU per record). A program that imports it then pays the import (~0.1 s) in its compile step.
# Not preloaded, although the reference grader has them loaded: unittest.mock (asyncio, ssl) and
# threading make every fork of the zygote slower (a larger address space; threading's fork
# handler); lcb.py imports mock_open only when a program opens a file through builtins.open.


def preload():
    import importlib

    versions = {}
    for name in PRELOAD:
        try:
            mod = importlib.import_module(name)
            versions[name] = getattr(mod, "__version__", None)
        except Exception:
            versions[name] = False
    if os.environ.get("VALLEY_JUDGE_NUMPY") == "lazy":
        versions["numpy"] = numpy_version_unimported()
    else:
        try:
            versions["numpy"] = importlib.import_module("numpy").__version__
        except Exception:
            versions["numpy"] = None
    return versions


def required_modules(versions):
    """For each module Rust asks about (`VALLEY_JUDGE_REQUIRE`), its version when it is found
    inside the sandbox (imported by preload, or located without importing), else None."""
    import importlib.util

    out = {}
    for name in filter(None, os.environ.get("VALLEY_JUDGE_REQUIRE", "").split(",")):
        if name in versions:
            out[name] = versions[name] or None
            continue
        try:
            out[name] = "found" if importlib.util.find_spec(name) is not None else None
        except Exception:
            out[name] = None
    return out


def numpy_version_unimported():
    """numpy's version when it is importable, read from its version file without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("numpy")
        if spec is None or not spec.submodule_search_locations:
            return None
        for folder in spec.submodule_search_locations:
            path = os.path.join(folder, "version.py")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    for line in f:
                        key, _, value = line.partition("=")
                        value = value.strip()
                        if key.split(":")[0].strip() in ("__version__", "version") and value[:1] in "'\"":
                            return value.strip("'\"")
        return "unknown"
    except Exception:
        return None


def make_undumpable():
    """A non-dumpable zygote cannot be ptraced or have its /proc/1/mem read by graded programs,
    which run as the same user."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
        return True
    except Exception:
        return False


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_strays():
    """kill(-1) from the namespace's pid 1 reaches every other process in it: daemons, orphans
    and forks of the graded program. Only meaningful when we are pid 1."""
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        if pid == 0:
            return


def empty_workdir():
    """Removes what the last program left in the working folder, which Rust guarantees is
    private to this zygote (`VALLEY_JUDGE_WORKDIR`); never anything else. Folders of the
    interpreter bound inside it (`VALLEY_JUDGE_KEEP`: a virtual environment made under /tmp)
    and the folders leading to them stay."""
    if not os.environ.get("VALLEY_JUDGE_WORKDIR"):
        return
    keep = [k for k in os.environ.get("VALLEY_JUDGE_KEEP", "").split(":") if k]
    empty_folder(WORK, keep)


def empty_folder(folder, keep):
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if e.path in keep:
            continue
        try:
            if any(k.startswith(e.path + os.sep) for k in keep):
                empty_folder(e.path, keep)
            elif e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
        except OSError:
            pass


RUNNERS = {}
# Zygote-side preparation per runner (see lcb_prepare): runs before the fork, returns what the
# child may use instead of doing the work itself, or None.
PREPARE = {}
# The tests of the last problem Rust sent (Rust sends a problem's tests only when they differ
# from the last ones it sent to this zygote): key, inputs, outputs, and per-runner data derived
# from them once (call-based arguments parsed for lcb).
PROBLEM = {"key": None}


def problem_tests(req):
    """Fills the request's tests from the problem cache (or caches the ones it carries); returns
    an error text when the request names a problem this zygote does not hold."""
    key = req.get("problem")
    if req.get("inputs") is not None:
        PROBLEM.clear()
        PROBLEM.update(key=key, inputs=req["inputs"], outputs=req["outputs"])
        return None
    if key is None or PROBLEM.get("key") != key:
        return "the request names problem %r without its tests, and it is not cached" % (key,)
    req["inputs"], req["outputs"] = PROBLEM["inputs"], PROBLEM["outputs"]
    return None


def lcb_zygote_prepare(req):
    lcb_prepare(req)
    if req.get("fn_name") is not None:
        if "lcb_calls" not in PROBLEM:
            PROBLEM["lcb_calls"] = lcb_prepare_calls(req["inputs"], req["outputs"])
        req["_calls"] = PROBLEM["lcb_calls"]


def child_main(req, wfd):
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cpu = int(math.ceil(req["deadline"])) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    if req.get("memory"):
        resource.setrlimit(resource.RLIMIT_AS, (req["memory"], req["memory"]))
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(req.get("int_max_str_digits", 4300))
    result = RUNNERS[req["profile"]](req)
    frame = encode_frame(result)
    write_all(wfd, frame)
    os._exit(0)


def fork_child(req, closing):
    """Forks the grading child for `req`; returns its pid and the read end of its result pipe."""
    res_r, res_w = os.pipe()
    gc.freeze()  # keep the collector from touching (and copying) the zygote's objects
    pid = os.fork()
    if pid == 0:
        try:
            for fd in closing + (res_r,):
                os.close(fd)
            child_main(req, res_w)
        finally:
            os._exit(1)
    os.close(res_w)
    return pid, res_r


def child_run_delay(pid):
    """Nanoseconds the child's threads have waited for a CPU (they start at 0), or None."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid), "rb") as f:
                total += int(f.read().split()[1])
        return total
    except Exception:
        return None


def run_job(req, closing):
    start = time.monotonic()
    pid, r = fork_child(req, closing)
    pidfd = os.pidfd_open(pid)
    deadline = start + float(req["deadline"])
    buf = b""
    status = "died"

    def complete():
        return len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]

    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # Load compensation (see lcb_on_alarm): the time the child waited for a CPU is
            # given back, up to LCB_ALARM_MAX_STRETCH times the deadline.
            elapsed = time.monotonic() - start
            delay = child_run_delay(pid)
            if delay is not None and elapsed < float(req["deadline"]) * LCB_ALARM_MAX_STRETCH:
                owed = float(req["deadline"]) - (elapsed - delay / 1e9)
                if owed > 0.001:
                    deadline += owed
                    continue
            status = "deadline"
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([r, pidfd], [], [], remaining)
        if r in ready:
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            buf += chunk
            if complete():
                break
        elif pidfd in ready:
            os.set_blocking(r, False)
            try:
                while True:
                    chunk = os.read(r, 1 << 20)
                    if not chunk:
                        break
                    buf += chunk
            except BlockingIOError:
                pass
            break
    _, wstatus, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(r)
    os.close(pidfd)
    out = {
        "status": status,
        "result": None,
        "exit_code": os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else None,
        "signal": os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else None,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000.0,
        "wall_ms": wall * 1000.0,
        "max_rss_kib": usage.ru_maxrss,
    }
    if status != "deadline" and complete():
        out["status"] = "done"
        out["result"] = json.loads(buf[4 : 4 + struct.unpack(">I", buf[:4])[0]])
    return out


def main():
    global LCB_TEMPLATE
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir(WORK)
    req_fd, resp_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    # As in a multiprocessing child: stdin is a fresh reader of /dev/null. Set once here, so the
    # prelude template binds the same object the grading children use.
    sys.stdin = open(os.devnull)
    RUNNERS.update(lcb=lcb_run, taco=taco_run, strict=strict_run, assert_style=assert_run)
    PREPARE.update(lcb=lcb_zygote_prepare)
    modules = preload()
    LCB_TEMPLATE = lcb_build_template()
    hello = {
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "pid": os.getpid(),
        "undumpable": make_undumpable(),
        "numpy": modules.get("numpy") or None,
        "lcb_template": LCB_TEMPLATE is not None,
        "modules": required_modules(modules),
    }
    write_all(resp_fd, encode_frame(hello))
    closing = (req_fd, resp_fd)
    while True:
        req = read_frame(req_fd)
        if req is None:
            return
        try:
            missing = problem_tests(req)
            if missing is not None:
                out = {"status": "error", "error": missing}
            else:
                prepare = PREPARE.get(req["profile"])
                if prepare is not None:
                    prepare(req)
                out = run_job(req, closing)
        except Exception as e:
            out = {"status": "error", "error": trunc(repr(e), 2000)}
        out["id"] = req.get("id")
        write_all(resp_fd, encode_frame(out))
        # Clean up after answering, so Rust works on the answer meanwhile.
        kill_strays()
        empty_workdir()
        reap_all()


main()
