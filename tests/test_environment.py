"""Two environments from one source: pyproject.toml's lists, and the two conda files that must say the same.

The student environment is pyproject.toml's dependencies (the extra ``student`` names it) and
environment-student.yml; the instructor environment adds the extras ``instructor``, ``postgres``,
``cluster`` and ``dev``, and is environment.yml. Packages and version ranges must agree exactly.
"""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, which the project supports: pip's own copy of the same parser
    from pip._vendor import tomli as tomllib
import yaml  # PyYAML: installed with jupyter (jupyter-events)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from autograder.course import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
INSTRUCTOR_EXTRAS = ("instructor", "postgres", "cluster", "dev")


def _pip(requirements: list[str]) -> dict[str, SpecifierSet]:
    """name -> version range of pip requirements, the project's own extras expanded."""
    wanted: dict[str, SpecifierSet] = {}
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):  # an extra that includes other extras
            for extra in requirement.extras:
                wanted.update(_pip(PROJECT["optional-dependencies"][extra]))
        else:
            wanted[name] = requirement.specifier
    return wanted


def _environment(extras: tuple[str, ...]) -> dict[str, SpecifierSet]:
    wanted = _pip(PROJECT["dependencies"])
    for extra in extras:
        wanted.update(_pip(PROJECT["optional-dependencies"][extra]))
    wanted["python"] = SpecifierSet(PROJECT["requires-python"])
    return wanted


def _conda(file_name: str) -> dict[str, SpecifierSet]:
    """name -> version range of a conda environment file (its specs are written as pip's)."""
    conda = yaml.safe_load((ROOT / file_name).read_text())
    assert all(isinstance(d, str) for d in conda["dependencies"]), f"{file_name}: no pip section, please"
    listed = {}
    for spec in conda["dependencies"]:
        requirement = Requirement(spec)
        listed[canonicalize_name(requirement.name)] = requirement.specifier
    return listed


def _differences(conda: dict, pip: dict) -> str:
    return "; ".join(f"{name}: conda {str(conda.get(name, 'missing'))!r}, pip {str(pip.get(name, 'missing'))!r}"
                     for name in sorted(set(conda) | set(pip)) if conda.get(name) != pip.get(name))


def test_the_student_environment_files_agree():
    pip, conda = _environment(("student",)), _conda("environment-student.yml")
    assert conda == pip, _differences(conda, pip)


def test_the_instructor_environment_files_agree():
    pip, conda = _environment(INSTRUCTOR_EXTRAS), _conda("environment.yml")
    assert conda == pip, _differences(conda, pip)


def test_every_extra_is_in_one_environment():
    covered = {"student", *INSTRUCTOR_EXTRAS}
    assert set(PROJECT["optional-dependencies"]) == covered, "a new extra belongs in one of the two environments"


def test_the_student_environment_is_what_the_notebooks_need_and_no_more():
    student = _environment(("student",))
    assert {"numpy", "matplotlib", "h5py", "pillow", "jupyterlab"} <= set(student)
    assert not {"nbgrader", "notebook", "psycopg", "dask"} & set(student), "instructor packages for students"


def test_the_instructor_environment_adds_to_the_students_with_the_same_ranges():
    student, instructor = _environment(("student",)), _environment(INSTRUCTOR_EXTRAS)
    assert {name: instructor.get(name) for name in student} == student
    assert "nbgrader" in instructor


def test_the_environment_files_are_portable():
    for name in ("environment.yml", "environment-student.yml"):
        text = (ROOT / name).read_text()
        assert "prefix:" not in text, f"{name} must not pin a machine-specific prefix"
        assert "conda-forge" in text
