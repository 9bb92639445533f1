"""Warm grading kernels: one sandboxed, pre-imported kernel template per job slot, a forked kernel per notebook.

A :class:`KernelTemplate` is one sandbox (:class:`autograder.sandbox.Sandbox`) running
``python -m autograder.sandbox.kernel``, which imports the kernel, numpy and matplotlib once, then forks
a fresh kernel for each notebook (see that module for what each kernel gets, and for the protocol).
Its notebooks pay no interpreter start and no import.

Who holds it: the warm worker of a job slot (:mod:`autograder.worker`) starts the slot's template
(:func:`slot_template`) and hands it down to the child it forks to grade each submission; the child
uses it (:func:`submission_template`) and hands it back when it ends (:func:`close_submission_template`);
the warm worker then has it clean up once more and keeps it only if it says nothing is left
(:func:`take_back_template`). A grading process with no template handed down (``python -m
autograder.worker grade``, or without the OS sandbox) starts its own before nbgrader's first pass
(:func:`prestart`) and closes it at its end.

Rules that keep one learner's work from reaching another's, or one notebook's from the next:

* a kernel runs one notebook of one submission, and one kernel runs at a time: the next is forked only
  after the last has ended, every other process of the sandbox is gone and its scratch folder is
  empty. A template that could not make sure of that is not forked from again (it ends; a new one,
  in a new sandbox, takes its place);
* between two submissions the template cleans up once more, and is handed on only when the child that
  graded the last one ended normally and the template answers that nothing is left; else it is closed;
* only sandboxed templates serve several submissions: without the OS sandbox, a process a kernel left
  behind cannot be found for sure, so each submission gets a template of its own;
* each kernel's files come from its own seed folder (read-only in the sandbox), its sockets live in a
  folder of its own that is emptied after it, and out-of-memory is judged on what happened since it
  started (:meth:`Cgroup.mark`).

:class:`TemplateProvisioner` lets jupyter_client (and so nbclient) start, poll and kill such a kernel
as it would a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from ..course import private_folder, temporary_folder
from ..pipes import LineReader, stop_process
from . import SEED_INSIDE, Limits, Sandbox, share_font_cache, timing
from .kernel import SEED_BASE

READY_TIMEOUT = 180.0  # seconds a template may take to import everything (a loaded machine)
STOP_TIMEOUT = 30.0  # seconds to kill a kernel and clean up after it


def _sibling_exit_code(pid: int) -> int | None:
    """The exit code (as Popen's returncode) of a process this one did not start, None while it runs.

    A grading child uses its warm worker's template: only the warm worker may reap it, and does so only once
    that child has ended, so meanwhile an ended template stays a zombie whose wait status /proc shows.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return -signal.SIGKILL  # reaped: the warm worker itself is gone
    if fields[0] != b"Z":
        return None
    try:
        return os.waitstatus_to_exitcode(int(fields[49]))  # field 52 of stat: the exit status, as waitpid reports it
    except (IndexError, ValueError):
        return 1


class TemplateKilled(Exception):
    """The template's process was killed by a SIGKILL that its own memory limit did not cause."""


class TemplateUnusable(Exception):
    """The template cannot fork a kernel (it ended, or does not answer); a new one may."""


def kernel_environment(scratch: Path) -> dict[str, str]:
    """What a kernel's environment adds to the sandbox's own."""
    return {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": str(scratch / ".matplotlib"),
            "IPYTHONDIR": str(scratch / ".ipython")}


class Kernel:
    """One kernel forked by a template: its process id in the sandbox, and how it ended."""

    def __init__(self, pid: int):
        self.pid = pid
        self.status: tuple[str, int] | None = None  # ("exit", code) or ("signal", number) once it has ended
        self.setup_cpu: float | None = None
        self.cpu: float | None = None
        self.stopped = False  # the grader killed it (its shutdown), so a SIGKILL came from no one else

    @property
    def returncode(self) -> int | None:
        """As Popen's: None while it runs, the exit code, or minus the signal that ended it."""
        if self.status is None:
            return None
        kind, number = self.status
        return number if kind == "exit" else -number


class KernelTemplate:
    """A sandboxed kernel template: the notebooks of one submission, or of a job slot's (see the module's doc)."""

    def __init__(self, limits: Limits, sandboxed: bool, owner_key: str | None = None):
        self.limits, self.sandboxed, self.owner_key = limits, sandboxed, owner_key
        self.creator = os.getpid()  # the process that may close it; a child it is handed down to hands it back
        self.home = temporary_folder("k", private_folder("course-kernels", 0o711))
        self.scratch, self.seeds, self.runtime = self.home / "scratch", self.home / "seeds", self.home / "run"
        for folder in (self.scratch, self.seeds, self.runtime):
            folder.mkdir(mode=0o755)
            folder.chmod(0o755)
        share_font_cache(self.seeds / SEED_BASE / ".matplotlib")
        self.sandbox = Sandbox(limits, scratch=self.scratch, sandboxed=sandboxed,
                               seed=self.seeds if sandboxed else None, shared=(self.runtime,), datasets=True)
        self.kernel: Kernel | None = None
        self.usable = True
        self.forked = 0
        self._mark: dict[str, int] = {}
        self._ready_cpu: float | None = None
        self._self_cpu: float | None = None
        self._kernels: list[Kernel] = []  # forked since the last timing record
        self._started = time.monotonic()
        self._stopped = False
        self._accounted = {"sandbox": 0.0, "self": 0.0, "imports": False}  # what timing records already counted
        argv = [sys.executable, "-m", "autograder.sandbox.kernel", "--scratch", str(self.scratch), "--seeds",
                SEED_INSIDE if sandboxed else str(self.seeds), *(f"--readable={p}" for p in self.sandbox.readable)]
        if sandboxed:
            argv.append("--isolated")
        self.process = subprocess.Popen(self.sandbox.command(argv, kernel_environment(self.scratch)),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=self.scratch,
                                        start_new_session=True)
        self._lines = LineReader(self.process.stdout)

    @property
    def owner(self) -> int | None:
        return self.sandbox.owner

    @property
    def lines(self) -> LineReader:
        return self._lines

    def can_run_jobs(self, sandboxed: bool) -> bool:
        """Whether verification jobs (:class:`autograder.verify.Verifier`) may run here now: no kernel running, the
        template alive and clean, and isolated as the verifier asks."""
        return (self.usable and not self._stopped and self.ended() is None and self.sandboxed == sandboxed
                and (self.kernel is None or self.poll() is not None))

    # -- the protocol ------------------------------------------------------------------------------------
    def _send(self, line: str) -> None:
        try:
            self.process.stdin.write(f"{line}\n".encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.usable = False

    def _handle(self, line: str) -> None:
        parts = line.split()
        try:
            if parts[0] == "ready":
                self._ready_cpu = float(parts[1])
            elif parts[0] == "kernel" and self.kernel is not None and int(parts[1]) == self.kernel.pid:
                self.kernel.setup_cpu = float(parts[2])
            elif parts[0] == "finished" and self.kernel is not None and int(parts[1]) == self.kernel.pid:
                self.kernel.status = (parts[2], int(parts[3]))
                self.kernel.cpu, self._self_cpu = float(parts[4]), float(parts[5])
                if parts[2] not in ("exit", "signal"):
                    self.usable = False
                if parts[6] != "clean":
                    self.usable = False  # something of the last kernel could not be removed: never fork again
        except (IndexError, ValueError):
            self.usable = False

    def _pump(self, deadline: float) -> bool:
        """Handle one line from the template, waiting until ``deadline``; False when none came."""
        line = self._lines.read_line(deadline)
        if line is None:
            return False
        self._handle(line)
        return True

    def note_own_cpu(self, seconds: float) -> None:
        """What the template said its own CPU time is (in a job's answer): for the benchmarks' records."""
        self._self_cpu = seconds

    def ended(self) -> int | None:
        """The template process's exit code once it has ended, else None."""
        if os.getpid() == self.creator:
            return self.process.poll()
        return _sibling_exit_code(self.process.pid)

    def killed_from_outside(self) -> bool:
        """Whether the template got a SIGKILL its memory limit did not cause (an operator, the machine's OOM killer)."""
        code = self.ended()
        return code in (-signal.SIGKILL, 128 + signal.SIGKILL) and not self.out_of_memory()

    def out_of_memory(self) -> bool:
        """Whether the sandbox reached its memory limit since the current (or last) kernel started."""
        return self.sandbox.cgroup is not None and self.sandbox.cgroup.out_of_memory(self._mark)

    # -- kernels -----------------------------------------------------------------------------------------
    def new_folders(self) -> tuple[str, Path, Path]:
        """A name, and the seed and socket folders, for the next kernel: the caller fills the seed folder."""
        name = f"n{self.forked}-{secrets.token_hex(4)}"
        seed, runtime = self.seeds / name, self.runtime / name
        seed.mkdir(mode=0o755)
        shutil.copytree(self.seeds / SEED_BASE, seed, dirs_exist_ok=True)
        runtime.mkdir(mode=0o700)
        if self.owner is not None:  # the kernel, another user, makes its sockets there (then it is taken back)
            os.chown(runtime, self.owner, self.owner)
        return name, seed, runtime

    def fork(self, name: str, connection_file: Path, timeout: float = READY_TIMEOUT) -> Kernel:
        """Fork the next kernel, with seed folder ``name``, on ``connection_file``; return once it exists."""
        if self.kernel is not None and self.kernel.status is None:
            raise RuntimeError("a template runs one kernel at a time")
        if self.ended() is not None:
            if self.killed_from_outside():
                raise TemplateKilled("the grading kernels' template was killed from outside (SIGKILL, not its "
                                     "memory limit)")
            raise TemplateUnusable(f"the kernel template ended (exit code {self.ended()})")
        if not self.usable:
            raise TemplateUnusable("the kernel template could not clean up after its last kernel")
        if self.sandbox.cgroup is not None:
            self._mark = self.sandbox.cgroup.mark()
        self.kernel = None
        self._send("start " + json.dumps({"seed": name, "connection_file": str(connection_file)}))
        deadline = time.monotonic() + timeout
        while True:
            line = self._lines.read_line(deadline)
            if line is None:
                self.usable = False
                if self.ended() is not None and self.killed_from_outside():
                    raise TemplateKilled("the grading kernels' template was killed from outside (SIGKILL, not its "
                                         "memory limit)")
                raise TemplateUnusable("the kernel template did not start a kernel")
            if line.startswith("started "):
                self.kernel = Kernel(int(line.split()[1]))
                self._kernels.append(self.kernel)
                self.forked += 1
                return self.kernel
            self._handle(line)

    def poll(self) -> int | None:
        """The current kernel's returncode (None while it runs), reading what the template has said meanwhile."""
        kernel = self.kernel
        if kernel is None:
            return 0
        while kernel.status is None and self._pump(time.monotonic() + 0.001):  # what has come, without waiting
            pass
        code = self.ended()
        if kernel.status is None and code is not None:  # the template, and with it the kernel, is gone
            self.usable = False
            if code < 0:
                kernel.status = ("signal", -code)
            else:
                kernel.status = ("signal", code - 128) if code > 128 else ("exit", code)
        return kernel.returncode

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Kill the current kernel, and wait until nothing of it is left (else the template is closed)."""
        kernel = self.kernel
        if kernel is None or self.poll() is not None:
            return
        kernel.stopped = True
        self._send("stop")
        deadline = time.monotonic() + timeout
        while kernel.status is None and self.ended() is None and self._pump(deadline):
            pass
        if kernel.status is None:  # it does not answer: nothing forks from it again
            self.usable = False
            self._stop_process()
            self.poll()

    def release(self, name: str) -> None:
        """After a kernel: remove its seed folder and everything in the socket folder."""
        shutil.rmtree(self.seeds / name, ignore_errors=True)
        for entry in list(self.runtime.iterdir()) if self.runtime.exists() else []:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()

    def _stop_process(self) -> None:
        if not self._stopped:
            self._stopped = True
            stop_process(self.process)

    def close(self) -> None:
        """Kill the template with its sandbox, remove its cgroup and folders; record what it cost (benchmarks).

        Only the process that started it closes it: a grading child it was handed down to hands it back."""
        if os.getpid() != self.creator:
            self.hand_back()
            return
        with contextlib.suppress(Exception):
            self.stop(timeout=5)
        self._stop_process()
        self._record()
        self.sandbox.close()
        shutil.rmtree(self.home, ignore_errors=True)

    # -- between submissions (a job slot's template) -----------------------------------------------------
    def hand_back(self) -> None:
        """In the grading child it was handed down to, at its end: no kernel left running, this submission's
        share of the cost recorded. The warm worker decides whether it serves another (:meth:`sync`)."""
        with contextlib.suppress(Exception):
            self.stop(timeout=5)
        self._record()

    def sync(self, timeout: float = STOP_TIMEOUT) -> bool:
        """In the warm worker, between two submissions: have the template clean up once more; True when it
        answers that nothing of the last submission is left (else it is not to be used again)."""
        if not self.usable or self._stopped or self.ended() is not None:
            return False
        token = secrets.token_hex(8)
        self._send(f"sync {token}")
        deadline = time.monotonic() + timeout
        while self.usable:
            line = self._lines.read_line(deadline)
            if line is None:
                break
            parts = line.split()
            if parts[:2] == ["synced", token] and len(parts) == 4:
                try:
                    self._self_cpu = float(parts[3])
                except ValueError:
                    break
                if parts[2] != "clean":
                    break
                self.kernel = None
                self._accounted = {"sandbox": self._sandbox_cpu() or 0.0, "self": self._self_cpu,
                                   "imports": True}  # (the children's own records counted what came before)
                self._kernels, self._started = [], time.monotonic()
                return True
            if parts[:2] == ["busy", token]:  # a kernel still runs: the child was stopped halfway
                break
            self._handle(line)
        self.usable = False
        return False

    def _sandbox_cpu(self) -> float | None:
        return self.sandbox.cgroup.cpu_seconds() if self.sandbox.cgroup is not None else None

    def _record(self) -> None:
        """A timing record (benchmarks) of what the template cost since the last one: the sandbox's CPU, its
        imports (once), its own CPU and the kernels it forked meanwhile."""
        if not timing.enabled():
            return
        sandbox_cpu, accounted = self._sandbox_cpu(), self._accounted
        timing.record("kernel template", sandboxed=self.sandboxed,
                      sandbox_cpu=None if sandbox_cpu is None else sandbox_cpu - accounted["sandbox"],
                      template_cpu=0.0 if accounted["imports"] else self._ready_cpu,
                      template_self_cpu=None if self._self_cpu is None else self._self_cpu - accounted["self"],
                      kernels=[{"setup_cpu": k.setup_cpu, "cpu": k.cpu} for k in self._kernels],
                      wall=time.monotonic() - self._started)
        self._accounted = {"sandbox": sandbox_cpu or 0.0, "self": self._self_cpu or 0.0,
                           "imports": accounted["imports"] or self._ready_cpu is not None}
        self._kernels, self._started = [], time.monotonic()


# -- the template of the submission this process grades ----------------------------------------------------
_current: KernelTemplate | None = None  # its job slot's, handed down by the warm worker, or its own


def _fits(template: KernelTemplate, limits: Limits, sandboxed: bool) -> bool:
    return (template.limits == limits and template.sandboxed == sandboxed and template.usable
            and template.ended() is None)


def submission_template(limits: Limits, sandboxed: bool, owner_key: str) -> KernelTemplate:
    """The template for the submission ``owner_key`` (its student and folder): the one already there for it
    when it has the same limits and can still fork, else a new one (the old one is let go first)."""
    global _current
    if _current is not None and _current.owner_key in (owner_key, None) and _current.ended() is not None and \
            _current.killed_from_outside():
        close_submission_template()
        raise TemplateKilled("the grading kernels' template was killed from outside (SIGKILL, not its memory limit)")
    if _current is not None and (_current.owner_key not in (owner_key, None) or not _fits(_current, limits, sandboxed)):
        close_submission_template()
    if _current is None:
        _current = KernelTemplate(limits, sandboxed, owner_key)
    _current.owner_key = owner_key  # a template started ahead (owner_key None) now belongs to this submission
    return _current


def prestart(limits: Limits, sandboxed: bool) -> None:
    """Have the template of the submission about to be graded here ready: the one its warm worker handed down
    when it fits, else a new one started now, so its start overlaps other work."""
    global _current
    if _current is not None and _current.owner_key is None and _fits(_current, limits, sandboxed):
        return
    close_submission_template()
    _current = KernelTemplate(limits, sandboxed, None)


def close_submission_template() -> None:
    """At the end of a submission's grading: close its template, or hand back the one its warm worker handed down."""
    global _current
    if _current is not None:
        template, _current = _current, None
        template.close()


def slot_template(limits: Limits, sandboxed: bool) -> None:
    """In a warm worker, before it forks the child that grades the next submission: make sure the job slot has a
    template that fits (the submission's limits, the OS sandbox) and can fork, starting one if not. Without the
    OS sandbox there is none: each submission's grading process starts its own."""
    global _current
    if _current is not None and not (sandboxed and _fits(_current, limits, sandboxed)):
        close_submission_template()
    if sandboxed and _current is None:
        _current = KernelTemplate(limits, sandboxed, None)


def take_back_template(graded: bool) -> None:
    """In a warm worker, once the child that graded a submission has ended: keep the slot's template for the next
    submission only when that child ended normally (``graded``) and the template, having cleaned up once more,
    says nothing of it is left; else close it."""
    if _current is not None and not (graded and _current.sync()):
        close_submission_template()


class TemplateProvisioner(LocalProvisioner):
    """Starts a kernel by asking a :class:`KernelTemplate` to fork one, and watches and kills it through it.

    ``template`` and ``seed`` (the name of the kernel's seed folder) are set before the kernel starts.
    """

    template: KernelTemplate | None = None
    seed: str | None = None
    kernel: Kernel | None = None

    @property
    def has_process(self) -> bool:
        return self.kernel is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        self.kernel = self.template.fork(self.seed, Path(self.parent.connection_file))
        self.pid = self.kernel.pid
        return self.connection_info

    async def poll(self) -> int | None:
        return None if self.kernel is None else self.template.poll()

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.05)
        return code

    async def send_signal(self, signum: int) -> None:
        if signum in (signal.SIGKILL, signal.SIGTERM) and self.kernel is not None:
            await self.kill()
        # interrupts go as messages (interrupt_mode "message"); signals cannot cross the PID namespace

    async def kill(self, restart: bool = False) -> None:
        if self.kernel is not None:
            self.template.stop()

    async def terminate(self, restart: bool = False) -> None:
        await self.kill(restart)

    async def cleanup(self, restart: bool = False) -> None:
        pass

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return STOP_TIMEOUT
