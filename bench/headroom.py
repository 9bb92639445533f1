"""Headroom: our per-submission grading time against the floor of just running the notebook once.

The floor is what grading one submission cannot do without: start a kernel and execute the submitted
notebook's cells once, with nbclient (no sandbox, no hidden tests, no verification, no gradebook).
Grading leaves out the cells the course tags skip-when-grading, so a second floor runs only the cells
grading runs: ours against it is the cost of the grading machinery itself.
Ours is grade_batch on a batch of --batch copies of that submission (jobs=1): the first submission
also waits for the warm worker to start (Python and its imports, once per job slot and batch); the later
ones show what each submission costs in a batch. Both get the same BLAS threads (--threads, default 1:
what each worker gets in a default batch, jobs = cores). They alternate, --repeats times; the medians
and the overhead (ours / floor - 1, target <= 25 %) are printed, in wall time and in CPU time (this
process and its reaped children; less disturbed by other work on a shared machine).

Where ours spends its CPU, phase by phase, is bench/suite.py's breakdown (from the timing records the
grader writes when COURSE_TIMINGS names a file).

    python bench/headroom.py [--notebook 03|01|02|all] [--repeats 3] [--threads N] [--batch 3]

The dataset is the shipped one (datasets/), or the original when CATVNONCAT_DIR is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading_throughput import (  # noqa: E402
    ASSIGNMENT,
    DATASETS,
    ROOT,
    blas_threads,
    cpu_seconds,
    dataset_note,
    lost_points,
    make_submissions,
    notebooks_for,
    quiet_sqlalchemy,
)


def floor(submission: Path, names: list[str], graded_cells_only: bool = False) -> float:
    """Seconds to start a kernel and run each notebook's cells once (nbclient, fresh kernel each).

    With ``graded_cells_only``, the cells grading leaves out (skip-when-grading) are left out here too.
    """
    from nbclient import NotebookClient

    from autograder.preprocessors import cells_to_skip

    seconds = 0.0
    os.environ.setdefault("COURSE_DATASETS_DIR", str(DATASETS))  # lr_utils in a scratch folder cannot find datasets/
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        shutil.copy(ROOT / "notebooks" / ASSIGNMENT / "lr_utils.py", folder)
        for name in names:
            nb = nbformat.read(submission / f"{name}.ipynb", as_version=4)
            if graded_cells_only:
                skipped = cells_to_skip(nb, name)
                nb.cells = [cell for i, cell in enumerate(nb.cells) if i not in skipped]
            client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}})
            started = time.perf_counter()
            client.execute(stderr=subprocess.DEVNULL)
            seconds += time.perf_counter() - started
    return seconds


def ours(submissions: Path, threads: str, names: list[str]) -> tuple[list[float], float]:
    """grade_batch on the batch (jobs=1): each submission's seconds (Outcome.seconds) and the batch's wall."""
    from autograder.batch import grade_batch
    from autograder.grading import Course

    with tempfile.TemporaryDirectory(prefix="bench-ours-") as folder, blas_threads(threads, 1):
        course = Course(folder)
        started = time.perf_counter()
        outcomes = grade_batch(course, submissions, jobs=1, quiet=True)
        wall = time.perf_counter() - started
        lost = lost_points(course.db_url, [o.student for o in outcomes], names)
    if lost:
        print(f"  warning: {lost} correct submission(s) lost points")
    return [outcome.seconds for outcome in outcomes], wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="03", help='"01", "02", "03" or "all" (default 03)')
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1", help="BLAS threads for both (default 1, as in a default batch)")
    parser.add_argument("--batch", type=int, default=3, help="copies of the submission ours grades in one batch")
    args = parser.parse_args(argv)
    quiet_sqlalchemy()
    names = notebooks_for(None if args.notebook == "all" else args.notebook)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = args.threads  # the floor's kernel; grade_batch sets its workers' own
    print(f"One correct submission of {', '.join(n[:2] for n in names)}, ours grading {args.batch} copies of it "
          f"in a batch (jobs=1); dataset: {dataset_note()}; {args.threads} BLAS thread(s)")
    with tempfile.TemporaryDirectory(prefix="bench-headroom-") as folder:
        submissions = make_submissions(Path(folder) / "submissions", args.batch, names)
        submission = submissions / "s00" / ASSIGNMENT
        runs = defaultdict(list)
        for _ in range(args.repeats):
            before = cpu_seconds()
            runs["floor"].append(floor(submission, names))
            runs["floor, CPU-s"].append(cpu_seconds() - before)
            runs["floor, the cells grading runs"].append(floor(submission, names, graded_cells_only=True))
            before = cpu_seconds()
            seconds, wall = ours(submissions, args.threads, names)
            runs["ours, CPU-s per submission"].append((cpu_seconds() - before) / len(seconds))
            runs["ours, first submission"].append(seconds[0])
            if len(seconds) > 1:
                runs["ours, each later submission"].append(statistics.median(seconds[1:]))
            runs["ours, batch wall / submissions"].append(wall / len(seconds))
        print(f"Median of {args.repeats}, seconds per submission:")
        print("  (first submission: includes starting the warm worker; each later one: the steady state)")
        same = statistics.median(runs["floor, the cells grading runs"])
        for name in ["floor", "floor, the cells grading runs", "ours, each later submission", "ours, first submission",
                     "ours, batch wall / submissions", "floor, CPU-s", "ours, CPU-s per submission"]:
            values = runs[name]
            if not values:
                continue
            base = statistics.median(runs["floor, CPU-s" if "CPU" in name else "floor"])
            value = statistics.median(values)
            extra = ""
            if not name.startswith("floor"):
                extra = f"  overhead {100 * (value / base - 1):5.0f} % (target <= 25 %)"
                if "CPU" not in name:
                    extra += f", {100 * (value / same - 1):4.0f} % over the same cells"
            print(f"  {name:<32} {value:6.1f} s{extra}   runs: {', '.join(f'{v:.1f}' for v in values)}")


if __name__ == "__main__":
    main()
