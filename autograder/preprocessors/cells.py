"""Small helpers about a notebook's cells, shared by the course's preprocessors."""

from __future__ import annotations

import math

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils


def tested_function(cell: NotebookNode) -> str | None:
    """The graded function a test cell checks: test cells are named ``test_<function>``."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
    return grade_id[len("test_"):] if utils.is_grade(cell) and grade_id.startswith("test_") else None


tested_function.__test__ = False  # its name starts with "test": pytest would collect it where a test imports it


def released_source(source: str) -> str:
    """A test cell's source as learners get it: without the hidden tests, whitespace normalised."""
    lines, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line.rstrip())
    return "\n".join(lines).strip()


def findings(resources: dict) -> dict:
    """What the course's steps have found in this notebook so far, handed from one step to the next in nbgrader's
    ``resources`` of the autograde phase: the hidden cases and their seeds, each cell's run (CellRun), why the
    kernel stopped, each function's FunctionResult and the cost curve. WriteResults writes it out."""
    return resources.setdefault("course_findings", {})


def grading_notes(nb: NotebookNode) -> dict:
    """Notes kept in the notebook's metadata: nbgrader's two phases do not share their resources."""
    return nb.metadata.setdefault("course_grading", {"notes": [], "edited_tests": False})


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def finite_points(value) -> float | None:
    """A cell's points as a finite number, or None when the metadata holds anything else."""
    try:
        points = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return points if math.isfinite(points) else None


def cell_key(cell: NotebookNode, index: int) -> str:
    """How a cell is named in the results: its nbgrader id, else its cell id, else its position."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id") or str(index)
