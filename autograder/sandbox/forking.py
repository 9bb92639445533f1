"""What the two forking servers inside the sandbox share (:mod:`.kernel`, :mod:`.zygote`): the libraries they
import once for all their children, and leaving nothing of a child behind before the next one.

Runs inside the sandbox, never a learner's code: it imports only the standard library at first.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import sys
import time

MARKER = ".course-grader"  # the grader's own marker file: never copied into a scratch folder


def preload_notebook_libraries() -> None:
    """Import what the course's notebooks import (and so what every module built from them imports)."""
    import matplotlib.pyplot  # noqa: F401  (reads matplotlib's font list: MPLCONFIGDIR must hold its cache)
    import numpy  # noqa: F401

    for optional in ("h5py", "PIL.Image"):
        try:
            __import__(optional)
        except ImportError:
            pass
    from .. import serialize  # noqa: F401
    from ..checks import (  # noqa: F401
        decode_inputs,
        derivatives_and_gradient_descent,
        logistic_regression,
        numpy_and_vectorization,
        provide_hidden_inputs,
    )


def start_server(seed_folder: str | None, scratch: str, isolated: bool, preload) -> tuple:
    """Start a forking server: its seed files copied into the scratch folder (matplotlib's font list), the
    scratch folder made the working one, ``preload()`` run, the process made undumpable; then the pipes to
    the grader (replies on standard output, requests on standard input, both unbuffered), stray prints
    sent to stderr instead, the scratch folder emptied, and ``ready CPU`` said. Returns (replies, requests)."""
    if seed_folder:
        seed(seed_folder, scratch)
    os.chdir(scratch)
    preload()
    undumpable()
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # stray prints go where stderr goes, never into the protocol
    requests = os.fdopen(0, "rb", buffering=0)
    if not clean(None, scratch, isolated):
        sys.exit("the scratch folder could not be emptied")
    replies.write(f"ready {cpu_seconds():.3f}\n".encode())
    return replies, requests


def read_line(stream) -> str | None:
    """One line from the grader, stripped (read byte by byte, so nothing after it is read ahead); None at the
    end of input, and "" for a line longer than 64 KiB (no request is)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = stream.read(1)
        if not byte:
            return None
        data += byte
        if len(data) > 1 << 16:
            return ""
    return data.decode(errors="replace").strip()


def cut_off(keep: int) -> int:
    """In a forked child that will run a learner's code: a session of its own, no descriptor of its server's but
    ``keep``, standard input, output and error on /dev/null, and the first to go when the sandbox's memory runs
    out (never the server). Returns a copy of the server's stderr, for the child's own set-up errors: the
    child closes it before the learner's first line, so nothing a learner's code writes reaches the grader's
    log (a kernel template's is shared by its job slot's next submissions)."""
    os.setsid()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    errors = os.dup(2)
    nothing = os.open(os.devnull, os.O_RDWR)
    for standard in (0, 1, 2):
        os.dup2(nothing, standard)
    os.close(nothing)
    try:
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write("1000")
    except OSError:
        pass
    return errors


def cpu_seconds() -> float:
    """CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def warm_matplotlib() -> None:
    """Render one small figure as a kernel shows one (PNG, tight box), outside pyplot's figure list: the first
    figure of every kernel would otherwise load fonts and lay text out from nothing (0.1 s)."""
    import io

    import numpy
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    axes = figure.add_subplot()
    axes.plot(numpy.linspace(-1, 1, 20), numpy.linspace(0, 1, 20), label="σ(z) = wᵀx + b, a²")
    axes.imshow(numpy.zeros((4, 4, 3), dtype=numpy.uint8))
    axes.axhline(0.5, color="grey", linewidth=0.5)
    axes.set_title("title")
    axes.set_xlabel("x")
    axes.legend()
    figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")


def seed(source: str, scratch: str) -> None:
    """Copy ``source``'s files and folders into the scratch folder (entry by entry: the folder is the sandbox's)."""
    if not os.path.isdir(source):
        return
    for entry in os.scandir(source):
        target = os.path.join(scratch, entry.name)
        if entry.name == MARKER:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, symlinks=True)
        elif entry.is_file(follow_symlinks=False):
            shutil.copy(entry.path, target)


def undumpable() -> None:
    """Make this process non-dumpable: its children (same user) can then neither trace it nor open its /proc
    files (its memory, its pipes to the grader). Best effort: where ctypes cannot load libc, nothing."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (ImportError, OSError, AttributeError):
        pass


def clean(pid: int | None, scratch: str, isolated: bool) -> bool:
    """Leave nothing of a child behind: no process but this one, no IPC object, an empty scratch folder.

    ``isolated``: alone in the sandbox's PID namespace, where every other process can be killed. Else
    (unsandboxed) the child's own process group. Returns whether all of it holds.
    """
    if isolated:
        gone = kill_all_others()
        remove_ipc()
    else:
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        gone = True
    return empty(scratch) and gone


def kill_all_others(patience: float = 10.0) -> bool:
    """Kill every process of the PID namespace but its init and this one; True once they are gone."""
    me = os.getpid()
    deadline = time.monotonic() + patience
    while True:
        try:
            os.kill(-1, signal.SIGKILL)  # all but init and the caller, in one call: no fork can race it
        except ProcessLookupError:
            pass
        while True:  # reap this process's own children
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        alive = False
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (1, me):
                try:
                    with open(f"/proc/{entry}/stat", "rb") as info:
                        alive = alive or info.read().rsplit(b")", 1)[1].split()[0] != b"Z"
                except (OSError, IndexError):
                    continue
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)


def remove_ipc() -> None:
    """Remove the System V shared memory, semaphores and message queues of the sandbox's IPC namespace."""
    found = []
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                lines = table.read().splitlines()[1:]
        except OSError:
            continue
        found += [(kind, int(line.split()[1])) for line in lines if line.split()]
    if not found:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return
    for kind, number in found:  # IPC_RMID is 0 for all three
        if kind == "sem":
            libc.semctl(number, 0, 0)
        else:
            getattr(libc, f"{kind}ctl")(number, 0, None)


def empty(folder: str) -> bool:
    """Remove everything in ``folder``, whatever permissions a child gave it; True once it is empty."""
    def writable_again(function, path, _):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, stat.S_IRWXU)
                shutil.rmtree(path, onerror=lambda *a: None)
            else:
                function(path)
        except OSError:
            pass

    for _attempt in range(2):
        try:
            entries = os.listdir(folder)
        except OSError:
            return False
        for entry in entries:
            path = os.path.join(folder, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                try:
                    os.chmod(path, stat.S_IRWXU)
                except OSError:
                    pass
                shutil.rmtree(path, onerror=writable_again)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    try:
        return not os.listdir(folder)
    except OSError:
        return False
