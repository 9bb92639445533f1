"""The instructor's path in a real browser: formgrader in Debian's chromium, driven by Playwright.

In a temporary copy of a course (the root nbgrader_config.py, ben's sample submission, a gradebook that
knows the assignment), JupyterLab's server runs with nbgrader's formgrader. The instructor autogrades
ben with formgrader's button: the course's pipeline grades him (14/25, as `course grade` does). The
submission view shows each function's points and the reason of each failure. A manual grade and a
comment entered there count on the course's feedback page, which formgrader's feedback button writes
beside nbgrader's own, and in the export, the same file from `nbgrader export` and `course export`.
Screenshots of each step go to tests/artifacts/browser/.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium_page, jupyter_server, open_formgrader, require_browser, screenshot, stub_mathjax
from conftest import require_component

from autograder import cli, sandbox
from autograder.course import ASSIGNMENT, ROOT, SAMPLE_SUBMISSIONS
from autograder.course import tests_version as current_tests_version
from autograder.grading import Course, assignment_gradebook

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
STUDENT = "ben"  # 14/25: three functions of notebook 03 fail, each for its own reason
AUTOGRADE_MS = 300_000  # formgrader's button waits for the whole grading, on a busy two-core machine
STEP_MS = 30_000
EXPECTED_03 = {"test_sigmoid": "1", "test_initialize_with_zeros": "1", "test_propagate": "3", "test_optimize": "0",
               "test_predict": "0", "test_model": "0"}  # ben's points per function in notebook 03
MANUAL, COMMENT = "1.5", "Nearly there: model() only needs to call optimize and predict."


@pytest.fixture
def course(tmp_path) -> Path:
    """A course folder as an instructor has it after collecting: config, submissions, a gradebook."""
    root = tmp_path / "course"
    shutil.copytree(SAMPLE_SUBMISSIONS / STUDENT, root / "submitted" / STUDENT)
    (root / "exchange").mkdir()
    config = (ROOT / "nbgrader_config.py").read_text()
    # a setting of the instructor's own, below the course's: the exchange of this throwaway course
    (root / "nbgrader_config.py").write_text(f"{config}\nc.Exchange.root = {str(root / 'exchange')!r}\n")
    shutil.copy(assignment_gradebook(), root / "gradebook.db")  # the assignment registered (nbgrader's generate)
    store = Course(root).store()
    store.prepare()
    store.set_registered_tests_version(current_tests_version())
    store.close()
    return root


def _cell(page, grade_id: str):
    """The whole notebook cell (input, score box and outputs) of the graded cell ``grade_id``."""
    return page.locator("div.cell", has=page.locator(f"input.score#{grade_id}")).last


def test_formgrader_grades_with_the_course_shows_why_and_counts_a_manual_grade(course):
    require_browser()
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    from playwright.sync_api import expect

    with jupyter_server(course) as server, chromium_page() as page:
        try:
            stub_mathjax(page)
            # 1. Manage Submissions: ben's submission waits for autograding; the flash button grades it.
            open_formgrader(page, server, f"manage_submissions/{ASSIGNMENT}")
            row = page.locator("tr", has_text=STUDENT)
            expect(row).to_contain_text("needs autograding", timeout=STEP_MS)
            screenshot(page, "instructor-01-needs-autograding")
            row.locator(".autograde a").click()
            modal = page.locator(".modal-dialog")
            expect(modal).to_contain_text("Successfully autograded", timeout=AUTOGRADE_MS)
            page.locator(".modal.in").wait_for()
            page.wait_for_timeout(500)  # the end of its fade-in, for the screenshot
            expect(modal).to_contain_text(f"{STUDENT}: graded, 14 / 25")  # the course's log, in formgrader
            screenshot(page, "instructor-02-autograded")
            modal.locator(".modal-footer button").first.click()
            expect(row).to_contain_text("14 / 25", timeout=STEP_MS)

            # 2. The submission view of notebook 03: points per function, and each failure's reason.
            open_formgrader(page, server, f"manage_students/{STUDENT}/{ASSIGNMENT}")
            page.locator("a", has_text=NB03).click()
            page.wait_for_function("(document.querySelector('input.score#test_model')?.placeholder ?? '') !== ''",
                                   timeout=STEP_MS)
            points = dict(page.locator("input.score").evaluate_all("xs => xs.map(x => [x.id, x.placeholder])"))
            assert points == EXPECTED_03
            record = Course(course).store().records()[STUDENT].notebooks[NB03].functions
            failed = {name: result.message for name, result in record.items() if not result.passed}
            assert set(failed) == {"optimize", "predict", "model"}
            verdicts = dict(page.locator("textarea.comment").evaluate_all(
                "xs => xs.map(x => [x.id.replace(/-comment$/, ''), x.placeholder])"))
            for name, result in record.items():  # under each answer: the grader's points and reason
                assert verdicts[name] == f"Autograder: {result.score:g} / {result.points:g}. {result.message}"
            expect(_cell(page, "test_model")).to_contain_text("model is not written yet")  # the test's own output
            page.locator("textarea#optimize-comment").scroll_into_view_if_needed()
            screenshot(page, "instructor-03-points-and-reasons")

            # 3. A manual grade and a comment for model, as an instructor types them.
            score = page.locator("input.score#test_model")
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.request.method == "PUT"):
                score.fill(MANUAL)
                score.press("Tab")
            comment = page.locator("textarea#model-comment")
            with page.expect_response(lambda r: "/api/comment/" in r.url and r.request.method == "PUT"):
                comment.fill(COMMENT)
                comment.press("Tab")
            _cell(page, "test_model").scroll_into_view_if_needed()
            screenshot(page, "instructor-04-manual-grade")

            # 4. Formgrader's feedback button: nbgrader's pages and the course's, with the manual grade counted.
            open_formgrader(page, server, f"manage_submissions/{ASSIGNMENT}")
            expect(row).to_contain_text("15.5 / 25", timeout=STEP_MS)
            row.locator(".generate-feedback a").click()
            expect(modal).to_contain_text("Successfully generated feedback", timeout=AUTOGRADE_MS)
            modal.locator(".modal-footer button").first.click()
            feedback = course / "feedback" / STUDENT / ASSIGNMENT
            assert (feedback / f"{NB03}.html").exists() and not (feedback / "results.json").exists()
            page.goto(f"{server.url}files/feedback/{STUDENT}/{ASSIGNMENT}/feedback.html",
                      referer=f"{server.url}formgrader")  # the server serves files to its own pages only
            body = page.locator("body")
            expect(body).to_contain_text("15.5 / 25")
            expect(body).to_contain_text(f"{MANUAL} / 2 (manual grade)")
            expect(body).to_contain_text(COMMENT)
            expect(body).to_contain_text(failed["optimize"].splitlines()[0])
            screenshot(page, "instructor-05-feedback-page")
        except Exception:
            screenshot(page, "instructor-99-failure")
            print("failed at", page.url)
            print(server.log()[-6000:])
            raise

    # 5. The export: nbgrader's (the course's exporter, by nbgrader_config.py) is course export's file.
    done = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "export"], cwd=course,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert cli.main(["export", "--course", str(course), "--output", str(course / "course.csv")]) == 0
    assert (course / "grades.csv").read_bytes() == (course / "course.csv").read_bytes()
    row = next(csv.DictReader((course / "grades.csv").open()))
    assert (row["student"], row["03:model"], row["total"]) == (STUDENT, MANUAL, "15.5")
