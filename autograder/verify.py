"""Verify each graded function outside the learner's kernel.

For every graded function of a notebook: find the learner's definition by name in the submission's
source (wherever it is), build a module from it with the notebook's imports and helper functions, give
it the *reference* versions of the graded functions the reference itself calls (so a wrong ``propagate``
does not cost the ``optimize`` points), run it on fresh random inputs in a locked-down process
(:mod:`autograder.sandbox`), and judge the returned data here, in the trusted grader.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from . import serialize
from .checks import CheckFailure, Checks, encode_cases
from .course import CHECK_MODULES
from .notebook_code import NotebookCode, names_used, read_code
from .pipes import LineReader, stop_process
from .reference import reference_code, reference_function

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


class Verifier:
    """A locked-down process (:func:`autograder.sandbox.run_zygote`) that runs learners' functions."""

    def __init__(self):
        self._process: subprocess.Popen | None = None
        self._folder = Path(tempfile.mkdtemp(prefix="course-verify-"))
        self._lines: LineReader | None = None

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
            self._process = subprocess.Popen([sys.executable, "-m", "autograder.sandbox", "zygote"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, env=env, cwd=self._folder,
                                             start_new_session=True)
            self._lines = LineReader(self._process.stdout)
        return self._process

    def run(self, job: dict, timeout: float) -> tuple[str, dict | None]:
        """Run ``job``; return ("ok", outcome), ("timeout", None) or ("crashed", None)."""
        process = self._start()
        scratch = Path(tempfile.mkdtemp(dir=self._folder))
        job_file = self._folder / f"job-{secrets.token_hex(8)}.json"
        job_file.write_text(json.dumps({**job, "scratch": str(scratch)}))
        deadline = time.monotonic() + timeout
        try:
            process.stdin.write(f"{job_file}\n".encode())
            process.stdin.flush()
            started = self._lines.line_starting("started ", deadline)
            if started is None:
                self._restart()
                return "crashed", None
            pid = int(started.split()[1])
            outcome, finished = None, None
            while finished is None:
                line = self._lines.read_line(deadline)
                if line is None:  # out of time: stop the child, keep the zygote
                    os.kill(pid, signal.SIGKILL)
                    if self._lines.line_starting(f"finished {pid} ", time.monotonic() + 10) is None:
                        self._restart()
                    return "timeout", None
                if line.startswith(job["marker"]):
                    outcome = _decode_outcome(line[len(job["marker"]):])
                elif line.startswith(f"finished {pid} "):
                    finished = line
            return ("ok", outcome) if outcome is not None else ("crashed", None)
        except (BrokenPipeError, OSError):
            self._restart()
            return "crashed", None
        finally:
            job_file.unlink(missing_ok=True)
            shutil.rmtree(scratch, ignore_errors=True)

    def _restart(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._process = None

    def close(self) -> None:
        self._restart()
        shutil.rmtree(self._folder, ignore_errors=True)


def verify_function(notebook: str, name: str, learner: NotebookCode, checks: Checks, verifier: Verifier,
                    cases: list | None = None) -> Verdict:
    """Check the learner's ``name`` in the sandbox on ``cases`` (solved by the reference), or on fresh ones."""
    started = time.perf_counter()
    if name not in learner.functions:
        return Verdict(name, False, f"no function named {name} was found in your notebook: keep the name "
                                    f"given in the exercise")
    graded = set(checks.functions)
    deps = reference_dependencies(notebook, name, graded)
    cases = cases or checks.fresh_cases(name)
    job = _job(name, learner.module_for(name, exclude=set(deps)), reference_code(notebook).functions_source(deps),
               cases)
    state, outcome = verifier.run(job, VERIFY_TIMEOUT)
    elapsed = time.perf_counter() - started
    if state == "timeout":
        return Verdict(name, False, f"{name} did not finish within {VERIFY_TIMEOUT:.0f} s on the hidden tests "
                                    f"(an endless loop?)", elapsed)
    if state != "ok":
        return Verdict(name, False, f"checking {name} crashed (out of memory, or the process was killed)", elapsed)
    if "error" in outcome:
        return Verdict(name, False, f"your notebook's code for {name} could not run: {outcome['error']}", elapsed)
    check = checks[name]
    for number, (case, got) in enumerate(zip(cases, outcome["cases"], strict=False), start=1):
        label = f"hidden test {number} of {len(cases)}"
        if check.required_error(case) is not None and not got.get("error", "").startswith("NotImplementedError"):
            try:
                check.judge_error(case, got.get("error"), _readable(got), label)
            except CheckFailure as failure:
                return Verdict(name, False, str(failure), elapsed)
            continue
        if "error" in got:
            if got["error"].startswith("NotImplementedError"):
                return Verdict(name, False, f"{name} is not written yet (it still raises NotImplementedError)",
                               elapsed)
            if got["error"].startswith("MemoryError"):
                return Verdict(name, False, f"{name} ({label}) ran out of memory ({VERIFY_MEMORY_MB} MiB)", elapsed)
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


def _readable(got: dict):
    """What a case returned, decoded, for a message (a placeholder when it cannot be decoded)."""
    try:
        return serialize._decode(got["result"])
    except Exception:  # only shown to the learner; the case fails either way
        return "a value"


def _job(name: str, module: str, references: str, cases: list) -> dict:
    """A zygote job: call ``name`` of ``module`` (with the ``references`` it is given) on ``cases``."""
    return {"target": name, "module": module, "references": references, "cases": encode_cases(cases),
            "marker": f"@@results-{secrets.token_hex(8)}@@", "readable": _readable_roots(),
            "memory_mb": VERIFY_MEMORY_MB,
            "cpu_seconds": int(VERIFY_TIMEOUT) + 10}  # a backstop: the wall-clock limit must act first


@functools.cache
def reference_curve(notebook: str) -> list[float] | None:
    """The reference solution's costs on the notebook's feedback case (the warm worker computes it once)."""
    curve = checks_for(notebook).feedback_curve
    if curve is None:
        return None
    return [float(cost) for cost in curve.costs(curve.case.call(reference_function(notebook, curve.function)))]


def feedback_curve(notebook: str, learner: NotebookCode, verifier: Verifier) -> dict | None:
    """The learner's cost curve on the notebook's feedback case, beside the reference's; None if it has none.

    Unlike the verification, the learner's function runs with the learner's own helpers throughout: this
    is the curve *their* code draws. It is shown on the feedback page, never scored.
    """
    curve = checks_for(notebook).feedback_curve
    if curve is None or curve.function not in learner.functions:
        return None
    data = {"function": curve.function, "about": curve.about, "every": curve.every,
            "reference": reference_curve(notebook), "yours": None, "problem": None}
    state, outcome = verifier.run(_job(curve.function, learner.module_for(curve.function), "", [curve.case]),
                                  VERIFY_TIMEOUT)
    got = ((outcome or {}).get("cases") or [{}])[0]
    if state != "ok" or "error" in (outcome or {}) or not isinstance(got, dict) or "result" not in got:
        error = got.get("error") if isinstance(got, dict) else None
        data["problem"] = f"your {curve.function} could not run on this case" + (f": {error}" if error else "")
        return data
    try:
        yours = [float(cost) for cost in curve.costs(serialize._decode(got["result"]))][:1000]
    except Exception:  # anything the learner's function returned that holds no list of numbers
        data["problem"] = f"no list of costs could be read from what your {curve.function} returned"
        return data
    data["yours"] = yours
    return data


def _decode_outcome(text: str) -> dict | None:
    try:
        outcome = json.loads(text)
    except json.JSONDecodeError:
        return None
    return outcome if isinstance(outcome, dict) and isinstance(outcome.get("cases", []), list) else None


def verify_notebook(nb: nbformat.NotebookNode, notebook: str, cases: dict | None = None,
                    verifier: Verifier | None = None, learner: NotebookCode | None = None) -> dict[str, Verdict]:
    """Verdicts for every graded function of ``notebook`` on the submitted notebook ``nb``.

    ``cases`` maps a function to the cases drawn for it in this grading run; others get fresh ones.
    ``verifier`` is the zygote to use (one of its own, closed afterwards, when not given); ``learner``
    is ``nb``'s code when the caller has already read it.
    """
    checks = checks_for(notebook)
    learner = learner or read_code(nb)
    own = verifier is None
    verifier = verifier or Verifier()
    cases = cases or {}
    try:
        return {name: verify_function(notebook, name, learner, checks, verifier, cases.get(name))
                for name in checks.functions}
    finally:
        if own:
            verifier.close()


_submission_verifier: Verifier | None = None


def submission_verifier() -> Verifier:
    """The zygote shared by the notebooks of the submission this process grades (one start, not three).

    The grading process closes it when it is done (:func:`close_submission_verifier`); it is never
    shared between submissions, which are graded in separate processes.
    """
    global _submission_verifier
    if _submission_verifier is None:
        _submission_verifier = Verifier()
        atexit.register(close_submission_verifier)
    return _submission_verifier


def close_submission_verifier() -> None:
    global _submission_verifier
    if _submission_verifier is not None:
        _submission_verifier.close()
        _submission_verifier = None
