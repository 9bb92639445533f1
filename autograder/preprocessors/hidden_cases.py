"""InjectHiddenCases: draw this run's hidden cases and hand their inputs to each test cell."""

from __future__ import annotations

import ast
import secrets

from nbgrader.preprocessors import NbGraderPreprocessor

from ..checks import encode_inputs
from ..course import CHECK_MODULES
from ..verify import checks_for
from .cells import findings, tested_function

RESET_HOOKS = "from autograder.sandbox.guard import reset_kernel_hooks; reset_kernel_hooks()\n"


class InjectHiddenCases(NbGraderPreprocessor):
    """Draw fresh hidden cases for this grading run, and hand their *inputs* to each test cell.

    The cases, with the reference solution's results, stay in this trusted process
    (``findings(resources)["cases"]``). A test cell gets one preamble line that passes the inputs to
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
        found = findings(resources)
        originals = found.setdefault("hidden_sources", {})
        drawn = found.setdefault("cases", {})
        seeds = found.setdefault("seeds", {})
        for cell in nb.cells:
            if tested_function(cell) is None:
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
