# valley judge harness: the `lcb` profile.
#
# Reproduces the verdicts of LiveCodeBench's grader as packaged in nvidia-livecodebench 26.3
# (research/judge-spec.md §1): the stdin-program transformation, the fixed prelude, the stdin and
# stdout emulation, the call-based harness with one Solution() per record, whole-second SIGALRM
# per test, the first-failure stop, the "reliability guard", recursion and int-digit settings.
# Runs in a child forked by the zygote; everything here may be clobbered by the candidate.

LCB_MODULES = (
    "string re datetime collections heapq bisect copy math random statistics itertools "
    "functools operator io sys json builtins typing"
).split()
# Star-imports of every module, then plain imports of all but `builtins` and `typing`, then the
# recursion limit: the prelude every candidate module starts with.
LCB_PRELUDE = (
    "".join("from %s import *\n" % m for m in LCB_MODULES)
    + "".join("import %s\n" % m for m in LCB_MODULES if m not in ("builtins", "typing"))
    + "sys.setrecursionlimit(50000)\n"
)
LCB_DISABLED_OS = (
    "kill system putenv remove removedirs rmdir fchdir setuid fork forkpty killpg rename renames "
    "truncate replace unlink fchmod fchown chmod chown chroot fchdir lchflags lchmod lchown "
    "getcwd chdir"
).split()


LCB_JSON_LOADS = json.loads


class TimeoutException(Exception):
    # The name matters: LCB tells a timeout from a crash by "timeoutexception" in the repr.
    pass


# Load compensation of the wall-clock alarm. LCB's limit is wall-clock: on a busy machine a
# program that needs 3 s of CPU may wait 3 s more for a core and time out, which it never does
# on an idle one (bench/judge.sh measured such flips). When the alarm fires, the time the
# program's threads spent runnable but waiting for a CPU since the alarm was armed (the
# kernel's run_delay, /proc/self/task/*/schedstat) is given back: the alarm is re-armed for it,
# until the wall time minus that delay reaches the limit. On an idle machine the delay is ~0 and
# the alarm fires exactly as LCB's; sleeping still counts. The extension is capped at
# LCB_ALARM_MAX_STRETCH times the limit.
LCB_ALARM = {"start": None, "limit": 0, "delay0": 0}
LCB_ALARM_MAX_STRETCH = 3.0
LCB_OS_OPEN, LCB_OS_READ, LCB_OS_CLOSE, LCB_LISTDIR = os.open, os.read, os.close, os.listdir


def lcb_run_delay(all_threads=True):
    """Nanoseconds this process's threads (or only the calling one) have waited for a CPU, or
    None when the kernel does not say."""
    try:
        tasks = LCB_LISTDIR("/proc/self/task") if all_threads else ["../../thread-self"]
        total = 0
        for tid in tasks:
            fd = LCB_OS_OPEN("/proc/self/task/%s/schedstat" % tid, os.O_RDONLY)
            try:
                total += int(LCB_OS_READ(fd, 128).split()[1])
            finally:
                LCB_OS_CLOSE(fd)
        return total
    except Exception:
        return None


def lcb_arm(seconds):
    """signal.alarm(seconds), remembering when and from which run delay (for lcb_on_alarm)."""
    if seconds:
        # The program's threads start with it, so the calling thread's delay is the baseline.
        LCB_ALARM.update(start=time.monotonic(), limit=seconds, delay0=lcb_run_delay(False))
    else:
        LCB_ALARM["start"] = None
    signal.alarm(seconds)


def lcb_on_alarm(signum, frame):
    start, limit, delay0 = LCB_ALARM["start"], LCB_ALARM["limit"], LCB_ALARM["delay0"]
    if start is not None and delay0 is not None:
        delay = lcb_run_delay()
        now = time.monotonic()
        if delay is not None and now - start < limit * LCB_ALARM_MAX_STRETCH:
            owed = limit - ((now - start) - (delay - delay0) / 1e9)
            if owed > 0.001:
                signal.setitimer(signal.ITIMER_REAL, owed)
                return
    # LCB's handler prints before raising; inside a test the line lands in the captured output,
    # which matters when a program swallows the exception and carries on.
    LCB_ALARM["start"] = None
    print("timeout occured: alarm went off")
    raise TimeoutException


def lcb_guard():
    """LCB's reliability guard: disables destructive functions (not a sandbox; ours is outside)."""
    faulthandler.disable()
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in LCB_DISABLED_OS:
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def lcb_strip_main_guard(code):
    """Inline a final `if __name__ == '__main__':` block (exactly that spelling after unparse)."""
    return lcb_strip_main_guard_tree(code)[0]


def lcb_strip_main_guard_tree(code):
    """lcb_strip_main_guard, plus the parse of the code returned when it is the input unchanged
    (so lcb_wrap_stdio need not parse the same text again), else None; and the parse of the
    input (None if it does not parse)."""
    tree = None
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body), None, tree
        return code, tree, tree
    except:  # noqa: E722 -- any failure (empty module, bad syntax) leaves the code as it is
        return code, None, tree


def lcb_wrap_stdio(code, tree=None):
    """Top-level imports stay at module level; every other statement moves into
    `wrapped_function()`. Unparseable code is returned unchanged (and fails to compile). `tree`
    is `ast.parse(code)` when the caller has it."""
    try:
        if tree is None:
            tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        rest = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        fields = dict(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=rest,
            decorator_list=[],
            lineno=-1,
        )
        if sys.version_info >= (3, 12):
            fields["type_params"] = []
        func = ast.FunctionDef(**fields)
        return LCB_PRELUDE + "\n" + ast.unparse(imports) + "\n" + ast.unparse(func)
    except Exception:
        return code


def lcb_compile(code, timeout, prepared=None):
    """Executes the module under the compile alarm and returns what the tests call: one
    `Solution()` when the code mentions `class Solution`, else the module. `prepared` (from
    lcb_prepare, in the zygote) replaces the transformation and compilation of `code`, and the
    inherited prelude template replaces running the prelude."""
    lcb_arm(timeout)
    try:
        if prepared is None:
            module = ModuleType("tmp_sol", "")
            exec(code, module.__dict__)
        else:
            compiled, code = prepared
            module = LCB_TEMPLATE
            sys.setrecursionlimit(LCB_RECURSION_LIMIT)  # the prelude's last statement
            exec(compiled, module.__dict__)
        target = module.Solution() if "class Solution" in code else module
        assert target is not None
    finally:
        lcb_arm(0)
    return target


# Zygote-side preparation: an optimisation that must never change a verdict. Executing the
# prelude (17 star-imports) and transforming and compiling the candidate in every grading child
# costs ~3 ms of CPU per record, mostly copy-on-write page faults after the fork. The zygote does
# them instead, once (the prelude) or per record (the candidate), and the child inherits the
# results:
# - LCB_TEMPLATE: a `tmp_sol` module holding exactly what the prelude binds (built once; every
#   child gets an untouched copy through fork, so no record sees another's module);
# - per record, the transformed source with the prelude replaced by `pass` and blank lines (same
#   line numbers; a `from __future__` import or a leading string literal is still not first),
#   compiled with the same filename `exec` would use.
# The template is checked once against the reference path (a child that applies the guard and
# runs the real prelude into a fresh module: same names bound to the same objects); on any
# difference, or any exception while preparing a record, the child takes the reference path.
LCB_RECURSION_LIMIT = 50000
LCB_PRELUDE_IMPORTS, _LCB_PRELUDE_LAST = LCB_PRELUDE.rstrip("\n").rsplit("\n", 1)
assert _LCB_PRELUDE_LAST == "sys.setrecursionlimit(%d)" % LCB_RECURSION_LIMIT
LCB_TEMPLATE = None


def lcb_build_template():
    """Runs the prelude's imports into a fresh `tmp_sol` module, with what the guard changes
    before the prelude runs (`quit` and `help` are None); returns it if a reference child agrees
    name for name and object for object, else None."""
    module = ModuleType("tmp_sol", "")
    exec(LCB_PRELUDE_IMPORTS + "\n", module.__dict__)
    module.__dict__.update(quit=None, help=None)
    pid = os.fork()
    if pid == 0:
        same = False
        try:
            lcb_guard()
            reference = ModuleType("tmp_sol", "")
            exec(LCB_PRELUDE, reference.__dict__)
            a, b = reference.__dict__, module.__dict__
            same = a.keys() == b.keys() and all(a[k] is b[k] for k in a)
        finally:
            os._exit(0 if same else 1)
    _, status = os.waitpid(pid, 0)
    return module if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else None


def lcb_prepare(req):
    """Zygote side: sets `_prepared` in the request to the transformed and compiled candidate as
    (code object, transformed source), unless the child must do it the reference way, and
    `_preguard` to whether the child must import LCB_PREGUARD_MODULES before the guard."""
    code = req["code"]
    tree = None
    try:
        if req.get("fn_name") is None:
            stripped, stripped_tree, tree = lcb_strip_main_guard_tree(code)
            full = lcb_wrap_stdio(stripped, stripped_tree)
        else:
            full = LCB_PRELUDE + "\n\n" + code
        req["_preguard"] = lcb_preguard_needed(code, tree)
        if LCB_TEMPLATE is None or not full.startswith(LCB_PRELUDE):
            return  # no template, or the transformation failed: the code runs as it is
        src = "pass" + "\n" * LCB_PRELUDE.count("\n") + full[len(LCB_PRELUDE):]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the child's stderr is /dev/null anyway
            req["_prepared"] = compile(src, "<string>", "exec"), full
    except BaseException:
        req.pop("_prepared", None)
        req.pop("_preguard", None)


# Modules the reference grader has loaded before its guard runs and whose import fails after it
# (they call os functions the guard disables): numpy sets environment variables, multiprocessing
# and concurrent.futures.process call os functions too. A program that imports them must find
# them loaded. Preloading numpy in the zygote would double the address space every fork copies,
# so the grading child imports them before the guard when the program might import them.
LCB_PREGUARD_MODULES = ("numpy", "multiprocessing", "concurrent.futures.process")
# Text that may lead to one of them: their names, and ways to import by name.
LCB_PREGUARD_MARKERS = (
    "numpy", "multiprocessing", "concurrent", "__import__", "importlib", "pickle", "marshal",
    "runpy", "pkgutil", "builtins", "__self__", "modules", "__loader__", "__spec__",
)


def lcb_preguard_needed(code, tree=None):
    """Whether the program might import one of LCB_PREGUARD_MODULES (conservative): its text
    holds a marker, it imports a module outside the standard library (which may import numpy)
    or relatively, holds a string that mentions import (exec or eval could run it), or does not
    parse."""
    if "import" not in code:
        return False  # no import statement and no string that could hold one
    if any(m in code for m in LCB_PREGUARD_MARKERS):
        return True
    try:
        if tree is None:
            tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level or not node.module:
                    return True
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
                if "import" in text:
                    return True
                continue
            else:
                continue
            if any(n.split(".")[0] not in sys.stdlib_module_names for n in names):
                return True
        return False
    except BaseException:
        return True


def lcb_preguard_imports():
    for name in LCB_PREGUARD_MODULES:
        try:
            __import__(name)
        except Exception:
            pass  # not installed: the program's own import fails as it would under LCB


def lcb_prepare_calls(inputs, outputs):
    """Zygote side, once per problem: the call-based arguments and expected values, or None
    when they do not parse (the child then fails on them the reference way)."""
    try:
        args_list = [[json.loads(line) for line in inp.split("\n")] for inp in inputs]
        expected_list = [json.loads(out) for out in outputs]
    except BaseException:
        return None
    return args_list, expected_list


class LcbCapture:
    """stdout replaced by an in-memory buffer whose close() takes one argument (so a program
    calling sys.stdout.close() gets a TypeError, as under LCB)."""

    def __enter__(self):
        self.saved = sys.stdout
        self.buf = io.StringIO()
        self.buf.close = lambda x: 1
        sys.stdout = self.buf
        return self

    def __exit__(self, *exc):
        self.text = self.buf.getvalue()
        sys.stdout = self.saved
        return False


def lcb_fake_open(data):
    def fake_open(*args, **kwargs):
        from unittest.mock import mock_open

        return mock_open(read_data=data)(*args, **kwargs)

    return fake_open


def lcb_call_stdio(method, inputs):
    """Runs the wrapped program with LCB's stdin emulation. The replacement read/readline/
    readlines land on the *original* sys.stdin object (bound by `from sys import *` at compile
    time); sys.stdin itself becomes a fresh text stream; SystemExit ends the program normally."""
    if isinstance(inputs, list):
        inputs = "\n".join(inputs)
    lines = iter(inputs.split("\n"))
    original = sys.stdin
    saved_open = builtins.open
    patched = []
    for name, fn in (
        ("read", lambda *a: inputs),
        ("readlines", lambda *a: inputs.split("\n")),
        ("readline", lambda *a: next(lines)),
    ):
        setattr(original, name, fn)
        patched.append(name)
    sys.stdin = io.StringIO(inputs)
    builtins.open = lcb_fake_open(inputs)
    try:
        try:
            return method()
        except SystemExit:
            pass
    finally:
        builtins.open = saved_open
        sys.stdin = original
        for name in reversed(patched):
            try:
                delattr(original, name)
            except AttributeError:
                pass


def lcb_lines(text):
    return [line.strip() for line in text.strip().split("\n")]


def lcb_decimals(line):
    try:
        return [Decimal(tok) for tok in line.split()]
    except Exception:
        return None


def lcb_compare(produced, expected):
    """None when the outputs match under LCB's rule, else the reason."""
    got, want = lcb_lines(produced), lcb_lines(expected)
    if len(got) != len(want):
        return "wrong answer: mismatched output length (%d lines, expected %d)" % (len(got), len(want))
    for i, (a, b) in enumerate(zip(got, want)):
        if a == b:
            continue
        da = lcb_decimals(a)
        db = lcb_decimals(b) if da is not None else None
        if da is None or db is None or da != db:
            return "wrong answer at line %d: %s != %s" % (i, trunc(a, 120), trunc(b, 120))
    return None


def lcb_test_failure(results, e, test):
    lcb_arm(0)
    if "timeoutexception" in repr(e).lower():
        results.append(TLE)
        return results, {"reason": "time limit exceeded (per-test alarm)", "test": test}
    results.append(exception_outcome(e))
    return results, {"reason": "runtime error: " + trunc(repr(e)), "test": test}


def lcb_grade_stdio(code, inputs, outputs, timeout, prepared=None):
    if prepared is None:
        code = lcb_wrap_stdio(lcb_strip_main_guard(code))
    target = lcb_compile(code, timeout, prepared)
    method = getattr(target, "wrapped_function", None)
    if method is None:
        raise TypeError("cannot unpack non-iterable NoneType object")
    results = []
    for i, (inp, out) in enumerate(zip(inputs, outputs)):
        lcb_arm(timeout)
        faulthandler.enable()
        with LcbCapture() as cap:
            try:
                lcb_call_stdio(method, inp)
                lcb_arm(0)
            except Exception as e:
                return lcb_test_failure(results, e, i)
            finally:
                lcb_arm(0)
                faulthandler.disable()
        why = lcb_compare(cap.text, out)
        if why is not None:
            results.append(WA)
            return results, {"reason": why, "test": i}
        results.append(AC)
    return results, None


def lcb_grade_call(code, inputs, outputs, fn_name, timeout, prepared=None, calls=None):
    if prepared is None:
        code = LCB_PRELUDE + "\n\n" + code
    target = lcb_compile(code, timeout, prepared)
    if not hasattr(target, fn_name):
        raise TypeError("cannot unpack non-iterable NoneType object")
    method = getattr(target, fn_name)
    if calls is not None and json.loads is LCB_JSON_LOADS:
        # Parsed once per problem in the zygote (this child's own copies); unless the candidate's
        # module code replaced json.loads, which the reference would then call.
        args_list, expected_list = calls
    else:
        args_list = [[json.loads(line) for line in inp.split("\n")] for inp in inputs]
        expected_list = [json.loads(out) for out in outputs]
    results = []
    for i, (args, expected) in enumerate(zip(args_list, expected_list)):
        lcb_arm(timeout)
        faulthandler.enable()
        try:
            got = method(*args)
            lcb_arm(0)
            if isinstance(got, tuple):
                got = list(got)
            same = got == expected
            if not same:
                results.append(WA)
                return results, {
                    "reason": "wrong answer: %s != %s" % (trunc(got, 120), trunc(expected, 120)),
                    "test": i,
                }
            results.append(AC)
        except Exception as e:
            return lcb_test_failure(results, e, i)
        finally:
            lcb_arm(0)
            faulthandler.disable()
    return results, None


def lcb_run(req):
    """Grades one record; returns the result dict. A BaseException that is not an Exception
    (SystemExit in call-based code, KeyboardInterrupt) escapes and kills the child, as in LCB."""
    signal.signal(signal.SIGALRM, lcb_on_alarm)
    if req.get("_preguard", True):
        lcb_preguard_imports()
    lcb_guard()
    timeout = int(req["timeout"])
    inputs, outputs = req["inputs"], req["outputs"]
    lcb_arm(timeout)
    try:
        prepared = req.get("_prepared")
        if req.get("fn_name") is None:
            results, failure = lcb_grade_stdio(req["code"], inputs, outputs, timeout, prepared)
        else:
            results, failure = lcb_grade_call(req["code"], inputs, outputs, req["fn_name"],
                                              timeout, prepared, req.get("_calls"))
    except Exception as e:
        # LCB: "Error during testing" (-4). A SyntaxError is reported as CE, the same class.
        outcome = CE if isinstance(e, SyntaxError) else exception_outcome(e)
        return {"results": [outcome], "setup": True,
                "failure": {"reason": "error during testing: " + trunc(repr(e)), "test": None}}
    finally:
        lcb_arm(0)
    return {"results": results, "setup": False, "failure": failure}
