"""Write the sample submissions graded by `course demo` (examples/submissions/).

    python examples/make_submissions.py [--check]

Three learners: ``ada`` solved everything; ``ben`` made some typical mistakes and left two exercises
undone; ``cy`` handed in a damaged notebook, an empty one, and notebook 03 under another name with a
cell that ends the kernel half way. ``--check`` exits non-zero when the committed files are out of date.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.course import SAMPLE_SUBMISSIONS
from autograder.submissions import complete, edited_reference, filled, write_submission

NB01, NB02, NB03 = ("01_numpy_and_vectorization", "02_derivatives_and_gradient_descent",
                    "03_logistic_regression_with_a_neural_network_mindset")


def _stub(notebook: str, name: str) -> str:
    """The untouched exercise cell of the student notebook (``raise NotImplementedError()``)."""
    cells = filled(notebook, solve_all=False).cells
    return next(c.source for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)


def write_all(folder: Path) -> None:
    complete("ada", folder)

    ben_02 = filled(NB02, {"numerical_derivative": edited_reference(NB02, "numerical_derivative", "2 * eps", "eps")},
                    solve_all=False)
    plus = edited_reference(NB03, "optimize", "w - learning_rate * dw", "w + learning_rate * dw")
    ben_03 = filled(NB03, {"optimize": plus,
                           "predict": edited_reference(NB03, "predict", "(A > 0.5).astype(float)", "A"),
                           "model": _stub(NB03, "model")})
    write_submission(folder, "ben", {NB01: filled(NB01), NB02: ben_02, NB03: ben_03})

    cy_03 = filled(NB03)
    position = next(i for i, c in enumerate(cy_03.cells) if c.get("id") == "test_propagate") + 1
    ends_kernel = nbformat.v4.new_code_cell("import os\nos._exit(1)  # ends the kernel", id="ends-the-kernel")
    cy_03.cells.insert(position, ends_kernel)
    broken = nbformat.writes(filled(NB01))[:5000].encode()  # cut off: not valid JSON any more
    write_submission(folder, "cy", {NB01: broken, NB02: b"", "03_logistic_regression (1).ipynb": cy_03})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed files are current")
    args = parser.parse_args(argv)
    if not args.check:
        shutil.rmtree(SAMPLE_SUBMISSIONS, ignore_errors=True)
        write_all(SAMPLE_SUBMISSIONS)
        print(f"wrote {SAMPLE_SUBMISSIONS}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        write_all(Path(scratch))
        stale = _differences(Path(scratch), SAMPLE_SUBMISSIONS)
    for path in stale:
        print(f"out of date: {path} (run python examples/make_submissions.py)", file=sys.stderr)
    return 1 if stale else 0


def _differences(a: Path, b: Path) -> list[str]:
    names = sorted({p.relative_to(a) for p in a.rglob("*") if p.is_file()} |
                   {p.relative_to(b) for p in b.rglob("*") if p.is_file()})
    return [str(n) for n in names if not ((a / n).exists() and (b / n).exists() and filecmp.cmp(a / n, b / n, False))]


if __name__ == "__main__":
    sys.exit(main())
