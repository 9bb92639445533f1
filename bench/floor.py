"""The floor of grading one submission: executing only what grading must execute, in one warm Python.

For each notebook of a submission: the cells grading runs (the submission's cells as grading runs them:
test cells restored with their hidden tests and handed this run's hidden inputs, by the grader's own
RestoreGradedCells, OverwriteCells and InjectHiddenCases; the cells grading skips left out), executed in
one in-process IPython shell; then the verification cases (every graded function called once more on
the same inputs, with the reference versions of the functions it calls, and the feedback curve's
case), called in the same process. Imports (numpy, matplotlib, IPython, the checks) are done before
anything is timed; no sandbox, kernel, message, gradebook or nbgrader pass is counted. CPU seconds are
this process's (getrusage), measured around each cell and each call only.

    python bench/floor.py SUBMISSION_FOLDER [--notebooks 01 02 03] [--json]

SUBMISSION_FOLDER holds ``<notebook>.ipynb`` files (and any other file of the submission, such as
lr_utils.py; the course's own is used when there is none). Printed: CPU and wall seconds per notebook,
split into cells and verification, and their sum (``--json``: one JSON object).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class InProcess:
    """A stand-in for the verification sandbox (``Verifier.run``): runs a job in this process, timed."""

    def __init__(self):
        self.cpu = self.wall = 0.0
        self.jobs = 0

    def note_client_cpu(self, seconds: float) -> None:
        pass  # the floor counts the CPU of what runs here itself (cpu)

    def run(self, job: dict, timeout: float):
        from autograder.checks import decode_inputs, describe_error, record_returns

        cases = decode_inputs(job["inputs"])  # (the sandboxed child decodes them too, but that is not the learner's)
        namespace: dict = {"__name__": "__learner__"}
        cpu, wall = _cpu(), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(job["references"], "<reference>", "exec"), namespace)
                exec(compile(job["module"], "<your notebook>", "exec"), namespace)
                outcome = {"returned": record_returns(cases, namespace[job["target"]])}
            except BaseException as exc:  # noqa: BLE001  (as the sandboxed child reports it)
                outcome = {"error": describe_error(exc)}
        self.cpu += _cpu() - cpu
        self.wall += time.perf_counter() - wall
        self.jobs += 1
        return "ok", json.loads(json.dumps(outcome))


def graded_version(nb, notebook: str, db_url: str):
    """``nb`` as grading runs it, and the hidden cases drawn for it: the grader's own preprocessors."""
    from nbgrader.preprocessors import OverwriteCells

    from autograder.course import ASSIGNMENT
    from autograder.preprocessors import InjectHiddenCases, RestoreGradedCells
    from autograder.preprocessors.cells import findings

    resources = {"nbgrader": {"db_url": db_url, "assignment": ASSIGNMENT, "notebook": notebook, "student": "floor"},
                 "metadata": {"path": "."}}
    for step in (RestoreGradedCells(), OverwriteCells(), InjectHiddenCases()):
        nb, resources = step.preprocess(nb, resources)
    return nb, findings(resources)["cases"]


def measure(submission: Path, names: list[str]) -> dict:
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    import autograder.checks.derivatives_and_gradient_descent  # noqa: F401  (imports done before timing)
    import autograder.checks.logistic_regression  # noqa: F401
    import autograder.checks.numpy_and_vectorization  # noqa: F401
    from autograder.grading import assignment_gradebook
    from autograder.notebook_code import read_code
    from autograder.preprocessors import cells_to_skip
    from autograder.verify import feedback_curve, verify_notebook

    with contextlib.redirect_stdout(io.StringIO()):
        import h5py  # noqa: F401
        import matplotlib.pyplot  # noqa: F401
        import numpy  # noqa: F401
        from PIL import Image  # noqa: F401

    figures: dict = {"notebooks": {}}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        work = Path(folder)
        shutil.copy(assignment_gradebook(), work / "gradebook.db")
        db_url = f"sqlite:///{work / 'gradebook.db'}"
        for item in submission.iterdir():
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy(item, work / item.name)
        if not (work / "lr_utils.py").exists():
            shutil.copy(ROOT / "notebooks" / "logistic_regression" / "lr_utils.py", work)
        home = os.getcwd()
        os.chdir(work)
        sys.path.insert(0, str(work))
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config)
        with contextlib.redirect_stdout(io.StringIO()):
            shell.run_cell("%matplotlib inline")  # the backend set up once: part of the imports, not timed
        for name in names:
            nb = nbformat.read(submission / f"{name}.ipynb", as_version=4)
            nb, cases = graded_version(nb, name, db_url)
            skipped = cells_to_skip(nb, name)
            shell.reset(new_session=False)
            cells_cpu = cells_wall = 0.0
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or index in skipped:
                    continue
                cpu, wall = _cpu(), time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    shell.run_cell(cell.source, store_history=False)
                cells_cpu += _cpu() - cpu
                cells_wall += time.perf_counter() - wall
            verifier = InProcess()
            learner = read_code(nb)
            verdicts = verify_notebook(nb, name, cases=cases, verifier=verifier, learner=learner)
            feedback_curve(name, learner, verifier)
            figures["notebooks"][name] = {
                "cells_cpu": cells_cpu, "cells_wall": cells_wall, "verify_cpu": verifier.cpu,
                "verify_wall": verifier.wall, "jobs": verifier.jobs,
                "passed": all(v.passed for v in verdicts.values())}
        os.chdir(home)
    notebooks = figures["notebooks"].values()
    figures["cells_cpu"] = sum(n["cells_cpu"] for n in notebooks)
    figures["verify_cpu"] = sum(n["verify_cpu"] for n in notebooks)
    figures["cpu"] = figures["cells_cpu"] + figures["verify_cpu"]
    figures["wall"] = sum(n["cells_wall"] + n["verify_wall"] for n in notebooks)
    figures["all_passed"] = all(n["passed"] for n in notebooks)
    return figures


def main(argv=None) -> None:
    from grading_throughput import notebooks_for

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", type=Path)
    parser.add_argument("--notebooks", nargs="+", default=["01", "02", "03"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore")
    names = [n for prefix in args.notebooks for n in notebooks_for(prefix)]
    figures = measure(args.submission.resolve(), names)
    if args.json:
        print(json.dumps(figures))
        return
    for name, data in figures["notebooks"].items():
        print(f"  {name[:40]:<40} cells {data['cells_cpu']:5.2f} CPU-s ({data['cells_wall']:5.2f} s), "
              f"verification {data['verify_cpu']:5.2f} CPU-s ({data['jobs']} calls)")
    print(f"  floor: {figures['cpu']:.2f} CPU-s ({figures['wall']:.2f} s); every check passed: {figures['all_passed']}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
