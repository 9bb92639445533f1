"""The student bundle (``course bundle``): everything a learner needs, and nothing of the grader's.

    lr-course-student/
      README.md                  how to set up and start
      pyproject.toml             the student package: the visible checks, with the student's dependencies
      environment-student.yml    the same environment for conda
      notebooks/logistic_regression/   the released notebooks and the loader, lr_utils.py
      datasets/                  the cat/non-cat pictures, their checksums and their description
      autograder/                the visible checks (autograder.checks) and what they import, no more
      LICENSE

There is no ``solutions/``, no hidden test and no reference answer in it: the notebooks are nbgrader's
release (``course release``), and the checks are :mod:`autograder.checks` with the modules it imports
at load time, found by reading its imports; a check module that imported a grader module (the
preprocessors, the reference solution, the gradebook) would be refused. Every text file is searched for
nbgrader's solution and hidden-test markers before the bundle is written.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

from .course import ASSIGNMENT, DATASETS, NOTEBOOKS, ROOT

BUNDLE_NAME = "lr-course-student"
DEFAULT_OUTPUT = ROOT / "dist" / BUNDLE_NAME
MARKER = ".course-bundle"  # in every bundle folder: a later `course bundle` may replace it
DATASET_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5", "SHA256SUMS", "README.md", "grid.png",
                 "make_dataset.py")
PACKAGE = ROOT / "autograder"
# The grader's own modules and packages (the first name below autograder/, so a package's every file):
# none may reach the bundle, whatever a check module imports.
GRADER_MODULES = {"cli", "cluster", "config", "database", "exporter", "grading", "intake", "preprocessors", "preview",
                  "reference", "report", "store", "submissions", "verify", "worker", "bundle", "notebook_code",
                  "pipes", "sandbox", "batch", "nbgrader_apps", "results"}
# Text that only the instructor's notebooks hold: nbgrader's markers anywhere, a hidden test's call in a notebook.
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
FORBIDDEN_IN_NOTEBOOKS = ("checks.hidden(",)


class BundleError(Exception):
    """The bundle would hold something of the grader's, or cannot be written where asked."""


def write_bundle(output: Path = DEFAULT_OUTPUT, *, zip_too: bool = False) -> Path:
    """Write the student bundle to the folder ``output`` (replacing an earlier bundle there); return it.

    ``zip_too`` also writes ``<output>.zip``. An existing ``output`` that is not an earlier bundle (or
    an empty folder) is refused, never overwritten.
    """
    output = Path(output).resolve()
    if output.exists() and not (output / MARKER).exists() and any(output.iterdir()):
        raise BundleError(f"{output} exists and is not a student bundle: choose a new or empty folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        _fill(staging)
        _check(staging)
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if zip_too:
        shutil.make_archive(str(output), "zip", root_dir=output.parent, base_dir=output.name)
    return output


def _fill(bundle: Path) -> None:
    (bundle / MARKER).write_text("written by `course bundle`; the whole folder is replaced by the next one\n")
    notebooks = bundle / "notebooks" / ASSIGNMENT
    notebooks.mkdir(parents=True)
    for path in sorted((NOTEBOOKS / ASSIGNMENT).iterdir()):
        if path.is_file() and path.suffix in (".ipynb", ".py"):  # the notebooks and the loader, lr_utils.py
            shutil.copy2(path, notebooks / path.name)
    (bundle / "datasets").mkdir()
    for name in DATASET_FILES:
        shutil.copy2(DATASETS / name, bundle / "datasets" / name)
    for module in sorted(checks_modules()):
        target = bundle / module.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module, target)
    shutil.copy2(ROOT / "LICENSE", bundle / "LICENSE")
    shutil.copy2(ROOT / "environment-student.yml", bundle / "environment-student.yml")
    (bundle / "pyproject.toml").write_text(student_pyproject())
    (bundle / "README.md").write_text(README)


def checks_modules() -> set[Path]:
    """The files of :mod:`autograder.checks` and of every course module they import when loaded.

    Imports inside functions are left out: they run only in the grader (``checks.hidden`` drawing cases
    with the reference solution). A module of the grader's among the rest raises :class:`BundleError`.
    """
    found: set[Path] = set()
    waiting = [PACKAGE / "__init__.py", *sorted((PACKAGE / "checks").glob("*.py"))]
    while waiting:
        path = waiting.pop()
        if path in found:
            continue
        module = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in module.parts if p != "__init__"]
        if parts and parts[0] in GRADER_MODULES:
            raise BundleError(f"the checks import autograder.{'.'.join(parts)}, a module of the grader's: it "
                              f"cannot go to students (import it inside the function that needs it)")
        found.add(path)
        package = parts if path.name == "__init__.py" else parts[:-1]
        for name in _loaded_imports(path, package):
            for depth in range(1, len(name) + 1):  # importing a.b.c loads the packages a and a.b first
                prefix = PACKAGE.joinpath(*name[:depth])
                waiting += [c for c in (prefix / "__init__.py", prefix.with_suffix(".py")) if c.is_file()]
    return found


def _loaded_imports(path: Path, package: list[str]) -> list[list[str]]:
    """The course modules ``path`` imports when it is loaded (module level), as parts below ``autograder``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.Import):
                names.extend(alias.name.split(".")[1:] for alias in node.names
                             if alias.name.split(".")[0] == "autograder")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
                elif node.module and node.module.split(".")[0] == "autograder":
                    base = node.module.split(".")[1:]
                else:
                    continue
                names.append(base)
                names.extend([*base, alias.name] for alias in node.names)  # `from . import serialize`
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)
                visit(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
    visit(tree.body)
    return [name for name in names if name]


def _check(bundle: Path) -> None:
    """Refuse a bundle that holds an instructor's file or marker."""
    for path in bundle.rglob("*"):
        if path.is_dir() and path.name in ("solutions", "autograded", "submitted", "feedback"):
            raise BundleError(f"the bundle would hold {path.relative_to(bundle)}/")
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".yml"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for marker in FORBIDDEN_TEXT + (FORBIDDEN_IN_NOTEBOOKS if path.suffix == ".ipynb" else ()):
                if marker in text:
                    raise BundleError(f"{path.relative_to(bundle)} contains {marker!r}: is notebooks/ the release "
                                      f"of solutions/? Run `course release` first")


def student_pyproject() -> str:
    """The bundle's pyproject.toml: the checks package with the student's dependencies from the course's own."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pip's own copy of the same parser
        from pip._vendor import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies = "".join(f'    "{requirement}",\n' for requirement in project["dependencies"])
    return (
        "# The student bundle of the course, written by `course bundle` from the course's pyproject.toml.\n"
        "# pip install -e .   installs the visible checks (the autograder package here holds nothing else)\n"
        "# and the student's environment: numpy, matplotlib, h5py, Pillow and JupyterLab.\n"
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{BUNDLE_NAME}"\nversion = "{project["version"]}"\n'
        'description = "Logistic Regression with a Neural Network Mindset: the notebooks and their visible checks"\n'
        f'license = "MIT"\nrequires-python = "{project["requires-python"]}"\n'
        f"dependencies = [\n{dependencies}]\n\n"
        '[tool.setuptools.packages.find]\ninclude = ["autograder*"]\n'
    )


README = """# Logistic Regression with a Neural Network Mindset

Three notebooks, from the slope of a line to a cat/non-cat picture classifier written from scratch with numpy.

## Start

With Python 3.10 or newer:

```bash
python3 -m venv .venv
.venv/bin/pip install -e .
.venv/bin/jupyter lab
```

or with conda: `conda env create -f environment-student.yml && conda activate lr-course-student &&
pip install -e . --no-deps && jupyter lab`.

Open `notebooks/logistic_regression/01_numpy_and_vectorization.ipynb` and work through the notebooks in
order. In each exercise cell, replace `raise NotImplementedError()` with your code, then run the test
cell below it: when a test fails, its message says what is wrong. Keep the function names and do not
edit the test cells. When your work is graded, hidden tests with other inputs check each function too.

`datasets/` holds the course's own pictures (see its README); `load_dataset()` in
`notebooks/logistic_regression/lr_utils.py` checks their SHA-256 sums before use.
"""


def describe(bundle: Path) -> str:
    """One line for the operator: where the bundle is and what it holds."""
    files = [p for p in bundle.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    return f"wrote the student bundle {bundle} ({len(files)} files, {size / 2**20:.1f} MiB)"
