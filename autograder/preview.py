"""An executed reading copy of the course, for instructors: every solution notebook, run, as a web page.

    python -m autograder.preview OUT_DIR

The notebooks in ``solutions/`` are committed without outputs, so reading them shows no figures and no
printed results. :func:`write_previews` runs each solution notebook from top to bottom in a fresh
kernel, as "Restart & Run All" would, and writes ``OUT_DIR/<notebook>.html``: the text, the code of the
reference solution, every printed result and every figure, in one file that opens in any browser.
Beside each page it keeps the executed notebook, ``OUT_DIR/<notebook>.ipynb``, which opens in Jupyter
with its outputs (the tests read it too).

The kernel runs in ``solutions/logistic_regression`` (so ``lr_utils`` imports as in a learner's
notebook), with ``CATVNONCAT_DIR`` removed from its environment: the pages always show the course's own
dataset, whatever the instructor's shell has set. Hidden tests run as well, so each test cell shows
that the reference solution passes them.

Every figure is checked as it is drawn (see :func:`figure_problems`): an empty set of axes, a plot
without axis labels, a figure without a title or with a curve legend missing, or text too small to read
adds a line starting with ``figure problem:`` to the cell's error stream, on the page. :func:`problems`
lists those lines, errors and warnings of an executed notebook; ``main`` prints them and exits with
status 1 when there is any.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .course import ASSIGNMENT, NOTEBOOK_NAMES, SOLUTIONS, solution_notebook

# Title and label sizes below these (in points) are reported: a figure is shrunk to the page's width.
MIN_TITLE_POINTS = 11
MIN_LABEL_POINTS = 10
PROBLEM_PREFIX = "figure problem:"
# Run by the kernel before the first cell: check each figure as the notebook's backend draws it.
_KERNEL_SETUP = "import autograder.preview as _preview; _preview.install_figure_check(); del _preview"


def figure_problems(fig) -> list[str]:
    """What makes the matplotlib figure ``fig`` hard to read, in words (an empty list when nothing does).

    Every visible set of axes must draw something; a plot (axes with their axis shown) needs a label on
    both axes; the figure needs a title (of the figure or of one of its axes); two or more labelled curves
    need a legend; titles must be at least MIN_TITLE_POINTS and axis labels MIN_LABEL_POINTS tall.
    """
    found = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    if not axes:
        return ["the figure has no axes: nothing is drawn"]
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if not suptitle and not any(ax.get_title(loc) for ax in axes for loc in ("center", "left", "right")):
        found.append("the figure has no title")
    if suptitle and fig._suptitle.get_fontsize() < MIN_TITLE_POINTS:
        found.append(f"the figure's title {suptitle!r} is {fig._suptitle.get_fontsize():g} pt, "
                        f"under {MIN_TITLE_POINTS} pt")
    for number, ax in enumerate(axes, start=1):
        title = ax.get_title()
        where = f"axes {number} of {len(axes)}" + (f" ({title!r})" if title else "")
        if not ax.has_data():
            found.append(f"{where} is empty: nothing is drawn in it")
            continue
        if ax.axison and not ax.images:
            for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
                if not label.strip():
                    found.append(f"{where} has no {axis}-axis label")
        labelled = [artist for artist in [*ax.get_lines(), *ax.collections]
                    if artist.get_label() and not artist.get_label().startswith("_")]
        if len(labelled) >= 2 and ax.get_legend() is None:
            found.append(f"{where} has {len(labelled)} labelled curves but no legend")
        if title and ax.title.get_fontsize() < MIN_TITLE_POINTS:
            found.append(f"{where}: the title is {ax.title.get_fontsize():g} pt, under {MIN_TITLE_POINTS} pt")
        for text in (ax.xaxis.label, ax.yaxis.label):
            if text.get_text() and text.get_fontsize() < MIN_LABEL_POINTS:
                found.append(f"{where}: the axis label {text.get_text()!r} is {text.get_fontsize():g} pt, "
                                f"under {MIN_LABEL_POINTS} pt")
    return found


def install_figure_check() -> None:
    """In a kernel: write each figure's :func:`figure_problems` to stderr whenever the figure is drawn.

    Whatever backend shows the figure (the inline backend of a notebook included) draws it through
    ``FigureCanvasBase.print_figure``, so the lines land in the output of the cell that made the figure.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    if getattr(FigureCanvasBase.print_figure, "_course_checked", False):
        return
    draw = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        for problem in figure_problems(self.figure):
            print(PROBLEM_PREFIX, problem, file=sys.stderr, flush=True)  # sent now, with this cell's output
        return draw(self, *args, **kwargs)

    print_figure._course_checked = True
    FigureCanvasBase.print_figure = print_figure


def execute(nb, folder: Path, timeout: int = 600):
    """Run every cell of the notebook ``nb`` (an nbformat node) in a fresh kernel whose working folder is
    ``folder``, with figures checked as they are drawn; return the executed notebook.

    The kernel's environment is this process's without ``CATVNONCAT_DIR``. A cell that raises does not
    stop the run: its error is part of the page.
    """
    from nbclient import NotebookClient

    environment = {key: value for key, value in os.environ.items() if key != "CATVNONCAT_DIR"}
    client = NotebookClient(
        nb, timeout=timeout, allow_errors=True,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(folder)}},
        # the kernel's own log only at ERROR: not its warning that a local kernel talks over unencrypted TCP
        extra_arguments=[f"--IPKernelApp.exec_lines={_KERNEL_SETUP}", "--IPKernelApp.log_level=ERROR"],
    )
    return client.execute(env=environment)


def execute_notebook(name: str, timeout: int = 600):
    """The solution notebook ``name`` (without ``.ipynb``), executed in ``solutions/logistic_regression``."""
    import nbformat

    nb = nbformat.read(solution_notebook(name), as_version=4)
    return execute(nb, SOLUTIONS / ASSIGNMENT, timeout)


def render_html(nb, title: str) -> str:
    """The executed notebook ``nb`` as one self-contained HTML page (figures embedded as PNG data)."""
    from nbconvert import HTMLExporter

    quiet = logging.getLogger(f"{__name__}.html")
    quiet.setLevel(logging.ERROR)  # not nbconvert's note, once per page, that figures have no alternative text
    exporter = HTMLExporter(log=quiet)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def write_previews(out_dir: Path) -> list[Path]:
    """Execute each solution notebook and write ``out_dir/<notebook>.html`` (and the executed
    ``<notebook>.ipynb`` beside it); return the paths of the HTML pages, in the course's order."""
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    for name in NOTEBOOK_NAMES:
        nb = execute_notebook(name)
        nbformat.write(nb, out_dir / f"{name}.ipynb")
        page = out_dir / f"{name}.html"
        page.write_text(render_html(nb, name), encoding="utf-8")
        pages.append(page)
    return pages


def problems(nb) -> list[str]:
    """Errors, anything written to stderr (figure problems included) and warnings in an executed notebook."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index} ({cell.get('id', '?')})"
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{where}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found += [f"{where}: {line}" for line in output.text.splitlines() if line.strip()]
            else:
                text = output.get("text", "") if output.output_type == "stream" else \
                    output.get("data", {}).get("text/plain", "")
                found += [f"{where}: {line}" for line in "".join(text).splitlines() if "Warning" in line]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.preview",
                                     description="Write an executed reading copy of each solution notebook, as HTML.")
    parser.add_argument("out_dir", type=Path, help="the folder to write <notebook>.html (and .ipynb) to")
    args = parser.parse_args(argv)
    import nbformat

    status = 0
    for page in write_previews(args.out_dir):
        print(f"wrote {page}")
        for problem in problems(nbformat.read(page.with_suffix(".ipynb"), as_version=4)):
            print(f"  {problem}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
