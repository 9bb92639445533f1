"""Does a batch grade to the exact expected scores, whatever the submissions do?

One batch holds the bundled sample submissions and a fixture submission for each failure mode seen on
plain nbgrader; every correct piece of work must keep its points and every submission gets a record.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import report
from autograder.batch import grade_batch
from autograder.course import ASSIGNMENT, NOTEBOOK_NAMES, ROOT, SAMPLE_SUBMISSIONS, SOLUTIONS
from autograder.grading import Course
from autograder.results import CellStatus, Status, SubmissionRecord
from autograder.submissions import edited_reference, filled, student_notebook, write_submission

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
FULL_03 = 11.0


def _with_cell(source: str, after: str, nb=None) -> nbformat.NotebookNode:
    """Notebook 03 solved, with an extra code cell inserted after the cell ``after``."""
    nb = nb or filled(NB03)
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == after) + 1
    nb.cells.insert(index, nbformat.v4.new_code_cell(source, id=f"extra-{index}"))
    return nb


def _answer(name: str, old: str, new: str) -> str:
    return edited_reference(NB03, name, old, new)


def _hostile_submissions(folder: Path, course_root: Path | None = None) -> None:
    only_03 = lambda student, nb: write_submission(folder, student, {NB03: nb})  # noqa: E731
    only_03("correct_03", filled(NB03))
    only_03("wrong_propagate", filled(NB03, {"propagate": _answer("propagate", "/ m\n    db", "\n    db")}))
    only_03("warnings", filled(NB03, {"propagate": _answer(
        "propagate", "    m = X.shape[1]",
        "    m = X.shape[1]\n    import warnings\n    warnings.warn('old API', DeprecationWarning)\n"
        "    np.log(np.zeros(1))  # RuntimeWarning: divide by zero")}))
    only_03("patches_allclose", _with_cell(
        "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda a, b, **k: numpy.ones("
        "numpy.shape(a), bool)\nimport autograder.checks.policy as p\np.compare = lambda *a, **k: None",
        "md-01", filled(NB03, {"propagate": "def propagate(w, b, X, Y):\n    return {'dw': w * 0, 'db': 0.0}, 0.0\n"})))
    only_03("lying_subclass", filled(NB03, {"predict": (
        "class Liar(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n\n"
        "def predict(w, b, X):\n    return np.zeros((1, X.shape[1])).view(Liar)\n")}))
    only_03("hides_errors", _with_cell(
        "ip = get_ipython()\nip.set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
        "import builtins\nbuiltins.AssertionError = type('Nothing', (Exception,), {})", "md-01",
        filled(NB03, {"propagate": _answer("propagate", "/ m\n    db", "\n    db")})))
    only_03("calls_exit", _with_cell("exit()", "test_propagate"))
    only_03("kills_kernel", _with_cell("import os\nos._exit(0)", "test_propagate"))
    only_03("endless_loop", _with_cell(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", "test_optimize"))
    only_03("memory_hog", _with_cell("hog = bytearray(8 * 1024**3)", "test_predict"))
    only_03("reads_solutions", _with_cell(
        f"stolen = open({str(SOLUTIONS / ASSIGNMENT / (NB03 + '.ipynb'))!r}).read()", "md-01"))
    only_03("reads_gradebook", _with_cell(
        f"print(open({str((course_root or ROOT) / 'gradebook.db')!r}, 'rb').read(100))", "md-01"))
    only_03("writes_gradebook", _with_cell(
        f"open({str(ROOT / 'gradebook.db')!r}, 'a').write('x')", "md-01"))
    only_03("background_process", _with_cell(
        "import subprocess\nsubprocess.Popen(['sleep', '60'])", "md-01"))
    flags = filled(NB03)
    for cell in flags.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_propagate":
            meta["grade"] = False
        if meta.get("grade_id") == "test_sigmoid":
            meta["points"] = "many"  # not a number: restored, never a crash that zeroes the notebook
        if meta.get("grade_id") == "test_predict":
            meta["grade_id"] = "renamed"
            cell.source = "print('all good')"
    only_03("edited_test_cells", flags)
    dup = filled(NB03)
    dup.cells += [nbformat.v4.new_code_cell(c.source, id=f"dup-{i}", metadata=dict(c.metadata))
                  for i, c in enumerate(dup.cells) if c.get("id") in ("sigmoid", "test_sigmoid")]
    only_03("duplicated_cells", dup)
    moved = filled(NB03)
    for cell in moved.cells:
        if cell.get("id") in ("code-36", "code-40"):
            cell.source = f"print('exploration {cell.id} ran')"
    test_model = next(c for c in moved.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_model")
    moved.cells.remove(test_model)
    moved.cells.insert(next(i for i, c in enumerate(moved.cells) if c.get("id") == "code-38"), test_model)
    only_03("moved_test_cell", moved)
    write_submission(folder, "untouched", {name: student_notebook(name) for name in NOTEBOOK_NAMES})
    write_submission(folder, "bad_json", {NB03: b"{not json"})
    write_submission(folder, "empty_file", {NB03: b""})


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    course = Course(tmp_path_factory.mktemp("course"))
    shutil.copytree(SAMPLE_SUBMISSIONS, folder, dirs_exist_ok=True)
    _hostile_submissions(folder, course.root)
    outcomes = grade_batch(course, folder, jobs=2, timeout=300, cell_timeout=40, memory_mb=2048, quiet=True)
    records = course.store().records()
    scores = course.store().scores()
    return course, {o.student: o for o in outcomes}, records, scores


def _functions(records, student):
    return dict(records[student].notebooks[NB03].functions)


def test_sample_submissions_get_their_exact_scores(batch):
    _, _, _, scores = batch
    assert {s: scores[s]["total"] for s in ("ada", "ben", "cy")} == {"ada": 25.0, "ben": 14.0, "cy": 5.0}


def test_untouched_student_notebooks_score_zero_without_breaking_the_grader(batch):
    _, _, records, scores = batch
    assert scores["untouched"]["total"] == 0
    assert set(records["untouched"].notebooks) == set(NOTEBOOK_NAMES)


def test_every_submission_has_a_recorded_result_and_reason(batch):
    _, outcomes, records, scores = batch
    assert set(records) == set(outcomes) == set(scores)
    for student in ("cy", "kills_kernel", "endless_loop", "bad_json", "empty_file"):
        assert records[student].reason, student
        assert records[student].tests_version


@pytest.mark.parametrize("student", ["wrong_propagate", "hides_errors"])
def test_a_wrong_propagate_costs_only_the_propagate_points(batch, student):
    _, _, records, scores = batch
    assert scores[student]["total"] == FULL_03 - 3
    assert [f for f, r in _functions(records, student).items() if not r.passed] == ["propagate"]


def test_warnings_are_not_failures(batch):
    _, _, _, scores = batch
    assert scores["warnings"]["total"] == FULL_03


@pytest.mark.parametrize("student", ["patches_allclose", "lying_subclass"])
def test_cheats_gain_no_points(batch, student):
    _, _, records, scores = batch
    assert scores[student]["total"] < FULL_03
    cheated = "propagate" if student == "patches_allclose" else "predict"
    assert not _functions(records, student)[cheated].passed


def test_patched_comparisons_are_reported_as_tampering(batch):
    _, _, records, _ = batch
    assert records["patches_allclose"].status is Status.TAMPERING
    assert records["ada"].status is Status.GRADED
    assert records["correct_03"].status is not Status.TAMPERING


@pytest.mark.parametrize("student", ["kills_kernel", "calls_exit"])
def test_a_dead_kernel_keeps_what_ran_and_zeroes_the_rest(batch, student):
    _, _, records, scores = batch
    functions = _functions(records, student)
    assert [f for f, r in functions.items() if r.passed] == ["sigmoid", "initialize_with_zeros", "propagate"]
    assert scores[student]["total"] == 5
    assert "kernel died" in records[student].reason


def test_an_endless_loop_is_stopped_as_a_timeout(batch):
    _, _, records, scores = batch
    assert scores["endless_loop"]["total"] == 1 + 1 + 3 + 2  # everything up to and including optimize
    assert "ran out of time" in records["endless_loop"].reason


def test_a_memory_hog_fails_alone(batch):
    _, _, records, scores = batch
    assert scores["memory_hog"]["total"] == FULL_03
    cells = records["memory_hog"].notebooks[NB03].cells
    assert any(c.status is CellStatus.OUT_OF_MEMORY for c in cells.values())


@pytest.mark.parametrize("student", ["reads_solutions", "reads_gradebook", "writes_gradebook", "background_process"])
def test_reaching_outside_the_submission_is_refused(batch, student):
    course, _, records, scores = batch
    cells = records[student].notebooks[NB03].cells
    assert any(c.status is CellStatus.ERROR for c in cells.values())
    assert scores[student]["total"] == FULL_03  # the refusal costs nothing else


def test_edited_test_cells_are_restored_and_scored(batch):
    _, _, records, scores = batch
    assert scores["edited_test_cells"]["total"] == FULL_03
    assert records["edited_test_cells"].status is Status.TAMPERING
    assert "cell test_sigmoid: restored its points setting" in records["edited_test_cells"].reason


def _graded_outputs(course, student: str) -> dict[str, str]:
    nb = nbformat.read(course.autograded / student / ASSIGNMENT / f"{NB03}.ipynb", as_version=4)
    return {c.get("id"): "".join(o.get("text", "") + " ".join(o.get("data", {})) for o in c.outputs)
            for c in nb.cells if c.cell_type == "code"}


def test_exploration_after_the_last_test_is_not_run_when_grading(batch):
    course, _, _, scores = batch
    outputs = _graded_outputs(course, "correct_03")
    assert all("[not run when grading]" in outputs[c] for c in ("code-30", "code-32", "code-34", "code-36"))
    moved = _graded_outputs(course, "moved_test_cell")  # test_model moved below code-36: code-36 runs
    assert "exploration code-36 ran" in moved["code-36"] and "[not run when grading]" in moved["code-40"]
    assert scores["correct_03"]["total"] == scores["moved_test_cell"]["total"] == FULL_03


def test_duplicated_cells_do_not_break_grading(batch):
    _, _, _, scores = batch
    assert scores["duplicated_cells"]["total"] == FULL_03


@pytest.mark.parametrize("student", ["bad_json", "empty_file"])
def test_unreadable_notebooks_score_zero_with_a_reason(batch, student):
    _, _, records, scores = batch
    assert scores[student]["total"] == 0
    assert "could not be graded" in records[student].reason


def test_regrading_one_student_replaces_the_result_without_duplicates(batch):
    course, _, _, _ = batch
    folder = course.root / "regrade"
    write_submission(folder, "wrong_propagate", {NB03: filled(NB03)})
    grade_batch(course, folder, student="wrong_propagate", jobs=1, timeout=300, quiet=True)
    scores = course.store().scores()
    assert scores["wrong_propagate"]["total"] == FULL_03
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert len([s for s in gb.find_assignment(ASSIGNMENT).submissions if s.student.id == "wrong_propagate"]) == 1


def test_a_crashed_regrade_keeps_the_earlier_result(batch, monkeypatch):
    from autograder import worker

    course, _, _, _ = batch
    before = course.store().scores()["ada"]
    record_before = course.record_path("ada").read_text()
    monkeypatch.setattr(worker, "serve_command", lambda: [sys.executable, "-c", "exit(3)"])  # dies at once, twice
    outcomes = grade_batch(course, SAMPLE_SUBMISSIONS, student="ada", jobs=1, quiet=True)
    assert outcomes[0].status == "error" and "earlier result is kept" in outcomes[0].reason
    assert "ended unexpectedly" in outcomes[0].reason
    assert course.store().scores()["ada"] == before
    assert course.record_path("ada").read_text() == record_before
    record = course.store().records()["ada"]
    assert record.status is Status.ERROR and "ended unexpectedly" in record.reason
    earlier = SubmissionRecord.from_dict(json.loads(record_before))  # the graded folder's copy, as JSON
    assert record.notebooks == earlier.notebooks  # the earlier result, whole


def test_the_feedback_curve_is_the_learners_model_beside_the_reference(batch):
    _, _, records, _ = batch
    ada, wrong = (records[s].notebooks[NB03].curve for s in ("ada", "wrong_propagate"))
    assert len(ada.reference) == 20 and ada.yours == pytest.approx(ada.reference)
    assert len(wrong.yours) == 20 and wrong.yours != pytest.approx(wrong.reference)  # their propagate
    assert report.curve_png(ada) and report.curve_png(wrong)  # the feedback page draws them
    ben = records["ben"].notebooks[NB03].curve  # ben has not written model yet
    assert ben.yours is None and "NotImplementedError" in ben.problem and report.curve_png(ben) is None


def test_feedback_and_export(batch):
    course, _, records, scores = batch
    pages = report.write_feedback(records, scores, course.feedback)
    ada = (course.feedback / "ada" / ASSIGNMENT / "feedback.html").read_text()
    assert "25 / 25" in ada and "cost curve" in ada and "data:image/png" in ada
    assert "checks.hidden" not in ada and "cases=" not in ada
    assert len(pages) == len(records)
    path = report.export_csv(records, scores, course.root / "grades.csv")
    rows = {row["student"]: row for row in csv.DictReader(path.open())}
    assert rows["ben"]["total"] == "14" and rows["ben"]["03:optimize"] == "0" and rows["ben"]["03:propagate"] == "3"
    assert rows["patches_allclose"]["status"] == "tampering suspected"


def test_check_grades_a_notebook_outside_the_course_folder(tmp_path):
    notebook = tmp_path / "my_work.ipynb"
    nbformat.write(filled(NB03, {"predict": _answer("predict", "(A > 0.5).astype(float)", "A")}), notebook)
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "check", str(notebook)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "FAIL  predict" in result.stdout and "PASS  propagate" in result.stdout
    assert "total: 9/11" in result.stdout


def test_the_seed_of_every_hidden_case_is_recorded_in_the_gradebook(batch):
    """The cases a grade was computed on can be drawn again from the record alone."""
    _, _, records, _ = batch
    seeds = records["ada"].notebooks[NB03].seeds
    assert sorted(seeds) == sorted(records["ada"].notebooks[NB03].functions)
    assert all(isinstance(seed, int) for seed in seeds.values())
