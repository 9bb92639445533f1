"""Grade one submission: prepare it, grade it in a worker, and settle its result in the gradebook.

A worker process (:mod:`autograder.worker`, forked from a warm, pre-imported process) runs nbgrader's
``Autograde`` with the course's preprocessors (:mod:`autograder.preprocessors`) in a private workspace
with a copy of the gradebook (:func:`grade_prepared`). The trusted parent then copies the scores into
the real gradebook in one transaction and swaps the autograded folder in (:func:`settle`), so a regrade
either replaces the old result or leaves it untouched. A submission that cannot be graded still gets a
recorded result and a reason.

Which submissions are graded, where and how many at once is :mod:`autograder.batch`'s (this machine)
and :mod:`autograder.cluster`'s (a Dask cluster); both use the steps here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from .config import is_sandboxed, nbgrader_config, write_run_config
from .course import (
    ASSIGNMENT,
    NOTEBOOK_NAMES,
    private_folder,
    put_tools_on_path,
    tests_version,
)
from .intake import prepare_submission
from .results import NotebookResult, Status, SubmissionRecord
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
    status: Status
    reason: str = ""
    seconds: float = 0.0


@dataclass
class Fault:
    """Grading one submission failed through no fault of the student's: why, how long it took, the log's end."""

    student: str
    reason: str
    seconds: float = 0.0
    log: str = ""


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


def prepare(folder: Path, submitted: Path, intake_notes: list[str]) -> list[str]:
    """Copy a submission, checked and repaired, into ``submitted``; return the notes for its record."""
    try:
        return intake_notes + prepare_submission(folder, submitted)
    except OSError as exc:
        submitted.mkdir(parents=True, exist_ok=True)
        return [*intake_notes, f"the submission folder could not be read ({exc})"]


def ungradable(workspace: Path, student: str, notes: list[str], started: float,
               settings: Config) -> SubmissionResult | None:
    """The result of a submission with no notebook nbgrader could open (zero, with the reasons), or None."""
    if any((workspace / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
        return None
    return SubmissionResult(student, _record(student, Status.PROBLEMS, "; ".join(notes),
                                             time.monotonic() - started, settings))


def grade_prepared(workspace: Path, student: str, template: Path, settings: Config, worker: WarmWorker,
                   budget: float, notes: list[str], started: float) -> SubmissionResult | Fault:
    """Grade the submission prepared in ``workspace/submitted/<student>/<assignment>/`` with ``worker``.

    Runs where the grading runs (this machine, or a Dask worker); writes only inside ``workspace`` and
    returns the result to commit, or the fault to record. A fault that is not the student's (the grading
    process killed from outside, a crash) gets a second try first.
    """
    write_run_config(workspace, settings)
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
    record = _build_record(student, autograded, notes, seconds, is_sandboxed(settings))
    return read_workspace(f"sqlite:///{workspace / 'gradebook.db'}", autograded, student, record)


def settle(store: Store, result: SubmissionResult | Fault, settings: Config) -> Outcome:
    """Commit a result, or record a fault keeping the earlier result whole: the one write per submission."""
    if isinstance(result, Fault):
        return _record_error(store, result.student, result.reason, result.seconds, settings, result.log)
    record = result.record
    try:
        store.commit(result)
    except StoreError as exc:
        return _record_error(store, result.student, str(exc), record.seconds, settings, "")
    return Outcome(result.student, record.status, record.reason, record.seconds)


def _grader_fault(code: int | None, log: Path) -> str | None:
    """Why the grading process failed through no fault of the student's, or None (see worker.GRADER_FAULT_EXIT)."""
    if code == GRADER_FAULT_EXIT:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("grader fault: ")]
        return lines[-1].removeprefix("grader fault: ") if lines else "the grader failed"
    if code is not None and code < 0:
        return f"the grading process was killed by signal {-code}"
    return None


def _record(student: str, status: Status, reason: str, seconds: float, settings: Config,
            log: str = "") -> SubmissionRecord:
    """The record of a submission that has no graded notebook (nothing to open, or the grader's error)."""
    return SubmissionRecord(student, ASSIGNMENT, status, reason, tests_version(), round(seconds, 2),
                            is_sandboxed(settings), log=log)


def _record_error(store: Store, student: str, reason: str, seconds: float, settings: Config, log_tail: str) -> Outcome:
    """The grader failed on this submission: say so in the gradebook, keeping an earlier result whole."""
    record = _record(student, Status.ERROR, reason, seconds, settings, log_tail)
    try:
        kept = store.mark_error(student, record)
    except StoreError as exc:  # the gradebook itself failed: the outcome is still reported
        return Outcome(student, Status.ERROR, f"{reason}; and it could not be recorded: {exc}", seconds)
    return Outcome(student, Status.ERROR, f"{reason} (the earlier result is kept)" if kept else reason, seconds)


def _verify_budget() -> float:
    """The longest the verification of one submission may take: each job's limit, for every job."""
    from .verify import VERIFY_TIMEOUT, checks_for

    jobs = sum(len(checks_for(n).functions) + (checks_for(n).feedback_curve is not None) for n in NOTEBOOK_NAMES)
    return VERIFY_TIMEOUT * jobs


def _build_record(student: str, autograded: Path, notes: list[str], seconds: float,
                  sandboxed: bool) -> SubmissionRecord:
    """The record of a graded submission, from what each notebook's grading wrote beside it (WriteResults)."""
    notebooks = {}
    for name in NOTEBOOK_NAMES:
        path = autograded / f"{name}.results.json"
        if path.exists():  # written by the grading process: JSON, read back here
            notebooks[name] = NotebookResult.from_dict(json.loads(path.read_text()))
            path.unlink()
    return SubmissionRecord.from_notebooks(student, ASSIGNMENT, tests_version(), notebooks, notes, seconds,
                                           sandboxed)
