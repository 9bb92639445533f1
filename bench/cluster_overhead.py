"""What grading on a Dask cluster costs against local grading, and whether the parent's memory stays flat.

1. Overhead. N correct submissions (all three notebooks by default) are graded by the `course grade`
   command into fresh course folders, locally (``--jobs J``) and on a Dask cluster (``--scheduler``)
   taking turns, --rounds rounds (A B, then B A, ...). The cluster is started afresh for each of its
   rounds, outside the timing, on this machine: `dask scheduler` and one `dask worker --nthreads J`
   (127.0.0.1, no dashboard), so both sides have J gradings at once on the same cores, and both start
   their warm workers inside the timed command. Printed per run: wall seconds per submission, CPU
   seconds per submission (every process: a cgroup of this benchmark's own, see grading_throughput.py;
   on the cluster side the scheduler and the worker too), and the `course grade` process's own CPU
   seconds per submission (its rusage; locally that includes its reaped warm workers). Then the medians
   and the cluster's overhead per submission, (cluster - local) / local (target: within 5 %).
2. The parent's own work per submission, which no cluster size shares out: preparing one submission
   (intake, reading its files) and committing one graded result (one of the overhead runs' results,
   committed --commits times under new student ids into a fresh gradebook, SQLite, in this process).
   Its inverse bounds how many submissions per second one `course grade` can take in. The benchmark's
   own resident memory after a tenth, half and all of the commits shows whether committing keeps
   anything per submission.
3. Memory. The resident memory of the `course grade` process itself (read from /proc every 0.2 s),
   grading --memory-n submissions of notebook --memory-notebook on the cluster, beside the same with
   --memory-small submissions: its peak while grading (until the last result is in autograded/), and
   the peak of the whole command (VmHWM), which includes the summary printed at the end (that reads
   every record and score of the gradebook). The parent commits each result as it comes and keeps
   none, so the peak while grading should not grow with the number of submissions.

    python bench/cluster_overhead.py [--n 8] [--rounds 3] [--jobs 2] [--notebook all|01|02|03] [--commits 100]
                                     [--memory-n 500] [--memory-small 50] [--memory-notebook 01]

Needs dask (pip install -e '.[cluster]') and bubblewrap. The machine is shared: read the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from grading_throughput import (  # noqa: E402
    cpu_note,
    cpu_seconds,
    lost_points,
    make_submissions,
    notebooks_for,
    quiet_sqlalchemy,
)

from autograder import sandbox  # noqa: E402

DASK = Path(sys.executable).with_name("dask")


class LocalCluster:
    """`dask scheduler` and one `dask worker --nthreads J` on 127.0.0.1, each in a session of its own."""

    def __init__(self, folder: Path, threads: int):
        folder.mkdir(parents=True)
        self.folder, self.processes = folder, []
        scheduler_file = folder / "scheduler.json"
        env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
        self._start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", scheduler_file], env)
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the scheduler did not start: see {folder / 'scheduler.log'}")
            time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self._start("worker", [DASK, "worker", self.address, "--nthreads", str(threads), "--nworkers", "1",
                               "--no-dashboard", "--host", "127.0.0.1", "--local-directory", folder / "space"], env)
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)

    def _start(self, name: str, command: list, env: dict) -> None:
        with open(self.folder / f"{name}.log", "w") as log:
            self.processes.append(subprocess.Popen([str(c) for c in command], stdout=log, stderr=subprocess.STDOUT,
                                                   env=env, start_new_session=True))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def run_grade(submissions: Path, course: Path, *options: str, n: int = 0) -> dict:
    """One `course grade` command: its wall seconds, everyone's CPU seconds, its own CPU seconds and memory
    (its peak, and its peak while fewer than ``n`` results were committed)."""
    command = [sys.executable, "-m", "autograder.cli", "grade", str(submissions), "--course", str(course), "--quiet",
               *options]
    cpu, started = cpu_seconds(), time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_kib = grading_kib = 0
    while True:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak_kib = max(peak_kib, int(status.split("VmHWM:")[1].split()[0]))
            if n and len(list(course.glob("autograded/*/logistic_regression"))) < n:
                grading_kib = max(grading_kib, int(status.split("VmRSS:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        pid, code, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(code) != 0:
        from autograder.grading import Course
        from autograder.results import Status

        logs = [f"--- {student}: {record.reason}\n{record.log[-3000:]}"
                for student, record in Course(course).store().records().items() if record.status is Status.ERROR]
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read()[-2000:]}\n" + "\n".join(logs[:2]))
    return {"wall": wall, "cpu": cpu_seconds() - cpu, "own_cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": peak_kib / 1024, "grading_mib": grading_kib / 1024}


def checked(result: dict, course: Path, n: int, names: list[str]) -> dict:
    """``result``, once every submission is known to have kept its full marks."""
    lost = lost_points(f"sqlite:///{course / 'gradebook.db'}", [f"s{i:02d}" for i in range(n)], names)
    if lost:
        raise SystemExit(f"{lost} of {n} correct submissions lost points in {course}")
    return result


def overhead(scratch: Path, args, names: list[str]) -> None:
    submissions = make_submissions(scratch / "subs", args.n, names)
    runs: dict[str, list[dict]] = {"local": [], "cluster": []}
    print(f"{'round':>5}  {'side':<8} {'wall s/sub':>10} {'CPU s/sub':>10} {'own CPU s/sub':>14}", flush=True)
    for round_ in range(args.rounds):
        for side in ("local", "cluster") if round_ % 2 == 0 else ("cluster", "local"):
            course = scratch / f"{side}-{round_}"
            if side == "local":
                result = run_grade(submissions, course, "--jobs", str(args.jobs))
            else:
                cluster = LocalCluster(scratch / f"dask-{round_}", args.jobs)
                try:
                    result = run_grade(submissions, course, "--scheduler", cluster.address)
                finally:
                    cluster.stop()
            runs[side].append(checked(result, course, args.n, names))
            print(f"{round_ + 1:>5}  {side:<8} {result['wall'] / args.n:>10.2f} {result['cpu'] / args.n:>10.2f} "
                  f"{result['own_cpu'] / args.n:>14.3f}", flush=True)
    median = {side: {key: statistics.median(r[key] for r in runs[side]) / args.n for key in ("wall", "cpu")}
              for side in runs}
    for side in runs:
        print(f"median   {side:<8} {median[side]['wall']:>10.2f} {median[side]['cpu']:>10.2f}")
    for key in ("wall", "cpu"):
        share = (median["cluster"][key] - median["local"][key]) / median["local"][key]
        print(f"cluster overhead per submission, {key} time: {share:+.1%} (target: within 5 %)")
    own = statistics.median(r["own_cpu"] for r in runs["cluster"]) / args.n
    print(f"the parent's own CPU per submission on the cluster side (start-up included): {own:.3f} s")
    if args.commits:
        parent_work(scratch, submissions / "s00", scratch / "cluster-0", args.commits)


def parent_work(scratch: Path, submission: Path, graded: Path, times: int) -> None:
    """Seconds the parent spends on one submission: preparing it, and committing its result."""
    from autograder.cluster import _package
    from autograder.course import ASSIGNMENT
    from autograder.grading import Course, _ensure_registered, assignment_gradebook, settle
    from autograder.store import read_workspace

    record = Course(graded).store().records()["s00"]
    result = read_workspace(Course(graded).db_url, graded / "autograded" / "s00" / ASSIGNMENT, "s00", record)
    course = Course(scratch / "commits")
    store = course.store()
    _ensure_registered(course, store, assignment_gradebook())
    from autograder.config import grading_limits, run_config

    settings = run_config(**grading_limits(), sandboxed=True)
    started = time.perf_counter()
    for i in range(times):
        _package(f"p{i:04d}", submission / ASSIGNMENT, scratch, [], settings)
    prepared = time.perf_counter()
    resident = {}
    for i in range(times):
        result.student = f"c{i:04d}"
        settle(store, result, settings)
        if i + 1 in (times // 10, times // 2, times):
            resident[i + 1] = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
    committed = time.perf_counter()
    store.close()
    prepare_s, commit_s = (prepared - started) / times, (committed - prepared) / times
    print(f"the parent's work per submission ({times} times): prepare {prepare_s * 1000:.0f} ms, commit "
          f"{commit_s * 1000:.0f} ms (SQLite gradebook): at most {1 / (prepare_s + commit_s):.1f} submissions per "
          f"second through one `course grade`")
    print("this process's resident memory after that many commits: " +
          ", ".join(f"{n}: {mib} MiB" for n, mib in resident.items()))


def memory(scratch: Path, args) -> None:
    names = notebooks_for(args.memory_notebook)
    print(f"\nparent memory, cluster side, notebook(s) {', '.join(n[:2] for n in names)}", flush=True)
    cluster = LocalCluster(scratch / "dask-memory", args.jobs)
    try:
        for n in (args.memory_small, args.memory_n):
            submissions = make_submissions(scratch / f"mem-subs-{n}", n, names)
            course = scratch / f"mem-{n}"
            result = checked(run_grade(submissions, course, "--scheduler", cluster.address, n=n), course, n, names)
            print(f"{n:>5} submissions: `course grade` resident memory: peak while grading "
                  f"{result['grading_mib']:.0f} MiB, peak with the summary {result['peak_mib']:.0f} MiB; wall "
                  f"{result['wall'] / n:.2f} s/sub, CPU {result['cpu'] / n:.2f} s/sub, the parent's own CPU "
                  f"{result['own_cpu'] / n:.3f} s/sub", flush=True)
            shutil.rmtree(submissions)
    finally:
        cluster.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=8, help="correct submissions per overhead run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of local and cluster (default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="gradings at once: --jobs locally, --nthreads of the worker (default: cores)")
    parser.add_argument("--notebook", default=None, help="01, 02 or 03 for the overhead runs (default: all three)")
    parser.add_argument("--commits", type=int, default=100, help="prepare and commit this many times (0: not)")
    parser.add_argument("--memory-n", type=int, default=500, help="submissions of the memory run (default 500; "
                        "0: no memory runs)")
    parser.add_argument("--memory-small", type=int, default=50, help="submissions of the smaller memory run")
    parser.add_argument("--memory-notebook", default="01", help="notebook of the memory runs (default 01)")
    args = parser.parse_args(argv)
    if reason := sandbox.unavailable():
        raise SystemExit(f"no OS sandbox here: {reason}")
    try:
        import distributed
    except ImportError:
        raise SystemExit("this benchmark needs dask: pip install -e '.[cluster]'") from None
    quiet_sqlalchemy()
    print(f"dask {distributed.__version__}; {args.jobs} gradings at once; {cpu_note()}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        if args.rounds:
            overhead(scratch, args, notebooks_for(args.notebook))
        if args.memory_n:
            memory(scratch, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
