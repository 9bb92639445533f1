"""The course's steps in nbgrader's autograde pipeline.

nbgrader autogrades in two phases, each an ordered list of preprocessors: *sanitize* (restore what a
learner may have changed) and *autograde* (execute, then save the scores). The course adds:

sanitize:  ClearOutput, DeduplicateIds, OverwriteKernelspec, **RestoreGradedCells**, OverwriteCells, CheckCellMetadata
autograde: **InjectHiddenCases**, **SandboxedExecute**, **VerifyFunctions**, IgnorePattern, ClearMetadataPreprocessor,
           LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata

Ordering rules: RestoreGradedCells must come before OverwriteCells (which trusts the cell flags it
restores); VerifyFunctions must come after SandboxedExecute (it reads the test cells' outputs) and before
SaveAutoGrades (which scores those outputs).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import math
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets import Bool, Float, Integer, default

from .checks import RETURNED_MIME, encode_inputs
from .course import CHECK_MODULES, SKIP_WHEN_GRADING, solution_notebook
from .notebook_code import read_code
from .sandbox import Limits, timing
from .sandbox.warm import KernelTemplate, TemplateKilled, TemplateProvisioner, submission_template
from .verify import (
    Verdict,
    checks_for,
    feedback_curve,
    judge_returns,
    reference_dependencies,
    submission_verifier,
    verify_notebook,
)

KERNEL_NAME = "course-sandbox"
# Why grading this submission failed through no fault of the student's (a kernel killed from outside):
# the grading process exits with GRADER_FAULT_EXIT and the batch tries once more (see worker.py).
GRADER_FAULTS: list[str] = []


class GraderFault(Exception):
    """Grading cannot go on, and not because of the learner's code; the submission is graded again."""
RESET_HOOKS = "from autograder.sandbox.guard import reset_kernel_hooks; reset_kernel_hooks()\n"


def test_function(cell: NotebookNode) -> str | None:
    """The graded function a test cell checks: test cells are named ``test_<function>``."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return grade_id[len("test_"):] if utils.is_grade(cell) and grade_id.startswith("test_") else None


def _released(source: str) -> str:
    """A test cell's source as learners get it: without the hidden tests, whitespace normalised."""
    lines, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line.rstrip())
    return "\n".join(lines).strip()


def _grading_notes(nb: NotebookNode) -> dict:
    """Notes kept in the notebook's metadata: nbgrader's two phases do not share their resources."""
    return nb.metadata.setdefault("course_grading", {"notes": [], "edited_tests": False})


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _points(value) -> float | None:
    """A cell's points as a finite number, or None when the metadata holds anything else."""
    try:
        points = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return points if math.isfinite(points) else None


class RestoreGradedCells(NbGraderPreprocessor):
    """Put back the nbgrader flags (grade, solution, locked, points) of every known cell.

    A learner who unticks "graded" on a test cell, or marks it as a solution, would otherwise leave that
    test unscored. Test cells whose source was edited are noted: OverwriteCells restores their source.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        record = _grading_notes(nb)
        notes = record["notes"]
        with Gradebook(info["db_url"]) as gb:
            try:
                notebook = gb.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            solutions = {cell.name for cell in notebook.solution_cells}
            sources = {cell.name: cell for cell in notebook.source_cells}
            present = set()
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader")
                name = meta.get("grade_id") if meta else None
                if meta is not None and name not in sources:
                    # an id the assignment does not know (a renamed cell, or one copied in): an ordinary cell
                    del cell.metadata["nbgrader"]
                    if meta.get("grade") or meta.get("solution") or meta.get("locked"):
                        record["edited_tests"] = True
                        notes.append(f"cell {name or '(no id)'}: not part of the assignment; run as an ordinary cell")
                    continue
                if name is None:
                    continue
                present.add(name)
                wanted = {"grade": name in points, "solution": name in solutions, "locked": sources[name].locked}
                changed = [key for key, value in wanted.items() if bool(meta.get(key)) != value]
                if name in points and _points(meta.get("points")) != float(points[name]):
                    changed.append("points")  # also a value that is not a number at all, such as "many"
                if changed:
                    notes.append(f"cell {name}: restored its {', '.join(changed)} setting")
                    record["edited_tests"] = True
                meta.update(wanted)
                if name in points:
                    meta["points"] = points[name]
                if name in points and sources[name].locked and _released(cell.source) != _released(
                        sources[name].source):
                    notes.append(f"cell {name}: the test cell was edited; the original was restored")
                    record["edited_tests"] = True
            for name in sorted(set(points) - present):
                notes.append(f"cell {name}: missing from the notebook (deleted or renamed); the original was put back")
        return nb, resources


class InjectHiddenCases(NbGraderPreprocessor):
    """Draw fresh hidden cases for this grading run, and hand their *inputs* to each test cell.

    The cases, with the reference solution's results, stay in this trusted process
    (``resources["course"]["cases"]``). A test cell gets one preamble line that passes the inputs to
    ``checks.hidden`` (:func:`autograder.checks.provide_hidden_inputs`); the kernel publishes what the
    learner's function returned, and VerifyFunctions judges it, and checks each function outside the
    kernel on the same inputs. Each test cell also starts by undoing the kernel hooks earlier cells may
    have installed (:func:`autograder.sandbox.guard.reset_kernel_hooks`). VerifyFunctions puts the
    original source back.
    """

    def preprocess(self, nb, resources):
        notebook = resources["nbgrader"]["notebook"]
        if notebook not in CHECK_MODULES:
            return nb, resources
        checks = checks_for(notebook)
        originals = resources.setdefault("course", {}).setdefault("hidden_sources", {})
        drawn = resources["course"].setdefault("cases", {})
        seeds = resources["course"].setdefault("seeds", {})
        for cell in nb.cells:
            if test_function(cell) is None:
                continue
            inputs = {}
            for name in _hidden_calls(cell.source):
                if name in checks.functions:
                    seeds[name] = secrets.randbits(63)  # recorded: the same cases can be drawn again
                    drawn[name] = checks.fresh_cases(name, seed=seeds[name])
                    inputs[name] = encode_inputs(drawn[name])
            originals[cell.metadata.nbgrader["grade_id"]] = cell.source
            preamble = f"from autograder.checks import provide_hidden_inputs; provide_hidden_inputs({inputs!r})\n"
            cell.source = RESET_HOOKS + (preamble if inputs else "") + cell.source
        return nb, resources


def _hidden_calls(source: str) -> list[str]:
    """The functions a test cell's source calls ``checks.hidden`` for, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr == "hidden" and node.args and isinstance(node.args[0], ast.Constant)]
    return [node.args[0].value for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset))]


class SandboxedExecute(Execute):
    """Run the notebook in a kernel inside the OS sandbox (:mod:`autograder.sandbox`).

    The kernel is forked from the submission's kernel template (:mod:`autograder.sandbox.warm`): one
    sandbox per submission, whose Python has imported the kernel, numpy and matplotlib once and forks a
    fresh kernel for each notebook, one at a time, cleaning up after each (``warm_kernels``; with
    ``COURSE_KERNELS=fresh``, a new sandbox and template for every notebook). When the kernel has ended,
    the template runs the notebook's checks for VerifyFunctions, in children of their own.

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

    warm_kernels = Bool(help="Fork each notebook's kernel from a sandboxed, pre-imported template that serves this "
                             "submission only (and runs its checks between kernels); False starts a new sandbox and "
                             "template per notebook. Default: True, unless COURSE_KERNELS=fresh in the environment",
                        ).tag(config=True)

    @default("warm_kernels")
    def _warm_kernels_default(self) -> bool:
        return os.environ.get("COURSE_KERNELS", "warm") != "fresh"

    def preprocess(self, nb, resources, km=None):
        self.kernel_name = KERNEL_NAME
        self.shutdown_kernel = "immediate"  # the template kills it and cleans up after it
        build = resources["metadata"]["path"]
        course = resources.setdefault("course", {})
        course["cells"] = {}
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
                    if cell.cell_type == "code" and _cell_key(cell, index) not in course["cells"]:
                        self.preprocess_cell(cell, resources, index)
        finally:
            resources["metadata"]["path"] = build
            self._end_kernel()
        course["stopped"] = self._stopped
        if timing.enabled():
            kernel = self._template.kernel if self._template is not None else None
            timing.record("execute", notebook=resources["nbgrader"]["notebook"], client_cpu=time.thread_time() - cpu,
                          wall=time.monotonic() - started, warm=self.warm_kernels,
                          start_wall=None if self._ready_at is None else self._ready_at - started,
                          kernel_setup_cpu=kernel.setup_cpu if kernel else None,
                          kernel_cpu=kernel.cpu if kernel else None)
        return nb, resources

    def _template_for(self, resources, build: str) -> KernelTemplate:
        """This notebook's kernel template: the submission's own (warm), or a new one for this notebook alone."""
        limits = Limits(self.memory_mb, self.cpu_seconds, self.scratch_mb)
        try:
            if self._own_template:
                return KernelTemplate(limits, self.sandboxed)
            info = resources["nbgrader"]
            owner = json.dumps([info.get("student"), info.get("assignment"), os.path.realpath(build)])
            return submission_template(limits, self.sandboxed, owner)
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
                if self._returned_bytes > self.message_limit or test_function(cell) is None:
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
        status = resources["course"]["cells"]
        key = _cell_key(cell, index)
        if index in self._skipped:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            status[key] = {"status": "skipped", "seconds": 0.0}
            return cell, resources
        if self._stopped:
            cell.outputs = [_error("NotRun", f"this cell was not run: {self._stopped}")]
            status[key] = {"status": "not run", "seconds": 0.0}
            return cell, resources
        self._cell_bytes, self._truncated = 0, False
        started = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # the kernel ignored the interrupt sent at the time limit
            seconds = time.monotonic() - started
            self._stop(f"an earlier cell ({key}) ran out of time after {seconds:.0f} s and ignored the interrupt")
            cell.outputs.append(_error("CellTimeoutError", f"the cell was stopped after {seconds:.0f} s (time limit)"))
            status[key] = {"status": "timeout", "seconds": round(seconds, 3)}
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
            cell.outputs.append(_error("KernelDied", f"the kernel died while running this cell after {seconds:.1f} s"
                                       + (f": out of memory (limit {self.memory_mb} MiB)" if memory else "")))
            status[key] = {"status": "out of memory" if memory else "kernel died", "seconds": round(seconds, 3)}
            return cell, resources
        seconds = time.monotonic() - started
        outcome = "ok"
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                outcome = "error"
                if output.ename == "CellTimeoutError":
                    outcome = "timeout"
                    output.evalue = f"the cell was stopped after {seconds:.0f} s (time limit)"
                    output.traceback = [f"CellTimeoutError: {output.evalue}"]
                    self._stop(f"an earlier cell ({key}) ran out of time after {seconds:.0f} s")
                elif output.ename == "MemoryError":
                    outcome = "out of memory"
        status[key] = {"status": outcome, "seconds": round(seconds, 3)}
        return cell, resources


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandboxed kernel's own user (``owner``) can read; its provisioner
    (:class:`autograder.sandbox.warm.TemplateProvisioner`) is set before the kernel starts."""

    owner: int | None = None

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


def _cell_key(cell: NotebookNode, index: int) -> str:
    """How a cell is named in the results: its nbgrader id, else its cell id, else its position."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id") or str(index)


class VerifyFunctions(NbGraderPreprocessor):
    """Decide every test cell here, in the trusted grader, from what the learner's functions returned.

    Two runs of each graded function are judged against the expected results, which never left this
    process: its hidden test in the kernel (what it returned there, published by ``checks.hidden``) and
    its verification outside the kernel, in a fresh sandboxed process with the *reference* versions of
    the functions it calls. A test passes only if both pass. When the in-kernel test failed only because
    a function it depends on is wrong (the verification passed), the function keeps its points. A test
    that passed in the kernel but failed verification is reported as suspected tampering. Nothing a
    learner's code prints or publishes can say "passed": at most "my function returned X". Warnings
    printed on stderr never fail a test.
    """

    sandboxed = Bool(True, help="Verify in the OS sandbox; False is for trusted submissions only").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        notebook = info["notebook"]
        course = resources.setdefault("course", {})
        if notebook not in CHECK_MODULES:
            return nb, resources
        learner = read_code(nb)
        cases = course.get("cases", {})
        verifier = submission_verifier(self.sandboxed)
        verdicts = verify_notebook(nb, notebook, cases=cases, verifier=verifier, learner=learner)
        course["curve"] = feedback_curve(notebook, learner, verifier)
        graded = set(verdicts)
        results = {}
        for cell in nb.cells:
            name = test_function(cell)
            if name is None or name not in verdicts:
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            if grade_id in course.get("hidden_sources", {}):
                cell.source = course["hidden_sources"][grade_id]  # the hidden inputs are not kept
            returned = _take_returned(cell)
            verdict = verdicts[name]
            errors = [o for o in cell.outputs if o.output_type == "error"]
            kernel = course.get("cells", {}).get(grade_id, {}).get("status", "not run")
            failed_deps = [d for d in reference_dependencies(notebook, name, graded) if not verdicts[d].passed]
            tampering = False  # the notebook claimed a pass its function's results do not bear out
            if kernel in ("not run", "timeout", "kernel died") or (kernel == "out of memory" and not errors):
                in_kernel = Verdict(name, False, errors[0].evalue if errors else "this test did not run")
            elif errors:
                in_kernel = Verdict(name, False, f"{errors[0].ename}: {errors[0].evalue}")
            else:
                in_kernel, lied = _judge_in_kernel(notebook, name, cases.get(name), returned.get(name))
                tampering = lied
            if kernel in ("not run", "timeout", "kernel died"):
                passed, message = False, in_kernel.message
            elif not in_kernel.passed and verdict.passed:
                passed = bool(failed_deps) and not tampering
                message = (f"correct (the test in your notebook failed only because {', '.join(failed_deps)} "
                           f"is wrong)" if passed else in_kernel.message)
            elif in_kernel.passed and not verdict.passed:
                passed, tampering = False, True
                message = (f"{verdict.message} (this test passed inside your notebook but failed when your "
                           f"function was checked on its own: suspected tampering)")
            else:
                passed, message = verdict.passed, "passed" if verdict.passed else verdict.message
            self._settle(cell, passed, message)
            results[name] = {"passed": passed, "message": message, "points": float(cell.metadata.nbgrader["points"]),
                             "score": float(cell.metadata.nbgrader["points"]) if passed else 0.0,
                             "in_kernel": "passed" if in_kernel.passed else kernel if kernel != "ok" else "failed",
                             "verified": verdict.passed, "tampering": tampering,
                             "seconds": round(verdict.seconds, 3)}
        course["functions"] = results
        return nb, resources

    @staticmethod
    def _settle(cell: NotebookNode, passed: bool, message: str) -> None:
        """Leave outputs from which nbgrader's own scoring gives the decided score."""
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=output.text))  # a warning
            elif output.output_type == "error" and passed:
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=f"[{output.ename}] {message}\n"))
            elif output.output_type != "execute_result":
                kept.append(output)
        if not passed and not any(o.output_type == "error" for o in kept):
            kept.append(_error("GradingFailure", message))
        cell.outputs = kept


def _take_returned(cell: NotebookNode) -> dict[str, list[dict]]:
    """Remove the kernel's published returns from ``cell``; per function, every report found.

    Only data: a learner's code can publish such an output too, but can claim no more than "my
    function returned X", which is judged like any other return.
    """
    found: dict[str, list[dict]] = {}
    kept = []
    for output in cell.outputs:
        data = output.get("data", {}) if output.output_type in ("display_data", "execute_result") else {}
        if RETURNED_MIME not in data:
            kept.append(output)
            continue
        payload = data[RETURNED_MIME]
        if isinstance(payload, dict) and isinstance(payload.get("function"), str):
            found.setdefault(payload["function"], []).append(payload)
    cell.outputs = kept
    return found


def _judge_in_kernel(notebook: str, name: str, cases: list | None, reports: list[dict] | None
                     ) -> tuple[Verdict, bool]:
    """The verdict on what ``name`` returned in the kernel, and whether its visible test lied.

    The kernel reports what the function returned on this run's hidden inputs and on the visible
    examples. The visible examples are judged again here: when the notebook's own visible test passed
    but the function's results on it are wrong, something in the kernel changed how tests judge.
    """
    if cases is None:
        return Verdict(name, False, "the hidden tests of this cell were not found (was the test cell changed?)"), False
    if not reports:
        return Verdict(name, False, f"the hidden tests of {name} did not report what it returned"), False
    if len(reports) > 1:
        return Verdict(name, False, f"the hidden tests of {name} reported more than once (something in your "
                                    f"notebook published results of its own)"), True
    visible = checks_for(notebook)[name].visible
    seen = judge_returns(notebook, name, visible, reports[0].get("visible"), "visible example")
    if not seen.passed:
        return Verdict(name, False, f"{seen.message} (yet the visible test in your notebook passed)"), True
    return judge_returns(notebook, name, cases, reports[0].get("returned"), "hidden test"), False


class WriteResults(NbGraderPreprocessor):
    """Write what the course's steps found next to the autograded notebook (``<notebook>.results.json``)."""

    def preprocess(self, nb, resources):
        course = resources.get("course", {})
        record = {key: course.get(key) for key in ("functions", "cells", "stopped", "seeds")}
        record.update(nb.metadata.get("course_grading", {}))
        record["curve"] = course.get("curve")
        record["plots"] = _curve_png(record["curve"])
        path = Path(resources["metadata"]["path"]) / f"{resources['nbgrader']['notebook']}.results.json"
        path.write_text(json.dumps(record, indent=1))
        return nb, resources


def _curve_png(curve: dict | None) -> str | None:
    """The feedback page's picture (base64 PNG): the learner's cost curve over the reference's.

    None when there is nothing to draw, or when the learner's costs cannot be drawn (the picture is
    never worth a notebook's score).
    """
    if not curve or not curve.get("reference") or not curve.get("yours"):
        return None
    try:
        return _draw_curve(curve)
    except Exception:  # costs matplotlib cannot draw (huge or non-finite values)
        return None


def _draw_curve(curve: dict) -> str:
    import base64
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.add_subplot()
    every = curve["every"]
    reference = curve["reference"]
    yours = [cost if math.isfinite(cost) and abs(cost) < 1e6 else float("nan") for cost in curve["yours"]]
    axes.plot([i * every for i in range(len(yours))], yours, color="#1f5fa8", linewidth=3, label="your model")
    # dashed and on top, so it stays visible where the two curves are the same
    axes.plot([i * every for i in range(len(reference))], reference, color="#d95f02", linestyle="--", linewidth=1.5,
              label="reference solution")
    axes.set_title("Cost during training")
    axes.set_xlabel("iterations")
    axes.set_ylabel("cost J (cross-entropy)")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreGradedCells, OverwriteCells, CheckCellMetadata]
AUTOGRADE = [InjectHiddenCases, SandboxedExecute, VerifyFunctions, IgnorePattern, ClearMetadataPreprocessor,
             LimitOutput, SaveAutoGrades, AssignLatePenalties, WriteResults, CheckCellMetadata]
