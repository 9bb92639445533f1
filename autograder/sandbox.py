"""Lock down a process that runs a learner's code, before any of that code runs.

Two entry points, both started by the grader as separate processes:

* ``python -m autograder.sandbox kernel -f CONNECTION_FILE`` starts an IPython kernel for a submission:
  resource limits, another OS user where possible, then a guard (a PEP 578 audit hook, which cannot be
  removed once installed) that refuses reading the course's private files (solutions, gradebook, other
  submissions), writing outside the kernel's scratch folder, starting processes, opening network
  connections and ``ctypes``.
* ``python -m autograder.sandbox zygote`` serves verification jobs, each in a child forked for it: a
  learner's function with its imports and helpers, the reference versions of the functions it calls,
  and inputs. The child runs the function under a stricter guard (nothing may be written, only the
  Python installation may be read) and prints the encoded results. Whether they are right is decided
  by the grader, never here.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

# Names in the environment through which the grader configures a sandbox.
ENV_SCRATCH = "COURSE_SANDBOX_SCRATCH"  # the only folder the kernel may write to
ENV_PRIVATE = "COURSE_SANDBOX_PRIVATE"  # os.pathsep-separated folders the kernel may not read
ENV_PUBLIC = "COURSE_SANDBOX_PUBLIC"  # folders inside a private one that may still be read
ENV_MEMORY = "COURSE_SANDBOX_MEMORY_MB"
ENV_CPU = "COURSE_SANDBOX_CPU_SECONDS"
ENV_USER = "COURSE_SANDBOX_UID"  # when set (and running as root), the numeric user id to switch to

_SPAWN_EVENTS = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill"}
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                   "urllib.Request", "http.client.connect"}
_PATH_WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                      "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move"}
_INTROSPECTION_EVENTS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents"}
_BLOCKED_IMPORTS = {"_posixsubprocess", "_ctypes", "ctypes", "_socket", "socket", "multiprocessing"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(PermissionError):
    """Something the grading sandbox does not allow."""


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _roots(value: str | None) -> tuple[str, ...]:
    return tuple(os.path.realpath(p) for p in (value or "").split(os.pathsep) if p)


def install_guard(*, writable: tuple[str, ...], private: tuple[str, ...] = (), public: tuple[str, ...] = (),
                  readable_only: tuple[str, ...] | None = None) -> None:
    """Install the audit hook. ``readable_only``, when given, is the complete list of readable folders."""
    # Modules numpy or IPython already imported stay usable, but their dangerous calls are audited below;
    # the one that can start a process without an audit event is taken away.
    sys.modules.pop("_posixsubprocess", None)
    subprocess_module = sys.modules.get("subprocess")
    if subprocess_module is not None and hasattr(subprocess_module, "_fork_exec"):
        subprocess_module._fork_exec = None
    realpath = os.path.realpath  # bound now, so a learner replacing os.path.realpath changes nothing

    def deny(what: str) -> None:
        raise SandboxViolation(f"not allowed while grading: {what}")

    def guard(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            where = realpath(os.fsdecode(path))
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            if writing and not _under(where, writable):
                deny(f"writing {where}")
            if _under(where, private) and not _under(where, public):
                deny(f"reading {where}")
            if readable_only is not None and not _under(where, readable_only):
                deny(f"reading {where}")
        elif event in _PATH_WRITE_EVENTS:
            for arg in args:
                if isinstance(arg, str | bytes) and not _under(realpath(os.fsdecode(arg)), writable):
                    deny(f"{event} on {os.fsdecode(arg)}")
        elif event in _SPAWN_EVENTS:
            deny("starting or signalling processes")
        elif event in _NETWORK_EVENTS:
            deny("network access")
        elif event.startswith("ctypes."):
            deny("ctypes")
        elif event in _INTROSPECTION_EVENTS:
            deny(event)
        elif event == "import" and args and args[0] in _BLOCKED_IMPORTS:
            deny(f"importing {args[0]}")

    sys.addaudithook(guard)


def apply_limits(memory_mb: int | None, cpu_seconds: int | None) -> None:
    """Cap address space and CPU time; exceeding them ends in MemoryError or the process being killed."""
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _switch_user() -> None:
    uid = os.environ.get(ENV_USER)
    if uid and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))


_PRISTINE: dict = {}  # what the kernel's hooks and shared modules looked like before the learner's first cell


def _snapshot() -> None:
    import builtins

    import numpy

    _PRISTINE["builtins"] = dict(vars(builtins))
    _PRISTINE["modules"] = {module: dict(vars(module)) for module in (numpy, numpy.testing, numpy.linalg)}


def reset_kernel_hooks() -> None:
    """Undo what earlier cells may have changed about how later cells run, before a test cell's checks.

    Removes IPython input and AST transformers and custom exception handlers, tracing and profiling
    hooks, and restores builtins and numpy's functions. (The grader's verification outside the kernel
    does not depend on this: it is a second line of defence.)
    """
    import builtins

    try:
        shell = get_ipython()  # noqa: F821  (defined inside an IPython kernel)
    except NameError:
        shell = None
    if shell is not None:
        shell.ast_transformers.clear()
        shell.input_transformers_post.clear()
        shell.set_custom_exc((), None)
    sys.settrace(None)
    sys.setprofile(None)
    for name, value in _PRISTINE.get("builtins", {}).items():
        if getattr(builtins, name, None) is not value:
            setattr(builtins, name, value)
    for module, names in _PRISTINE.get("modules", {}).items():
        for name, value in names.items():
            if callable(value) and getattr(module, name, None) is not value:
                setattr(module, name, value)


def run_kernel(argv: list[str]) -> None:
    """Start an IPython kernel with limits and the guard in place before the first cell runs."""
    apply_limits(int(os.environ.get(ENV_MEMORY, "0")) or None, int(os.environ.get(ENV_CPU, "0")) or None)
    import matplotlib  # noqa: F401  (loaded before the guard: it reads its own configuration)
    import numpy  # noqa: F401
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)  # reads the connection file, opens the sockets
    # exit() and quit() end the kernel in the cell that calls them, not some cells later as IPython would,
    # so the grader knows which cell ended it.
    app.shell.ask_exit = lambda: os._exit(0)
    _switch_user()
    scratch = os.environ[ENV_SCRATCH]
    install_guard(writable=(os.path.realpath(scratch), "/dev/null"), private=_roots(os.environ.get(ENV_PRIVATE)),
                  public=_roots(os.environ.get(ENV_PUBLIC)))
    _snapshot()
    app.start()


def run_zygote() -> None:
    """Serve verification jobs: for each job file named on standard input, fork a child that runs it.

    Starting Python and importing numpy once, then forking, makes a check cost milliseconds instead of
    a fresh interpreter. The zygote itself never opens a job: only the child does, after the fork, so
    no learner's function can find another function's job (or its reference code) in memory. Protocol
    on standard output: ``started PID`` then ``finished PID STATUS`` for each job.
    """
    import numpy  # noqa: F401  (shared by every child)

    from . import serialize  # noqa: F401
    from .checks import decode_cases  # noqa: F401
    from .pipes import wait_for_child

    while True:
        line = sys.stdin.readline()
        if not line:
            return
        pid = os.fork()
        if pid == 0:
            try:
                os.close(0)
                _run_job_file(line.strip())
            finally:
                os._exit(0)
        print(f"started {pid}", flush=True)
        status = wait_for_child(pid, orphaned=lambda child=pid: os.kill(child, signal.SIGKILL))
        print(f"finished {pid} {status}", flush=True)


def _run_job_file(path: str) -> None:
    with open(path) as stream:
        job = json.load(stream)
    os.unlink(path)
    run_job(job)


def run_job(job: dict) -> None:
    """Run one verification job under the guard; print the encoded results after the job's marker."""
    from . import serialize
    from .checks import decode_cases

    apply_limits(job.get("memory_mb"), job.get("cpu_seconds"))
    os.chdir(job["scratch"])
    readable = tuple(os.path.realpath(p) for p in job["readable"])
    install_guard(writable=("/dev/null",), readable_only=readable)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # whatever the learner prints is not mistaken for results

    namespace: dict = {"__name__": "__learner__"}
    outcome: dict = {"cases": []}
    try:
        exec(compile(job["references"], "<reference>", "exec"), namespace)
        exec(compile(job["module"], "<your notebook>", "exec"), namespace)
        function = namespace[job["target"]]
    except BaseException as exc:  # noqa: BLE001  (any failure to define the function is reported as such)
        outcome["error"] = _describe(exc)
    else:
        for case in decode_cases(job["cases"]):
            try:
                value = case.call(function)
                outcome["cases"].append({"result": json.loads(serialize.dumps(value))})
            except BaseException as exc:  # noqa: BLE001
                outcome["cases"].append({"error": _describe(exc)})
    real_stdout.write(job["marker"] + json.dumps(outcome) + "\n")
    real_stdout.flush()


def _describe(exc: BaseException) -> str:
    """``TypeError: message (in propagate)``: the learner's innermost function, none of the grader's frames."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<your notebook>":
            where = f" (in {tb.tb_frame.f_code.co_name})"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


if __name__ == "__main__":
    from autograder import sandbox  # the importable module, whose state test cells can reach

    if len(sys.argv) > 1 and sys.argv[1] == "kernel":
        sandbox.run_kernel(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "zygote":
        sandbox.run_zygote()
    else:
        sys.exit("usage: python -m autograder.sandbox kernel -f CONNECTION_FILE | zygote")
