"""SandboxedExecute: run the notebook in a kernel inside the OS sandbox, within the grading limits."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, default

from ..checks import RETURNED_MIME
from ..course import CHECK_MODULES, SKIP_WHEN_GRADING, solution_notebook
from ..results import CellRun, CellStatus
from ..sandbox import Limits, timing
from ..sandbox.warm import KernelTemplate, TemplateKilled, TemplateProvisioner, submission_template
from ..verify import submission_verifier
from .cells import cell_key, error_output, findings, tested_function

KERNEL_NAME = "course-sandbox"
# Why grading this submission failed through no fault of the student's (a kernel killed from outside):
# the grading process exits with GRADER_FAULT_EXIT and the batch tries once more (see worker.py).
GRADER_FAULTS: list[str] = []


class GraderFault(Exception):
    """Grading cannot go on, and not because of the learner's code; the submission is graded again."""


class SandboxedExecute(Execute):
    """Run the notebook in a kernel inside the OS sandbox (:mod:`autograder.sandbox`).

    The kernel is forked from a kernel template (:mod:`autograder.sandbox.warm`): a sandbox whose Python
    has imported the kernel, numpy and matplotlib once and forks a fresh kernel for each notebook, one at
    a time, cleaning up after each. The template belongs to the job slot and is handed from one
    submission to the next once it has cleaned up (``warm_kernels``; with ``COURSE_KERNELS=fresh``, a new
    sandbox and template for every notebook). When the kernel has ended, the template runs the
    notebook's checks for VerifyFunctions, in children of their own.

    The kernel's scratch folder starts as a copy of the submission's folder. It talks to this process
    over unix sockets (there is no network in the sandbox) and may not send a message larger than
    ``message_limit``; its stored output is capped per cell and per notebook while it streams in, and
    widget messages are ignored. Each cell has a time limit, and the whole notebook a budget; after a
    timeout or a dead kernel the remaining cells are not run and say why.

    Cells the course's source notebook tags ``skip-when-grading`` are not run either, when they come
    after every graded cell of the submission: ungraded exploration (more training runs, plots) that
    no test depends on and no score can reflect. They get a note instead of outputs.
    """

    timeout = Integer(300, help="Seconds one cell may run (generous: training runs here on a busy machine)",
                      ).tag(config=True)
    notebook_timeout = Float(900.0, help="Seconds all cells of one notebook may take together").tag(config=True)
    memory_mb = Integer(3072, help="Resident memory of the kernel, in MiB").tag(config=True)
    cpu_seconds = Integer(1800, help="CPU seconds the kernel may use").tag(config=True)
    scratch_mb = Integer(512, help="Size of the kernel's scratch folder (a tmpfs), in MiB").tag(config=True)
    sandboxed = Bool(True, help="Run the kernel in the OS sandbox; False is for trusted submissions only",
                     ).tag(config=True)
    cell_output_limit = Integer(2 * 2**20, help="Bytes of output one cell keeps; the rest is dropped with a note",
                                ).tag(config=True)
    notebook_output_limit = Integer(16 * 2**20, help="Bytes of output one notebook keeps").tag(config=True)
    message_limit = Integer(64 * 2**20, help="The largest message the kernel may send, in bytes").tag(config=True)
    # A grader that falls behind a flood of output must not count that as the learner's timeout.
    raise_on_iopub_timeout = Bool(False, help="Treat late output after a cell as a timeout").tag(config=True)
    iopub_timeout = Integer(30, help="Seconds to wait for a cell's last output after it ended").tag(config=True)

    warm_kernels = Bool(help="Fork each notebook's kernel from a sandboxed, pre-imported template, one kernel at a "
                             "time, that runs the notebook's checks between kernels and serves the job slot's "
                             "submissions one after another; False starts a new sandbox and template per notebook. "
                             "Default: True, unless COURSE_KERNELS=fresh in the environment",
                        ).tag(config=True)

    @default("warm_kernels")
    def _warm_kernels_default(self) -> bool:
        return os.environ.get("COURSE_KERNELS", "warm") != "fresh"

    def preprocess(self, nb, resources, km=None):
        self.kernel_name = KERNEL_NAME
        self.shutdown_kernel = "immediate"  # the template kills it and cleans up after it
        build = resources["metadata"]["path"]
        found = findings(resources)
        found["cells"] = {}
        self._stopped = None
        self._notebook_bytes = self._returned_bytes = 0
        self._skipped = cells_to_skip(nb, resources["nbgrader"]["notebook"])
        self._deadline = time.monotonic() + self.notebook_timeout
        # no minimum: a cell reached after the budget is spent is stopped at once
        self.timeout_func = lambda cell: max(0.001, min(self.timeout, self._deadline - time.monotonic()))
        self._template = self._km = self._seed_name = self._specs = None
        self._own_template = not self.warm_kernels
        started, cpu = time.monotonic(), time.thread_time()
        self._ready_at = None
        verifier = submission_verifier(self.sandboxed)
        verifier.attach(None)  # no verification job runs in a sandbox while a kernel runs there
        try:
            self._template = self._template_for(resources, build)
            self._seed_name, seed, self._runtime = self._template.new_folders()
            for item in Path(build).iterdir():  # the submission's own files (lr_utils.py...), not its notebooks
                if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb":
                    shutil.copy(item, seed / item.name)
                    (seed / item.name).chmod(0o644)  # the kernel, another user when grading as root, reads it
            self._specs = self._template.home / f"spec-{self._seed_name}"  # its kernelspec (not shared with it)
            self._write_kernelspec()
            resources["metadata"]["path"] = str(self._template.scratch)
            try:
                nb, resources = super().preprocess(nb, resources, km)
            except GraderFault:
                raise
            except Exception as exc:  # the kernel could not start, or died between cells
                if self._killed_from_outside():
                    GRADER_FAULTS.append("the grading kernel was killed from outside (SIGKILL, not its memory limit)")
                    raise GraderFault(GRADER_FAULTS[-1]) from None
                if not isinstance(exc, DeadKernelError):  # e.g. a kernel that cannot start: the grader's error
                    raise
                self._stop(self._death("the kernel died before the notebook could run"))
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and cell_key(cell, index) not in found["cells"]:
                        self.preprocess_cell(cell, resources, index)
        finally:
            resources["metadata"]["path"] = build
            self._end_kernel()
        found["stopped"] = self._stopped
        if timing.enabled():
            kernel = self._template.kernel if self._template is not None else None
            timing.record("execute", notebook=resources["nbgrader"]["notebook"], client_cpu=time.thread_time() - cpu,
                          wall=time.monotonic() - started, warm=self.warm_kernels,
                          start_wall=None if self._ready_at is None else self._ready_at - started,
                          kernel_setup_cpu=kernel.setup_cpu if kernel else None,
                          kernel_cpu=kernel.cpu if kernel else None)
        return nb, resources

    @property
    def limits(self) -> Limits:
        """The sandbox limits of a kernel, from this step's traits."""
        return Limits(self.memory_mb, self.cpu_seconds, self.scratch_mb)

    def _template_for(self, resources, build: str) -> KernelTemplate:
        """This notebook's kernel template: the submission's own (warm), or a new one for this notebook alone."""
        try:
            if self._own_template:
                return KernelTemplate(self.limits, self.sandboxed)
            info = resources["nbgrader"]
            owner = json.dumps([info.get("student"), info.get("assignment"), os.path.realpath(build)])
            return submission_template(self.limits, self.sandboxed, owner)
        except TemplateKilled as exc:
            GRADER_FAULTS.append(str(exc))
            raise GraderFault(GRADER_FAULTS[-1]) from None

    def _end_kernel(self) -> None:
        """Make sure the kernel is gone and the template cleaned up after it; remove this notebook's folders."""
        template = self._template
        if template is not None:
            with contextlib.suppress(Exception):
                template.stop()
            if self._seed_name is not None:
                template.release(self._seed_name)
            if self._own_template:
                template.close()
            elif template.can_run_jobs(self.sandboxed):  # the kernel is gone: the notebook's checks run there next
                submission_verifier(self.sandboxed).attach(template)
        if self._specs is not None:
            shutil.rmtree(self._specs, ignore_errors=True)

    def _write_kernelspec(self) -> None:
        """The kernelspec jupyter_client reads; its command is never run (the template forks the kernel)."""
        spec = self._specs / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "autograder.sandbox.kernel", "-f", "{connection_file}"],
            "display_name": "Course grading sandbox", "language": "python",
            "interrupt_mode": "message"}))  # signals cannot cross the PID namespace

    def create_kernel_manager(self):
        """The kernel's manager: this notebook's kernelspec, sockets in a folder the sandbox shares, and a
        provisioner that has the template fork the kernel."""
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager(kernel_dirs=[str(self._specs)])
        self.km = SandboxKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc",
                                       connection_file=str(self._runtime / "connection.json"), config=self.config)
        self.km.owner = self._template.owner
        self.km.kernel_id = f"{self._seed_name}-{secrets.token_hex(4)}"
        provisioner = TemplateProvisioner(kernel_id=self.km.kernel_id, kernel_spec=self.km.kernel_spec, parent=self.km)
        provisioner.template, provisioner.seed = self._template, self._seed_name
        self.km.provisioner = provisioner
        self._km = self.km
        self.km.context.setsockopt(zmq.MAXMSGSIZE, self.message_limit)
        return self.km

    async def async_start_new_kernel_client(self):
        """Once the kernel has made its sockets, its folder is closed to it: it can fill no disk through it."""
        client = await super().async_start_new_kernel_client()
        if self._template is not None and self._template.owner is not None:
            os.chown(self._runtime, 0, 0)
            self._runtime.chmod(0o755)
        self._ready_at = time.monotonic()
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # what nbconvert's preprocess calls

    def _killed_from_outside(self) -> bool:
        """Whether the kernel, or its template, got a SIGKILL the learner's code did not cause (its guard lets it
        send none, and its own memory limit was not reached): an operator, or the machine running out of memory."""
        template = self._template
        if template is None:
            return False
        if template.ended() is not None:
            return template.killed_from_outside()
        kernel = template.kernel
        return (kernel is not None and not kernel.stopped and template.poll() == -signal.SIGKILL
                and (kernel.cpu is None or kernel.cpu < self.cpu_seconds) and not template.out_of_memory())

    def _out_of_memory(self) -> bool:
        return self._template is not None and self._template.out_of_memory()

    def _death(self, what: str) -> str:
        """Why the kernel died, as far as the grader can tell."""
        if self._out_of_memory():
            return f"{what}: it ran out of memory (limit {self.memory_mb} MiB)"
        return f"{what}: it exited or crashed"

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason

    def process_message(self, msg, cell, cell_index):
        """Store a kernel message's output only within the output limits; ignore widgets."""
        kind = msg["msg_type"]
        if kind.startswith("comm"):
            return None  # an output widget would capture outputs past the limits below
        if kind in ("stream", "display_data", "execute_result", "update_display_data", "error"):
            content = msg["content"]
            size = _output_size(content)
            if kind == "display_data" and RETURNED_MIME in content.get("data", {}):
                # a test cell's report of what a function returned: outside the cell caps, within its own
                self._returned_bytes += size
                if self._returned_bytes > self.message_limit or tested_function(cell) is None:
                    return None
            else:
                self._cell_bytes += size
                self._notebook_bytes += size
                if self._cell_bytes > self.cell_output_limit or self._notebook_bytes > self.notebook_output_limit:
                    if not self._truncated:
                        self._truncated = True
                        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                            f"\n[output truncated: a cell keeps {self.cell_output_limit // 2**20} MiB and a notebook "
                            f"{self.notebook_output_limit // 2**20} MiB of output when grading]\n")))
                    if kind == "error":  # the cell's failure must still show, briefly
                        msg = {**msg, "content": {**content, "traceback": [], "evalue": str(content.get(
                            "evalue", ""))[:1000]}}
                    else:
                        return None
        return super().process_message(msg, cell, cell_index)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        status = findings(resources)["cells"]
        key = cell_key(cell, index)
        if index in self._skipped:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            status[key] = CellRun(CellStatus.SKIPPED)
            return cell, resources
        if self._stopped:
            cell.outputs = [error_output("NotRun", f"this cell was not run: {self._stopped}")]
            status[key] = CellRun(CellStatus.NOT_RUN)
            return cell, resources
        self._cell_bytes, self._truncated = 0, False
        started = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # the kernel ignored the interrupt sent at the time limit
            seconds = time.monotonic() - started
            self._stop(f"an earlier cell ({key}) ran out of time after {seconds:.0f} s and ignored the interrupt")
            cell.outputs.append(error_output("CellTimeoutError",
                                             f"the cell was stopped after {seconds:.0f} s (time limit)"))
            status[key] = CellRun(CellStatus.TIMEOUT, round(seconds, 3))
            return cell, resources
        except DeadKernelError:
            seconds = time.monotonic() - started
            if self._killed_from_outside():
                GRADER_FAULTS.append(f"the grading kernel was killed from outside (SIGKILL, not the machine's "
                                     f"memory limit for it) while it ran cell {key}")
                raise GraderFault(GRADER_FAULTS[-1]) from None
            reason = self._death(f"the kernel died while running an earlier cell ({key})")
            self._stop(reason)
            memory = self._out_of_memory()
            cell.outputs.append(error_output("KernelDied", f"the kernel died while running this cell after "
                                             f"{seconds:.1f} s"
                                             + (f": out of memory (limit {self.memory_mb} MiB)" if memory else "")))
            status[key] = CellRun(CellStatus.OUT_OF_MEMORY if memory else CellStatus.KERNEL_DIED, round(seconds, 3))
            return cell, resources
        seconds = time.monotonic() - started
        outcome = CellStatus.OK
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                outcome = CellStatus.ERROR
                if output.ename == "CellTimeoutError":
                    outcome = CellStatus.TIMEOUT
                    output.evalue = f"the cell was stopped after {seconds:.0f} s (time limit)"
                    output.traceback = [f"CellTimeoutError: {output.evalue}"]
                    self._stop(f"an earlier cell ({key}) ran out of time after {seconds:.0f} s")
                elif output.ename == "MemoryError":
                    outcome = CellStatus.OUT_OF_MEMORY
        status[key] = CellRun(outcome, round(seconds, 3))
        return cell, resources


class SandboxKernelClient(AsyncKernelClient):
    """nbclient's side of a grading kernel, ready as soon as the kernel has answered a ``kernel_info`` request and
    said on IOPub that it is idle again.

    jupyter_client's own wait then also waits until IOPub has been quiet for 0.2 s: idle time at the start of
    every notebook, in which the job slot's core does nothing. Nothing from a kernel's start can be taken
    for a cell's output anyway: nbclient keeps only the outputs whose parent is the cell's own request.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()
        replied = False
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            asked.add(self.kernel_info())  # again after a second of silence: IOPub may have joined late
            waited = time.monotonic() + 1.0
            try:
                while not replied:
                    msg = await self.shell_channel.get_msg(timeout=max(0.0, waited - time.monotonic()))
                    if msg["msg_type"] == "kernel_info_reply" and msg["parent_header"].get("msg_id") in asked:
                        self._handle_kernel_info_reply(msg)
                        replied = True
                while True:
                    msg = await self.iopub_channel.get_msg(timeout=max(0.0, waited - time.monotonic()))
                    content, parent = msg["content"], msg["parent_header"].get("msg_id")
                    if msg["msg_type"] == "status" and content.get("execution_state") == "idle" and parent in asked:
                        return
            except Empty:
                continue


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandboxed kernel's own user (``owner``) can read; its provisioner
    (:class:`autograder.sandbox.warm.TemplateProvisioner`) is set before the kernel starts, and its client is a
    :class:`SandboxKernelClient`."""

    owner: int | None = None

    @default("client_factory")
    def _client_factory_default(self) -> type:
        return SandboxKernelClient

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


def _output_size(content: dict) -> int:
    """Roughly how many bytes an output message's content holds (its text, data and traceback)."""
    size = len(str(content.get("text", ""))) + len(str(content.get("evalue", "")))
    size += sum(len(str(value)) for value in (content.get("data") or {}).values())
    return size + sum(len(str(line)) for line in content.get("traceback") or [])


SKIPPED_NOTE = ("[not run when grading] an ungraded exploration cell after the last test: it cannot change "
                "your score. It runs as usual in your own notebook.\n")


@functools.cache
def tagged_skip_when_grading(notebook: str) -> frozenset[str]:
    """Ids of the cells the source notebook ``notebook`` tags ``skip-when-grading``."""
    with open(solution_notebook(notebook), encoding="utf-8") as file:
        cells = json.load(file)["cells"]
    return frozenset(c["id"] for c in cells if "id" in c and SKIP_WHEN_GRADING in c.get("metadata", {}).get("tags", []))


def cells_to_skip(nb: NotebookNode, notebook: str) -> set[int]:
    """Positions of the submission's cells that grading does not run: ungraded code cells, after every
    graded or solution cell, whose id the source notebook tags ``skip-when-grading``.

    The tags are the instructor's, read from solutions/; what a learner did to the tags in their copy
    does not count. A learner who moved a test cell below a tagged cell gets that cell run.
    """
    if notebook not in CHECK_MODULES:
        return set()
    tagged = tagged_skip_when_grading(notebook)
    last = max((i for i, c in enumerate(nb.cells) if utils.is_grade(c) or utils.is_solution(c)), default=len(nb.cells))
    return {i for i, c in enumerate(nb.cells)
            if i > last and c.cell_type == "code" and c.get("id") in tagged and "nbgrader" not in c.metadata}
