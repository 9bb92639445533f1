"""Grade submissions: in parallel, each in its own workspace, written to the gradebook by this process only.

For each ``<student>/<assignment>/`` folder a worker process (:mod:`autograder.worker`, forked from a
warm, pre-imported process per job slot) runs nbgrader's ``Autograde`` with the course pipeline
(:mod:`autograder.pipeline`) in a private workspace with a copy of the gradebook. The trusted parent
then copies the scores into the real gradebook in one transaction and swaps the autograded folder in,
so a regrade either replaces the old result or leaves it untouched. A submission that cannot be graded
still gets a recorded result and a reason; a failing submission never stops the others.

With ``scheduler`` (``course grade --scheduler tcp://HOST:8786``) the same steps run on a Dask cluster
(:mod:`autograder.cluster`): this process prepares each submission and commits each result, and the
workers grade. Both paths share :func:`prepare`, :func:`grade_prepared` and :func:`settle`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import shutil
import tempfile
import time
import warnings
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .course import (
    ASSIGNMENT,
    NOTEBOOK_NAMES,
    SOLUTIONS,
    private_folder,
    put_tools_on_path,
    sweep_temporary,
    temporary_folder,
    tests_version,
)
from .intake import LMS_FILE_PATTERN, collect, load_roster, prepare_submission
from .store import RESULTS_FILE, Store, StoreError, SubmissionResult, read_workspace, sqlite_path
from .worker import GRADER_FAULT_EXIT, WarmWorker


@dataclass
class Course:
    """A grading folder: gradebook, submitted/, autograded/ and feedback/ (the course root by default)."""

    root: Path
    db_url: str = ""

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        self.db_url = self.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    def record_path(self, student: str, assignment: str = ASSIGNMENT) -> Path:
        """The copy of a student's record beside the graded notebooks (the gradebook holds the original)."""
        return self.autograded / student / assignment / RESULTS_FILE

    def store(self) -> Store:
        return Store(self.db_url, self.autograded)


def nbgrader_config(root: Path, db_url: str, **course_directory):
    """The nbgrader configuration of the course for a folder ``root`` (source: the solutions)."""
    from traitlets.config import Config

    from .pipeline import AUTOGRADE, SANITIZE

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = "logistic_regression_course"
    c.CourseDirectory.source_directory = str(SOLUTIONS)
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.results.json"]
    for key, value in course_directory.items():
        setattr(c.CourseDirectory, key, value)
    c.Autograde.sanitize_preprocessors = SANITIZE
    c.Autograde.autograde_preprocessors = AUTOGRADE
    c.Autograde.create_student = True
    c.OverwriteCells.add_missing_cells = True
    c.ClearMetadataPreprocessor.enabled = True
    c.ClearMetadataPreprocessor.clear_notebook_metadata = False
    c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = [("nbgrader",)]
    return c


def register_assignment(root: Path, db_url: str, release_dir: Path | None = None) -> None:
    """Put the assignment's notebooks and cells into the gradebook (nbgrader's generate_assignment).

    ``release_dir`` is where the student notebooks are written; a temporary folder when only the
    gradebook is wanted.
    """
    from nbgrader.apps import GenerateAssignmentApp

    put_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        config = nbgrader_config(root, db_url, release_directory=str(release_dir or scratch),
                                 assignment_id=ASSIGNMENT)
        config.GenerateAssignment.force = True
        config.GenerateAssignment.create_assignment = True
        config.GenerateAssignmentApp.log_level = "ERROR"  # it would warn that the folder has no nbgrader_config.py
        app = GenerateAssignmentApp(config=config)
        app.initialize([])
        app.start()


@dataclass
class Outcome:
    """What happened to one submission in a batch (the record itself is in the gradebook)."""

    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0


@dataclass
class Fault:
    """Grading one submission failed through no fault of the student's: why, how long it took, the log's end."""

    student: str
    reason: str
    seconds: float = 0.0
    log: str = ""


class SandboxUnavailable(Exception):
    """No OS sandbox can be made here, and the run did not ask to grade without one."""


def grade_batch(course: Course, submissions: Path, *, student: str | Collection[str] | None = None,
                jobs: int | None = None,
                timeout: float = 900.0, cell_timeout: int = 300, memory_mb: int = 3072, quiet: bool = False,
                zip_pattern: str = LMS_FILE_PATTERN, sandboxed: bool = True, roster: Path | None = None,
                zip_time_format: str | None = None, scheduler: str | None = None) -> list[Outcome]:
    """Grade every ``<student>/<assignment>/`` folder (or a zip of them) under ``submissions``.

    ``student`` grades only that student, or only those students (a collection of ids: nbgrader's own
    entry points, see :mod:`autograder.config`). ``sandboxed=False`` runs learners' code without the OS
    sandbox: for trusted submissions only, and recorded with every result. ``scheduler`` (a Dask
    scheduler's address) grades on that cluster's workers instead of ``jobs`` local processes (see
    :mod:`autograder.cluster` and docs/scaling.md).
    """
    from . import sandbox
    from .report import progress

    client = None
    if scheduler:  # learners' code runs on the workers: they are checked, this machine needs no sandbox
        from . import cluster

        client = cluster.connect(scheduler, sandboxed, quiet=quiet)
    else:
        if sandboxed and (reason := sandbox.unavailable()):
            raise SandboxUnavailable(f"cannot grade safely: {reason}. Install it, or pass --unsandboxed to grade "
                                     f"trusted submissions without the OS sandbox")
        sandbox.cgroups.sweep()  # the cgroups an earlier, killed run left behind

    # nbgrader's own gradebook code warns about rows SQLAlchemy adds lazily; they are not the instructor's concern
    warnings.filterwarnings("ignore", message="Object of type .* not in session", category=RuntimeWarning)
    batch = None
    try:
        course.root.mkdir(parents=True, exist_ok=True)
        sweep_temporary()  # what an earlier, killed run left in the temporary folder
        batch = temporary_folder("course-grade-")
        intake_notes: dict[str, list[str]] = {}
        folders = collect(submissions, batch / "unpacked", zip_pattern, intake_notes,
                          load_roster(roster) if roster else None, zip_time_format)
        if student:
            wanted = {student} if isinstance(student, str) else set(student)
            folders = {s: p for s, p in folders.items() if s in wanted}
            if not folders:
                raise SystemExit(f"no submission for student {student!r} in {submissions}")
        settings = {"timeout": cell_timeout, "notebook_timeout": timeout, "memory_mb": memory_mb,
                    "sandboxed": sandboxed}
        budget = timeout * len(NOTEBOOK_NAMES) + _verify_budget() + 120  # wall seconds for one submission
        jobs = jobs or max(1, os.cpu_count() or 1)
        warm = [] if client else [WarmWorker(_worker_environment(jobs), batch / f"warm-worker-{i}.log")
                                  for i in range(min(jobs, len(folders)))]
        for worker in warm:
            worker.start()  # they import while the gradebook is checked and the first submissions prepared
        store = course.store()
        bar = None
        outcomes: list[Outcome] = []
        try:
            template = assignment_gradebook()
            _ensure_registered(course, store, template)
            bar = progress(len(folders), quiet=quiet)
            if client is not None:
                graded = cluster.grade(client, store, folders, intake_notes, batch, settings, budget)
            else:
                graded = _grade_locally(store, folders, intake_notes, batch, template, settings, budget, warm)
            with contextlib.closing(graded):  # stopped at once on Ctrl-C, wherever it comes
                for outcome in graded:  # each committed as it comes: only its outcome is kept here
                    outcomes.append(outcome)
                    bar.step(outcome.student, outcome.status)
        finally:
            for worker in warm:
                worker.close()
            store.close()
            if bar is not None:
                bar.close()
    finally:
        if client is not None:
            client.close()
        if batch is not None:
            shutil.rmtree(batch, ignore_errors=True)
    return sorted(outcomes, key=lambda outcome: outcome.student)


def _worker_environment(jobs: int) -> dict[str, str]:
    """The environment of a warm worker when ``jobs`` submissions are graded at once: its share of BLAS threads."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    return dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                PYTHONDONTWRITEBYTECODE="1")


def _grade_locally(store: Store, folders: dict[str, Path], intake_notes: dict[str, list[str]], batch: Path,
                   template: Path, settings: dict, budget: float, warm: list[WarmWorker]) -> Iterator[Outcome]:
    """Grade on this machine, one thread per warm worker; yield each outcome once committed."""
    workers: queue.SimpleQueue[WarmWorker] = queue.SimpleQueue()
    for worker in warm:
        workers.put(worker)

    def one(item):
        name, folder = item
        worker = workers.get()
        try:
            return _grade_one(store, name, folder, batch, template, settings, worker, budget,
                              intake_notes.get(name, []))
        finally:
            workers.put(worker)

    pool = ThreadPoolExecutor(max_workers=len(warm))
    try:
        for future in as_completed([pool.submit(one, item) for item in sorted(folders.items())]):
            yield future.result()
    finally:  # also on Ctrl-C: nothing more starts, and what runs is stopped (its earlier result stays)
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in warm:
            worker.close()
        pool.shutdown(wait=True)


def assignment_gradebook() -> Path:
    """A gradebook holding just the assignment at the current tests version, built once and cached.

    Registering the assignment (nbgrader's generate_assignment) takes seconds; workers and ``course check``
    start from a copy of this file instead. It lives where grading kernels may not read.
    """
    path = private_folder("course-cache") / f"gradebook-{tests_version()}.db"
    if not path.exists():
        with tempfile.TemporaryDirectory(prefix="course-register-") as scratch:
            register_assignment(Path(scratch), f"sqlite:///{scratch}/gradebook.db")
            staged = path.with_name(f"{path.name}.{os.getpid()}")
            shutil.copy(Path(scratch) / "gradebook.db", staged)
            staged.replace(path)  # atomic: a concurrent run sees the whole file or none
    return path


def _ensure_registered(course: Course, store: Store, template: Path) -> None:
    """Make sure the course's gradebook has its tables and knows the assignment as it is now in ``solutions/``.

    Done under the store's lock, so concurrent first runs do not both create the schema.
    """
    course.root.mkdir(parents=True, exist_ok=True)
    with store.lock():
        fresh = False
        database = sqlite_path(course.db_url)
        if database is not None:
            if not database.exists():
                shutil.copy(template, database)  # a new gradebook: the assignment already registered, at once
                fresh = True
        store.prepare()
        if store.registered_tests_version() != tests_version():
            if not fresh:
                register_assignment(course.root, course.db_url)
            store.set_registered_tests_version(tests_version())


def _grade_one(store: Store, student: str, folder: Path, batch: Path, template: Path, settings: dict,
               worker: WarmWorker, budget: float, intake_notes: list[str]) -> Outcome:
    """Grade one submission on this machine and commit its result (or its fault)."""
    started = time.monotonic()
    workspace = batch / f"w-{student}"
    try:
        notes = prepare(folder, workspace / "submitted" / student / ASSIGNMENT, intake_notes)
        result = ungradable(workspace, student, notes, started, settings) or \
            grade_prepared(workspace, student, template, settings, worker, budget, notes, started)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return settle(store, result, settings)


def prepare(folder: Path, submitted: Path, intake_notes: list[str]) -> list[str]:
    """Copy a submission, checked and repaired, into ``submitted``; return the notes for its record."""
    try:
        return intake_notes + prepare_submission(folder, submitted)
    except OSError as exc:
        submitted.mkdir(parents=True, exist_ok=True)
        return [*intake_notes, f"the submission folder could not be read ({exc})"]


def ungradable(workspace: Path, student: str, notes: list[str], started: float,
               settings: dict) -> SubmissionResult | None:
    """The result of a submission with no notebook nbgrader could open (zero, with the reasons), or None."""
    if any((workspace / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
        return None
    return SubmissionResult(student, _record(student, "graded with problems", "; ".join(notes),
                                             time.monotonic() - started, settings))


def grade_prepared(workspace: Path, student: str, template: Path, settings: dict, worker: WarmWorker,
                   budget: float, notes: list[str], started: float) -> SubmissionResult | Fault:
    """Grade the submission prepared in ``workspace/submitted/<student>/<assignment>/`` with ``worker``.

    Runs where the grading runs (this machine, or a Dask worker); writes only inside ``workspace`` and
    returns the result to commit, or the fault to record. A fault that is not the student's (the grading
    process killed from outside, a crash) gets a second try first.
    """
    (workspace / "settings.json").write_text(json.dumps(settings))
    log = workspace / "worker.log"
    for attempt in (1, 2):
        shutil.rmtree(workspace / "autograded", ignore_errors=True)
        shutil.copy(template, workspace / "gradebook.db")
        code, problem = worker.grade(workspace, student, log, budget=budget)
        fault = _grader_fault(code, log)
        if fault is None:
            break
        problem = f"{fault} (tried {attempt} times)"
    if code and not problem:
        problem = f"the grader failed on this submission (exit code {code})"
    seconds = time.monotonic() - started
    autograded = workspace / "autograded" / student / ASSIGNMENT
    if problem or not autograded.is_dir():
        problem = problem or "nbgrader produced no graded notebook"
        log_tail = log.read_text(errors="replace")[-20000:] if log.exists() else ""
        return Fault(student, "; ".join([*notes, problem]), seconds, log_tail)
    record = _build_record(student, autograded, notes, seconds)
    record["sandboxed"] = settings["sandboxed"]
    return read_workspace(f"sqlite:///{workspace / 'gradebook.db'}", autograded, student, record)


def settle(store: Store, result: SubmissionResult | Fault, settings: dict) -> Outcome:
    """Commit a result, or record a fault keeping the earlier result whole: the one write per submission."""
    if isinstance(result, Fault):
        return _record_error(store, result.student, result.reason, result.seconds, settings, result.log)
    record = result.record
    try:
        store.commit(result)
    except StoreError as exc:
        return _record_error(store, result.student, str(exc), record["seconds"], settings, "")
    return Outcome(result.student, record["status"], record["reason"], record["seconds"])


def _grader_fault(code: int | None, log: Path) -> str | None:
    """Why the grading process failed through no fault of the student's, or None (see worker.GRADER_FAULT_EXIT)."""
    if code == GRADER_FAULT_EXIT:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("grader fault: ")]
        return lines[-1].removeprefix("grader fault: ") if lines else "the grader failed"
    if code is not None and code < 0:
        return f"the grading process was killed by signal {-code}"
    return None


def _record(student: str, status: str, reason: str, seconds: float, settings: dict) -> dict:
    return {"student": student, "assignment": ASSIGNMENT, "status": status, "reason": reason,
            "tests_version": tests_version(), "seconds": round(seconds, 2), "notebooks": {},
            "sandboxed": settings["sandboxed"],
            "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def _record_error(store: Store, student: str, reason: str, seconds: float, settings: dict, log_tail: str) -> Outcome:
    """The grader failed on this submission: say so in the gradebook, keeping an earlier result whole."""
    record = {**_record(student, "error", reason, seconds, settings), "log": log_tail}
    try:
        kept = store.mark_error(student, record)
    except StoreError as exc:  # the gradebook itself failed: the outcome is still reported
        return Outcome(student, "error", f"{reason}; and it could not be recorded: {exc}", seconds)
    return Outcome(student, "error", f"{reason} (the earlier result is kept)" if kept else reason, seconds)


def _verify_budget() -> float:
    """The longest the verification of one submission may take: each job's limit, for every job."""
    from .verify import VERIFY_TIMEOUT, checks_for

    jobs = sum(len(checks_for(n).functions) + (checks_for(n).feedback_curve is not None) for n in NOTEBOOK_NAMES)
    return VERIFY_TIMEOUT * jobs


def _build_record(student: str, autograded: Path, notes: list[str], seconds: float) -> dict:
    notebooks, reasons, tampering = {}, list(notes), False
    for name in NOTEBOOK_NAMES:
        path = autograded / f"{name}.results.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        path.unlink()
        notebooks[name] = data
        if data.get("stopped"):
            reasons.append(f"{name}: {data['stopped']}")
        reasons += [f"{name}: {note}" for note in data.get("notes") or []]
        functions = data.get("functions") or {}
        tampering |= any(f.get("tampering") for f in functions.values()) or bool(data.get("edited_tests"))
    status = "tampering suspected" if tampering else ("graded with problems" if reasons else "graded")
    return {"student": student, "assignment": ASSIGNMENT, "status": status, "reason": "; ".join(reasons),
            "tests_version": tests_version(), "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(
                timespec="seconds"), "seconds": round(seconds, 2), "notebooks": notebooks}
