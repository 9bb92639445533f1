"""Are submissions found in a folder, a zip of folders, and the flat zip an LMS exports?"""

import zipfile

import pytest

from autograder.course import ASSIGNMENT
from autograder.grading import collect, notebook_problem, prepare_submission

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
    with pytest.raises(SystemExit, match="unsafe path"):
        collect(archive, tmp_path / "unpacked")


def test_an_empty_folder_says_what_was_expected(tmp_path):
    (tmp_path / "subs").mkdir()
    with pytest.raises(SystemExit, match="expected <student>"):
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
