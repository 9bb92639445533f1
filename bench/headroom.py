"""Headroom: our per-submission grading time against the floor of just running the notebook once.

The floor is what grading one submission cannot do without: start a kernel and execute the submitted
notebook's cells once, with nbclient (no sandbox, no hidden tests, no verification, no gradebook).
Ours is grade_batch on that one submission (jobs=1). Both get the same BLAS threads (--threads,
default 1: what each worker gets in a default batch, jobs = cores). They alternate, --repeats times; the
medians and the overhead (ours / floor - 1, target <= 25 %) are printed, in wall time and in CPU time
(this process and its reaped children; less disturbed by other work on a shared machine).

With --profile, one more grading run records where ours spends its time: grade_batch's own steps
(gradebook registration, copying, merging the scores), and inside the worker nbgrader's preprocessors,
kernel start and shutdown, cell execution, the verification subprocesses and the rest (nbgrader's
bookkeeping). The worker is the real one, started through a wrapper that only adds timers.

    python bench/headroom.py [--notebook 03|01|02|all] [--repeats 3] [--threads N] [--profile]

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
    make_submissions,
    notebooks_for,
    quiet_sqlalchemy,
)

PROFILE_ENV = "BENCH_PROFILE_FILE"


def floor(submission: Path, names: list[str]) -> float:
    """Seconds to start a kernel and run each notebook's cells once (nbclient, fresh kernel each)."""
    from nbclient import NotebookClient

    seconds = 0.0
    os.environ.setdefault("COURSE_DATASETS_DIR", str(DATASETS))  # lr_utils in a scratch folder cannot find datasets/
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        shutil.copy(ROOT / "notebooks" / ASSIGNMENT / "lr_utils.py", folder)
        for name in names:
            nb = nbformat.read(submission / f"{name}.ipynb", as_version=4)
            client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}})
            started = time.perf_counter()
            client.execute(stderr=subprocess.DEVNULL)
            seconds += time.perf_counter() - started
    return seconds


def ours(submissions: Path, threads: str) -> tuple[float, float]:
    """Worker seconds (Outcome.seconds) and wall seconds of grade_batch on one submission, jobs=1."""
    from autograder.grading import Course, grade_batch

    with tempfile.TemporaryDirectory(prefix="bench-ours-") as course, blas_threads(threads, 1):
        started = time.perf_counter()
        [outcome] = grade_batch(Course(course), submissions, jobs=1, quiet=True)
        wall = time.perf_counter() - started
    if outcome.status != "graded":
        print(f"  warning: the correct submission was {outcome.status}: {outcome.reason}")
    return outcome.seconds, wall


# -- the profile ---------------------------------------------------------------------------------------
class Timers:
    """Seconds spent per phase; a phase may be entered many times."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def wrap(self, owner, attribute: str, phase: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started

        setattr(owner, attribute, timed)


def profile_worker(argv: list[str]) -> None:
    """Run the real grading worker with timers; write them to $BENCH_PROFILE_FILE (appending)."""
    spawned = float(os.environ["BENCH_SPAWNED"])
    import nbclient.client
    import nbgrader.converters.autograde

    from autograder import grading, pipeline, verify

    timers = Timers()
    for cls in {*pipeline.SANITIZE, *pipeline.AUTOGRADE}:
        timers.wrap(cls, "preprocess", f"preprocessor {cls.__name__}")
    client = nbclient.client.NotebookClient
    timers.wrap(client, "start_new_kernel", "  kernel start (process)")
    timers.wrap(client, "start_new_kernel_client", "  kernel start (until ready)")
    timers.wrap(client, "_cleanup_kernel", "  kernel shutdown")
    timers.wrap(pipeline.SandboxedExecute, "preprocess_cell", "  cell execution")
    timers.wrap(pipeline, "_kernel_environment", "  sandbox set-up (font cache, spec)")
    if hasattr(verify, "Verifier"):  # one sandboxed zygote per notebook, forking a child per function
        timers.wrap(verify.Verifier, "run", "  verification jobs (zygote start included)")
        timers.wrap(verify.Verifier, "_start", "  verification zygote start")
        timers.wrap(verify.Verifier, "close", "  verification zygote stop")
    else:  # one sandboxed subprocess per function
        timers.wrap(verify.subprocess, "run", "  verification subprocesses")
    timers.wrap(verify, "read_code", "  parsing the learner's code")
    timers.wrap(nbgrader.converters.autograde.Autograde, "start", "worker: Autograde.start (all of nbgrader)")
    timers.seconds["worker: python start and imports"] = time.time() - spawned
    grading.run_worker(Path(argv[-2]), argv[-1])
    with open(os.environ[PROFILE_ENV], "a") as stream:
        stream.write(json.dumps(timers.seconds) + "\n")


def profile(submissions: Path, threads: str) -> None:
    """Grade the submission once with timers around every step; print the phases."""
    from autograder import grading
    from autograder.grading import Course, grade_batch

    timers = Timers()
    steps = [("assignment_gradebook", "batch: assignment gradebook (cached; generate_assignment on a miss)"),
             ("_ensure_registered", "batch: course gradebook registration check"),
             ("register_assignment", "batch: gradebook registration (generate_assignment)"),
             ("_snapshot_gradebook", "batch: gradebook snapshot for the worker"),
             ("prepare_submission", "prepare: copy and check the submission"),
             ("_build_record", "after: results record"), ("_merge_scores", "after: merge scores"),
             ("_swap_in", "after: swap the autograded folder in")]
    if hasattr(grading, "assignment_gradebook"):  # registration then happens inside the two steps above
        steps = [step for step in steps if step[0] != "register_assignment"]
    for name, phase in steps:  # the grader changes: time the steps it has
        if hasattr(grading, name):
            timers.wrap(grading, name, phase)
    real_popen = subprocess.Popen

    def wrapped_popen(command, *args, **kwargs):  # the real worker, started through profile_worker
        if list(command[1:3]) != ["-m", "autograder.grading"]:
            return real_popen(command, *args, **kwargs)
        kwargs["env"] = dict(kwargs["env"], BENCH_SPAWNED=str(time.time()))
        return real_popen([sys.executable, __file__, "_profile_worker", *command[3:]], *args, **kwargs)

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder, blas_threads(threads, 1):
        os.environ[PROFILE_ENV] = str(Path(folder) / "worker.json")
        grading.subprocess.Popen = wrapped_popen
        try:
            started = time.perf_counter()
            [outcome] = grade_batch(Course(Path(folder) / "course"), submissions, jobs=1, quiet=True)
            wall = time.perf_counter() - started
        finally:
            grading.subprocess.Popen = real_popen
            os.environ.pop(PROFILE_ENV)
        for line in (Path(folder) / "worker.json").read_text().splitlines():
            for phase, seconds in json.loads(line).items():
                timers.seconds[phase] += seconds
    phases = timers.seconds
    worker = phases["worker: python start and imports"] + phases["worker: Autograde.start (all of nbgrader)"]
    phases["worker: exit, process group clean-up"] = (
        outcome.seconds - phases["prepare: copy and check the submission"] - worker)
    execute = phases["preprocessor SandboxedExecute"]
    inner = sum(phases[p] for p in phases if p.startswith("  ") and "verification" not in p and "parsing" not in p)
    phases["  rest of SandboxedExecute (scratch copy, env, nbclient)"] = execute - inner
    preprocessors = sum(s for p, s in phases.items() if p.startswith("preprocessor"))
    phases["worker: nbgrader bookkeeping (Autograde.start minus preprocessors)"] = (
        phases["worker: Autograde.start (all of nbgrader)"] - preprocessors)
    phases["batch: rest (threads, temp folders)"] = wall - outcome.seconds - sum(
        s for p, s in phases.items() if p.startswith(("batch", "after")))
    print(f"Profile of one grading (grade_batch wall {wall:.1f} s, worker {outcome.seconds:.1f} s):")
    order = ["batch", "prepare", "worker: python", "worker: Autograde", "preprocessor", "worker: nbgrader",
             "worker: exit", "after"]
    for prefix in order:
        for phase in sorted((p for p in phases if p.startswith(prefix)), key=lambda p: -phases[p]):
            print(f"  {phase:<70} {phases[phase]:6.2f} s  {100 * phases[phase] / wall:5.1f} %")
            if phase == "preprocessor SandboxedExecute" or phase == "preprocessor VerifyFunctions":
                for sub in sorted((p for p in phases if p.startswith("  ")), key=lambda p: -phases[p]):
                    inside_verify = "verification" in sub or "parsing" in sub
                    if inside_verify == (phase == "preprocessor VerifyFunctions"):
                        print(f"    {sub.strip():<68} {phases[sub]:6.2f} s")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_profile_worker":
        return profile_worker(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="03", help='"01", "02", "03" or "all" (default 03)')
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1", help="BLAS threads for both (default 1, as in a default batch)")
    parser.add_argument("--profile", action="store_true", help="also profile one grading run, phase by phase")
    args = parser.parse_args(argv)
    quiet_sqlalchemy()
    names = notebooks_for(None if args.notebook == "all" else args.notebook)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = args.threads  # the floor's kernel; grade_batch sets its workers' own
    print(f"One correct submission of {', '.join(n[:2] for n in names)}; dataset: {dataset_note()}; "
          f"{args.threads} BLAS thread(s)")
    with tempfile.TemporaryDirectory(prefix="bench-headroom-") as folder:
        submissions = make_submissions(Path(folder) / "submissions", 1, names)
        submission = submissions / "s00" / ASSIGNMENT
        runs = defaultdict(list)
        for _ in range(args.repeats):
            before = cpu_seconds()
            runs["floor"].append(floor(submission, names))
            runs["floor, CPU-s"].append(cpu_seconds() - before)
            before = cpu_seconds()
            worker, wall = ours(submissions, args.threads)
            runs["ours, CPU-s"].append(cpu_seconds() - before)
            runs["ours (worker)"].append(worker)
            runs["ours (grade_batch wall)"].append(wall)
        print(f"Median of {args.repeats}:")
        for name in ["floor", "ours (worker)", "ours (grade_batch wall)", "floor, CPU-s", "ours, CPU-s"]:
            values = runs[name]
            base = statistics.median(runs["floor, CPU-s" if "CPU" in name else "floor"])
            value = statistics.median(values)
            extra = "" if name.startswith("floor") else f"  overhead {100 * (value / base - 1):5.0f} % (target <= 25 %)"
            print(f"  {name:<26} {value:6.1f} s{extra}   runs: {', '.join(f'{v:.1f}' for v in values)}")
        if args.profile:
            profile(submissions, args.threads)


if __name__ == "__main__":
    main()
