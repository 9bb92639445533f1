"""A catalog of code learners write, graded by the real pipeline in ``tests/test_catalog.py``.

``mistakes.py`` lists plausible wrong answers: each must lose the points of the function it is written
for, and only those. ``variants.py`` lists legitimate other ways to write a function: each must earn full
marks. An entry is plain data: which notebook and function, a short unique name, and the complete
``def`` a learner might put in the exercise cell instead of the reference solution. The notebook's own
imports (``np``, ``math`` in 01, ``copy`` in 03) are available, as in the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMPY = "01_numpy_and_vectorization"
DERIVATIVES = "02_derivatives_and_gradient_descent"
LOGISTIC = "03_logistic_regression_with_a_neural_network_mindset"


@dataclass(frozen=True)
class Entry:
    """One function a learner might write."""

    notebook: str  # the notebook name, without .ipynb (use NUMPY, DERIVATIVES or LOGISTIC)
    function: str  # the graded function the code is for
    name: str  # a short id, unique within its list ("propagate/missing-1-over-m")
    source: str  # the complete def the learner writes in the exercise cell
    expect_hint: str | None = None  # mistakes only: a phrase the grader's message must contain (case-insensitive)

    @property
    def key(self) -> str:
        return f"{self.notebook[:2]}:{self.name}"
