"""The grading worker: nbgrader's Autograde with the course pipeline, for one prepared workspace.

Each submission is graded in a process of its own, so nothing one submission does (or leaves in
memory) can reach another, and the batch can stop it by killing its process group.

Starting Python and importing nbgrader, nbformat, nbclient and numpy costs seconds: more than a
small notebook takes to run. So a batch starts one *warm worker* per job slot
(``python -m autograder.worker serve``): it imports everything once and then, for each submission,
forks a fresh child that grades it and exits. The child starts from the clean, imported state; the
warm worker itself never runs a submission's code, nbgrader, or the course pipeline.

``python -m autograder.worker grade WORKSPACE STUDENT`` grades one workspace in a process of its own
(the cold path, for debugging a single submission).

Protocol of ``serve``: one JSON request per line on stdin, ``{"workspace", "student", "log"}``;
replies on stdout, ``started PID`` once the child is forked, then ``finished PID EXIT_CODE``
(negative: killed by that signal). End of stdin ends the warm worker.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import resource
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

from .pipes import LineReader, kill_group, stop_process, wait_for_child
from .sandbox import ADDRESS_SPACE_FACTOR
from .sandbox.cgroups import Cgroup

GRADER_FAULT_EXIT = 75  # the grading process failed through no fault of the student's: grade it once more
WORKER_MEMORY_MB = 4096  # what the process grading one submission may use (nbgrader, the notebook, outputs)


def run_worker(workspace: Path, student: str) -> None:
    """Autograde ``workspace/submitted/<student>/`` with nbgrader (in the process that grades it)."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from .preprocessors import SandboxedExecute
    from .sandbox import timing
    from .sandbox.warm import close_submission_template, prestart
    from .verify import close_submission_verifier, submission_verifier

    started, cpu = time.monotonic(), timing.process_cpu()
    quiet_logging()
    config = workspace_config(workspace, student)
    coursedir = CourseDirectory(config=config)
    try:
        # The kernel template: the one this job slot's warm worker handed down, or one started now, in its
        # sandbox, whose imports overlap nbgrader's own start and first pass. The checks run there too.
        execute = SandboxedExecute(config=config)
        if execute.warm_kernels:
            prestart(execute.limits, execute.sandboxed)
        else:  # a template per notebook: the checks have a zygote of their own, started now too
            submission_verifier(config.VerifyFunctions.sandboxed).start()
        Autograde(coursedir=coursedir, config=config).start()
    finally:
        # a forked child ends with os._exit, which runs no atexit handlers
        close_submission_template()
        close_submission_verifier()
        timing.record("grading process", student=student, cpu=timing.process_cpu() - cpu,
                      wall=time.monotonic() - started)


def workspace_config(workspace: Path, student: str):
    """The nbgrader configuration grading ``student`` in ``workspace`` runs with: the course's, and the run's
    limits and sandbox as the batch set them."""
    from .config import nbgrader_config, read_run_config
    from .course import ASSIGNMENT

    config = nbgrader_config(workspace, f"sqlite:///{workspace / 'gradebook.db'}", student_id=student,
                             assignment_id=ASSIGNMENT)
    config.merge(read_run_config(workspace))
    return config


def _ready_slot_template(job: dict) -> None:
    """Before forking the child that grades ``job``: this job slot's kernel template, started or kept, with the
    limits and sandbox the submission's run asks for (none with fresh kernels; see autograder.sandbox.warm)."""
    from .preprocessors import SandboxedExecute
    from .sandbox.warm import close_submission_template, slot_template

    try:
        execute = SandboxedExecute(config=workspace_config(Path(job["workspace"]), job["student"]))
    except Exception:  # noqa: BLE001  (the grading child reports a workspace it cannot read)
        close_submission_template()
        return
    if execute.warm_kernels:
        slot_template(execute.limits, execute.sandboxed)
    else:
        close_submission_template()


def quiet_logging() -> None:
    """A grading process's log (kept when grading fails): warnings and errors, without what nbgrader and
    SQLAlchemy say about every submission (the checksum of hidden-test cells, lazily added rows)."""
    from .config import silence_hidden_test_checksums

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    warnings.simplefilter("ignore")
    silence_hidden_test_checksums()


def preload() -> None:
    """Import what grading a submission needs, parse the reference solutions and draw their feedback curves, once.

    Nothing here starts a thread: the warm worker is single-threaded when it forks (OpenBLAS's idle
    thread pool aside, present when a worker gets more than one BLAS thread; OpenBLAS handles fork).
    """
    import nbclient  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.coursedir  # noqa: F401

    from . import preprocessors, store  # noqa: F401
    from .course import CHECK_MODULES
    from .reference import reference_module
    from .verify import reference_curve

    for notebook in CHECK_MODULES:
        reference_module(notebook)
        reference_curve(notebook)


def serve() -> None:
    """The warm worker: preload, then fork one child per request read from stdin (see the module doc)."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not break the protocol
    preload()
    replies.write("ready\n")
    from .sandbox import timing
    from .sandbox.warm import close_submission_template, take_back_template

    timing.record("warm worker", cpu=timing.process_cpu())
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            _ready_slot_template(job)  # the child uses it, and hands it back when it ends
            group = Cgroup.create(WORKER_MEMORY_MB, 1024)  # the grading child's own memory, apart from its kernels'
            pid = os.fork()
            if pid == 0:
                _limit_memory(group)
                _grade_in_child(job, replies)
            replies.write(f"started {pid}\n")
            status = wait_for_child(pid, orphaned=lambda child=pid: kill_group(child))  # the batch is gone: stop it
            if group is not None:
                group.remove()
            code = os.waitstatus_to_exitcode(status)
            take_back_template(graded=code == 0)  # kept for the next submission only if nothing of this one is left
            replies.write(f"finished {pid} {code}\n")
    finally:
        close_submission_template()


def _limit_memory(group: Cgroup | None) -> None:
    """Bound the grading child's own memory: its cgroup, or else (soft, so kernels can set their own) its
    address space. Output a kernel streams is capped too (preprocessors.SandboxedExecute)."""
    if group is not None:
        group.join()
    else:
        limit = WORKER_MEMORY_MB * 2**20 * ADDRESS_SPACE_FACTOR
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _grade_in_child(job: dict, replies) -> None:
    """In the forked child: a session of its own, output to the job's log, grade, and exit."""
    code = 1
    try:
        replies.close()
        os.setsid()  # the batch stops a submission by killing this process group
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(nothing)
        run_worker(Path(job["workspace"]), job["student"])
        code = 0
    except OSError as exc:
        traceback.print_exc()
        if exc.errno == errno.ENOSPC:
            code = GRADER_FAULT_EXIT
            print(f"grader fault: the disk is full ({exc})")
    except BaseException:  # everything, SystemExit included, ends as an exit code the batch records
        traceback.print_exc()
    finally:
        from .preprocessors import GRADER_FAULTS
        from .verify import FAULTS

        faults = GRADER_FAULTS + FAULTS
        if faults:  # nbgrader logs a notebook's exception and goes on: the fault is read from here
            code = GRADER_FAULT_EXIT
            print(f"grader fault: {faults[0]}")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


_ENDED = "the warm grading process ended unexpectedly"  # the one problem worth a second try


class WarmWorker:
    """The batch's handle on one warm worker process; used by one thread at a time."""

    def __init__(self, env: dict[str, str], log: Path):
        self._env, self._log = env, log
        self._closed = False
        self._process: subprocess.Popen | None = None
        self._lines: LineReader | None = None

    def start(self) -> None:
        """Start the process (it preloads in the background); a no-op while it is alive."""
        if self._closed:
            raise RuntimeError("this warm worker was closed: the batch is over or was interrupted")
        if self._process is None or self._process.poll() is not None:
            self.stop()  # a dead one's pipes are closed first
            with open(self._log, "a") as log:
                self._process = subprocess.Popen(serve_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                 stderr=log, env=self._env, start_new_session=True)
            self._lines = LineReader(self._process.stdout)

    def grade(self, workspace: Path, student: str, log: Path, budget: float, started_within: float = 300.0
              ) -> tuple[int | None, str | None]:
        """Grade one workspace: (exit code, None), or (None, what went wrong).

        ``budget`` is the wall time the child may take; when it runs out, its process group is killed.
        A warm worker that dies or stops answering is replaced, and the submission is tried once more.
        """
        problem = None
        for _attempt in range(2):
            code, problem = self._grade_once(workspace, student, log, budget, started_within)
            if problem != _ENDED:
                return code, problem
            self.stop()
        return None, problem

    def _grade_once(self, workspace, student, log, budget, started_within):
        self.start()
        request = json.dumps({"workspace": str(workspace), "student": student, "log": str(log)})
        try:
            self._process.stdin.write(f"{request}\n".encode())
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None, _ENDED
        started = self._lines.line_starting("started ", time.monotonic() + started_within)
        if started is None:
            return None, _ENDED
        pid = int(started.split()[1])
        finished = self._lines.line_starting(f"finished {pid} ", time.monotonic() + budget)
        kill_group(pid)  # nothing a submission started outlives its grading
        if finished is None and (self._process is None or self._process.poll() is not None):
            return None, _ENDED
        if finished is None:
            if self._lines.line_starting(f"finished {pid} ", time.monotonic() + 30) is None:
                self.stop()  # it did not reap the child: start afresh next time
            return None, f"grading took longer than {budget:.0f} s and was stopped"
        return int(finished.split()[2]), None

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._process = None

    def close(self, patience: float = 10.0) -> None:
        """Stop for good: a grading it is running ends now, and it is not started again. It is first asked to end
        (its input closed), so that it closes its kernel template itself; killed after ``patience`` seconds."""
        self._closed = True
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(patience)
        self.stop()


def serve_command() -> list[str]:
    """The command that starts a warm worker (see :func:`serve`)."""
    return [sys.executable, "-m", "autograder.worker", "serve"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.worker", description="internal: grading workers")
    commands = parser.add_subparsers(dest="verb", required=True)
    commands.add_parser("serve", help="a warm worker: grade the workspaces named on stdin, one child each")
    grade = commands.add_parser("grade", help="grade one prepared workspace in this process")
    grade.add_argument("workspace", type=Path)
    grade.add_argument("student")
    args = parser.parse_args(argv)
    if args.verb == "serve":
        serve()
    else:
        run_worker(args.workspace, args.student)


if __name__ == "__main__":
    main()
