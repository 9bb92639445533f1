"""nbgrader's own commands and formgrader, in the course folder, grade as ``course`` does.

The root ``nbgrader_config.py`` calls :func:`configure`, so in the course folder:

- ``nbgrader autograde`` and formgrader's "autograde" button grade with the course's engine, the same
  function as ``course grade`` (:func:`autograder.batch.grade_batch`): intake checks, the OS sandbox,
  verification outside the kernel with the reference helpers, and one atomic result per student in the
  course's store (scores, record, graded notebooks). Manual grades entered in formgrader are kept.
  What cannot be made safe refuses with a message naming the ``course`` command to use: no sandbox
  (bubblewrap), ``--no-execute``, one ``--notebook`` of a submission, an unsandboxed configuration.
- ``nbgrader generate_feedback`` (and formgrader's feedback buttons) writes nbgrader's page per
  notebook *and* the course's ``feedback.html``; ``--force`` replaces nbgrader's own pages only, and
  never copies the grader's ``results.json`` into ``feedback/``.
- ``nbgrader export`` writes the course's per-function ``grades.csv`` (:mod:`autograder.exporter`),
  byte for byte what ``course export`` writes.
- ``nbgrader validate`` (and the notebook toolbar's "Validate") refuses: it would run a learner's
  notebook outside the sandbox; ``course check NOTEBOOK`` grades one notebook safely.

nbgrader's apps and formgrader create their converters from fixed names (``Autograde``,
``GenerateFeedback``, ``Validator``) that no configuration option can change, so :func:`configure`
points those names, in the nbgrader modules that use them, at the course's subclasses below. It checks
that each name is still nbgrader's own class first: an nbgrader whose modules look different makes
:func:`configure` raise, and the root ``nbgrader_config.py`` then makes every grading command refuse.

Settings of the course's nbgrader steps (source folder, gradebook, the autograde preprocessors) come from
:func:`autograder.config.nbgrader_config`, the configuration the grading workers use: one definition.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.validator import Validator
from traitlets.config import Config

from . import report
from .batch import SandboxUnavailable, grade_batch
from .config import nbgrader_config, silence_hidden_test_checksums
from .course import ASSIGNMENT
from .grading import Course
from .intake import IntakeError
from .results import Status, SubmissionRecord
from .store import RESULTS_FILE, Store, StoreError, sqlite_path

# The ExportPlugin nbgrader export uses in the course folder (nbgrader export --exporter=... names it too).
EXPORTER = "autograder.exporter.GradesCsvExporter"


def configure(c: Config, course_root: Path | str | None = None) -> None:
    """Apply the course's nbgrader configuration to ``c`` for the course folder ``course_root`` (default: here).

    Called by the root ``nbgrader_config.py``, every time nbgrader or formgrader loads it: it only sets
    configuration values and (once per process) installs the course's converters and log filter.
    Raises when the course's converters cannot be installed; the caller must then refuse to grade.
    """
    root = Path(course_root or os.getcwd()).resolve()
    c.merge(nbgrader_config(root, f"sqlite:///{root / 'gradebook.db'}", release_directory="notebooks"))
    c.ExportApp.plugin_class = EXPORTER
    install_course_converters()
    silence_hidden_test_checksums()


# -- refusals ---------------------------------------------------------------------------------------
def _refuse(log: logging.Logger, message: str) -> NoReturn:
    """Stop an nbgrader step with ``message`` (the CLI exits 1 with it; formgrader shows it)."""
    log.error(message)
    raise NbGraderException(message)


GRADE_COMMAND = ".venv/bin/course grade submitted"


# -- nbgrader autograde and formgrader's autograde button -----------------------------------------
class CourseAutograde(Autograde):
    """nbgrader's autograde for this course: each selected submission is graded by ``course grade``'s engine.

    The students are those nbgrader would grade (``--student``, a pattern, and ``student_id_exclude``);
    without ``--force`` a submission already graded is skipped unless ``timestamp.txt`` says it is newer,
    as nbgrader does. Nothing of nbgrader's own converter runs, so nothing is removed first: a regrade
    replaces the earlier result in one step, or leaves it whole.
    """

    def start(self) -> None:
        with _informative(self.log):
            self._grade()

    def _grade(self) -> None:
        coursedir = self.coursedir
        problem = self._unsafe()
        if problem:
            _refuse(self.log, problem)
        root = Path(coursedir.root)
        submitted = root / coursedir.submitted_directory
        course = Course(root, coursedir.db_url)
        students = self._students(submitted, course)
        if not students:
            self.log.info("Nothing to grade")
            return
        self.log.info("Grading %s with the course's pipeline (sandbox, verification, reference helpers)",
                      ", ".join(students))
        try:
            outcomes = grade_batch(course, submitted, student=students, quiet=True, **self._limits())
        except SandboxUnavailable as exc:
            _refuse(self.log, f"{exc}. nbgrader's own commands always grade in the OS sandbox; for trusted "
                              f"submissions only: {GRADE_COMMAND} --unsandboxed")
        except (StoreError, IntakeError) as exc:
            _refuse(self.log, f"cannot grade: {exc}")
        store = course.store()
        try:
            scores = store.scores()
        finally:
            store.close()
        for outcome in outcomes:
            score = scores.get(outcome.student, {})
            points = f"{score['total']:g} / {score['max']:g}" if score else "no score"
            self.log.info("%s: %s, %s%s", outcome.student, outcome.status, points,
                          f" ({outcome.reason})" if outcome.reason else "")
        failed = [outcome.student for outcome in outcomes if outcome.status is Status.ERROR]
        if failed:
            _refuse(self.log, f"the grader failed on {', '.join(failed)} (not the students' fault; the reason is "
                              f"above, any earlier result is kept)")

    def _unsafe(self) -> str | None:
        """Why this run cannot grade as the course does (with the command to use), or None."""
        coursedir, config = self.coursedir, self.config
        if coursedir.assignment_id != ASSIGNMENT:
            return f"this course has one assignment, {ASSIGNMENT!r}: nbgrader autograde {ASSIGNMENT}"
        if coursedir.notebook_id != "*":
            return ("the course grades whole submissions (its record and scores cover every notebook): run it "
                    f"without --notebook, or regrade one student with {GRADE_COMMAND} --student ID")
        if config.Execute.get("enabled", True) is False or config.ClearOutput.get("enabled", True) is False:
            return ("the course always runs submissions, in its sandbox (--no-execute would score the outputs the "
                    f"learner saved): run it without --no-execute, or use {GRADE_COMMAND}")
        if config.SandboxedExecute.get("sandboxed", True) is False or \
                config.VerifyFunctions.get("sandboxed", True) is False:
            return ("nbgrader's own commands always grade in the OS sandbox; remove the unsandboxed setting from "
                    f"nbgrader_config.py. For trusted submissions only: {GRADE_COMMAND} --unsandboxed")
        if coursedir.autograded_directory != "autograded":
            return ("the course keeps graded notebooks in autograded/ (CourseDirectory.autograded_directory is "
                    f"{coursedir.autograded_directory!r}): remove that setting, or use {GRADE_COMMAND}")
        return None

    def _students(self, submitted: Path, course: Course) -> list[str]:
        """The students to grade: those nbgrader would pick, less those already graded when not forced."""
        coursedir = self.coursedir
        pattern = coursedir.student_id or "*"
        excluded = {s for s in coursedir.student_id_exclude.split(",") if s}
        folders = sorted(p for p in submitted.glob(f"*/{ASSIGNMENT}") if not p.parent.name.startswith("."))
        students = [p.parent.name for p in folders
                    if fnmatch.fnmatchcase(p.parent.name, pattern) and p.parent.name not in excluded]
        if not students:
            _refuse(self.log, f"no submission of {ASSIGNMENT} matched {submitted / pattern / ASSIGNMENT} (the course "
                              f"grades <student>/{ASSIGNMENT}/<notebook>.ipynb under {coursedir.submitted_directory}/)")
        if self.force:
            return students
        records = _records(course)
        chosen = []
        for student in students:
            graded = course.autograded / student / ASSIGNMENT
            record = records.get(student)
            if graded.is_dir() and record is not None and record.status is not Status.ERROR:
                new = coursedir.get_existing_timestamp(str(submitted / student / ASSIGNMENT))
                old = coursedir.get_existing_timestamp(str(graded))
                if not (new and old and new > old):
                    self.log.info("Skipping %s: already graded (use --force to grade it again)", student)
                    continue
            chosen.append(student)
        return chosen

    def _limits(self) -> dict:
        """``course grade``'s limits, from ``c.SandboxedExecute`` when nbgrader_config.py sets them, and its late
        penalty from nbgrader's own ``c.LateSubmissionPlugin.penalty_method`` (the due date and extensions are
        the gradebook's, as formgrader sets them)."""
        settings = self.config.SandboxedExecute
        limits = {}
        if "notebook_timeout" in settings:
            limits["timeout"] = float(settings.notebook_timeout)
        if "timeout" in settings:
            limits["cell_timeout"] = int(settings.timeout)
        if "memory_mb" in settings:
            limits["memory_mb"] = int(settings.memory_mb)
        if "penalty_method" in self.config.LateSubmissionPlugin:
            limits["late_penalty"] = str(self.config.LateSubmissionPlugin.penalty_method)
        return limits


@contextmanager
def _informative(log: logging.Logger | logging.LoggerAdapter) -> Iterator[None]:
    """Let ``log`` pass INFO lines for the block: formgrader shows a step's log, whose level it may leave unset
    (so WARNING), and the log is where each student's score and reasons are."""
    logger = getattr(log, "logger", log)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)


def _records(course: Course) -> dict[str, SubmissionRecord]:
    """The course's result records, or none yet (never creating a gradebook to find out)."""
    database = sqlite_path(course.db_url)
    if database is not None and not database.exists():
        return {}
    store = course.store()
    try:
        return store.records()
    finally:
        store.close()


# -- nbgrader generate_feedback and formgrader's feedback buttons ---------------------------------
class CourseGenerateFeedback(GenerateFeedback):
    """nbgrader's generate_feedback, beside the course's own page, which it never removes.

    nbgrader writes ``feedback/<student>/<assignment>/<notebook>.html`` from the graded notebooks (with
    the scores of the gradebook, manual grades included). It would first remove the whole folder when
    forced, and copy every other file of the graded folder into it, the grader's ``results.json`` too.
    Here only nbgrader's own pages are replaced, ``results.json`` stays where it is, and the course's
    ``feedback.html`` is written again from the course's store for every student processed.
    """

    def convert_notebooks(self) -> None:
        self._processed: set[str] = set()
        try:
            super().convert_notebooks()
        finally:  # also after a failed notebook, whose folder nbgrader removes
            self._write_course_pages()

    def init_destination(self, assignment_id: str, student_id: str) -> bool:
        if student_id in {s for s in self.coursedir.student_id_exclude.split(",") if s}:
            return False
        dest = Path(self._format_dest(assignment_id, student_id))
        pages = [dest / (Path(notebook).stem + self.exporter.file_extension) for notebook in self.notebooks]
        new = self.coursedir.get_existing_timestamp(self._format_source(assignment_id, student_id))
        old = self.coursedir.get_existing_timestamp(str(dest))
        newer = bool(new and old and new > old)
        if all(page.exists() for page in pages) and not self.force and not newer:
            self.log.info("Skipping existing feedback: %s (use --force to write it again)", dest)
            return False
        for page in pages:
            if page.exists():
                self.log.info("Replacing %s", page)
                page.unlink()
        return True

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        self._processed.add(student_id)
        with _attributes(self.coursedir, ignore=[*self.coursedir.ignore, RESULTS_FILE]):
            super().init_assignment(assignment_id, student_id)

    def _write_course_pages(self) -> None:
        if not self._processed:
            return
        root = Path(self.coursedir.root)
        store = Store(self.coursedir.db_url, root / self.coursedir.autograded_directory)
        try:
            records, scores = store.records(), store.scores()
        finally:
            store.close()
        for student in sorted(self._processed - set(records)):
            self.log.warning("No course result for %s, so no feedback.html: grade it with nbgrader autograde", student)
        chosen = {student: record for student, record in records.items() if student in self._processed}
        for path in report.write_feedback(chosen, scores, root / self.coursedir.feedback_directory):
            self.log.info("Wrote the course's feedback page %s", path)


@contextmanager
def _attributes(target, **values) -> Iterator[None]:
    """Set attributes of ``target`` for the block, and restore them after it, however it ends."""
    old = {name: getattr(target, name) for name in values}
    for name, value in values.items():
        setattr(target, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(target, name, value)


# -- nbgrader validate -----------------------------------------------------------------------------
VALIDATE_REFUSAL = ("nbgrader validate would run this notebook outside the course's sandbox, without its hidden "
                    "cases: check a learner's notebook with `.venv/bin/course check NOTEBOOK` (graded per "
                    "function, in the sandbox), or run the solution notebooks with `.venv/bin/course preview`")


class CourseValidator(Validator):
    """nbgrader's validator, refusing in the course folder (see :data:`VALIDATE_REFUSAL`)."""

    def validate(self, filename: str) -> dict:
        fail = getattr(self.parent, "fail", None)
        if callable(fail):  # nbgrader validate: the message, then exit status 1
            fail(VALIDATE_REFUSAL)
        raise RuntimeError(VALIDATE_REFUSAL)  # the notebook toolbar's "Validate": shown as the error


# -- installing the converters ---------------------------------------------------------------------
# module -> {name nbgrader looks up when it runs a step: the course's class}. Each replaced name must still
# be nbgrader's own class (the course's class's parent), else configure() raises and grading refuses.
CONVERTERS = {
    "nbgrader.apps.autogradeapp": {"Autograde": CourseAutograde},
    "nbgrader.apps.generatefeedbackapp": {"GenerateFeedback": CourseGenerateFeedback},
    "nbgrader.apps.api": {"Autograde": CourseAutograde, "GenerateFeedback": CourseGenerateFeedback},
    "nbgrader.apps.validateapp": {"Validator": CourseValidator},
    "nbgrader.server_extensions.validate_assignment.handlers": {"Validator": CourseValidator},
}


def install_course_converters() -> None:
    """Point nbgrader's autograde, generate_feedback and validate (CLI and formgrader) at the course's classes."""
    for module_name, names in CONVERTERS.items():
        module = importlib.import_module(module_name)
        for name, replacement in names.items():
            current = getattr(module, name, None)
            if current is replacement:
                continue
            if current is not replacement.__mro__[1]:
                raise RuntimeError(f"{module_name}.{name} is not nbgrader's {replacement.__mro__[1].__name__} "
                                   f"(an nbgrader version the course does not know?): cannot route it to the course")
            setattr(module, name, replacement)
