"""``course bundle``: the student bundle holds the notebooks, the loader, the dataset and the visible checks,
and nothing of the grader's: no solutions/, no hidden test, no reference answer. A notebook from the
bundle runs its visible checks there, with the bundle's own checks package and dataset, and no nbgrader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, which the project supports: pip's own copy of the same parser
    from pip._vendor import tomli as tomllib
import yaml
from nbclient import NotebookClient

from autograder import bundle as bundling
from autograder import cli
from autograder.course import ASSIGNMENT, NOTEBOOK_NAMES, ROOT, SOLUTIONS
from autograder.reference import reference_code
from autograder.submissions import edited_reference

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
TEXT = (".py", ".ipynb", ".md", ".toml", ".yml", ".txt", "")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("bundle") / "lr-course-student"
    assert cli.main(["bundle", str(output)]) == 0
    return output


def _texts(bundle: Path) -> dict[str, str]:
    return {str(p.relative_to(bundle)): p.read_text(errors="replace") for p in bundle.rglob("*")
            if p.is_file() and p.suffix in TEXT}


def test_the_bundle_holds_what_a_student_needs(bundle):
    files = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    notebooks = f"notebooks/{ASSIGNMENT}"
    assert {f"{notebooks}/{name}.ipynb" for name in NOTEBOOK_NAMES} | {f"{notebooks}/lr_utils.py"} <= files
    assert {"datasets/train_catvnoncat.h5", "datasets/test_catvnoncat.h5", "datasets/SHA256SUMS"} <= files
    assert {"autograder/checks/__init__.py", "autograder/checks/policy.py", "autograder/serialize.py",
            "pyproject.toml", "environment-student.yml", "README.md"} <= files
    for name in NOTEBOOK_NAMES:  # the release itself, as learners get it
        assert (bundle / notebooks / f"{name}.ipynb").read_bytes() == (ROOT / notebooks / f"{name}.ipynb").read_bytes()
    project = tomllib.loads((bundle / "pyproject.toml").read_text())["project"]
    conda = yaml.safe_load((bundle / "environment-student.yml").read_text())["dependencies"]
    assert project["name"] == "lr-course-student"
    assert not [d for d in project["dependencies"] + conda if d.lower().startswith(("nbgrader", "notebook"))]


def test_the_bundle_holds_no_solutions_hidden_tests_or_reference_answers(bundle):
    paths = [p.relative_to(bundle) for p in bundle.rglob("*")]
    assert not [p for p in paths if "solutions" in p.parts or p.suffix in (".db", ".sqlite")]
    grader = {f"{name}.py" for name in bundling.GRADER_MODULES} | set(bundling.GRADER_MODULES)  # modules, packages
    assert not [p for p in paths if p.parts[0] == "autograder" and p.name in grader], "grader code in the bundle"
    texts = _texts(bundle)
    for path, text in texts.items():
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path} holds {marker}"
        if path.endswith(".ipynb"):
            assert "checks.hidden(" not in text, f"{path} calls a hidden test"
    # Every solution and hidden-test block of the instructor's notebooks: no bundle file holds all its lines.
    blocks = []
    for notebook in sorted((SOLUTIONS / ASSIGNMENT).glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            blocks += re.findall(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", source, re.S)
            blocks += re.findall(r"BEGIN HIDDEN TESTS[^\n]*\n(.*?)\n[^\n]*END HIDDEN TESTS", source, re.S)
    assert len(blocks) >= 30, "the markers of solutions/ changed: update this test"
    checked = 0
    for block in blocks:
        lines = {line.strip() for line in block.splitlines() if len(line.strip()) > 8}
        if len(lines) < 3:  # a formula of a line or two (sigmoid's derivative) the notebook's text states too
            continue
        checked += 1
        holders = [path for path, text in texts.items() if all(line in text for line in lines)]
        assert not holders, f"{holders} hold an instructor's block:\n{block}"
    assert checked >= 5, "too few solution blocks of three lines or more to compare"


def test_course_bundle_never_overwrites_a_folder_that_is_not_a_bundle(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert cli.main(["bundle", str(tmp_path)]) == 2
    assert "not a student bundle" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_a_bundled_notebook_runs_its_visible_checks_in_the_bundle(bundle, monkeypatch):
    """Notebook 03 from the bundle, up to its second test, with a wrong sigmoid: the loader reads the bundle's
    dataset, the bundle's checks judge, and nbgrader and the course's own package are not there."""
    folder = bundle / "notebooks" / ASSIGNMENT
    nb = nbformat.read(folder / f"{NB03}.ipynb", as_version=4)
    answers = dict(reference_code(NB03).functions)  # a copy: the reference itself stays right
    answers["sigmoid"] = edited_reference(NB03, "sigmoid", "np.exp(-z)", "np.exp(z)")  # a sign slip
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    last = ids.index("test_initialize_with_zeros")
    nb.cells = nb.cells[:last + 1]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    nb.cells.insert(0, nbformat.v4.new_code_cell(  # a student environment: no nbgrader, no course grader
        "import sys\nsys.modules['nbgrader'] = None\nsys.modules['autograder.reference'] = None"))
    nb.cells.append(nbformat.v4.new_code_cell("import autograder.checks, lr_utils\n"
                                              "print(autograder.checks.__file__)\nprint(lr_utils.dataset_dir()[0])"))
    for name in ("CATVNONCAT_DIR", "COURSE_DATASETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(bundle))  # what `pip install -e .` in the bundle puts on the path
    monkeypatch.setenv("MPLBACKEND", "agg")
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()

    def output(grade_id: str) -> str:
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert "this is sigmoid(-z)" in output("test_sigmoid"), output("test_sigmoid")
    assert "visible tests passed" in output("test_initialize_with_zeros")
    assert [e.ename for e in errors] == ["CheckFailure"], [f"{e.ename}: {e.evalue}" for e in errors]
    checks_file, datasets = nb.cells[-1].outputs[0].text.split()
    assert Path(checks_file).is_relative_to(bundle) and Path(datasets) == bundle / "datasets"
