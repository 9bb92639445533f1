"""Is every result stored whole or not at all, and can several graders share one gradebook?

The store is exercised directly with made-up results (no grading), on SQLite and on a throwaway
PostgreSQL server, so that many commits and races fit in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from autograder.course import ASSIGNMENT, MARKER, sweep_temporary, temporary_folder
from autograder.grading import Course, _ensure_registered, assignment_gradebook
from autograder.results import NotebookResult, Status, SubmissionRecord
from autograder.store import Store, StoreError, SubmissionResult

HERE = Path(__file__).resolve().parent


def registered(root: Path, db_url: str = "") -> Course:
    """A course folder whose gradebook knows the assignment."""
    course = Course(root, db_url)
    _ensure_registered(course, course.store(), assignment_gradebook())
    return course


def cells(store: Store) -> list[tuple[str, str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(store.db_url) as gb:
        return sorted((nb.name, c.name, c.max_score) for nb in gb.find_assignment(ASSIGNMENT).notebooks
                      for c in nb.grade_cells)


def made_up(student: str, tag: str, fraction: float, layout: list[tuple[str, str, float]]) -> SubmissionResult:
    """A result whose every part says ``tag``: its record (a note), its graded file, and its scores (``fraction``)."""
    record = SubmissionRecord(student, ASSIGNMENT, Status.GRADED, "", "test", 1.0, True, graded_at="now",
                              notebooks={"tagged": NotebookResult(notes=[tag])})
    scores = {(notebook, cell): (points * fraction, False) for notebook, cell, points in layout}
    return SubmissionResult(student, record, scores, files={"graded.txt": tag.encode()})


def tag_of(record: SubmissionRecord) -> str:
    return record.notebooks["tagged"].notes[0]


def state(course: Course, student: str) -> tuple:
    """What the gradebook and the graded folder say of ``student``: (record tag, file tag, score fraction)."""
    store = course.store()
    record = store.records()[student]
    folder = course.autograded / student / ASSIGNMENT
    copy = json.loads((folder / "results.json").read_text())
    score = store.scores()[student]
    assert record.revision and SubmissionRecord.from_dict(copy) == record, \
        "the graded folder is not the one the gradebook describes"
    return tag_of(record), (folder / "graded.txt").read_text(), round(score["total"] / score["max"], 6)


def test_a_result_is_stored_whole(tmp_path):
    course = registered(tmp_path / "course")
    store = course.store()
    store.commit(made_up("ada", "first", 1.0, cells(store)))
    assert state(course, "ada") == ("first", "first", 1.0)
    assert store.records()["ada"].status is Status.GRADED


def test_a_failed_swap_leaves_the_earlier_result_whole(tmp_path, monkeypatch):
    course = registered(tmp_path / "course")
    store = course.store()
    layout = cells(store)
    store.commit(made_up("ada", "first", 1.0, layout))
    real_rename = Path.rename

    def rename(self, target):
        if ".new-" in self.name:
            raise OSError(39, "Directory not empty")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(StoreError, match="earlier result is kept"):
        store.commit(made_up("ada", "second", 0.5, layout))
    monkeypatch.undo()
    assert state(course, "ada") == ("first", "first", 1.0)
    assert sorted(p.name for p in (course.autograded / "ada").iterdir()) == [ASSIGNMENT]


def test_a_failed_transaction_leaves_the_earlier_result_whole(tmp_path, monkeypatch):
    course = registered(tmp_path / "course")
    store = course.store()
    layout = cells(store)
    store.commit(made_up("ada", "first", 1.0, layout))
    real_write = Store._write_record

    def write_then_fail_at_commit(session, student, record):  # the folders are swapped by then
        real_write(session, student, record)

        def commit():
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        session.commit = commit

    monkeypatch.setattr(Store, "_write_record", staticmethod(write_then_fail_at_commit))
    with pytest.raises(StoreError, match="disk I/O error"):
        store.commit(made_up("ada", "second", 0.5, layout))
    monkeypatch.undo()
    assert state(course, "ada") == ("first", "first", 1.0)


def test_a_regrade_keeps_manual_grades_and_whether_they_are_wanted(tmp_path):
    from nbgrader.api import Gradebook

    course = registered(tmp_path / "course")
    store = course.store()
    layout = cells(store)
    store.commit(made_up("ada", "first", 1.0, layout))
    notebook, cell, _ = layout[0]
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(cell, notebook, ASSIGNMENT, "ada")
        grade.manual_score, grade.needs_manual_grade = 0.25, False
        gb.db.commit()
    store.commit(made_up("ada", "second", 0.0, layout))
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(cell, notebook, ASSIGNMENT, "ada")
        assert (grade.manual_score, grade.needs_manual_grade, grade.score) == (0.25, False, 0.25)


def test_an_error_keeps_the_earlier_result_and_says_so(tmp_path):
    course = registered(tmp_path / "course")
    store = course.store()
    store.commit(made_up("ada", "first", 1.0, cells(store)))
    earlier = store.records()["ada"]
    error = SubmissionRecord("ada", ASSIGNMENT, Status.ERROR, "the kernel was killed from outside", "test", 2.0, True,
                             log="x" * 5000 + "the end of the log")
    assert store.mark_error("ada", error)
    record = store.records()["ada"]
    assert record.status is Status.ERROR and "earlier result" in record.reason and tag_of(record) == "first"
    assert record.reason.startswith("the kernel was killed from outside (the earlier result of now is kept)")
    assert record.notebooks == earlier.notebooks and record.revision == earlier.revision
    assert len(record.log) == 4000 and record.log.endswith("the end of the log")
    assert store.scores()["ada"]["total"] == store.scores()["ada"]["max"]


def test_a_gradebook_that_cannot_be_written_is_refused_before_grading(tmp_path):
    course = registered(tmp_path / "course")
    read_only = f"sqlite:///file:{course.root / 'gradebook.db'}?mode=ro&uri=true"
    with pytest.raises(StoreError, match="cannot be written"):
        Store(read_only, course.autograded).prepare()
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path), "--course",
                             str(course.root), "--db", read_only, "--quiet"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2 and "cannot be written" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


HAMMER = """
import sys
sys.path.insert(0, {here!r})
from test_store import cells, made_up
from autograder.store import Store
store = Store({url!r}, {autograded!r})
layout = cells(store)
for i in range({rounds}):
    for student in ("ann", "bob", "cyd"):
        store.commit(made_up(student, f"{tag}-{{i}}", (i % 7) / 6, layout))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_course(request, tmp_path):
    if request.param == "sqlite":
        return registered(tmp_path / "course")
    return registered(tmp_path / "course", request.getfixturevalue("fresh_postgres_url"))


def test_two_graders_committing_at_once_end_consistent(shared_course):
    """Two processes store results for the same students 50 times each: every student ends whole."""
    rounds = 50
    processes = [subprocess.Popen([sys.executable, "-c", HAMMER.format(
        here=str(HERE), url=shared_course.db_url, autograded=str(shared_course.autograded), rounds=rounds, tag=tag)],
        stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    for process in processes:
        assert process.wait(timeout=600) == 0, process.stderr.read()
    for student in ("ann", "bob", "cyd"):
        record_tag, file_tag, fraction = state(shared_course, student)
        assert record_tag == file_tag
        assert fraction == round((int(record_tag.split("-")[1]) % 7) / 6, 6)
    leftovers = [p.name for p in shared_course.autograded.rglob("*") if ".new-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_two_first_runs_at_once_create_the_schema_once(tmp_path, fresh_postgres_url):
    script = ("import sys\nfrom pathlib import Path\nfrom autograder.grading import Course, _ensure_registered, "
              "assignment_gradebook\ncourse = Course(Path(sys.argv[1]), sys.argv[2])\n"
              "_ensure_registered(course, course.store(), assignment_gradebook())\n")
    assignment_gradebook()  # the cached template, built once before the race
    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / f"course-{i}"), fresh_postgres_url],
                                  stderr=subprocess.PIPE, text=True) for i in range(2)]
    for process in processes:
        assert process.wait(timeout=600) == 0, process.stderr.read()
    assert len(cells(Store(fresh_postgres_url, tmp_path))) > 0


def test_leftovers_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = temporary_folder("course-grade-")
    (left / MARKER).write_text(f"{dead.pid} 12345")  # a grader process that is gone
    unmarked = Path(os.environ.get("TMPDIR", "/tmp")) / f"course-unmarked-{os.getpid()}"
    unmarked.mkdir(exist_ok=True)
    mine = temporary_folder("course-grade-")  # this process is alive
    try:
        removed = sweep_temporary()
        assert left in removed and not left.exists()
        assert unmarked.exists() and mine.exists()
    finally:
        unmarked.rmdir()
        shutil.rmtree(mine, ignore_errors=True)
