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
import signal
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
from .sandbox import Limits, Sandbox, share_font_cache, timing
from .sandbox import unavailable as sandbox_unavailable

use_reference(reference_function)  # the checks hints may compare with the reference here, in the judge

VERIFY_TIMEOUT = 60.0  # seconds of wall time for all cases of one function
VERIFY_MEMORY_MB = 2048


# Why this grading process cannot be trusted to have verified right, through no fault of the student's (a
# verification process killed from outside): the worker then ends as the grader's fault, and the batch grades
# the submission once more (preprocessors.GRADER_FAULTS holds the kernels' such faults).
FAULTS: list[str] = []

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
    """Runs learners' functions in sandboxed children, one child each, and returns only what they returned.

    Jobs carry inputs, never expected results. They run in the grading kernels' template of the
    submission when SandboxedExecute has handed it over (:meth:`attach`; between notebooks, when no
    kernel is running: :mod:`autograder.sandbox.kernel`), else in a sandboxed zygote of the verifier's
    own (:mod:`autograder.sandbox.zygote`). Both speak the same protocol, fork a fresh child per job
    and leave nothing of it behind before the next.
    """

    def __init__(self, sandboxed: bool):
        self.sandboxed = sandboxed
        self._process: subprocess.Popen | None = None
        self._sandbox: Sandbox | None = None
        self._folder = temporary_folder("course-verify-")
        self._jobs = self._folder / "jobs"
        self._scratch = self._folder / "scratch"
        self._lines: LineReader | None = None
        self._template = None  # a KernelTemplate of this submission's, while it may run jobs
        self._dirty = False
        self._job_cpu: float | None = None
        self._costs = {"zygote_cpu": [], "zygote_self_cpu": 0.0, "zygote_jobs_cpu": 0.0, "template_jobs_cpu": 0.0,
                       "jobs": 0, "template_jobs": 0, "sandbox_cpu": 0.0, "client_cpu": 0.0}
        self._self_cpu = 0.0  # the running zygote's own CPU seconds, as it last said

    def attach(self, template) -> None:
        """Run the next jobs in ``template`` (a :class:`~autograder.sandbox.warm.KernelTemplate` of the submission
        being verified, whose kernel has ended), or in the verifier's own zygote when None."""
        self._template = template

    def _channel(self):
        """Where the next job runs: (process, its lines, the folder for job files)."""
        template = self._template
        if template is not None and template.can_run_jobs(self.sandboxed):
            return template.process, template.lines, template.seeds
        if template is not None and template.ended() is not None and template.killed_from_outside():
            FAULTS.append("the grading kernels' template was killed from outside (SIGKILL, not its memory limit)")
        self._template = None
        process = self._start()
        return process, self._lines, self._jobs

    def start(self) -> None:
        """Start the verifier's own zygote now (it imports while other work goes on)."""
        self._start()

    def _start(self) -> subprocess.Popen:
        if self._dirty:  # something of the last job could not be removed: no job runs in that zygote again
            self._restart()
        if self._process is None or self._process.poll() is not None:
            self._restart()
            self._jobs.mkdir(exist_ok=True)
            self._scratch.mkdir(exist_ok=True)
            self._jobs.chmod(0o755)  # job files hold only inputs; the sandbox's user (65534 as root) must read them
            if not (self._jobs / "seed").exists():  # matplotlib's font list, loaded once by the zygote for all jobs
                share_font_cache(self._jobs / "seed" / ".matplotlib")
            self._sandbox = Sandbox(Limits(memory_mb=VERIFY_MEMORY_MB, cpu_seconds=3600), scratch=self._scratch,
                                    sandboxed=self.sandboxed, read_only=(self._jobs,))
            argv = [sys.executable, "-m", "autograder.sandbox.zygote", "--jobs", str(self._jobs), "--scratch",
                    str(self._scratch), "--seed", str(self._jobs / "seed"),
                    *(f"--readable={p}" for p in self._sandbox.readable)]
            if self.sandboxed:
                argv.append("--isolated")
            env = {"MPLBACKEND": "agg", "MPLCONFIGDIR": str(self._scratch / ".matplotlib")}
            self._process = subprocess.Popen(self._sandbox.command(argv, env), stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self._scratch,
                                             start_new_session=True)
            self._lines = LineReader(self._process.stdout)
        return self._process

    def run(self, job: dict, timeout: float) -> tuple[str, dict | None]:
        """Run ``job``; return ("ok", outcome), ("timeout", None), ("too large", None) or ("crashed", None).

        A job whose process was killed from outside (a SIGKILL that neither its memory nor its CPU limit
        caused) is also noted in :data:`FAULTS`: the grading process then ends as the grader's fault.
        """
        process, lines, folder = self._channel()
        in_template = self._template is not None
        group = self._template.sandbox.cgroup if in_template else self._sandbox.cgroup
        mark = group.mark() if group is not None else {}
        self._job_cpu = None
        name = f"job-{secrets.token_hex(8)}.json"
        path = folder / name
        path.write_text(json.dumps(job))
        path.chmod(0o644)
        deadline = time.monotonic() + timeout
        try:
            process.stdin.write(f"job {name}\n".encode())
            process.stdin.flush()
            started = self._line(lines, "started ", deadline)
            if started is None:
                self._failed(in_template, mark)
                return "crashed", None
            self._costs["template_jobs" if in_template else "jobs"] += 1
            finished = self._line(lines, "finished ", deadline)
            if finished is None:  # out of time: the child is stopped, the zygote (or template) stays
                process.stdin.write(b"stop\n")
                process.stdin.flush()
                finished = self._line(lines, "finished ", time.monotonic() + 10)
                if finished is None or lines.read_exactly(int(finished.split()[-1]), time.monotonic() + 10) is None:
                    self._failed(in_template, mark)
                return "timeout", None
            parts = finished.split()  # finished PID STATUS... LENGTH
            status, length = " ".join(parts[2:-1]), int(parts[-1])
            data = lines.read_exactly(length, time.monotonic() + 30)
            if data is None:
                self._failed(in_template, mark)
                return "crashed", None
            if status == f"signal {int(signal.SIGKILL)}" and self._job_cpu is not None and \
                    self._job_cpu < float(job.get("cpu_seconds") or 0) and not (group and group.out_of_memory(mark)):
                FAULTS.append("a verification process was killed from outside (SIGKILL, not its memory or CPU limit)")
            if status == "too large":
                return "too large", None
            outcome = _decode_outcome(data)
            return ("ok", outcome) if outcome is not None else ("crashed", None)
        except (BrokenPipeError, OSError, ValueError):
            self._failed(in_template, mark)
            return "crashed", None
        finally:
            path.unlink(missing_ok=True)
            if self._dirty and in_template:
                self._failed(True, None)

    def _line(self, lines: LineReader, prefix: str, deadline: float) -> str | None:
        """The next line starting with ``prefix``; what the zygote says on the way is noted."""
        while True:
            line = lines.read_line(deadline)
            if line is None or line.startswith(prefix):
                return line
            parts = line.split()
            try:
                if parts[0] == "ready":
                    self._costs["zygote_cpu"].append(float(parts[1]))
                elif parts[0] == "cpu":
                    self._job_cpu = float(parts[2])
                    if self._template is not None:
                        self._costs["template_jobs_cpu"] += self._job_cpu
                        self._template.note_own_cpu(float(parts[3]))
                    else:
                        self._costs["zygote_jobs_cpu"] += self._job_cpu
                        self._self_cpu = float(parts[3])
                elif parts[0] == "dirty":
                    self._dirty = True
            except (IndexError, ValueError):
                pass

    def _failed(self, in_template: bool, mark: dict | None) -> None:
        """The zygote (or template) did not do what it was asked: no job runs in it again. When it was killed
        from outside, that is the grader's fault (:data:`FAULTS`)."""
        if in_template:
            template, self._template = self._template, None
            template.usable = False
            self._dirty = False
            if template.ended() is not None and template.killed_from_outside():
                FAULTS.append("the grading kernels' template was killed from outside while it ran a check")
            return
        process, group = self._process, self._sandbox.cgroup if self._sandbox is not None else None
        if process is not None and process.poll() in (-signal.SIGKILL, 128 + signal.SIGKILL) and not (
                group is not None and group.out_of_memory(mark)):
            FAULTS.append("the verification zygote was killed from outside (SIGKILL, not its memory limit)")
        self._restart()

    def _restart(self) -> None:
        self._dirty = False
        self._costs["zygote_self_cpu"] += self._self_cpu
        self._self_cpu = 0.0
        if self._process is not None:
            stop_process(self._process)
        self._process = None
        if self._sandbox is not None:
            if self._sandbox.cgroup is not None:
                self._costs["sandbox_cpu"] += self._sandbox.cgroup.cpu_seconds() or 0.0
            self._sandbox.close()
            self._sandbox = None

    def note_client_cpu(self, seconds: float) -> None:
        """What checking cost the grading process itself (judging, waiting on jobs): for the benchmarks' records."""
        self._costs["client_cpu"] += seconds

    def close(self) -> None:
        self._template = None
        self._restart()
        shutil.rmtree(self._folder, ignore_errors=True)
        if timing.enabled():
            timing.record("verifier", sandboxed=self.sandboxed, **self._costs)


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
    cpu = time.thread_time()
    state, outcome = verifier.run(_job(curve.function, learner.module_for(curve.function), "", [curve.case]),
                                  VERIFY_TIMEOUT)
    verifier.note_client_cpu(time.thread_time() - cpu)
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
    cpu = time.thread_time()
    try:
        return {name: verify_function(notebook, name, learner, checks, verifier, cases.get(name))
                for name in checks.functions}
    finally:
        if own:
            verifier.close()
        else:
            verifier.note_client_cpu(time.thread_time() - cpu)


_submission_verifier: Verifier | None = None


def submission_verifier(sandboxed: bool) -> Verifier:
    """The zygote shared by the notebooks of the submission this process grades (one start, not three).

    The grading process closes it when it is done (:func:`close_submission_verifier`); it is never
    shared between submissions, which are graded in separate processes.
    """
    global _submission_verifier
    if _submission_verifier is not None and _submission_verifier.sandboxed != sandboxed:
        close_submission_verifier()  # never a trusted-only zygote where a sandboxed one was asked for
    if _submission_verifier is None:
        _submission_verifier = Verifier(sandboxed=sandboxed)
        atexit.register(close_submission_verifier)
    return _submission_verifier


def close_submission_verifier() -> None:
    global _submission_verifier
    if _submission_verifier is not None:
        _submission_verifier.close()
        _submission_verifier = None
