"""The audit hook (PEP 578) inside every sandboxed process: a tripwire behind the OS sandbox's wall.

The namespaces of :mod:`autograder.sandbox` decide what a learner's process can reach. This guard,
installed before a learner's first line runs and impossible to remove, refuses at the Python level
what no learner needs: writing outside its scratch folder, reading or listing outside what it may
read, starting or signalling other processes, network access, ``ctypes`` and ``cffi``, databases, and
walking the garbage collector's object graph. C code (numpy's raw memory, a C library's own file
access) is not audited: that is the OS sandbox's job.
"""

from __future__ import annotations

import os
import signal
import sys

_SPAWN_EVENTS = {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "subprocess.Popen", "pty.spawn", "signal.pthread_kill"}
_SIGNAL_EVENTS = {"os.kill", "os.killpg"}
_NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                   "urllib.Request", "http.client.connect"}
_PATH_WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                      "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move"}
_LISTING_EVENTS = {"os.listdir", "os.scandir", "glob.glob"}
_INTROSPECTION_EVENTS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents"}
# A learner's process may not change its own limits: lowering its CPU limit would have it killed by SIGKILL,
# which the grader would take for a kill from outside (an operator), and grade again, then record an error.
_LIMIT_EVENTS = {"resource.setrlimit", "resource.prlimit"}
# Ways to send a signal that raise no audit event: taken out of the signal module before a learner's first line.
_UNAUDITED_SIGNALLING = ("raise_signal", "pidfd_send_signal")
_BLOCKED_IMPORTS = {"_posixsubprocess", "_ctypes", "ctypes", "_socket", "socket", "multiprocessing", "_cffi_backend",
                    "cffi", "_signal"}  # (_signal: imported again, it would bring back what is taken out below)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(PermissionError):
    """Something the grading sandbox does not allow."""


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def install_guard(*, writable: tuple[str, ...], readable: tuple[str, ...]) -> None:
    """Install the audit hook: ``writable`` folders may be written, ``readable`` ones (and those) read."""
    # Modules numpy or IPython already imported stay usable, but their dangerous calls are audited below;
    # the one that can start a process without an audit event is taken away.
    sys.modules.pop("_posixsubprocess", None)
    subprocess_module = sys.modules.get("subprocess")
    if subprocess_module is not None and hasattr(subprocess_module, "_fork_exec"):
        subprocess_module._fork_exec = None
    for module in (signal, sys.modules.get("_signal")):
        for name in _UNAUDITED_SIGNALLING:
            if module is not None and hasattr(module, name):
                delattr(module, name)
    realpath = os.path.realpath  # bound now, so a learner replacing os.path.realpath changes nothing
    writable = tuple(realpath(p) for p in writable)
    readable = tuple(realpath(p) for p in readable) + writable
    own_pid, own_group = os.getpid(), os.getpgid(0)  # ipykernel interrupts itself (interrupt_mode "message")
    interrupt = int(signal.SIGINT)

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
            if not _under(where, readable):
                deny(f"reading {where}")
        elif event in _LISTING_EVENTS:
            path = args[0] if args else "."
            if isinstance(path, str | bytes) and not _under(realpath(os.fsdecode(path or ".")), readable):
                deny(f"listing {os.fsdecode(path)}")
        elif event in _PATH_WRITE_EVENTS:
            for arg in args:
                if isinstance(arg, str | bytes) and not _under(realpath(os.fsdecode(arg)), writable):
                    deny(f"{event} on {os.fsdecode(arg)}")
        elif event in _SIGNAL_EVENTS:  # only the interrupt a kernel sends itself: a kill would look like the grader's
            target, number = (args + (None, None))[:2]
            if number != interrupt or target != (own_pid if event == "os.kill" else own_group):
                deny("sending signals")
        elif event in _SPAWN_EVENTS:
            deny("starting processes")
        elif event in _NETWORK_EVENTS:
            deny("network access")
        elif event.startswith("ctypes."):
            deny("ctypes")
        elif event == "sqlite3.connect":
            deny("opening a database")
        elif event in _INTROSPECTION_EVENTS:
            deny(event)
        elif event in _LIMIT_EVENTS and not (event == "resource.prlimit" and len(args) > 2 and args[2] is None):
            deny("changing resource limits")
        elif event == "import" and args and args[0] in _BLOCKED_IMPORTS:
            deny(f"importing {args[0]}")

    sys.addaudithook(guard)


_PRISTINE: dict = {}  # what the kernel's hooks and shared modules looked like before the learner's first cell


def snapshot() -> None:
    import builtins

    import numpy

    _PRISTINE["builtins"] = dict(vars(builtins))
    _PRISTINE["modules"] = {module: dict(vars(module)) for module in (numpy, numpy.testing, numpy.linalg)}


def reset_kernel_hooks() -> None:
    """Undo what earlier cells may have changed about how later cells run, before a test cell's checks.

    Removes IPython input and AST transformers and custom exception handlers, tracing and profiling
    hooks, and restores builtins and numpy's functions. (Grades do not depend on this: they are decided
    outside the kernel. It keeps a learner's own visible test messages honest.)
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
