"""Late work, as nbgrader counts it: a due date (``course grade --due``, or formgrader's), each submission's
timestamp, the extensions an instructor gave in formgrader, and nbgrader's penalty method. The penalty
reaches the gradebook, the summary, the feedback page and grades.csv, whose total is after it."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import pytest
from conftest import require_component
from nbgrader.api import Gradebook

from autograder import cli, report, sandbox
from autograder.batch import grade_batch
from autograder.course import ASSIGNMENT
from autograder.grading import Course
from autograder.submissions import filled, write_submission

NB01 = "01_numpy_and_vectorization"
DUE = datetime(2026, 1, 31, 23, 59)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    root = tmp_path_factory.mktemp("late")
    submissions = root / "submissions"
    for student, when in (("early", "2026-01-30 12:00:00"), ("late", "2026-02-01 12:00:00"),
                          ("extended", "2026-02-01 12:00:00")):
        folder = write_submission(submissions, student, {NB01: filled(NB01)})
        (folder / "timestamp.txt").write_text(when)
    course = Course(root / "course")
    grade_batch(course, submissions, quiet=True)  # no due date yet: nobody is late
    before = course.store().scores()
    with Gradebook(course.db_url) as gb:  # the instructor gives "extended" two more days, as formgrader does
        gb.update_or_create_submission(ASSIGNMENT, "extended", extension=timedelta(days=2))
    grade_batch(course, submissions, quiet=True, due=DUE, late_penalty="zero")
    after = course.store().scores()
    return course, submissions, before, after


def test_without_a_due_date_nobody_is_late(graded):
    _, _, before, _ = graded
    full = before["early"]["total"]  # all of notebook 01's points: the only notebook handed in
    assert full > 0
    assert {s: (v["total"], v["late"], v["penalty"]) for s, v in before.items()} == {
        s: (full, False, 0.0) for s in ("early", "late", "extended")}


def test_late_work_gets_the_penalty_and_an_extension_protects_it(graded):
    course, _, before, after = graded
    full = before["early"]["total"]
    assert (after["early"]["total"], after["early"]["late"]) == (full, False)
    assert (after["late"]["raw"], after["late"]["penalty"], after["late"]["total"], after["late"]["late"]) == (
        full, full, 0.0, True)
    assert (after["extended"]["total"], after["extended"]["late"]) == (full, False)
    with Gradebook(course.db_url) as gb:  # nbgrader's own view of it, as formgrader and nbgrader export read it
        assert gb.find_assignment(ASSIGNMENT).duedate == DUE
        assert gb.find_submission(ASSIGNMENT, "late").late_submission_penalty == full


def test_grades_csv_and_the_feedback_page_show_the_penalty(graded, tmp_path):
    course, _, before, after = graded
    full = before["early"]["total"]
    store = course.store()
    rows = {row["student"]: row for row in csv.DictReader(report.export_csv(store.records(), after,
                                                                               tmp_path / "grades.csv").open())}
    late = rows["late"]
    assert (late["late"], float(late["raw_total"]), float(late["late_penalty"]), float(late["total"])) == (
        "yes", full, full, 0.0)
    assert (rows["early"]["late"], float(rows["early"]["late_penalty"])) == ("no", 0.0)
    page = report.feedback_html(store.records()["late"], after["late"])
    assert "Submitted after the due date" in page
    assert "Submitted after the due date" not in report.feedback_html(store.records()["early"], after["early"])
    assert "less a penalty" in report.summary(store.records(), after)


def test_a_later_run_keeps_the_due_date_in_the_gradebook(graded):
    course, submissions, _, _ = graded
    grade_batch(course, submissions, student="late", quiet=True, late_penalty="zero")  # no --due this time
    assert course.store().scores()["late"]["total"] == 0.0


def test_a_due_date_that_is_not_one_is_refused_with_the_form_to_use(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["grade", "somewhere", "--due", "next friday-ish"])
    assert stop.value.code == 2
    assert "2026-01-31T23:59" in capsys.readouterr().err
