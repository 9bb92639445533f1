"""Where the course's files live, and the fingerprint of the tests a grade was computed with."""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
DATASETS = ROOT / "datasets"
SAMPLE_SUBMISSIONS = ROOT / "examples" / "submissions"

ASSIGNMENT = "logistic_regression"
NOTEBOOK_NAMES = (
    "01_numpy_and_vectorization",
    "02_derivatives_and_gradient_descent",
    "03_logistic_regression_with_a_neural_network_mindset",
)


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
