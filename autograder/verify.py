"""Verify each graded function outside the learner's kernel.

For every graded function of a notebook: find the learner's definition by name in the submission's
source (wherever it is), build a module from it with the notebook's imports and helper functions, give
it the *reference* versions of the graded functions the reference itself calls (so a wrong ``propagate``
does not cost the ``optimize`` points), run it on fresh random inputs in a locked-down process
(:mod:`autograder.sandbox`), and judge the returned data here, in the trusted grader.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass

import nbformat

from . import serialize
from .checks import CheckFailure, Checks, encode_cases
from .course import CHECK_MODULES
from .notebook_code import NotebookCode, names_used, read_code
from .reference import reference_code

VERIFY_TIMEOUT = 60.0  # seconds of wall time for all cases of one function
VERIFY_MEMORY_MB = 2048


@dataclass
class Verdict:
    """The outcome of checking one graded function outside the kernel."""

    function: str
    passed: bool
    message: str
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def checks_for(notebook: str) -> Checks:
    """The checks of ``notebook``, from its module in ``autograder/checks/``."""
    return importlib.import_module(f".checks.{CHECK_MODULES[notebook]}", __package__).checks


def reference_dependencies(notebook: str, name: str, graded: set[str]) -> list[str]:
    """Graded functions the reference of ``name`` calls, directly or not, in definition order."""
    code = reference_code(notebook)
    found, todo = set(), [name]
    while todo:
        for used in names_used(code.functions[todo.pop()]) & graded:
            if used not in found and used != name:
                found.add(used)
                todo.append(used)
    return [f for f in code.functions if f in found]


def _readable_roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, paths["stdlib"], paths["platstdlib"],
             paths["purelib"], paths["platlib"]}
    return sorted(os.path.realpath(p) for p in roots)


def verify_function(notebook: str, name: str, learner: NotebookCode, checks: Checks) -> Verdict:
    """Check the learner's ``name`` on fresh cases in a sandboxed process."""
    started = time.perf_counter()
    if name not in learner.functions:
        return Verdict(name, False, f"no function named {name} was found in your notebook: keep the name "
                                    f"given in the exercise")
    graded = set(checks.functions)
    deps = reference_dependencies(notebook, name, graded)
    cases = checks.fresh_cases(name)
    marker = f"@@results-{secrets.token_hex(8)}@@"
    with tempfile.TemporaryDirectory(prefix="course-verify-") as scratch:
        job = {"target": name, "module": learner.module_for(name, exclude=set(deps)),
               "references": reference_code(notebook).functions_source(deps), "cases": encode_cases(cases),
               "marker": marker, "scratch": scratch, "readable": _readable_roots(),
               "memory_mb": VERIFY_MEMORY_MB, "cpu_seconds": int(VERIFY_TIMEOUT)}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run([sys.executable, "-m", "autograder.sandbox", "verify"], input=json.dumps(job),
                                  capture_output=True, text=True, timeout=VERIFY_TIMEOUT, env=env, cwd=scratch,
                                  start_new_session=True)
        except subprocess.TimeoutExpired:
            return Verdict(name, False, f"{name} did not finish within {VERIFY_TIMEOUT:.0f} s on the hidden tests "
                                        f"(an endless loop?)", time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    outcome = _parse(proc.stdout, marker)
    if outcome is None:
        reason = "it ran out of memory" if "MemoryError" in proc.stderr else f"exit code {proc.returncode}"
        return Verdict(name, False, f"checking {name} crashed ({reason})", elapsed)
    if "error" in outcome:
        return Verdict(name, False, f"your notebook's code for {name} could not run: {outcome['error']}", elapsed)
    check = checks[name]
    for number, (case, got) in enumerate(zip(cases, outcome["cases"], strict=False), start=1):
        label = f"hidden test {number} of {len(cases)}"
        if "error" in got:
            if got["error"].startswith("NotImplementedError"):
                return Verdict(name, False, f"{name} is not written yet (it still raises NotImplementedError)",
                               elapsed)
            return Verdict(name, False, f"{name} ({label}) raised {got['error']}", elapsed)
        try:
            check.judge(case, serialize._decode(got["result"]), label)
        except CheckFailure as failure:
            return Verdict(name, False, str(failure), elapsed)
        except ValueError as exc:
            return Verdict(name, False, f"{name} ({label}) returned something that cannot be read: {exc}", elapsed)
    if len(outcome["cases"]) != len(cases):
        return Verdict(name, False, f"checking {name} stopped before all hidden tests ran", elapsed)
    return Verdict(name, True, "passed", elapsed)


def _parse(stdout: str, marker: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            try:
                return json.loads(line[len(marker):])
            except json.JSONDecodeError:
                return None
    return None


def verify_notebook(nb: nbformat.NotebookNode, notebook: str) -> dict[str, Verdict]:
    """Verdicts for every graded function of ``notebook`` on the submitted notebook ``nb``."""
    checks = checks_for(notebook)
    learner = read_code(nb)
    return {name: verify_function(notebook, name, learner, checks) for name in checks.functions}
