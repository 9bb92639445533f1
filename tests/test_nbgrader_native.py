"""nbgrader's own commands, run in the course folder, grade, report and export exactly as ``course`` does.

One course folder (the root nbgrader_config.py and two sample submissions) is graded once with
``nbgrader autograde``; the tests then compare it with ``course grade``, export it both ways, write the
feedback both ways, and regrade one student with a manual grade in the gradebook. What cannot be made
safe refuses, naming the ``course`` command to use.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_component
from nbgrader.api import Gradebook
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder import cli, config, sandbox, worker
from autograder import nbgrader_apps as course_config
from autograder.batch import grade_batch
from autograder.course import ASSIGNMENT, ROOT, SAMPLE_SUBMISSIONS
from autograder.grading import Course
from autograder.report import feedback_html
from autograder.results import FunctionResult, NotebookResult, Status, SubmissionRecord
from autograder.store import RESULTS_FILE

NBGRADER = Path(sys.executable).with_name("nbgrader")
NB03 = "03_logistic_regression_with_a_neural_network_mindset"
STUDENTS = ("ben", "cy")


def _run(command: list, cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    done.log = f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


def _course_folder(root: Path, students=STUDENTS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for student in students:
        shutil.copytree(SAMPLE_SUBMISSIONS / student, root / "submitted" / student)
    return root


def _require_sandbox() -> None:
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course folder whose submissions `nbgrader autograde` graded (the tests below read it, in order)."""
    _require_sandbox()
    root = _course_folder(tmp_path_factory.mktemp("nbgrader-course"))
    done = _run([NBGRADER, "autograde", ASSIGNMENT], root)
    assert done.returncode == 0, done.log
    assert "with the course's pipeline" in done.stderr, done.log
    return root


def _store(root: Path):
    return Course(root).store()


# -- one pipeline ----------------------------------------------------------------------------------
def test_nbgrader_autograde_gives_what_course_grade_gives(graded, tmp_path):
    store = _store(graded)
    records, scores = store.records(), store.scores()
    assert {s: scores[s]["total"] for s in STUDENTS} == {"ben": 14.0, "cy": 5.0}  # README's figures
    reference = Course(tmp_path / "course-grade")
    grade_batch(reference, SAMPLE_SUBMISSIONS, student="cy", jobs=1, quiet=True)
    expected = reference.store().records()["cy"]
    got = records["cy"]
    assert (got.status, got.reason, got.sandboxed) == (expected.status, expected.reason, True)
    assert got.reason and "was graded as" in got.reason  # the course's intake ran: cy's renamed notebook

    def verdicts(record):
        return {f"{nb}:{f}": (r.passed, r.score, r.message) for nb, data in record.notebooks.items()
                for f, r in data.functions.items()}

    assert verdicts(got) == verdicts(expected)
    assert reference.store().scores()["cy"]["cells"] == scores["cy"]["cells"]
    for student in STUDENTS:  # the graded folder, with the readable copy of the record, as `course grade` leaves it
        folder = graded / "autograded" / student / ASSIGNMENT
        assert (folder / RESULTS_FILE).exists() and (folder / f"{NB03}.ipynb").exists()


def test_without_force_nbgrader_skips_what_is_graded_and_says_so(graded):
    done = _run([NBGRADER, "autograde", ASSIGNMENT, "--student", "cy"], graded)
    assert done.returncode == 0, done.log
    assert "Skipping cy: already graded (use --force" in done.stderr


# -- export ----------------------------------------------------------------------------------------
def test_nbgrader_export_writes_the_same_file_as_course_export(graded):
    assert cli.main(["export", "--course", str(graded), "--output", str(graded / "course.csv")]) == 0
    default = _run([NBGRADER, "export"], graded)  # no --to: the course's grades.csv, not nbgrader's own CSV
    named = _run([NBGRADER, "export", "--exporter=autograder.exporter.GradesCsvExporter", "--to", "named.csv",
                  "--student", "['cy']"], graded)
    assert default.returncode == 0 and named.returncode == 0, default.log + named.log
    assert (graded / "grades.csv").read_bytes() == (graded / "course.csv").read_bytes()
    rows = list(csv.DictReader((graded / "grades.csv").open()))
    assert [r["student"] for r in rows] == list(STUDENTS) and "03:propagate" in rows[0]  # points per function
    assert rows[1]["status"] == "graded with problems" and rows[1]["reason"]
    only = list(csv.DictReader((graded / "named.csv").open()))
    assert only == [rows[1]]


# -- feedback --------------------------------------------------------------------------------------
def test_course_and_nbgrader_feedback_keep_each_others_pages(graded):
    assert cli.main(["feedback", "--course", str(graded)]) == 0
    page = graded / "feedback" / "cy" / ASSIGNMENT / "feedback.html"
    before = page.read_bytes()
    done = _run([NBGRADER, "generate_feedback", ASSIGNMENT, "--force"], graded)
    assert done.returncode == 0, done.log
    assert page.read_bytes() == before  # written again from the same store, never lost
    folder = page.parent
    assert (folder / f"{NB03}.html").exists(), sorted(p.name for p in folder.iterdir())
    assert "Autograder: 1 / 1. passed" in (folder / f"{NB03}.html").read_text()  # the verdicts, under the answers
    assert not (folder / RESULTS_FILE).exists(), "the grader's record was copied to the students' feedback"
    assert cli.main(["feedback", "--course", str(graded)]) == 0
    assert (folder / f"{NB03}.html").exists(), "course feedback removed nbgrader's page"


# -- manual grades ---------------------------------------------------------------------------------
def test_a_manual_grade_survives_an_nbgrader_regrade_and_counts_everywhere(graded):
    db_url = f"sqlite:///{graded / 'gradebook.db'}"
    with Gradebook(db_url) as gb:  # what formgrader's score and comment boxes write
        gb.find_grade("test_model", NB03, ASSIGNMENT, "cy").manual_score = 1.5
        gb.find_comment("model", NB03, ASSIGNMENT, "cy").manual_comment = "Nearly: see the learning rate."
        gb.db.commit()
    done = _run([NBGRADER, "autograde", ASSIGNMENT, "--student", "cy", "--force"], graded)
    assert done.returncode == 0, done.log
    scores = _store(graded).scores()["cy"]
    assert scores["total"] == 6.5 and scores["manual"] == {"03:model": 1.5}
    feedback = _run([NBGRADER, "generate_feedback", ASSIGNMENT, "--student", "cy", "--force"], graded)
    assert feedback.returncode == 0, feedback.log
    page = (graded / "feedback" / "cy" / ASSIGNMENT / "feedback.html").read_text()
    assert "<b>6.5 / 25</b>" in page and "1.5 / 2 (manual grade)" in page
    assert "Nearly: see the learning rate." in page
    assert _run([NBGRADER, "export", "--to", "after.csv"], graded).returncode == 0
    row = next(r for r in csv.DictReader((graded / "after.csv").open()) if r["student"] == "cy")
    assert (row["03:model"], row["total"]) == ("1.5", "6.5")


def test_the_feedback_page_marks_manual_grades_even_when_they_equal_the_autograder():
    passed = FunctionResult(passed=True, message="passed", points=3.0, score=3.0, in_kernel="passed", verified=True)
    record = SubmissionRecord("ada", ASSIGNMENT, Status.GRADED, "", "v1", 1.0, True,
                              notebooks={NB03: NotebookResult(functions={"propagate": passed})})
    page = feedback_html(record, {"total": 3.0, "max": 25.0, "cells": {"03:propagate": 3.0},
                                  "manual": {"03:propagate": 3.0}, "comments": {"03:propagate": "<b>good</b>"}})
    assert "3 / 3 (manual grade)" in page and "1 of these grades was set by your instructor" in page
    assert "&lt;b&gt;good&lt;/b&gt;" in page  # the instructor's comment, escaped


# -- refusals --------------------------------------------------------------------------------------
def _converter(tmp_path: Path, settings: Config | None = None, **coursedir) -> course_config.CourseAutograde:
    config = Config()
    course_config.configure(config, tmp_path)
    config.merge(settings or Config())
    for key, value in {"assignment_id": ASSIGNMENT, **coursedir}.items():
        setattr(config.CourseDirectory, key, value)
    return course_config.CourseAutograde(coursedir=CourseDirectory(config=config), config=config)


@pytest.mark.parametrize("case, words", [
    ("no-execute", "without --no-execute"),
    ("one notebook", "without --notebook"),
    ("other assignment", "one assignment"),
    ("unsandboxed", "--unsandboxed"),
    ("no sandbox", "--unsandboxed"),
])
def test_what_cannot_be_made_safe_refuses_naming_the_course_command(tmp_path, monkeypatch, case, words):
    _course_folder(tmp_path, students=("cy",))
    settings, coursedir = Config(), {}
    if case == "no-execute":
        settings.Execute.enabled = False  # what --no-execute sets
    elif case == "one notebook":
        coursedir["notebook_id"] = "01*"
    elif case == "other assignment":
        coursedir["assignment_id"] = "ps1"
    elif case == "unsandboxed":
        settings.SandboxedExecute.sandboxed = False
    else:
        monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap (bwrap) is not installed")
    converter = _converter(tmp_path, settings, **coursedir)
    with pytest.raises(NbGraderException, match="course" if case != "other assignment" else ASSIGNMENT) as refused:
        converter.start()
    assert words in str(refused.value)
    assert not (tmp_path / "autograded").exists()


def test_nbgrader_validate_refuses_in_the_course_folder(tmp_path):
    """The CLI and the notebook toolbar's button make nbgrader's Validator by name: the course's refuses."""
    import nbgrader.apps.validateapp
    import nbgrader.server_extensions.validate_assignment.handlers as toolbar

    course_config.configure(Config(), tmp_path)
    assert nbgrader.apps.validateapp.Validator is toolbar.Validator is course_config.CourseValidator
    notebook = SAMPLE_SUBMISSIONS / "ben" / ASSIGNMENT / "01_numpy_and_vectorization.ipynb"
    with pytest.raises(RuntimeError, match="course check NOTEBOOK"):
        course_config.CourseValidator().validate(str(notebook))


def test_without_the_course_grader_nbgrader_refuses_instead_of_grading(tmp_path):
    """nbgrader started where the autograder package cannot be loaded must not grade with plain nbgrader."""
    _course_folder(tmp_path, students=("cy",))
    broken = tmp_path / "shadow" / "autograder"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('the grader is not installed here')\n")
    env = {"PYTHONPATH": str(broken.parent)}
    done = _run([NBGRADER, "autograde", ASSIGNMENT], tmp_path, env=env)
    assert done.returncode != 0 and "the grader is not installed here" in done.stderr, done.log
    assert ".venv/bin/course grade" in done.stderr
    assert not (tmp_path / "autograded").exists() and not (tmp_path / "gradebook.db").exists()


# -- the checksum warning --------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["nbgrader's commands", "a grading process"])
def test_the_checksum_warning_of_hidden_test_cells_is_silenced_and_only_it(where):
    assert "test_sigmoid" in config.hidden_test_cells()
    if where == "a grading process":  # nbgrader's preprocessors, made in code, log through traitlets' logger
        log = logging.getLogger("traitlets")
        for installed in [f for f in log.filters if isinstance(f, config.HiddenTestChecksums)]:
            log.removeFilter(installed)
        worker.quiet_logging()
    else:
        log = logging.getLogger("course-test-checksums")
        config.silence_hidden_test_checksums(log)
    message = "Attribute '%s' for cell %s has changed! (should be: %s, got: %s)"  # nbgrader's OverwriteCells

    def shown(*args) -> bool:
        return bool(log.filter(log.makeRecord(log.name, logging.WARNING, __file__, 0, message, args, None)))

    assert not shown("checksum", "test_sigmoid", "abc", "def")
    assert shown("checksum", "sigmoid", "abc", "def")  # a solution cell: not a hidden test
    assert shown("points", "test_sigmoid", 1.0, 5.0)  # another attribute: still reported
