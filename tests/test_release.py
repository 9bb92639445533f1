"""Are the committed student notebooks exactly what nbgrader generates from solutions/, and free of answers?"""

import json
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENT, NOTEBOOK_NAMES, NOTEBOOKS
from autograder.grading import register_assignment


def _comparable(path: Path):
    if path.suffix != ".ipynb":
        return path.read_bytes()
    nb = json.loads(path.read_text())
    nb.get("metadata", {}).pop("language_info", None)  # filled in by whoever last ran it, not by nbgrader
    return nb


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    scratch = tmp_path_factory.mktemp("release")
    register_assignment(scratch, f"sqlite:///{scratch}/gradebook.db", release_dir=scratch / "release")
    return scratch / "release" / ASSIGNMENT


def test_committed_student_notebooks_match_a_fresh_release(regenerated):
    committed = NOTEBOOKS / ASSIGNMENT
    names = sorted(p.name for p in regenerated.iterdir())
    assert names == sorted(p.name for p in committed.iterdir()), "run `course release` and commit notebooks/"
    for name in names:
        assert _comparable(committed / name) == _comparable(regenerated / name), \
            f"notebooks/{ASSIGNMENT}/{name} is out of date: run `course release` and commit it"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_student_notebooks_hold_no_solutions_or_hidden_tests(name):
    text = (NOTEBOOKS / ASSIGNMENT / f"{name}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "checks.hidden"):
        assert marker not in text, f"{name}.ipynb contains {marker!r}"
    nb = json.loads(text)
    stubs = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert stubs, "the student notebook should have exercise cells"
    for cell in stubs:
        assert "raise NotImplementedError()" in "".join(cell["source"]), cell["metadata"]["nbgrader"]["grade_id"]
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs must be stripped"


def test_sample_submissions_are_built_from_the_current_notebooks():
    import subprocess
    import sys

    from autograder.course import ROOT

    result = subprocess.run([sys.executable, str(ROOT / "examples" / "make_submissions.py"), "--check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
