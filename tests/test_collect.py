"""Are submissions found in a folder, a zip of folders, and the flat zip an LMS exports?"""

import zipfile

import pytest

from autograder.course import ASSIGNMENT
from autograder.intake import IntakeError, collect, notebook_problem, prepare_submission

NB03 = "03_logistic_regression_with_a_neural_network_mindset.ipynb"


def test_a_folder_of_student_folders(tmp_path):
    (tmp_path / "subs" / "ada" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "subs" / "ben" / ASSIGNMENT).mkdir(parents=True)
    assert sorted(collect(tmp_path / "subs", tmp_path / "unpacked")) == ["ada", "ben"]


def test_a_flat_lms_zip_keeps_each_students_latest_attempt(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"ps_ada_attempt_2026-11-01-10-00-00_{NB03}", "old")
        z.writestr(f"ps_ada_attempt_2026-11-02-10-00-00_{NB03}", "new")
        z.writestr(f"ps_ben_attempt_2026-11-01-09-00-00_{NB03}", "ben")
        z.writestr("readme.txt", "not a submission")
    folders = collect(archive, tmp_path / "unpacked")
    assert sorted(folders) == ["ada", "ben"]
    assert (folders["ada"] / NB03).read_text() == "new"


def test_a_zip_of_student_folders(tmp_path):
    archive = tmp_path / "folders.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"export/ada/{ASSIGNMENT}/{NB03}", "{}")
        z.writestr(f"export/ben/{ASSIGNMENT}/{NB03}", "{}")
    assert sorted(collect(archive, tmp_path / "unpacked")) == ["ada", "ben"]


def test_a_zip_with_an_unsafe_path_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escaped.ipynb", "{}")
    with pytest.raises(IntakeError, match="unsafe path"):
        collect(archive, tmp_path / "unpacked")


def test_an_empty_folder_says_what_was_expected(tmp_path):
    (tmp_path / "subs").mkdir()
    with pytest.raises(IntakeError, match="expected <student>"):
        collect(tmp_path / "subs", tmp_path / "unpacked")


def test_renamed_and_broken_notebooks_are_noted(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "03_logistic_regression (1).ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                             '"nbformat_minor": 5}')
    (source / "01_numpy_and_vectorization.ipynb").write_text("{not json")
    notes = prepare_submission(source, tmp_path / "out")
    assert any("was graded as 03_" in n for n in notes)
    assert any("01_numpy_and_vectorization.ipynb could not be graded" in n for n in notes)
    assert any("02_derivatives_and_gradient_descent.ipynb is missing" in n for n in notes)
    assert (tmp_path / "out" / NB03).exists()


@pytest.mark.parametrize(("content", "words"), [(b"", "empty"), (b"\xff\xfe\x00", "not text"),
                                                (b"{}", "not a valid notebook"), (b"[1, 2", "not valid notebook JSON")])
def test_notebook_problems_are_named(tmp_path, content, words):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    assert words in notebook_problem(path)


def _lms_zip(path, names: dict[str, str]):
    with zipfile.ZipFile(path, "w") as z:
        for name, content in names.items():
            z.writestr(name, content)
    return path


def test_lms_attempts_are_compared_as_dates_not_strings(tmp_path):
    """2024-1-10 is later than 2024-1-9, although "1-9" sorts after "1-10" as text."""
    archive = _lms_zip(tmp_path / "export.zip", {f"ps1_ada_attempt_2024-1-9-10-00-00_{NB03}": "ninth",
                                                  f"ps1_ada_attempt_2024-1-10-10-00-00_{NB03}": "tenth"})
    folders = collect(archive, tmp_path / "unpacked")
    assert (folders["ada"] / NB03).read_text() == "tenth"
    assert (folders["ada"] / "timestamp.txt").read_text() == "2024-01-10 10:00:00"  # for nbgrader's late penalty


def test_a_custom_time_format_is_used(tmp_path):
    archive = _lms_zip(tmp_path / "export.zip", {f"ps1_ada_attempt_20240109T1000_{NB03}": "old",
                                                  f"ps1_ada_attempt_20240110T0900_{NB03}": "new"})
    pattern = r"(?P<prefix>.+?)_attempt_(?P<timestamp>[0-9T]+)_(?P<file_id>.+)"
    folders = collect(archive, tmp_path / "unpacked", pattern, time_format="%Y%m%dT%H%M")
    assert (folders["ada"] / NB03).read_text() == "new"


def test_student_ids_with_underscores_are_kept_whole(tmp_path):
    archive = _lms_zip(tmp_path / "export.zip", {f"ps1_jean_luc_attempt_2024-01-09-10-00-00_{NB03}": "jean-luc",
                                                  f"ps1_luc_attempt_2024-01-09-10-00-00_{NB03}": "luc"})
    folders = collect(archive, tmp_path / "unpacked")
    assert sorted(folders) == ["jean_luc", "luc"]
    assert (folders["jean_luc"] / NB03).read_text() == "jean-luc" and (folders["luc"] / NB03).read_text() == "luc"


def test_a_roster_resolves_ids_and_reports_unknown_ones(tmp_path):
    archive = _lms_zip(tmp_path / "export.zip", {f"lab_1_jean_luc_attempt_2024-01-09-10-00-00_{NB03}": "a",
                                                  f"lab_1_zoe_attempt_2024-01-09-10-00-00_{NB03}": "b"})
    notes: dict = {}
    folders = collect(archive, tmp_path / "unpacked", notes=notes, roster={"jean_luc", "ada"})
    assert sorted(folders) == ["jean_luc", "zoe"]  # an unknown id is graded and reported, never dropped
    assert any("not in the roster" in note for note in notes["zoe"])
    assert "jean_luc" not in notes


def test_a_duplicate_zip_entry_is_reported(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr(f"ada/{ASSIGNMENT}/{NB03}", "first")
        z.writestr(f"ada/{ASSIGNMENT}/{NB03}", "second")
    notes: dict = {}
    folders = collect(archive, tmp_path / "unpacked", notes=notes)
    assert (folders["ada"] / NB03).read_text() == "second"
    assert any("2 times" in note for note in notes["ada"])


def test_a_zip_bomb_member_is_left_out_with_a_reason(tmp_path):
    from autograder import intake

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"ada/{ASSIGNMENT}/{NB03}", b"0" * (intake.MAX_FILE_BYTES + 1))  # compresses to kilobytes
        z.writestr(f"ben/{ASSIGNMENT}/{NB03}", "{}")
    notes: dict = {}
    folders = collect(archive, tmp_path / "unpacked", notes=notes)
    assert sorted(folders) == ["ada", "ben"] and not (folders["ada"] / NB03).exists()
    assert any("larger than" in note for note in notes["ada"])


def test_a_symlinked_student_folder_is_refused(tmp_path):
    from autograder.course import SOLUTIONS

    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "mallory").symlink_to(SOLUTIONS)  # holds logistic_regression/: the reference
    folders = collect(tmp_path / "subs", tmp_path / "unpacked")
    notes = prepare_submission(folders["mallory"], tmp_path / "out")
    assert any("symbolic link" in note for note in notes) and not list((tmp_path / "out").glob("*.ipynb"))


def test_a_member_that_cannot_be_extracted_leaves_the_others_graded(tmp_path):
    archive = _lms_zip(tmp_path / "folders.zip", {f"ann/{ASSIGNMENT}/{NB03}": "ann",
                                                  f"mallory/{ASSIGNMENT}/{'a' * 300}.ipynb": "too long a name"})
    notes: dict = {}
    folders = collect(archive, tmp_path / "unpacked", notes=notes)
    assert (folders["ann"] / NB03).read_text() == "ann"
    assert any("could not be extracted" in note for note in notes["mallory"])


def test_course_grade_on_a_path_that_is_no_submissions_says_so_and_exits_2(tmp_path, capsys):
    from autograder import cli

    code = cli.main(["grade", str(tmp_path / "missing"), "--course", str(tmp_path / "course"), "--quiet"])
    message = capsys.readouterr().err.strip()
    assert code == 2 and "neither a folder nor a zip file" in message and "Traceback" not in message
