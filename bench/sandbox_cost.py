"""What the OS sandbox costs per submission: grade_batch with it and without it, side by side.

N correct submissions (all three notebooks by default) are graded by grade_batch into fresh course
folders, sandboxed (bubblewrap, cgroups) and --unsandboxed taking turns (A B A B ...), --repeats rounds.
Printed: each round's wall and CPU seconds per submission, then the medians and the sandbox's share of
the time per submission, (sandboxed - unsandboxed) / sandboxed, by wall time and by CPU time (target:
under 5 %), and how many correct submissions lost points in each (target: zero).

    python bench/sandbox_cost.py [--n 6] [--notebook all|01|02|03] [--repeats 3] [--jobs 2]

The CPU seconds are this process's and its reaped children's: every grading process, kernel and
verification process, the sandboxes' included. The machine is shared: read the medians and the spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from grading_throughput import (  # noqa: E402
    cpu_note,
    cpu_seconds,
    dataset_note,
    lost_points,
    make_submissions,
    notebooks_for,
    quiet_sqlalchemy,
)

from autograder import sandbox  # noqa: E402


def grade(root: Path, submissions: Path, jobs: int, sandboxed: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one grade_batch of every submission into a fresh course folder ``root``."""
    from autograder.batch import grade_batch
    from autograder.grading import Course

    cpu, started = cpu_seconds(), time.perf_counter()
    grade_batch(Course(root), submissions, jobs=jobs, quiet=True, sandboxed=sandboxed)
    return time.perf_counter() - started, cpu_seconds() - cpu


def explain(root: Path) -> None:
    """Print why correct submissions lost points: a lost point must never go unexplained."""
    from autograder.grading import Course

    store = Course(root).store()
    scores, records = store.scores(), store.records()
    for student, score in sorted(scores.items()):
        if score["total"] < score["max"]:
            record = records.get(student)
            if record is None:
                print(f"  LOST POINTS {student}: {score['total']:g}/{score['max']:g}, no record")
                continue
            print(f"  LOST POINTS {student}: {score['total']:g}/{score['max']:g} {record.status}: "
                  f"{record.reason[:300]}")
            for notebook, data in record.notebooks.items():
                for function, result in data.functions.items():
                    if not result.passed:
                        print(f"    {notebook[:2]}:{function}: {result.message[:300]}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=6, help="correct submissions (default 6)")
    parser.add_argument("--notebook", default=None, help="01, 02 or 03 (default: all three)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of A B (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="grade_batch workers (default: cores)")
    args = parser.parse_args(argv)
    if reason := sandbox.unavailable():
        raise SystemExit(f"no OS sandbox here: {reason}")
    quiet_sqlalchemy()
    names = notebooks_for(args.notebook)
    print(f"{args.n} correct submissions of {', '.join(n[:2] for n in names)}, --jobs {args.jobs}, "
          f"{args.repeats} rounds; {dataset_note()}")
    print(sandbox.describe(True))
    print(cpu_note())
    scratch = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    try:
        submissions = make_submissions(scratch / "submissions", args.n, names)
        students = [f"s{i:02d}" for i in range(args.n)]
        figures = {True: [], False: []}
        lost = {True: 0, False: 0}
        grade(scratch / "warm-up", submissions, args.jobs, True)  # the cached gradebook, the font cache
        for round_ in range(args.repeats):
            for sandboxed in (True, False):
                root = scratch / f"course-{round_}-{sandboxed}"
                wall, cpu = grade(root, submissions, args.jobs, sandboxed)
                figures[sandboxed].append((wall / args.n, cpu / args.n))
                lost_now = lost_points(f"sqlite:///{root / 'gradebook.db'}", students, names)
                lost[sandboxed] += lost_now
                if lost_now:
                    explain(root)
                shutil.rmtree(root, ignore_errors=True)
            print(f"round {round_ + 1}: sandboxed {figures[True][-1][0]:.2f} s ({figures[True][-1][1]:.2f} CPU-s), "
                  f"unsandboxed {figures[False][-1][0]:.2f} s ({figures[False][-1][1]:.2f} CPU-s) per submission",
                  flush=True)
        print("\nper submission, median [min-max] of the rounds:")
        for sandboxed, label in ((True, "sandboxed  "), (False, "unsandboxed")):
            walls, cpus = zip(*figures[sandboxed], strict=True)
            print(f"  {label}  wall {statistics.median(walls):6.2f} s [{min(walls):.2f}-{max(walls):.2f}]   "
                  f"CPU {statistics.median(cpus):6.2f} s [{min(cpus):.2f}-{max(cpus):.2f}]   "
                  f"correct submissions that lost points: {lost[sandboxed]}")
        print("  the sandbox's share of the time per submission (target < 5 %):", end="")
        for k, label in ((0, "wall"), (1, "CPU")):
            share = [100 * (a[k] - b[k]) / a[k] for a, b in zip(figures[True], figures[False], strict=True)]
            print(f"  {label} {statistics.median(share):+.1f} % [{min(share):+.1f} to {max(share):+.1f}]", end="")
        print()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
