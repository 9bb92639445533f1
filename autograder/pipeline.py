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
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
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
from traitlets import Float, Integer, Unicode

from . import sandbox
from .checks import encode_cases
from .course import CHECK_MODULES, DATASETS, ROOT, SKIP_WHEN_GRADING, private_folder, solution_notebook
from .notebook_code import read_code
from .verify import checks_for, feedback_curve, reference_dependencies, submission_verifier, verify_notebook

KERNEL_NAME = "course-sandbox"
RESET_HOOKS = "from autograder.sandbox import reset_kernel_hooks; reset_kernel_hooks()\n"


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
                if name in points and float(meta.get("points", -1)) != float(points[name]):
                    changed.append("points")
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
    """Give each hidden test fresh cases, drawn and solved by the reference for this grading run only.

    Each test cell also starts by undoing the kernel hooks earlier cells may have installed
    (:func:`autograder.sandbox.reset_kernel_hooks`). VerifyFunctions puts the original source back, and
    checks each function outside the kernel on the same cases, so that a mistake caught on some inputs
    only cannot pass one check and fail the other (which would look like tampering). The verification
    process cannot see anything the kernel saw.
    """

    def preprocess(self, nb, resources):
        notebook = resources["nbgrader"]["notebook"]
        if notebook not in CHECK_MODULES:
            return nb, resources
        checks = checks_for(notebook)
        originals = resources.setdefault("course", {}).setdefault("hidden_sources", {})
        drawn = resources["course"].setdefault("cases", {})
        for cell in nb.cells:
            if test_function(cell) is None:
                continue
            originals[cell.metadata.nbgrader["grade_id"]] = cell.source
            calls = _hidden_calls(cell.source)
            lines = cell.source.splitlines(keepends=True)
            for node, name in reversed(calls):  # from the end, so earlier positions stay valid
                drawn[name] = checks.fresh_cases(name)
                blob = encode_cases(drawn[name])
                line = lines[node.end_lineno - 1]
                cut = node.end_col_offset - 1  # just before the closing parenthesis
                lines[node.end_lineno - 1] = f'{line[:cut]}, cases="{blob}"{line[cut:]}'
            cell.source = RESET_HOOKS + "".join(lines)
        return nb, resources


def _hidden_calls(source: str) -> list[tuple[ast.Call, str]]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "hidden"
                and node.args and isinstance(node.args[0], ast.Constant) and node.end_lineno == node.lineno):
            calls.append((node, node.args[0].value))
    return sorted(calls, key=lambda item: (item[0].lineno, item[0].col_offset))


class SandboxedExecute(Execute):
    """Run the notebook in a locked-down kernel, in a scratch copy of the submission's folder.

    Each cell has a time limit, and the whole notebook a budget; after a timeout or a dead kernel the
    remaining cells are not run and say why. The kernel runs under :mod:`autograder.sandbox`.

    Cells the course's source notebook tags ``skip-when-grading`` are not run either, when they come
    after every graded cell of the submission: ungraded exploration (more training runs, plots) that
    no test depends on and no score can reflect. They get a note instead of outputs.
    """

    timeout = Integer(300, help="Seconds one cell may run (generous: training runs here on a busy machine)",
                      ).tag(config=True)
    notebook_timeout = Float(900.0, help="Seconds all cells of one notebook may take together").tag(config=True)
    memory_mb = Integer(3072, help="Memory limit of the kernel, in MiB").tag(config=True)
    private_paths = Unicode("", help="Extra folders (os.pathsep-separated) the kernel may not read").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        self.kernel_name = KERNEL_NAME
        self.shutdown_kernel = "immediate"  # its process group is gone a moment later anyway
        build = resources["metadata"]["path"]
        scratch = Path(tempfile.mkdtemp(dir=private_folder("course-kernels", 0o711)))
        course = resources.setdefault("course", {})
        course["cells"] = {}
        self._stopped = None
        self._skipped = cells_to_skip(nb, resources["nbgrader"]["notebook"])
        self._deadline = time.monotonic() + self.notebook_timeout
        self.timeout_func = lambda cell: max(1, int(min(self.timeout, self._deadline - time.monotonic())))
        try:
            for item in Path(build).iterdir():
                if item.is_file() and item.suffix != ".ipynb":
                    shutil.copy(item, scratch / item.name)
            environment = _kernel_environment(scratch, self.memory_mb, self.private_paths)
            previous = {key: os.environ.get(key) for key in environment}
            os.environ.update(environment)
            resources["metadata"]["path"] = str(scratch)
            try:
                nb, resources = super().preprocess(nb, resources, km)
            except DeadKernelError:  # the kernel could not start, or died between cells
                self._stop("the kernel died before the notebook could run")
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and _cell_key(cell, index) not in course["cells"]:
                        self.preprocess_cell(cell, resources, index)
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        finally:
            resources["metadata"]["path"] = build
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.rmtree(_spec_dir(scratch), ignore_errors=True)
        course["stopped"] = self._stopped
        return nb, resources

    def _stop(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason

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
            self._stop(f"the kernel died while running an earlier cell ({key}): it exited, crashed or ran out of "
                       f"memory (limit {self.memory_mb} MiB)")
            cell.outputs.append(_error("KernelDied", f"the kernel died while running this cell after {seconds:.1f} s"))
            status[key] = {"status": "kernel died", "seconds": seconds}
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


def _spec_dir(scratch: Path) -> Path:
    """Where the sandbox kernel's kernelspec is written for one notebook (beside, not inside, the scratch)."""
    return scratch.parent / f"{scratch.name}-spec"


def _kernel_environment(scratch: Path, memory_mb: int, extra_private: str) -> dict[str, str]:
    """Environment of the sandboxed kernel: its limits, what it may read and write, one BLAS thread."""
    spec_dir = _spec_dir(scratch)
    kernel_dir = spec_dir / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.sandbox", "kernel", "-f", "{connection_file}"],
        "display_name": "Course grading sandbox", "language": "python"}))
    private = [str(ROOT), str(private_folder("course-cache")), str(private_folder("course-kernels", 0o711)),
               *[p for p in extra_private.split(os.pathsep) if p]]
    public = [str(ROOT / "autograder"), str(DATASETS), sys.prefix, str(scratch)]
    env = {
        sandbox.ENV_SCRATCH: str(scratch), sandbox.ENV_PRIVATE: os.pathsep.join(private),
        sandbox.ENV_PUBLIC: os.pathsep.join(public), sandbox.ENV_MEMORY: str(memory_mb),
        sandbox.ENV_CPU: "1800", "COURSE_DATASETS_DIR": str(DATASETS), "JUPYTER_PATH": str(spec_dir),
        "HOME": str(scratch), "IPYTHONDIR": str(scratch / ".ipython"), "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONDONTWRITEBYTECODE": "1",
    }
    _share_font_cache(scratch / ".matplotlib")
    uid = sandbox_uid()
    if uid is not None:
        env[sandbox.ENV_USER] = str(uid)
        for path in [scratch, *scratch.rglob("*")]:
            os.chown(path, uid, uid)
    return env


def _share_font_cache(target: Path) -> None:
    """Give the kernel matplotlib's font list, which would otherwise be rebuilt (seconds) for every notebook."""
    import matplotlib
    from matplotlib import font_manager  # noqa: F401  (builds the grader's own cache once if needed)

    target.mkdir(parents=True, exist_ok=True)
    for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(cache, target / cache.name)


def sandbox_uid() -> int | None:
    """The unprivileged user kernels run as: ``nobody`` when grading as root and it can reach Python."""
    if os.getuid() != 0:
        return None
    try:
        import pwd

        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return None
    for path in (Path(sys.executable).resolve(), ROOT / "autograder" / "sandbox.py", Path(sys.prefix)):
        for parent in path.parents:
            if not parent.stat().st_mode & 0o001:  # others cannot enter this folder
                return None
    return uid


class VerifyFunctions(NbGraderPreprocessor):
    """Decide every test cell from both the in-kernel test and the out-of-kernel verification.

    A test passes only if both pass. When the in-kernel test failed only because a function it depends
    on is wrong (the verification, which uses the reference for dependencies, passed), the function keeps
    its points. A test that passed in the kernel but failed verification is reported as suspected
    tampering. Warnings printed on stderr never fail a test.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        notebook = info["notebook"]
        course = resources.setdefault("course", {})
        if notebook not in CHECK_MODULES:
            return nb, resources
        learner = read_code(nb)
        verdicts = verify_notebook(nb, notebook, cases=course.get("cases"), verifier=submission_verifier(),
                                   learner=learner)
        course["curve"] = feedback_curve(notebook, learner, submission_verifier())
        graded = set(verdicts)
        results = {}
        for cell in nb.cells:
            name = test_function(cell)
            if name is None or name not in verdicts:
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            if grade_id in course.get("hidden_sources", {}):
                cell.source = course["hidden_sources"][grade_id]  # the hidden cases are not kept
            verdict = verdicts[name]
            errors = [o for o in cell.outputs if o.output_type == "error"]
            kernel = course.get("cells", {}).get(grade_id, {}).get("status", "not run")
            kernel_message = f"{errors[0].ename}: {errors[0].evalue}" if errors else ""
            failed_deps = [d for d in reference_dependencies(notebook, name, graded) if not verdicts[d].passed]
            tampering = False
            if kernel in ("not run", "timeout", "kernel died"):
                passed, message = False, kernel_message.split(": ", 1)[-1] or "this test did not run"
            elif errors and verdict.passed:
                passed = bool(failed_deps)
                message = (f"correct (the test in your notebook failed only because {', '.join(failed_deps)} "
                           f"is wrong)" if passed else kernel_message)
            elif not errors and not verdict.passed:
                passed, tampering = False, True
                message = (f"{verdict.message} (this test passed inside your notebook but failed when your "
                           f"function was checked on its own: suspected tampering)")
            else:
                passed, message = verdict.passed, "passed" if verdict.passed else verdict.message
            self._settle(cell, passed, message)
            results[name] = {"passed": passed, "message": message, "points": float(cell.metadata.nbgrader["points"]),
                             "score": float(cell.metadata.nbgrader["points"]) if passed else 0.0,
                             "in_kernel": kernel if errors or kernel != "ok" else "passed",
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


class WriteResults(NbGraderPreprocessor):
    """Write what the course's steps found next to the autograded notebook (``<notebook>.results.json``)."""

    def preprocess(self, nb, resources):
        course = resources.get("course", {})
        record = {key: course.get(key) for key in ("functions", "cells", "stopped")}
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
    axes.plot([i * every for i in range(len(reference))], reference, color="#888", linewidth=3, label="reference")
    yours = [cost if math.isfinite(cost) and abs(cost) < 1e6 else float("nan") for cost in curve["yours"]]
    axes.plot([i * every for i in range(len(yours))], yours, color="#1f5fa8", label="your model")
    axes.set_xlabel("iterations")
    axes.set_ylabel("cost")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreGradedCells, OverwriteCells, CheckCellMetadata]
AUTOGRADE = [InjectHiddenCases, SandboxedExecute, VerifyFunctions, IgnorePattern, ClearMetadataPreprocessor,
             LimitOutput, SaveAutoGrades, AssignLatePenalties, WriteResults, CheckCellMetadata]
