"""Where the course's files live, and the fingerprint of the tests a grade was computed with."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
DATASETS = ROOT / "datasets"
SAMPLE_SUBMISSIONS = ROOT / "examples" / "submissions"

ASSIGNMENT = "logistic_regression"
# notebook name -> its module in autograder/checks/
CHECK_MODULES = {
    "01_numpy_and_vectorization": "numpy_and_vectorization",
    "02_derivatives_and_gradient_descent": "derivatives_and_gradient_descent",
    "03_logistic_regression_with_a_neural_network_mindset": "logistic_regression",
}
NOTEBOOK_NAMES = tuple(CHECK_MODULES)
# A cell tag for solutions/: an ungraded cell after the last graded one (exploration, plots) that grading
# does not run, because it cannot change a score. See preprocessors.SandboxedExecute.
SKIP_WHEN_GRADING = "skip-when-grading"


def solution_notebook(name: str) -> Path:
    """The instructor notebook ``name`` (without ``.ipynb``): the one place its reference solution lives."""
    path = SOLUTIONS / ASSIGNMENT / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no solution notebook {path}; expected one of {', '.join(NOTEBOOK_NAMES)}")
    return path


def tests_version() -> str:
    """A short hash of the source notebooks and the checks: recorded with every grade so it can be traced."""
    digest = hashlib.sha256()
    files = sorted((SOLUTIONS / ASSIGNMENT).glob("*.ipynb")) + sorted((ROOT / "autograder" / "checks").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def private_folder(name: str, mode: int = 0o700) -> Path:
    """A folder of the grader's under the system's temporary folder, created with ``mode`` if missing.

    ``course-cache`` (0700) holds cached gradebooks; ``course-kernels`` (0711: enterable, not listable)
    holds each grading kernel's scratch folder, so no kernel can find another's.
    """
    import tempfile

    path = Path(tempfile.gettempdir()) / name
    path.mkdir(mode=mode, exist_ok=True)
    path.chmod(mode)
    return path


MARKER = ".course-grader"  # in every temporary folder of the grader's: whose it is (process id and start time)


def _process_start(pid: int) -> str | None:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def temporary_folder(prefix: str, parent: Path | None = None) -> Path:
    """A new temporary folder of the grader's, marked as this process's so a later run can clean it up."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    (folder / MARKER).write_text(f"{os.getpid()} {_process_start(os.getpid())}")
    return folder


def sweep_temporary() -> list[Path]:
    """Remove the temporary folders that graders killed earlier left behind; return them.

    Only folders holding the grader's marker whose process is gone are removed: never anything else,
    and never a folder of a grader that is still running.
    """
    import shutil
    import tempfile

    removed = []
    top = Path(tempfile.gettempdir())
    for folder in [*top.glob("course-*"), *top.glob("course-kernels/*")]:
        try:
            pid, start = (folder / MARKER).read_text().split()
        except (OSError, ValueError):
            continue
        if not pid.isdigit() or _process_start(int(pid)) == start:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        for sibling in (folder.with_name(f"{folder.name}-run"), folder.with_name(f"{folder.name}-spec")):
            shutil.rmtree(sibling, ignore_errors=True)
        removed.append(folder)
    return removed


def put_tools_on_path() -> None:
    """Make the virtual environment's commands findable (nbgrader runs ``alembic`` to create a gradebook)."""
    import sys

    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")
