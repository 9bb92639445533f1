"""The gradebook: nbgrader's tables, the course's own results table beside them, and one writer at a time.

Everything a result needs lives in the database (SQLite by default, or PostgreSQL): nbgrader's scores,
and in the course's own ``course_results`` table each student's status, reason, tests version, timings,
hidden-case seed and the whole result record. Two grading hosts sharing one PostgreSQL gradebook
therefore give one consistent ``course export`` and ``course feedback``; nothing depends on a local
``results.json`` (a copy is written beside the graded notebooks for people to read).

One submission's result is committed atomically (:meth:`Store.commit`): the graded notebooks are
staged beside the old ones, the scores and the record are written in one transaction, the folders are
swapped, and only then is the transaction committed. A failure at any point leaves the previous result
whole. A lock (an advisory file lock for SQLite, a PostgreSQL advisory lock) makes concurrent ``course
grade`` processes on one course safe, including the first run that creates the schema.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from .course import ASSIGNMENT, put_tools_on_path
from .results import Status, SubmissionRecord

RESULTS_FILE = "results.json"
SCHEMA_VERSION = 1  # of the course's own tables; raise it with a step in _UPGRADES when they change

metadata = MetaData()
course_schema = Table("course_schema", metadata, Column("version", Integer, nullable=False),
                      Column("tests_version", String(64)))  # of the assignment as registered in nbgrader's tables
course_results = Table(
    "course_results", metadata,
    Column("student", String(255), primary_key=True),
    Column("assignment", String(255), primary_key=True),
    Column("status", String(64), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("tests_version", String(64), nullable=False, default=""),
    Column("graded_at", String(40), nullable=False, default=""),
    Column("seconds", Float, nullable=False, default=0.0),
    Column("revision", String(32), nullable=False),  # also in the graded folder's results.json
    Column("record", Text, nullable=False),  # the whole record, JSON
)
# version reached -> SQL that brings a gradebook from the version before to it (none yet)
_UPGRADES: dict[int, list[str]] = {}


def sqlite_path(db_url: str) -> Path | None:
    """The file of a SQLite gradebook URL (plain or ``file:`` URI form), or None for another database."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database.removeprefix("file:"))


class StoreError(Exception):
    """The gradebook or the graded folder could not be written; the message says what and what to do."""


@dataclass
class SubmissionResult:
    """Everything one grading of one submission produced, ready to be committed in one step."""

    student: str
    record: SubmissionRecord
    scores: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict)  # (notebook, cell) -> score
    comments: dict[tuple[str, str], str | None] = field(default_factory=dict)
    timestamp: datetime | None = None  # when it was submitted (for nbgrader's late penalties)
    files: dict[str, bytes] | None = None  # the graded folder, path -> content; None: no graded notebook
    penalties: dict[str, float] = field(default_factory=dict)  # notebook -> points taken for lateness (nbgrader's)


class Store:
    """A course's gradebook at ``db_url``, with its graded notebooks under ``autograded``."""

    def __init__(self, db_url: str, autograded: Path):
        self.db_url, self.autograded = db_url, Path(autograded)
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = create_engine(self.db_url, future=True)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- one writer at a time -------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the course's write lock: across processes (SQLite) or across hosts too (PostgreSQL)."""
        database = sqlite_path(self.db_url)
        if database is not None:
            path = database.with_name(database.name + ".lock")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a")  # noqa: SIM115  (closed below, after the lock is released)
            except OSError as exc:
                raise StoreError(f"the gradebook's lock file {path} cannot be created ({exc}): its folder must be "
                                 f"writable") from None
            with handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        key = zlib.crc32(f"course-gradebook:{ASSIGNMENT}".encode())
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()

    # -- schema -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create or upgrade the course's tables (and nbgrader's), refusing a gradebook that cannot be written.

        Call it with the lock held: two first runs at once would otherwise both create the schema.
        """
        from nbgrader.api import Gradebook, InvalidEntry

        put_tools_on_path()  # a new gradebook: nbgrader asks the `alembic` command for its schema version
        try:
            Gradebook(self.db_url).close()  # nbgrader creates its own tables, and stamps its alembic version
            with self.engine.begin() as connection:
                if not inspect(connection).has_table("course_schema"):
                    metadata.create_all(connection)
                    connection.execute(course_schema.insert().values(version=SCHEMA_VERSION))
                version = connection.execute(select(course_schema.c.version)).scalar_one()
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _UPGRADES[step]:
                        connection.execute(text(statement))
                if version > SCHEMA_VERSION:
                    raise StoreError(f"the gradebook {self.shown} was written by a newer version of the course "
                                     f"(course tables version {version}, this one knows {SCHEMA_VERSION}): upgrade")
                connection.execute(course_schema.update().values(version=max(version, SCHEMA_VERSION)))
        except (SQLAlchemyError, InvalidEntry) as exc:
            raise StoreError(f"the gradebook {self.shown} cannot be written ({_first_line(exc)}): check that the "
                             f"file and its folder are writable, or that the server accepts this user") from None

    def registered_tests_version(self) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(select(course_schema.c.tests_version)).scalar_one_or_none()

    def set_registered_tests_version(self, version: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(course_schema.update().values(tests_version=version))

    @property
    def shown(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.db_url).render_as_string(hide_password=True)

    # -- writing ----------------------------------------------------------------------------------
    def commit(self, result: SubmissionResult) -> None:
        """Make ``result`` the student's result: graded folder, scores and record, all or nothing."""
        from nbgrader.api import Gradebook
        from nbgrader.api import InvalidEntry as NbgraderError

        revision = secrets.token_hex(8)
        record = replace(result.record, revision=revision)
        final = self.autograded / result.student / ASSIGNMENT
        staged = final.with_name(f"{ASSIGNMENT}.new-{revision}")
        old = final.with_name(f"{ASSIGNMENT}.old-{revision}")
        try:
            if result.files is not None:
                for name, content in result.files.items():
                    path = staged / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(content)
                (staged / RESULTS_FILE).write_text(json.dumps(record.to_dict(), indent=1))
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            raise StoreError(f"the graded notebooks could not be written under {self.autograded} ({exc})") from None
        with self.lock():
            gb = None
            try:
                gb = Gradebook(self.db_url)
                self._write_scores(gb, result)
                self._write_record(gb.db, result.student, record)
                gb.db.flush()
                if final.exists():
                    final.rename(old)
                if result.files is not None:
                    staged.rename(final)
                try:
                    gb.db.commit()
                except BaseException:
                    if result.files is not None:
                        shutil.rmtree(final, ignore_errors=True)
                    if old.exists():
                        old.rename(final)
                    raise
            except (OSError, SQLAlchemyError, NbgraderError) as exc:
                if gb is not None:
                    gb.db.rollback()
                if old.exists() and not final.exists():
                    old.rename(final)
                raise StoreError(f"the result of {result.student} could not be stored ({_first_line(exc)}); the "
                                 f"earlier result is kept") from None
            finally:
                if gb is not None:
                    gb.close()
                shutil.rmtree(staged, ignore_errors=True)
                shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def _write_scores(gb, result: SubmissionResult) -> None:
        gb.update_or_create_student(result.student)
        if result.timestamp is not None:
            submission = gb.update_or_create_submission(ASSIGNMENT, result.student, timestamp=result.timestamp)
        else:
            submission = gb.update_or_create_submission(ASSIGNMENT, result.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                score, needs_manual = result.scores.get((notebook.name, grade.name), (0.0, False))
                grade.auto_score = score
                if grade.manual_score is None:  # a manual grade, and whether it is wanted, is the instructor's
                    grade.needs_manual_grade = bool(needs_manual)
            for comment in notebook.comments:
                comment.auto_comment = result.comments.get((notebook.name, comment.name))
            notebook.late_submission_penalty = result.penalties.get(notebook.name)

    @staticmethod
    def _write_record(session, student: str, record: SubmissionRecord) -> None:
        values = {"status": record.status.value, "reason": record.reason, "tests_version": record.tests_version,
                  "graded_at": record.graded_at, "seconds": float(record.seconds), "revision": record.revision,
                  "record": json.dumps(record.to_dict())}
        where = (course_results.c.student == student) & (course_results.c.assignment == ASSIGNMENT)
        if session.execute(select(course_results.c.student).where(where)).first() is None:
            session.execute(course_results.insert().values(student=student, assignment=ASSIGNMENT, **values))
        else:
            session.execute(course_results.update().where(where).values(**values))

    def mark_error(self, student: str, record: SubmissionRecord) -> bool:
        """Record that grading ``student`` failed (the grader's fault), keeping an earlier result whole.

        Returns whether there was an earlier result. Without one, the student gets zeros and the error.
        """
        earlier = self.records().get(student)
        if earlier is None:
            self.commit(SubmissionResult(student, record))
            return False
        kept = replace(earlier, status=Status.ERROR,
                       reason=f"{record.reason} (the earlier result of {earlier.graded_at or '?'} is kept)",
                       log=record.log[-4000:])
        with self.lock(), self.engine.begin() as connection:
            where = (course_results.c.student == student) & (course_results.c.assignment == ASSIGNMENT)
            connection.execute(course_results.update().where(where).values(
                status=kept.status.value, reason=kept.reason, record=json.dumps(kept.to_dict())))
        return True

    def set_due_date(self, due: datetime) -> None:
        """Make ``due`` (naive UTC, as nbgrader keeps times) the assignment's due date, as formgrader would."""
        from nbgrader.api import Gradebook

        with self.lock(), Gradebook(self.db_url) as gb:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=due)

    # -- reading ----------------------------------------------------------------------------------
    def due_dates(self) -> tuple[datetime | None, dict[str, datetime]]:
        """The assignment's due date in the gradebook (naive UTC, or None), and the due date of each student
        an instructor gave an extension (in formgrader), extension included."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url) as gb:
            try:
                assignment = gb.find_assignment(ASSIGNMENT)
            except MissingEntry:
                return None, {}
            extended = {s.student.id: s.duedate for s in assignment.submissions
                        if s.extension is not None and s.duedate is not None}
            return assignment.duedate, extended

    def records(self) -> dict[str, SubmissionRecord]:
        """The result record of every graded student, by student id."""
        try:
            with self.engine.connect() as connection:
                if not inspect(connection).has_table("course_results"):
                    return {}
                rows = connection.execute(select(course_results.c.student, course_results.c.record).where(
                    course_results.c.assignment == ASSIGNMENT)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"the gradebook {self.shown} cannot be read ({_first_line(exc)})") from None
        return {student: SubmissionRecord.from_dict(json.loads(record)) for student, record in rows}

    def scores(self) -> dict[str, dict]:
        """Per student: total, maximum and the score of every test cell (``<notebook>:<function>``).

        ``total`` is after nbgrader's late penalty, as nbgrader's own grade export has it: ``raw`` less
        ``penalty``, never below zero. ``late`` says whether the submission came after the due date.

        ``manual`` holds the scores an instructor entered in formgrader (which the cell's score is, plus
        any extra credit) and ``comments`` the instructor's comments on each function, by the same keys.
        """
        from nbgrader.api import Gradebook, MissingEntry

        scores = {}
        with Gradebook(self.db_url) as gb:
            try:
                assignment = gb.find_assignment(ASSIGNMENT)
            except MissingEntry:
                return {}
            for submission in assignment.submissions:
                cells, manual, comments = {}, {}, {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        function = grade.name[len("test_"):] if grade.name.startswith("test_") else grade.name
                        cells[f"{notebook.name[:2]}:{function}"] = grade.score
                        if grade.manual_score is not None:
                            manual[f"{notebook.name[:2]}:{function}"] = grade.manual_score
                    for comment in notebook.comments:
                        if comment.manual_comment:
                            comments[f"{notebook.name[:2]}:{comment.name}"] = comment.manual_comment
                raw, penalty = submission.score, submission.late_submission_penalty or 0.0
                scores[submission.student.id] = {"total": max(0.0, raw - penalty), "raw": raw, "penalty": penalty,
                                                 "late": bool(submission.total_seconds_late),
                                                 "max": submission.max_score, "cells": cells, "manual": manual,
                                                 "comments": comments}
        return scores


def read_workspace(workspace_db: str, autograded: Path | None, student: str,
                   record: SubmissionRecord) -> SubmissionResult:
    """The result of one grading as a worker left it: its gradebook copy and its graded folder."""
    from nbgrader.api import Gradebook

    with Gradebook(workspace_db) as src:
        submission = src.find_submission(ASSIGNMENT, student)
        scores = {(nb.name, g.name): (g.auto_score or 0.0, bool(g.needs_manual_grade)) for nb in submission.notebooks
                  for g in nb.grades}
        comments = {(nb.name, c.name): c.auto_comment for nb in submission.notebooks for c in nb.comments}
        timestamp = submission.timestamp
        penalties = {nb.name: nb.late_submission_penalty for nb in submission.notebooks
                     if nb.late_submission_penalty is not None}
    comments.update(verdict_comments(record))
    files = None
    if autograded is not None:
        files = {str(p.relative_to(autograded)): p.read_bytes() for p in sorted(autograded.rglob("*"))
                 if p.is_file() and p.name != RESULTS_FILE}
    return SubmissionResult(student, record, scores, comments, timestamp, files, penalties)


def verdict_comments(record: SubmissionRecord) -> dict[tuple[str, str], str]:
    """The grader's verdict on each function, as the automatic comment of the function's answer cell.

    Formgrader shows it under the learner's answer (and nbgrader's feedback beside it): the points and
    the reason the grader decided, which the test cell's output alone may not say (a test that failed
    only on the hidden cases, or only when the function was checked outside the notebook).
    """
    comments = {}
    for notebook, data in record.notebooks.items():
        for function, result in data.functions.items():
            comments[(notebook, function)] = f"Autograder: {result.score:g} / {result.points:g}. {result.message}"
    return comments


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
