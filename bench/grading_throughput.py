"""Grading throughput: our grade_batch against plain sequential `nbgrader autograde`, on correct submissions.

N fully correct submissions of the main notebook (03; --notebook all for the three notebooks) are
generated (autograder.submissions), then the same set is graded, the methods taking turns, --repeats
times:

* plain:  a scratch course (its own nbgrader_config.py, source/ a copy of solutions/) where
          `nbgrader generate_assignment` ran once, graded with the venv's `nbgrader autograde` and
          nbgrader's defaults (one submission after another, Execute timeout 30 s per cell,
          numpy's own BLAS threading);
* ours:   autograder.batch.grade_batch (--jobs, default: the number of cores) into a fresh course
          folder, once per --threads variant: "1" BLAS thread per worker (what grade_batch picks when
          jobs = cores) and "default" (numpy's own choice: one thread per core in every worker).

Printed: median wall seconds per submission of each, the throughput ratio (target: ours >= 3x plain),
the CPU seconds per submission (this process and all its reaped children: a figure other work on a shared
machine disturbs much less than wall time) and how many correct submissions lost points in each
gradebook (target: zero).

    python bench/grading_throughput.py [--n 20] [--notebook 03|01|02|all] [--repeats 2] [--jobs 2] [--threads 1 default]

With one notebook, the submissions hold only that notebook (and the scratch course has only that one).
The dataset is the shipped one (datasets/), or the original when CATVNONCAT_DIR is set.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from autograder.course import ASSIGNMENT, DATASETS, NOTEBOOK_NAMES, SOLUTIONS  # noqa: E402

PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "bench_plain_nbgrader"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
"""


def notebooks_for(prefix: str | None) -> list[str]:
    """The notebook names whose name starts with ``prefix`` (all three without one)."""
    names = [n for n in NOTEBOOK_NAMES if n.startswith(prefix or "")]
    if not names:
        raise SystemExit(f"no notebook starts with {prefix!r}; choose from {', '.join(n[:2] for n in NOTEBOOK_NAMES)}")
    return names


def quiet_sqlalchemy() -> None:
    """Hide nbgrader's SQLAlchemy "not in session" warnings, which grade_batch's threads can let through."""
    import warnings

    warnings.filterwarnings("ignore", message=".*not in session.*")


def dataset_note() -> str:
    """Which dataset the notebooks will load; exits when there is none."""
    if os.environ.get("CATVNONCAT_DIR"):
        return f"the original dataset (CATVNONCAT_DIR={os.environ['CATVNONCAT_DIR']})"
    if list(DATASETS.glob("*.h5")):
        return f"the course's shipped dataset ({DATASETS})"
    raise SystemExit(f"{DATASETS} has no .h5 files yet: build them (datasets/make_dataset.py) or set CATVNONCAT_DIR")


def make_submissions(folder: Path, n: int, names: list[str]) -> Path:
    """``n`` correct submissions (student s00, s01, ...) of the notebooks ``names``."""
    from autograder.submissions import filled, write_submission

    notebooks = {name: filled(name) for name in names}
    for i in range(n):
        write_submission(folder, f"s{i:02d}", notebooks)
    return folder


@contextlib.contextmanager
def blas_threads(threads: str, jobs: int):
    """Make grade_batch give each worker ``threads`` BLAS threads ("default": one per core, numpy's own choice).

    grade_batch gives each worker cores // jobs threads; this pretends the machine has as many cores as
    that division needs, for the duration of the block.
    """
    cores = os.cpu_count() or 1
    wanted = cores if threads == "default" else int(threads)
    real = os.cpu_count
    os.cpu_count = lambda: wanted * jobs
    try:
        yield
    finally:
        os.cpu_count = real


def _cpu_cgroup() -> Path | None:
    """A cpuacct cgroup (v1) or cgroup (v2) of this benchmark's own, joined; None where none can be made.

    Sandboxed processes end with their PID namespace, unreaped by this process: ``getrusage`` never
    sees their CPU time. A cgroup counts every process that ever ran in it.
    """
    for base, usage in ((Path("/sys/fs/cgroup/cpuacct"), "cpuacct.usage"), (Path("/sys/fs/cgroup"), "cpu.stat")):
        if not (base / usage).exists() and not (base / "cgroup.controllers").exists():
            continue
        own = Path(open("/proc/self/cgroup").read().splitlines()[0].split(":", 2)[2].lstrip("/"))
        folder = base / (own if base.name != "cpuacct" else "") / f"bench-{os.getpid()}"
        try:
            folder.mkdir(exist_ok=True)
            (folder / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            continue
        if (folder / usage).exists():
            atexit.register(_leave, folder)
            return folder / usage
    return None


def _leave(folder: Path) -> None:
    """Back to the parent cgroup, and remove the benchmark's own (once its last process has gone)."""
    with contextlib.suppress(OSError):
        (folder.parent / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):
            if not (folder / "cgroup.procs").read_text().strip():
                folder.rmdir()
                return
            time.sleep(0.1)


_CPU_USAGE = _cpu_cgroup()


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and everything it started (a cgroup where one could be made;
    else this process and its reaped children, which misses sandboxed processes)."""
    if _CPU_USAGE is not None:
        text = _CPU_USAGE.read_text()
        if _CPU_USAGE.name == "cpu.stat":
            return int(text.split("usage_usec")[1].split()[0]) / 1e6
        return int(text) / 1e9
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def cpu_note() -> str:
    return ("CPU seconds from a cpuacct cgroup (every process counted)" if _CPU_USAGE is not None else
            "CPU seconds from getrusage: sandboxed processes are NOT counted (no cgroup could be made)")


def lost_points(db_url: str, students: list[str], names: list[str]) -> int:
    """How many of ``students`` scored less than the maximum on the notebooks ``names`` (missing counts)."""
    from nbgrader.api import Gradebook, MissingEntry

    lost = 0
    with Gradebook(db_url) as gb:
        for student in students:
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                lost += 1
                continue
            grades = [g for nb in submission.notebooks if nb.name in names for g in nb.grades]
            if not grades or any((g.score or 0.0) < g.max_score for g in grades):
                lost += 1
    return lost


# -- plain nbgrader ------------------------------------------------------------------------------------
def plain_env() -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("COURSE_DATASETS_DIR", str(DATASETS))  # lr_utils in a scratch folder cannot find datasets/
    return env


def plain_course(root: Path, submissions: Path, names: list[str]) -> Path:
    """A scratch nbgrader course with the assignment generated and the submissions in submitted/."""
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(PLAIN_CONFIG.format(root=str(root)))
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in (SOLUTIONS / ASSIGNMENT).iterdir():
        if path.suffix != ".ipynb" or path.stem in names:
            shutil.copy(path, source / path.name)
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], cwd=root, check=True,
                   env=plain_env(), capture_output=True)
    shutil.copytree(submissions, root / "submitted")
    shutil.copy(root / "gradebook.db", root / "gradebook.template.db")
    return root


def grade_plain(root: Path, log: Path) -> float:
    """Seconds of one `nbgrader autograde` of every submission, from the freshly generated gradebook."""
    shutil.rmtree(root / "autograded", ignore_errors=True)
    shutil.copy(root / "gradebook.template.db", root / "gradebook.db")
    started = time.perf_counter()
    with open(log, "a") as stream:
        subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], cwd=root, env=plain_env(),
                       stdout=stream, stderr=subprocess.STDOUT, check=False)
    return time.perf_counter() - started


# -- ours ----------------------------------------------------------------------------------------------
def grade_ours(root: Path, submissions: Path, jobs: int, threads: str) -> tuple[float, list]:
    """Seconds of one grade_batch of every submission into a fresh course folder ``root``."""
    from autograder.batch import grade_batch
    from autograder.grading import Course

    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    with blas_threads(threads, jobs):
        outcomes = grade_batch(Course(root), submissions, jobs=jobs, quiet=True)
    return time.perf_counter() - started, outcomes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="number of submissions (default 20)")
    parser.add_argument("--notebook", default="03", help='"03" (the default: the main notebook), "01", "02" or "all"')
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="grade_batch workers (default: cores)")
    parser.add_argument("--threads", nargs="+", default=["1", "default"],
                        help='BLAS threads per worker of ours, one run each: a number or "default"')
    parser.add_argument("--keep", type=Path, help="keep the scratch folders (gradebooks, logs) here")
    args = parser.parse_args(argv)
    quiet_sqlalchemy()
    names = notebooks_for(None if args.notebook == "all" else args.notebook)
    print(f"{args.n} correct submissions of {', '.join(n[:2] for n in names)}; dataset: {dataset_note()}; "
          f"{os.cpu_count()} cores, ours with jobs={args.jobs}")
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="bench-throughput-"))
    scratch.mkdir(parents=True, exist_ok=True)
    submissions = make_submissions(scratch / "submissions", args.n, names)
    students = [f"s{i:02d}" for i in range(args.n)]
    plain = plain_course(scratch / "plain", submissions, names)
    variants = ["plain"] + [f"ours, {t} BLAS thread(s)/worker" for t in args.threads]
    times = {v: [] for v in variants}
    cpu = {v: [] for v in variants}
    lost = {v: [] for v in variants}
    for repeat in range(args.repeats):
        for variant, threads in zip(variants, [None, *args.threads], strict=True):
            cpu_before = cpu_seconds()
            if threads is None:
                seconds = grade_plain(plain, scratch / "plain.log")
                lost[variant].append(lost_points(f"sqlite:///{plain / 'gradebook.db'}", students, names))
            else:
                course = scratch / f"ours-{threads}"
                seconds, _ = grade_ours(course, submissions, args.jobs, threads)
                lost[variant].append(lost_points(f"sqlite:///{course / 'gradebook.db'}", students, names))
            times[variant].append(seconds)
            cpu[variant].append(cpu_seconds() - cpu_before)
            print(f"  repeat {repeat + 1}: {variant:<34} {seconds:7.1f} s  ({seconds / args.n:5.2f} s/submission, "
                  f"{cpu[variant][-1] / args.n:5.2f} CPU-s/submission, {lost[variant][-1]} lost points)", flush=True)
    base = statistics.median(times["plain"]) / args.n
    print(f"\nMedian of {args.repeats}, {args.n} submissions of notebook(s) {', '.join(n[:2] for n in names)}:")
    for variant in variants:
        per = statistics.median(times[variant]) / args.n
        ratio = "" if variant == "plain" else f", throughput {base / per:4.2f}x plain (target >= 3x)"
        print(f"  {variant:<34} {per:6.2f} s/submission{ratio}, "
              f"{statistics.median(cpu[variant]) / args.n:6.2f} CPU-s/submission; "
              f"correct submissions that lost points: {max(lost[variant])} of {args.n} (worst repeat)")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
