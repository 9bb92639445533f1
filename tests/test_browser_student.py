"""The student path in a real browser: JupyterLab in Debian's chromium, driven by Playwright.

A learner opens notebook 03, runs every cell, and execution stops at the first exercise, whose test cell
says the function is not written yet. The learner then types a sigmoid with a sign slip and runs it and
its test: the test cell names that mistake. Screenshots of each step go to tests/artifacts/browser/.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from browser import chromium_page, jupyter_server, require_browser, screenshot

from autograder.course import ASSIGNMENT, DATASETS, NOTEBOOKS

NOTEBOOK = "03_logistic_regression_with_a_neural_network_mindset.ipynb"
SIGMOID_SOURCE = "def sigmoid(z):"
SIGMOID_TEST_SOURCE = 'checks.visible("sigmoid"'
# autograder/checks/__init__.py, _call: what a test cell says while the function still raises NotImplementedError
NOT_WRITTEN = "sigmoid is not written yet"
# autograder/checks/logistic_regression.py, _sigmoid_hint: the hint for 1 / (1 + np.exp(z))
SIGN_SLIP_HINT = "this is sigmoid(-z)"
WRONG_SIGMOID = ["def sigmoid(z):", "    return 1 / (1 + np.exp(z))"]

LOAD_MS = 60_000  # JupyterLab's first load and the kernel's start, on a busy two-core machine
RUN_MS = 60_000  # the cells up to the sigmoid test: imports, the dataset, a picture
STEP_MS = 20_000

# One round trip for what the page shows of every cell. textContent, not innerText: JupyterLab skips the
# rendering of cells out of view (content-visibility), and innerText of those is empty.
CELLS_SCRIPT = """cells => cells.map(cell => ({
    code: cell.classList.contains('jp-CodeCell'),
    prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
    source: cell.querySelector('.jp-InputArea-editor')?.textContent ?? '',
    outputs: cell.querySelectorAll('.jp-OutputArea-output').length,
    output: cell.querySelector('.jp-OutputArea')?.textContent ?? '',
}))"""


SCROLL_SCRIPT = """async cell => {
    const scroller = cell.closest('.jp-WindowedPanel-outer') ?? cell.parentElement;
    const offset = () => cell.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    const frame = () => new Promise(done => requestAnimationFrame(done));
    const start = performance.now();
    let stillSince = null;
    while (performance.now() - start < 15000) {
        if (Math.abs(offset()) >= 2) {
            cell.scrollIntoView({block: 'start'});
            stillSince = null;
        } else if (stillSince === null) {
            stillSince = performance.now();
        } else if (performance.now() - stillSince > 500) {
            return true;
        }
        await frame();
    }
    return false;
}"""


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A learner's copy of the notebooks, with the course's own dataset beside them where lr_utils looks."""
    notebooks = tmp_path / "course" / "notebooks" / ASSIGNMENT
    shutil.copytree(NOTEBOOKS / ASSIGNMENT, notebooks,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    datasets = tmp_path / "course" / "datasets"
    datasets.mkdir()
    for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        shutil.copy2(DATASETS / name, datasets / name)
    return notebooks


def _cells(page) -> list[dict]:
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").evaluate_all(CELLS_SCRIPT)


def _index(cells: list[dict], source: str) -> int:
    found = [i for i, cell in enumerate(cells) if cell["code"] and source in cell["source"]]
    assert len(found) == 1, f"expected one code cell containing {source!r}, found {len(found)}"
    return found[0]


def _scroll_to_top(locator) -> None:
    """Scroll the notebook until the cell of ``locator`` sits at the top of the view.

    Cells out of view have estimated heights (content-visibility), and the formulas of a markdown cell
    are typeset only once it is in view: the cell moves after one scroll. Scroll again until it has
    stayed at the top for half a second.
    """
    settled = locator.evaluate(SCROLL_SCRIPT)
    assert settled, "could not scroll the notebook to the cell to take its screenshot"


def _wait_idle(page, timeout_ms: float) -> None:
    """Wait until the kernel is idle and no cell is queued or running (its prompt would be [*])."""
    from playwright.sync_api import expect

    expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))).to_be_visible(timeout=timeout_ms)
    expect(page.locator(".jp-Notebook .jp-InputArea-prompt", has_text="[*]")).to_have_count(0, timeout=timeout_ms)
    expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))).to_be_visible(timeout=timeout_ms)


def test_run_all_stops_at_sigmoid_then_the_sign_slip_is_named(course_copy):
    require_browser()
    from playwright.sync_api import expect

    cell_count = len(json.loads((course_copy / NOTEBOOK).read_text())["cells"])
    env = {"CATVNONCAT_DIR": None, "COURSE_DATASETS_DIR": None}  # the course's own dataset, found beside
    with jupyter_server(course_copy, env=env) as server, chromium_page() as page:
        try:
            # 1. Open the notebook; wait for all its cells and an idle kernel.
            page.goto(server.at(f"lab/tree/{NOTEBOOK}"))
            cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            expect(cells).to_have_count(cell_count, timeout=LOAD_MS)
            _wait_idle(page, LOAD_MS)
            screenshot(page, "student-01-opened")

            # 2. Run > Run All Cells, from the menu bar as a learner would.
            page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
            run_all = page.locator('#jp-mainmenu-run .lm-Menu-item[data-command="runmenu:run-all"]')
            expect(run_all).to_contain_text("Run All Cells")
            screenshot(page, "student-02-run-menu")
            run_all.click()

            # 3. Execution stops at the test of the first exercise, which says sigmoid is not written yet.
            sigmoid_cell = cells.filter(has_text=SIGMOID_SOURCE)
            test_cell = cells.filter(has_text=SIGMOID_TEST_SOURCE)
            test_output = test_cell.locator(".jp-OutputArea")
            expect(test_output).to_contain_text(NOT_WRITTEN, timeout=RUN_MS)
            _wait_idle(page, RUN_MS)
            expect(test_output).to_contain_text("CheckFailure")
            expect(test_output).to_contain_text("raise NotImplementedError()")

            shown = _cells(page)
            sigmoid_at, test_at = _index(shown, SIGMOID_SOURCE), _index(shown, SIGMOID_TEST_SOURCE)
            assert test_at == sigmoid_at + 1, "the sigmoid test cell should follow the sigmoid cell"
            for number, cell in enumerate(shown[:test_at + 1]):
                if cell["code"]:
                    assert re.fullmatch(r"\[\d+\]:", cell["prompt"]), \
                        f"code cell {number} before the sigmoid test did not run: prompt {cell['prompt']!r}"
            for number, cell in enumerate(shown[:test_at]):
                assert "Traceback" not in cell["output"], f"cell {number}, before the sigmoid test, failed"
            assert "m_train = 209" in "".join(cell["output"] for cell in shown[:sigmoid_at]), \
                "the dataset cell did not print the size of the training set"
            after = [(number, cell) for number, cell in enumerate(shown) if number > test_at and cell["code"]]
            assert after, "the notebook should have code cells after the sigmoid test"
            for number, cell in after:
                assert cell["prompt"] == "[ ]:" and cell["outputs"] == 0, \
                    f"code cell {number}, after the failing sigmoid test, ran: prompt {cell['prompt']!r}"
            _scroll_to_top(sigmoid_cell)
            screenshot(page, "student-03-run-all-stops-at-sigmoid")

            # 4. Type a sigmoid with a sign slip into the exercise cell, as a learner would.
            editor = sigmoid_cell.locator(".cm-content")
            editor.click()
            expect(page.locator(".jp-StatusBar-TextItem", has_text="Mode: Edit")).to_be_visible(timeout=STEP_MS)
            page.keyboard.press("Control+A")
            page.keyboard.type(WRONG_SIGMOID[0])
            page.keyboard.press("Enter")  # the editor indents the body by itself
            page.keyboard.type(WRONG_SIGMOID[1].lstrip())
            expect(editor.locator(".cm-line")).to_have_text(WRONG_SIGMOID, timeout=STEP_MS)
            screenshot(page, "student-04-wrong-sigmoid-typed")

            # 5. Shift+Enter runs the cell and moves to its test; Shift+Enter again runs the test.
            sigmoid_prompt = sigmoid_cell.locator(".jp-InputArea-prompt")
            before = sigmoid_prompt.text_content().strip()
            page.keyboard.press("Shift+Enter")
            expect(sigmoid_prompt).not_to_have_text(before, timeout=STEP_MS)
            expect(sigmoid_prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=STEP_MS)
            expect(test_cell).to_have_class(re.compile(r"\bjp-mod-active\b"), timeout=STEP_MS)
            page.keyboard.press("Shift+Enter")
            expect(test_output).to_contain_text(SIGN_SLIP_HINT, timeout=STEP_MS)
            _wait_idle(page, STEP_MS)
            expect(test_output).not_to_contain_text(NOT_WRITTEN)
            expect(test_output).to_contain_text("sigmoid (visible example")
            _scroll_to_top(sigmoid_cell)
            screenshot(page, "student-05-sign-slip-named")
        except Exception:
            screenshot(page, "student-99-failure")
            print(server.log()[-5000:])
            raise
