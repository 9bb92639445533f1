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

With --profile, one more batch records where ours spends its time: the warm worker's start, and for the
last submission grade_batch's own steps (copying, merging the scores) and inside the worker nbgrader's
preprocessors, kernel start and shutdown, cell execution, the verification and the rest (nbgrader's
bookkeeping). The warm worker is the real one, started through a wrapper that only adds timers.

    python bench/headroom.py [--notebook 03|01|02|all] [--repeats 3] [--threads N] [--batch 3] [--profile]

The dataset is the shipped one (datasets/), or the original when CATVNONCAT_DIR is set.
"""

from __future__ import annotations

import argparse
import json
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

PROFILE_ENV = "BENCH_PROFILE_FILE"


def floor(submission: Path, names: list[str], graded_cells_only: bool = False) -> float:
    """Seconds to start a kernel and run each notebook's cells once (nbclient, fresh kernel each).

    With ``graded_cells_only``, the cells grading leaves out (skip-when-grading) are left out here too.
    """
    from nbclient import NotebookClient

    from autograder.pipeline import cells_to_skip

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


# -- the profile ---------------------------------------------------------------------------------------
class Timers:
    """Seconds spent per phase, per call: a phase may be entered many times."""

    def __init__(self):
        self.calls = defaultdict(list)

    def wrap(self, owner, attribute: str, phase: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.calls[phase].append(time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def totals(self) -> dict[str, float]:
        return {phase: sum(calls) for phase, calls in self.calls.items()}


def profile_server(argv: list[str]) -> None:
    """The real warm worker, with timers: its start, and each forked child's phases (to $BENCH_PROFILE_FILE)."""
    spawned = float(argv[1])
    entered = time.time()
    import nbclient.client
    import nbgrader.converters.autograde

    from autograder import pipeline, verify, worker

    timers = Timers()
    for cls in {*pipeline.SANITIZE, *pipeline.AUTOGRADE}:
        timers.wrap(cls, "preprocess", f"preprocessor {cls.__name__}")
    client = nbclient.client.NotebookClient
    timers.wrap(client, "start_new_kernel", "  kernel start (process)")
    timers.wrap(client, "start_new_kernel_client", "  kernel start (until ready)")
    timers.wrap(client, "_cleanup_kernel", "  kernel shutdown")
    timers.wrap(pipeline.SandboxedExecute, "preprocess_cell", "  cell execution")
    timers.wrap(pipeline.SandboxedExecute, "_template_for", "  kernel template (started ahead; waiting for it)")
    timers.wrap(pipeline.SandboxedExecute, "_end_kernel", "  kernel shutdown and clean-up in the template")
    timers.wrap(verify.Verifier, "run", "  verification jobs (in the kernel template, or a zygote)")
    timers.wrap(verify.Verifier, "_start", "  verification zygote start (when the template cannot run checks)")
    timers.wrap(verify.Verifier, "close", "  verification zygote stop")
    timers.wrap(verify, "read_code", "  parsing the learner's code")
    timers.wrap(nbgrader.converters.autograde.Autograde, "start", "worker: Autograde.start (all of nbgrader)")
    real_preload, real_run = worker.preload, worker.run_worker

    def preload():
        started = time.time()
        real_preload()
        write_profile({"once": {"warm worker: python start": entered - spawned,
                                "warm worker: imports and reference solutions": time.time() - started}})

    def run_worker(workspace, student):
        forked = time.time()
        timers.calls.clear()  # the child's own phases only
        try:
            real_run(workspace, student)
        finally:
            write_profile({student: {**timers.totals(), "forked at": forked}})

    worker.preload, worker.run_worker = preload, run_worker
    worker.serve()


def write_profile(entry: dict) -> None:
    with open(os.environ[PROFILE_ENV], "a") as stream:
        stream.write(json.dumps(entry) + "\n")


def profile(submissions: Path, threads: str) -> None:
    """Grade the batch once with timers around every step; print the phases of its last submission."""
    from autograder import grading, worker
    from autograder.batch import grade_batch
    from autograder.grading import Course

    timers = Timers()
    steps = [("assignment_gradebook", "batch: assignment gradebook (cached; generate_assignment on a miss)"),
             ("_ensure_registered", "batch: course gradebook registration check"),
             ("prepare_submission", "prepare: copy and check the submission"),
             ("_build_record", "after: results record"), ("_merge_scores", "after: merge scores"),
             ("_swap_in", "after: swap the autograded folder in")]
    for name, phase in steps:
        timers.wrap(grading, name, phase)
    timers.wrap(worker.WarmWorker, "grade", "worker: request to result (fork, grading, exit)")
    real_command = worker.serve_command
    worker.serve_command = lambda: [sys.executable, __file__, "_profile_server", str(time.time())]
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder, blas_threads(threads, 1):
        os.environ[PROFILE_ENV] = str(Path(folder) / "worker.json")
        try:
            started = time.perf_counter()
            outcomes = grade_batch(Course(Path(folder) / "course"), submissions, jobs=1, quiet=True)
            wall = time.perf_counter() - started
        finally:
            worker.serve_command = real_command
            os.environ.pop(PROFILE_ENV)
        entries = {}
        for line in (Path(folder) / "worker.json").read_text().splitlines():
            entries.update(json.loads(line))
    once = entries.pop("once")
    last = outcomes[-1]
    child = entries[last.student]
    child.pop("forked at")
    phases = {phase: calls[-1] for phase, calls in timers.calls.items()}  # the last submission's
    phases.update(child)
    phases["worker: fork, exit, clean-up"] = (phases.pop("worker: request to result (fork, grading, exit)")
                                              - child["worker: Autograde.start (all of nbgrader)"])
    execute = phases["preprocessor SandboxedExecute"]
    inner = sum(phases[p] for p in phases if p.startswith("  ") and "verification" not in p and "parsing" not in p)
    phases["  rest of SandboxedExecute (scratch copy, env, nbclient)"] = execute - inner
    preprocessors = sum(s for p, s in phases.items() if p.startswith("preprocessor"))
    phases["worker: nbgrader bookkeeping (Autograde.start minus preprocessors)"] = (
        phases["worker: Autograde.start (all of nbgrader)"] - preprocessors)
    total = last.seconds
    print(f"Profile of a batch of {len(outcomes)} (jobs=1, wall {wall:.1f} s). Once per batch, per job slot:")
    for phase, seconds in once.items():
        print(f"  {phase:<70} {seconds:6.2f} s")
    print(f"The last submission ({last.student}, {total:.1f} s, the steady state of a batch):")
    order = ["prepare", "worker: Autograde", "preprocessor", "worker: nbgrader", "worker: fork", "after"]
    for prefix in order:
        for phase in sorted((p for p in phases if p.startswith(prefix)), key=lambda p: -phases[p]):
            print(f"  {phase:<70} {phases[phase]:6.2f} s  {100 * phases[phase] / total:5.1f} %")
            if phase == "preprocessor SandboxedExecute" or phase == "preprocessor VerifyFunctions":
                for sub in sorted((p for p in phases if p.startswith("  ")), key=lambda p: -phases[p]):
                    inside_verify = "verification" in sub or "parsing" in sub
                    if inside_verify == (phase == "preprocessor VerifyFunctions"):
                        print(f"    {sub.strip():<68} {phases[sub]:6.2f} s")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_profile_server":
        return profile_server(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="03", help='"01", "02", "03" or "all" (default 03)')
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1", help="BLAS threads for both (default 1, as in a default batch)")
    parser.add_argument("--batch", type=int, default=3, help="copies of the submission ours grades in one batch")
    parser.add_argument("--profile", action="store_true", help="also profile one grading batch, phase by phase")
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
        if args.profile:
            profile(submissions, args.threads)


if __name__ == "__main__":
    main()
