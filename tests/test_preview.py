"""The instructors' reading copy: every solution notebook runs cleanly, and every figure in it renders.

One run of ``write_previews`` executes the three solution notebooks (about 20 s); the tests read the
pages and the executed notebooks it writes. Notebook 03's example cells are checked against the checks'
visible examples, and the expected outputs in its text against what those cells print.
"""

from __future__ import annotations

import base64
import io
import json
import re

import matplotlib
import nbformat
import numpy as np
import pytest
from PIL import Image

from autograder.course import NOTEBOOK_NAMES, solution_notebook
from autograder.preview import PROBLEM_PREFIX, figure_problems, problems, write_previews
from autograder.reference import reference_function
from autograder.verify import checks_for

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def previews(tmp_path_factory):
    pages = write_previews(tmp_path_factory.mktemp("preview"))
    return {page.stem: (page, nbformat.read(page.with_suffix(".ipynb"), as_version=4)) for page in pages}


def _pngs(nb) -> list[tuple[str, bytes]]:
    return [(cell.get("id", "?"), base64.b64decode(output["data"]["image/png"]))
            for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def test_a_page_per_notebook_with_its_figures_embedded(previews):
    assert list(previews) == list(NOTEBOOK_NAMES)
    for name, (page, nb) in previews.items():
        html = page.read_text(encoding="utf-8")
        assert html.count('src="data:image/png;base64,') == len(_pngs(nb)) > 0, name
        silent = [c.id for c in nb.cells if c.get("id", "").startswith(("example-", "demo-")) and not c.outputs]
        assert not silent, f"{name}: the example cells {silent} printed nothing"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_figure_is_a_png_with_something_drawn(previews, name):
    _, nb = previews[name]
    for cell_id, png in _pngs(nb):
        assert png.startswith(PNG_SIGNATURE), f"{name} {cell_id}: the image is not a PNG"
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.width >= 100 and image.height >= 100, f"{name} {cell_id}: a {image.size} figure"
        pixels = np.asarray(image.convert("L"), dtype=float)
        assert pixels.std() > 5, f"{name} {cell_id}: the figure is (almost) one flat colour"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_no_output_holds_an_error_a_warning_or_a_figure_problem(previews, name):
    """Errors, stderr (where the figure check writes: no empty axes, labels and titles present) and warnings."""
    _, nb = previews[name]
    assert problems(nb) == [], f"{name}:\n" + "\n".join(problems(nb))


def test_the_figure_check_finds_what_makes_a_figure_hard_to_read():
    fig, axes = plt.subplots(1, 2)
    axes[0].plot([0, 1], [1, 0], label="one")
    axes[0].plot([0, 1], [0, 1], label="two")
    axes[0].set_title("small", fontsize=9)
    found = figure_problems(fig)
    assert any("axes 2 of 2 is empty" in p for p in found)
    assert any("no x-axis label" in p for p in found) and any("no y-axis label" in p for p in found)
    assert any("no legend" in p for p in found) and any("9 pt" in p for p in found)
    axes[1].imshow(np.eye(3))
    axes[1].axis("off")
    axes[0].set(xlabel="x", ylabel="y")
    axes[0].set_title("readable", fontsize=12)
    axes[0].legend()
    assert figure_problems(fig) == []
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="x", ylabel="y")
    assert figure_problems(fig) == ["the figure has no title"]
    plt.close(fig)


def test_figure_problems_reach_the_page(tmp_path):
    """The kernel really checks the figures: a flawed figure puts a line on the page."""
    from autograder.preview import execute

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n%matplotlib inline\n"
                                          "fig, axes = plt.subplots(1, 2)\naxes[0].plot([1, 2])\nplt.show()")]
    found = problems(execute(nb, tmp_path))
    assert any(PROBLEM_PREFIX in p and "is empty" in p for p in found), found


# -- notebook 03: the example cells before each test --------------------------------------------------------
def _cells(name: str) -> list[dict]:
    return json.loads(solution_notebook(name).read_text())["cells"]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype.kind == b.dtype.kind and np.array_equal(a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("function", list(checks_for(NB03).functions))
def test_each_example_cell_builds_the_visible_tests_inputs(function):
    """The example cell after each test calls the learner's function on exactly the visible examples' inputs.

    After, not before: on a first Run All the test's "not written yet" message must be what stops it."""
    cells = _cells(NB03)
    ids = [c["id"] for c in cells]
    example = cells[ids.index(f"example-{function}")]
    assert ids.index(f"test_{function}") + 1 == ids.index(f"example-{function}"), "the example comes after the test"
    calls = []
    reference = reference_function(NB03, function)

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return reference(*args, **kwargs)

    namespace = {"np": np, "sigmoid": reference_function(NB03, "sigmoid"), function: recording}
    exec("".join(example["source"]), namespace)
    visible = checks_for(NB03)[function].visible
    assert len(calls) == len(visible), f"{function}: {len(calls)} calls for {len(visible)} visible examples"
    for (args, kwargs), case in zip(calls, visible, strict=True):
        assert len(args) == len(case.args) and all(_same(a, b) for a, b in zip(args, case.args, strict=True)), \
            f"{function}: the example's inputs differ from the visible test's"
        assert kwargs.keys() == case.kwargs.keys() and all(_same(kwargs[k], case.kwargs[k]) for k in kwargs)


@pytest.mark.parametrize("function", list(checks_for(NB03).functions))
def test_the_expected_output_in_the_text_is_what_the_example_cell_prints(previews, function):
    _, nb = previews[NB03]
    ids = [c.get("id") for c in nb.cells]
    printed = "".join(o.get("text", "") for o in nb.cells[ids.index(f"example-{function}")].outputs
                      if o.get("name") == "stdout")
    exercise = next(c.source for c in reversed(nb.cells[:ids.index(function)])
                    if c.cell_type == "markdown" and "expected" in c.source)
    block = re.search(r"expected[^\n]*\n```\n(.*?)\n```", exercise, re.S)
    assert block, f"no expected output block in the text of {function}"
    for line in block.group(1).splitlines():
        assert line in printed.splitlines(), f"{function}: the text expects {line!r}, the cell printed:\n{printed}"
