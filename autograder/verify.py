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
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import nbformat

from . import serialize
from .checks import Case, CheckFailure, Checks, encode_inputs, use_reference
from .course import CHECK_MODULES, temporary_folder
from .notebook_code import NotebookCode, names_used, read_code
from .pipes import LineReader, stop_process
from .reference import reference_code, reference_function
from .sandbox import Limits, Sandbox
from .sandbox import unavailable as sandbox_unavailable

use_reference(reference_function)  # the checks hints may compare with the reference here, in the judge

VERIFY_TIMEOUT = 60.0  # seconds of wall time for all cases of one function
VERIFY_MEMORY_MB = 2048


MESSAGE_LIMIT = 600  # characters of a message kept: parts of it come from the learner's process


@dataclass
class Verdict:
    """The outcome of checking one graded function."""

    function: str
    passed: bool
    message: str
    seconds: float = 0.0

    def __post_init__(self):
        if len(self.message) > MESSAGE_LIMIT:
            self.message = self.message[:MESSAGE_LIMIT - 1] + "…"


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


class Verifier:
    """A sandboxed zygote (:mod:`autograder.sandbox.zygote`) that runs learners' functions, one child each.

    Jobs carry inputs, never expected results; what comes back is only what each function returned.
    """

    def __init__(self, sandboxed: bool):
        self.sandboxed = sandboxed
        self._process: subprocess.Popen | None = None
        self._sandbox: Sandbox | None = None
        self._folder = temporary_folder("course-verify-")
        self._jobs = self._folder / "jobs"
        self._scratch = self._folder / "scratch"
        self._lines: LineReader | None = None

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._restart()
            self._jobs.mkdir(exist_ok=True)
            self._scratch.mkdir(exist_ok=True)
            self._jobs.chmod(0o755)  # job files hold only inputs; the sandbox's user (65534 as root) must read them
            self._sandbox = Sandbox(Limits(memory_mb=VERIFY_MEMORY_MB, cpu_seconds=3600), scratch=self._scratch,
                                    sandboxed=self.sandboxed, read_only=(self._jobs,))
            argv = [sys.executable, "-m", "autograder.sandbox.zygote", "--jobs", str(self._jobs), "--scratch",
                    str(self._scratch), *(f"--readable={p}" for p in self._sandbox.readable)]
            if self.sandboxed:
                argv.append("--isolated")
            self._process = subprocess.Popen(self._sandbox.command(argv), stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self._scratch,
                                             start_new_session=True)
            self._lines = LineReader(self._process.stdout)
        return self._process

    def run(self, job: dict, timeout: float) -> tuple[str, dict | None]:
        """Run ``job``; return ("ok", outcome), ("timeout", None), ("too large", None) or ("crashed", None)."""
        process = self._start()
        name = f"job-{secrets.token_hex(8)}.json"
        (self._jobs / name).write_text(json.dumps(job))
        deadline = time.monotonic() + timeout
        try:
            process.stdin.write(f"{name}\n".encode())
            process.stdin.flush()
            started = self._lines.line_starting("started ", deadline)
            if started is None:
                self._restart()
                return "crashed", None
            finished = self._lines.line_starting("finished ", deadline)
            if finished is None:  # out of time: the zygote stops the child, and stays
                process.stdin.write(b"stop\n")
                process.stdin.flush()
                finished = self._lines.line_starting("finished ", time.monotonic() + 10)
                if finished is None or self._lines.read_exactly(int(finished.split()[-1]),
                                                                time.monotonic() + 10) is None:
                    self._restart()
                return "timeout", None
            parts = finished.split()  # finished PID STATUS... LENGTH
            status, length = " ".join(parts[2:-1]), int(parts[-1])
            data = self._lines.read_exactly(length, time.monotonic() + 30)
            if data is None:
                self._restart()
                return "crashed", None
            if status == "too large":
                return "too large", None
            outcome = _decode_outcome(data)
            return ("ok", outcome) if outcome is not None else ("crashed", None)
        except (BrokenPipeError, OSError, ValueError):
            self._restart()
            return "crashed", None
        finally:
            (self._jobs / name).unlink(missing_ok=True)

    def _restart(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._process = None
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def close(self) -> None:
        self._restart()
        shutil.rmtree(self._folder, ignore_errors=True)


def judge_returns(notebook: str, name: str, cases: list[Case], returned: list | None, label: str) -> Verdict:
    """Judge what the learner's ``name`` returned on ``cases`` (``record_returns`` data), here in the grader.

    ``label`` says where it ran ("hidden test" or "hidden test, run on its own"); the expected results
    never left this process.
    """
    check = checks_for(notebook)[name]
    if not isinstance(returned, list) or len(returned) != len(cases):
        return Verdict(name, False, f"checking {name} stopped before all hidden tests ran")
    for number, (case, got) in enumerate(zip(cases, returned, strict=True), start=1):
        where = f"{label} {number} of {len(cases)}"
        if not isinstance(got, dict):
            return Verdict(name, False, f"{name} ({where}): its result cannot be read")
        error = got.get("error") if isinstance(got.get("error"), str) else None
        if check.required_error(case) is not None and not (error or "").startswith("NotImplementedError"):
            try:
                check.judge_error(case, error, None if error else _readable(got), where)
            except CheckFailure as failure:
                return Verdict(name, False, str(failure))
            continue
        if error is not None:
            if error.startswith("NotImplementedError"):
                return Verdict(name, False, f"{name} is not written yet (it still raises NotImplementedError)")
            if error.startswith("MemoryError"):
                return Verdict(name, False, f"{name} ({where}) ran out of memory")
            return Verdict(name, False, f"{name} ({where}) raised {error}")
        try:
            value = serialize.loads(got.get("result", ""))
        except ValueError as exc:
            return Verdict(name, False, f"{name} ({where}) returned something that cannot be read: {exc}")
        try:
            check.judge(case, value, where)
        except CheckFailure as failure:
            return Verdict(name, False, str(failure))
        except Exception as exc:  # a value the comparison cannot handle (an int too large for a float...)
            return Verdict(name, False, f"{name} ({where}) returned something that cannot be compared "
                                        f"({type(exc).__name__})")
    return Verdict(name, True, "passed")


def verify_function(notebook: str, name: str, learner: NotebookCode, checks: Checks, verifier: Verifier,
                    cases: list[Case] | None = None) -> Verdict:
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
    if state == "ok" and "error" in outcome:
        verdict = Verdict(name, False, f"your notebook's code for {name} could not run: {outcome['error']}")
    elif state == "ok":
        verdict = judge_returns(notebook, name, cases, outcome.get("returned"), "hidden test")
    elif state == "timeout":
        verdict = Verdict(name, False, f"{name} did not finish within {VERIFY_TIMEOUT:.0f} s on the hidden tests "
                                       f"(an endless loop?)")
    elif state == "too large":
        verdict = Verdict(name, False, f"{name} returned more than {serialize.MAX_BYTES // 2**20} MiB of data")
    else:
        verdict = Verdict(name, False, f"checking {name} crashed (out of memory, or the process was killed)")
    verdict.seconds = time.perf_counter() - started
    return verdict


def _readable(got: dict):
    """What a case returned, decoded, for a message (a placeholder when it cannot be decoded)."""
    try:
        return serialize.loads(got.get("result", ""))
    except ValueError:  # only shown to the learner; the case fails either way
        return "a value"


def _job(name: str, module: str, references: str, cases: list[Case]) -> dict:
    """A zygote job: call ``name`` of ``module`` (with the ``references`` it is given) on the cases' inputs."""
    return {"target": name, "module": module, "references": references, "inputs": encode_inputs(cases),
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
    got = ((outcome or {}).get("returned") or [{}])[0]
    if state != "ok" or "error" in (outcome or {}) or not isinstance(got, dict) or "result" not in got:
        error = got.get("error") if isinstance(got, dict) else None
        data["problem"] = f"your {curve.function} could not run on this case" + (f": {error}" if error else "")
        return data
    try:
        yours = [float(cost) for cost in curve.costs(serialize.loads(got["result"]))][:1000]
    except Exception:  # anything the learner's function returned that holds no list of numbers
        data["problem"] = f"no list of costs could be read from what your {curve.function} returned"
        return data
    data["yours"] = yours
    return data


def _decode_outcome(data: bytes) -> dict | None:
    try:
        outcome = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    return outcome if isinstance(outcome, dict) and isinstance(outcome.get("returned", []), list) else None


def verify_notebook(nb: nbformat.NotebookNode, notebook: str, cases: dict | None = None,
                    verifier: Verifier | None = None, learner: NotebookCode | None = None) -> dict[str, Verdict]:
    """Verdicts for every graded function of ``notebook`` on the submitted notebook ``nb``.

    ``cases`` maps a function to the cases drawn for it in this grading run; others get fresh ones.
    ``verifier`` is the zygote to use (one of its own, sandboxed where this machine can, closed afterwards,
    when not given); ``learner``
    is ``nb``'s code when the caller has already read it.
    """
    checks = checks_for(notebook)
    learner = learner or read_code(nb)
    own = verifier is None
    verifier = verifier or Verifier(sandboxed=sandbox_unavailable() is None)
    cases = cases or {}
    try:
        return {name: verify_function(notebook, name, learner, checks, verifier, cases.get(name))
                for name in checks.functions}
    finally:
        if own:
            verifier.close()


_submission_verifier: Verifier | None = None


def submission_verifier(sandboxed: bool) -> Verifier:
    """The zygote shared by the notebooks of the submission this process grades (one start, not three).

    The grading process closes it when it is done (:func:`close_submission_verifier`); it is never
    shared between submissions, which are graded in separate processes.
    """
    global _submission_verifier
    if _submission_verifier is None:
        _submission_verifier = Verifier(sandboxed=sandboxed)
        atexit.register(close_submission_verifier)
    return _submission_verifier


def close_submission_verifier() -> None:
    global _submission_verifier
    if _submission_verifier is not None:
        _submission_verifier.close()
        _submission_verifier = None
