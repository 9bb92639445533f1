"""VerifyFunctions: decide every test cell in the trusted grader, from what the learner's functions returned."""

from __future__ import annotations

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from ..checks import RETURNED_MIME
from ..course import CHECK_MODULES
from ..notebook_code import read_code
from ..results import CellStatus, FunctionResult
from ..verify import (
    Verdict,
    checks_for,
    feedback_curve,
    judge_returns,
    reference_dependencies,
    submission_verifier,
    verify_notebook,
)
from .cells import error_output, findings, tested_function


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
        found = findings(resources)
        if notebook not in CHECK_MODULES:
            return nb, resources
        learner = read_code(nb)
        cases = found.get("cases", {})
        verifier = submission_verifier(self.sandboxed)
        verdicts = verify_notebook(nb, notebook, cases=cases, verifier=verifier, learner=learner)
        found["curve"] = feedback_curve(notebook, learner, verifier)
        graded = set(verdicts)
        results = {}
        for cell in nb.cells:
            name = tested_function(cell)
            if name is None or name not in verdicts:
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            if grade_id in found.get("hidden_sources", {}):
                cell.source = found["hidden_sources"][grade_id]  # the hidden inputs are not kept
            returned = _take_returned(cell)
            verdict = verdicts[name]
            errors = [o for o in cell.outputs if o.output_type == "error"]
            run = found.get("cells", {}).get(grade_id)
            kernel = run.status if run is not None else CellStatus.NOT_RUN
            failed_deps = [d for d in reference_dependencies(notebook, name, graded) if not verdicts[d].passed]
            tampering = False  # the notebook claimed a pass its function's results do not bear out
            if not kernel.ran or (kernel is CellStatus.OUT_OF_MEMORY and not errors):
                in_kernel = Verdict(name, False, errors[0].evalue if errors else "this test did not run")
            elif errors:
                in_kernel = Verdict(name, False, f"{errors[0].ename}: {errors[0].evalue}")
            else:
                in_kernel, lied = _judge_in_kernel(notebook, name, cases.get(name), returned.get(name))
                tampering = lied
            if not kernel.ran:
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
            points = float(cell.metadata.nbgrader["points"])
            results[name] = FunctionResult(
                passed, message, points, points if passed else 0.0,
                in_kernel="passed" if in_kernel.passed else kernel.value if kernel is not CellStatus.OK else "failed",
                verified=verdict.passed, tampering=tampering, seconds=round(verdict.seconds, 3))
        found["functions"] = results
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
            kept.append(error_output("GradingFailure", message))
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
