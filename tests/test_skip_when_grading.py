"""Which cells grading leaves out: the instructor's skip-when-grading cells, and only after every graded cell."""

from __future__ import annotations

import json

import nbformat

from autograder.course import SKIP_WHEN_GRADING, solution_notebook
from autograder.preprocessors import cells_to_skip
from autograder.submissions import filled

NB03 = "03_logistic_regression_with_a_neural_network_mindset"


def _tagged_ids(notebook: str) -> set[str]:
    cells = json.loads(solution_notebook(notebook).read_text())["cells"]
    return {c["id"] for c in cells if SKIP_WHEN_GRADING in c["metadata"].get("tags", [])}


def _ids(nb, positions) -> set[str]:
    return {nb.cells[i].id for i in positions}


def test_the_training_and_exploration_of_notebook_03_are_skipped():
    nb = filled(NB03)
    skipped = _ids(nb, cells_to_skip(nb, NB03))
    assert skipped == _tagged_ids(NB03) and len(skipped) == 8
    assert {"code-30", "code-32", "code-36"} <= skipped  # training on the cat pictures, its plot, the rate comparison
    last_test = max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    assert min(cells_to_skip(nb, NB03)) > last_test


def test_a_test_cell_moved_below_tagged_cells_makes_them_run():
    nb = filled(NB03)
    test_model = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_model")
    nb.cells.remove(test_model)
    nb.cells.insert(next(i for i, c in enumerate(nb.cells) if c.id == "code-40"), test_model)
    assert _ids(nb, cells_to_skip(nb, NB03)) == {"code-40", "code-42", "code-44"}


def test_only_the_instructors_tags_count():
    nb = filled(NB03)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if SKIP_WHEN_GRADING in tags:
            tags.remove(SKIP_WHEN_GRADING)  # a learner removing the tags skips the same cells
    mine = nbformat.v4.new_code_cell("print('my own experiment')", id="my-experiment",
                                     metadata={"tags": [SKIP_WHEN_GRADING]})  # and a learner's own tag is ignored
    nb.cells.append(mine)
    assert _ids(nb, cells_to_skip(nb, NB03)) == _tagged_ids(NB03)


def test_notebooks_outside_the_course_skip_nothing():
    assert cells_to_skip(filled(NB03), "my_own_notebook") == set()
