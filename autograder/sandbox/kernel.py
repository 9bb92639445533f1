"""The grading kernels: a template inside the sandbox, imported once, that forks a fresh kernel per notebook.

Started by the grader, inside the sandbox, as
``python -m autograder.sandbox.kernel --scratch DIR --seeds DIR --readable DIR... [--isolated]``.

Starting Python and importing numpy, matplotlib and ipykernel costs about a second of CPU: more than
most notebooks' graded cells. The *template* pays it once: it imports everything a notebook's kernel
needs, then forks one kernel per notebook. It never runs a learner's code itself. It serves the
submissions of one job slot, one after another (:class:`autograder.sandbox.warm.KernelTemplate`), and
runs one kernel at a time.

Each kernel, in the forked child, before the learner's first line: a session of its own, no way to the
template but one pipe that carries its set-up's CPU time and is closed, the notebook's own submission
files copied into the emptied scratch folder, a new IPython kernel (a new namespace and history) on the
notebook's connection file, its out-of-memory score raised (it goes first, never the template), and the
audit guard installed. Everything it may have changed in memory (globals, monkeypatched modules,
threads) dies with it. After it ends, every other process in the sandbox is killed, the scratch folder
is emptied and System V IPC objects are removed, before the next kernel is forked.

Protocol, one line each (the template's standard input and output):

* ``ready CPU``: the template has imported everything (CPU: its own CPU seconds so far);
* ``start {"seed": NAME, "connection_file": PATH}``: fork a kernel with ``--seeds/NAME``'s files in its scratch;
* ``started PID``, then ``kernel PID CPU`` once the kernel serves (CPU: its set-up's CPU seconds);
* ``stop``: kill the running kernel (the grader's shutdown, or a kernel that does not answer);
* ``finished PID STATUS CPU SELF CLEAN``, when the kernel has ended (STATUS is ``exit N`` or ``signal N``,
  CPU its CPU seconds, SELF the template's own so far; CLEAN is ``clean`` once nothing of it is left,
  ``dirty`` when something could not be removed: the grader then forks nothing more from it);
* ``job NAME``, between kernels: a check of one of the submission's functions, in a forked child, exactly as
  :mod:`.zygote` runs it (``--seeds/NAME`` is the job file; same answers), so that the submission's
  verification needs no sandbox and no imports of its own. The grader sends it only while no kernel
  runs: the kernel that ran the notebook has ended and nothing of it is left;
* ``sync TOKEN``, between two submissions: clean up once more (every other process of the sandbox killed,
  the scratch folder emptied, IPC objects removed), then ``synced TOKEN clean|dirty SELF``; while a kernel
  runs, ``busy TOKEN`` instead. The grader hands the template to the next submission only after
  ``synced TOKEN clean``;
* end of input: the grader is gone; the kernel is killed and the template ends.

A template that could not leave nothing behind (``dirty``) ends: nothing is forked from it again.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys

from .forking import (
    clean,
    cpu_seconds,
    cut_off,
    preload_notebook_libraries,
    read_line,
    seed,
    start_server,
    warm_matplotlib,
)
from .zygote import serve_job

SEED_BASE = "base"  # the seed folder the template itself starts from (matplotlib's font list)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox.kernel")
    parser.add_argument("--scratch", required=True, help="the working folder, the only one that may be written")
    parser.add_argument("--seeds", required=True, help="a folder of seed folders, one per kernel")
    parser.add_argument("--readable", action="append", default=[], help="a folder that may be read")
    parser.add_argument("--isolated", action="store_true", help="alone in a PID namespace: clean up by killing all")
    args = parser.parse_args(argv)
    replies, stdin = start_server(os.path.join(args.seeds, SEED_BASE), args.scratch, args.isolated, preload)
    while True:
        line = read_line(stdin)
        if line is None:
            return
        if line.startswith("job "):  # a check of the submission's functions, between two of its kernels
            name = line[len("job "):].strip()
            if name and "/" not in name and name not in (".", ".."):
                if serve_job(os.path.join(args.seeds, name), args.scratch, tuple(args.readable), args.isolated,
                             replies, stdin):
                    return
            continue
        if line.startswith("sync "):  # a new submission comes next: nothing of the last one may be left
            cleaned = "clean" if clean(None, args.scratch, args.isolated) else "dirty"
            replies.write(f"synced {line[len('sync '):].strip()} {cleaned} {cpu_seconds():.3f}\n".encode())
            if cleaned != "clean":
                return
            continue
        if not line.startswith("start "):
            continue  # a "stop" with no kernel running
        try:
            request = json.loads(line[len("start "):])
            name, connection_file = request["seed"], request["connection_file"]
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(name, str) or "/" in name or name in ("", ".", "..", SEED_BASE):
            continue
        report, report_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(report)
            _kernel(os.path.join(args.seeds, name), str(connection_file), args, report_end, (replies, stdin))
        os.close(report_end)
        replies.write(f"started {pid}\n".encode())
        status, cpu, orphaned = _watch(pid, report, stdin, replies)
        cleaned = "clean" if clean(pid, args.scratch, args.isolated) else "dirty"
        replies.write(f"finished {pid} {status} {cpu:.3f} {cpu_seconds():.3f} {cleaned}\n".encode())
        if orphaned or cleaned != "clean":
            return


def preload() -> None:
    """Import what every kernel needs, once: the kernel, numpy, matplotlib, the notebooks' libraries, the checks.

    Only modules a fresh kernel would import before its guard anyway, or that the notebooks import in
    their first cell; nothing here starts a thread (a fork copies only the forking thread).
    """
    preload_notebook_libraries()
    # No debugger in a grading kernel (nothing sends it requests): importing debugpy was 0.3 s of every
    # kernel's start, and its threads and sockets are more than a grading kernel needs.
    sys.modules.setdefault("debugpy", None)
    from ipykernel import debugger, ipkernel, kernelapp, zmqshell  # noqa: F401

    from .guard import install_guard, snapshot  # noqa: F401

    warm_matplotlib()


def _watch(pid: int, report: int, stdin, replies) -> tuple[str, float, bool]:
    """Relay the kernel's set-up report and wait for it to end, or to be stopped: (status, CPU seconds, orphaned)."""
    pidfd = os.pidfd_open(pid)
    watched = [report, pidfd, stdin]
    orphaned = False
    received = b""
    try:
        while True:
            ready = select.select(watched, [], [])[0]
            if report in ready:
                chunk = os.read(report, 64)
                received += chunk
                if not chunk or len(received) >= 64 or b"\n" in received:
                    watched.remove(report)
                    try:
                        setup = float(received.split(b"\n")[0])
                    except ValueError:
                        setup = None
                    if setup is not None:
                        replies.write(f"kernel {pid} {setup:.3f}\n".encode())
            if stdin in ready:
                line = read_line(stdin)
                if line is not None and line.startswith("sync "):
                    replies.write(f"busy {line[len('sync '):].strip()}\n".encode())
                elif line is None or line == "stop":
                    orphaned = line is None
                    os.kill(pid, signal.SIGKILL)
            if pidfd in ready:
                break
        _, status, usage = os.wait4(pid, 0)
    finally:
        os.close(pidfd)
        os.close(report)
    code = os.waitstatus_to_exitcode(status)
    return (f"exit {code}" if code >= 0 else f"signal {-code}"), usage.ru_utime + usage.ru_stime, orphaned


def _kernel(seed_folder: str, connection_file: str, args, report: int, protocol) -> None:
    """In the forked child: cut off from the template, seeded, a new kernel, the guard; then serve cells."""
    code = 1
    errors = None
    try:
        for stream in protocol:
            stream.close()
        errors = cut_off(report)  # (what the kernel prints goes to the notebook, through ipykernel, as ever)
        seed(seed_folder, args.scratch)
        os.chdir(args.scratch)
        from ipykernel.kernelapp import IPKernelApp

        from .guard import install_guard, snapshot

        app = IPKernelApp.instance()
        options = ["-f", connection_file, "--HistoryManager.hist_file=:memory:"]
        if not args.isolated:  # without a PID namespace: the kernel ends itself when the template is gone
            options.append(f"--IPKernelApp.parent_handle={os.getppid()}")
        app.initialize(options)
        # exit() and quit() end the kernel in the cell that calls them, not some cells later as IPython would,
        # so the grader knows which cell ended it.
        app.shell.ask_exit = lambda: os._exit(0)
        install_guard(writable=(args.scratch, "/dev/null"), readable=tuple(args.readable))
        snapshot()
        os.write(report, f"{cpu_seconds():.3f}\n".encode())
        os.close(report)
        os.close(errors)
        errors = None
        app.start()
        code = 0
    except BaseException:  # noqa: BLE001  (a kernel that cannot start says why on the template's stderr, and ends)
        import traceback

        if errors is not None:
            os.write(errors, traceback.format_exc().encode(errors="replace"))
    finally:
        os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
