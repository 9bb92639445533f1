"""Verification inside the sandbox: each learner's function runs in a child forked for it, and only
what it returned comes back.

Started by the grader, inside the sandbox, as
``python -m autograder.sandbox.zygote --jobs DIR --scratch DIR --readable DIR... [--isolated]``.
Starting Python and importing numpy once, then forking, makes a check cost milliseconds.

Protocol. Once imported, the zygote says ``ready CPU`` (its own CPU seconds so far). The grader writes
a job file into ``--jobs`` and ``job NAME`` on standard input; the zygote forks a child, answers
``started PID``, and the child (never the zygote) reads the job: the learner's
module, the reference versions of the functions it calls, and the inputs. No expected result is ever
in a job. The child writes what the function returned or raised, as data, on a pipe of its own; the
zygote passes it on as ``cpu PID CHILD_CPU OWN_CPU`` (for the benchmarks), ``dirty PID`` if something
of the job could not be removed, then ``finished PID STATUS LENGTH`` followed by LENGTH bytes. A line ``stop`` on
standard input while a job runs kills its child (the grader's time limit); end of input kills it and
ends the zygote. After every job, nothing of it is left: in the sandbox's own PID namespace
(``--isolated``) every other process is killed, and the scratch folder is emptied, so one function's
check cannot leave anything for the next.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import resource
import select
import signal
import sys

from .forking import clean, cpu_seconds, cut_off, preload_notebook_libraries, read_line, start_server
from .guard import install_guard

RESULT_LIMIT = 64 * 1024 * 1024  # bytes a child may return; more ends it (serialize.MAX_BYTES)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox.zygote")
    parser.add_argument("--jobs", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--readable", action="append", default=[])
    parser.add_argument("--isolated", action="store_true", help="alone in a PID namespace: clean up by killing all")
    parser.add_argument("--seed", help="copy this folder into the scratch folder before the imports (font list)")
    args = parser.parse_args(argv)
    # the libraries are shared by every child: a learner's module imports what its notebook does
    replies, stdin = start_server(args.seed, args.scratch, args.isolated, preload_notebook_libraries)
    while True:
        line = read_line(stdin)
        if line is None:
            return
        name = line.strip().removeprefix("job ")
        if not name or name == "stop" or "/" in name:
            continue
        if serve_job(os.path.join(args.jobs, name), args.scratch, tuple(args.readable), args.isolated, replies,
                     stdin):
            return


def serve_job(job_path: str, scratch: str, readable: tuple[str, ...], isolated: bool, replies, stdin) -> bool:
    """Run one job in a forked child and answer as the protocol says; True when the grader is gone.

    Also used by the kernel template (:mod:`.kernel`), which runs the checks of a submission's notebook
    between its kernels.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(job_path, scratch, readable, write_end, replies)
    os.close(write_end)
    replies.write(f"started {pid}\n".encode())
    status, data, cpu = _collect(pid, read_end, stdin)
    if not clean(pid, scratch, isolated):
        replies.write(f"dirty {pid}\n".encode())  # the grader runs no job here again
    replies.write(f"cpu {pid} {cpu:.3f} {cpu_seconds():.3f}\n".encode())
    replies.write(f"finished {pid} {status} {len(data)}\n".encode() + data)
    return status == "orphaned"


def _collect(pid: int, results: int, stdin) -> tuple[str, bytes, float]:
    """Read the child's results until it ends: its status ("exit N", "signal N", "too large", "stopped" or
    "orphaned"), what it returned, and the CPU seconds it used."""
    data, verdict = bytearray(), None
    pidfd = os.pidfd_open(pid)
    watched = [results, pidfd, stdin]
    try:
        while True:
            ready = select.select(watched, [], [])[0]
            if results in ready:
                chunk = os.read(results, 1 << 16)
                if not chunk:
                    watched.remove(results)
                elif len(data) + len(chunk) > RESULT_LIMIT:
                    verdict = verdict or "too large"
                    os.kill(pid, signal.SIGKILL)
                else:
                    data += chunk
            if stdin in ready:
                line = read_line(stdin)
                if line is None or line.strip() == "stop":
                    verdict = verdict or ("orphaned" if line is None else "stopped")
                    os.kill(pid, signal.SIGKILL)
            if pidfd in ready:
                break
        _, status, usage = os.wait4(pid, 0)
        fcntl.fcntl(results, fcntl.F_SETFL, os.O_NONBLOCK)  # a grandchild may hold the pipe open: no waiting
        while len(data) <= RESULT_LIMIT:
            try:
                chunk = os.read(results, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(pidfd)
        os.close(results)
    cpu = usage.ru_utime + usage.ru_stime
    if verdict:
        return verdict, b"", cpu
    code = os.waitstatus_to_exitcode(status)
    return (f"exit {code}" if code >= 0 else f"signal {-code}"), bytes(data[:RESULT_LIMIT]), cpu


def _child(job_path: str, scratch: str, readable: tuple[str, ...], results: int, replies) -> None:
    """In the forked child: a session of its own, no way to the grader but ``results``, run the job, exit."""
    try:
        replies.close()
        os.close(cut_off(results))  # (a job has no set-up of its own to report)
        with open(job_path) as stream:
            job = json.load(stream)
        outcome = run_job(job, scratch, readable)
        payload = json.dumps(outcome).encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(results, view):]
    finally:
        os._exit(0)


def run_job(job: dict, scratch: str, readable: tuple[str, ...]) -> dict:
    """Run one job under the guard: define the learner's function, call it on every input, record returns."""
    from ..checks import decode_inputs, describe_error, record_returns

    cpu = int(job.get("cpu_seconds") or 0)
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    os.chdir(scratch)
    install_guard(writable=(scratch, "/dev/null"), readable=readable)
    sys.stdout = sys.stderr  # what the learner prints goes nowhere
    namespace: dict = {"__name__": "__learner__"}
    try:
        exec(compile(job["references"], "<reference>", "exec"), namespace)
        exec(compile(job["module"], "<your notebook>", "exec"), namespace)
        function = namespace[job["target"]]
    except BaseException as exc:  # noqa: BLE001  (any failure to define the function is reported as such)
        return {"error": describe_error(exc)}
    return {"returned": record_returns(decode_inputs(job["inputs"]), function)}


if __name__ == "__main__":
    main(sys.argv[1:])
