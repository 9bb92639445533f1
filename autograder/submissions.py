"""Build submissions the way a learner would: the student notebook with its exercise cells filled in.

Used for the bundled sample submissions, the tests, the mistake catalog and the benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .course import ASSIGNMENT, NOTEBOOK_NAMES, NOTEBOOKS
from .reference import reference_code


def student_notebook(notebook: str) -> nbformat.NotebookNode:
    """The released (student) version of ``notebook``."""
    return nbformat.read(NOTEBOOKS / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)


def filled(notebook: str, answers: dict[str, str] | None = None, solve_all: bool = True) -> nbformat.NotebookNode:
    """The student notebook with exercise cells replaced.

    ``answers`` maps a function name to the source a learner wrote for its cell. Other exercises get the
    reference solution when ``solve_all`` is true, and stay untouched (``raise NotImplementedError()``)
    otherwise.
    """
    nb = student_notebook(notebook)
    answers = answers or {}
    reference = reference_code(notebook).functions
    for cell in nb.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        if name in answers:
            cell.source = answers[name]
        elif solve_all and name in reference:
            cell.source = reference[name]
    return nb


def edited_reference(notebook: str, name: str, old: str, new: str) -> str:
    """The reference source of ``name`` with ``old`` replaced by ``new``: a learner's typical slip."""
    source = reference_code(notebook).functions[name]
    if old not in source:
        raise ValueError(f"the reference of {name} no longer contains {old!r}: update the caller")
    return source.replace(old, new)


def write_submission(folder: Path, student: str, notebooks: dict[str, nbformat.NotebookNode | bytes]) -> Path:
    """Write ``folder/<student>/<assignment>/<name>.ipynb`` for each notebook (bytes are written as they are)."""
    target = folder / student / ASSIGNMENT
    target.mkdir(parents=True, exist_ok=True)
    for name, content in notebooks.items():
        path = target / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)
    return target


def complete(student: str, folder: Path) -> Path:
    """A submission with every exercise of every notebook solved."""
    return write_submission(folder, student, {name: filled(name) for name in NOTEBOOK_NAMES})
