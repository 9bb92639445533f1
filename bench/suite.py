"""The grading benchmark, in one run: ours against plain nbgrader and against the floor, where our CPU goes,
correct submissions under jobs and load, and notebook 03 as a learner runs it.

N correct submissions (all three notebooks by default) are graded, in --rounds interleaved rounds (the
order rotates each round), by:

* plain:  `nbgrader autograde` with nbgrader's defaults, in a scratch course where `nbgrader
          generate_assignment` ran once (one submission after another, numpy's own BLAS threads);
* warm:   our `grade_batch` (--jobs, default: the cores), the OS sandbox on, warm kernels (a sandboxed,
          pre-imported kernel template per job slot forks each notebook's kernel and runs its checks,
          handed from one submission to the next after it has cleaned up);
* fresh:  the same with COURSE_KERNELS=fresh: a new sandbox and template for every notebook, and a
          verification zygote of its own per submission (the cost structure the grader had before warm kernels);
* floor:  bench/floor.py on one of the submissions: only what grading must execute (the cells it runs and
          the verification calls) in one warm Python, imports done. Same BLAS threads as our workers;
* before: with --baseline, another copy of the grader (the last commit, say) graded like ours.

Wall seconds per submission are the batch's wall time / N. CPU seconds per submission count every
process (a cpuacct cgroup of the benchmark's own, where one can be made; see grading_throughput.py)
and are / N. Ours also write timing records (COURSE_TIMINGS, autograder/sandbox/timing.py), from
which the CPU is broken down by phase. Then, with warm kernels: N submissions at each --check-jobs, and
at --jobs under a synthetic load (one busy process per core; its own CPU is taken out), for the
correct submissions that lost points. Last, notebook 03's Restart & Run All in a fresh kernel with
numpy's default threads, until its last cell has run, against plain Python scripts of the same cells, one
that draws no figure and one that draws the same figures (--rra runs of each, taking turns), and the
reference model() against its bare matrix products (training_speed.py).

    python bench/suite.py [--n 10] [--rounds 3] [--notebooks 01 02 03] [--jobs 2] [--check-jobs 1 4]
                          [--no-load] [--rra 3] [--training-repeats 3] [--output results.json [--resume]]
                          [--baseline PYTHON TREE]

Prints the figures and writes them, with the machine and the conditions, as JSON (--output, saved after
every step; --resume continues a run that was stopped). bench/report.py turns that into
docs/benchmarks.md. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from grading_throughput import (  # noqa: E402
    cpu_note,
    cpu_seconds,
    dataset_note,
    grade_plain,
    lost_points,
    make_submissions,
    notebooks_for,
    plain_course,
    quiet_sqlalchemy,
)

from autograder.course import ASSIGNMENT, SOLUTIONS  # noqa: E402

NB03 = "03_logistic_regression_with_a_neural_network_mindset"
PHASES = [  # (key, what it is): the breakdown of our CPU per submission, in this order
    ("sandbox setup", "bubblewrap, the launcher and setpriv: each sandbox's own processes"),
    ("imports", "interpreter start and imports of the sandboxed Pythons: kernel templates (warm: once per job slot "
                "and batch; fresh: once per notebook) and verification zygotes (fresh)"),
    ("kernel start", "forking each kernel, its IPython set-up, and cleaning up after each kernel and check"),
    ("cells", "the cells grading runs, in the kernels"),
    ("verification", "the checks' children, and judging what they returned"),
    ("kernel messaging", "nbclient's side of the kernels, in the grading process"),
    ("nbgrader passes", "the rest of the grading process: nbgrader's sanitize and autograde passes, its gradebook"),
    ("batch process", "the batch's own process: intake, scheduling, committing to the gradebook"),
    ("warm workers", "starting the warm workers: Python and imports, once per job slot and batch"),
    ("other", "not attributed: the difference to the total"),
]


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def environment(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: str(value) for key, value in values.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def phases(records: list[dict], parent_cpu: float, total_cpu: float, n: int) -> dict[str, float]:
    """Our CPU seconds per submission, by phase, from the batch's timing records (see PHASES)."""
    def total(kind: str, key: str) -> float:
        return sum(float(r.get(key) or 0) for r in records if r.get("kind") == kind)

    templates = [r for r in records if r.get("kind") == "kernel template"]
    kernels = [k for t in templates for k in t.get("kernels", [])]
    kernels_cpu = sum(float(k.get("cpu") or 0) for k in kernels)
    kernels_setup = sum(float(k.get("setup_cpu") or 0) for k in kernels)
    template_imports = total("kernel template", "template_cpu")
    template_self = sum(float(t.get("template_self_cpu") or t.get("template_cpu") or 0) for t in templates)
    zygote_imports = sum(sum(r.get("zygote_cpu") or []) for r in records if r.get("kind") == "verifier")
    zygote_self = max(total("verifier", "zygote_self_cpu"), zygote_imports)
    template_jobs, zygote_jobs = total("verifier", "template_jobs_cpu"), total("verifier", "zygote_jobs_cpu")
    execute_client, verify_client = total("execute", "client_cpu"), total("verifier", "client_cpu")
    figures = {
        "sandbox setup": (total("kernel template", "sandbox_cpu") - template_self - kernels_cpu - template_jobs)
        + (total("verifier", "sandbox_cpu") - zygote_self - zygote_jobs),
        "imports": template_imports + zygote_imports,
        "kernel start": kernels_setup + template_self - template_imports,
        "cells": kernels_cpu - kernels_setup,
        "verification": template_jobs + zygote_jobs + zygote_self - zygote_imports + verify_client,
        "kernel messaging": execute_client,
        "nbgrader passes": total("grading process", "cpu") - execute_client - verify_client,
        "batch process": parent_cpu,
        "warm workers": total("warm worker", "cpu"),
    }
    figures["other"] = total_cpu - sum(figures.values())
    return {key: value / n for key, value in figures.items()}


def run_ours(kernels: str, root: Path, submissions: Path, jobs: int, names: list[str], students: list[str],
             timings: Path, load: int = 0) -> dict:
    """One grade_batch of every submission into a fresh course folder: per-submission figures."""
    from autograder.batch import grade_batch
    from autograder.grading import Course

    shutil.rmtree(root, ignore_errors=True)
    timings.unlink(missing_ok=True)
    busy = start_load(load)
    try:
        with environment(COURSE_TIMINGS=timings, COURSE_KERNELS=kernels):
            cpu, own, started = cpu_seconds(), _self_cpu(), time.perf_counter()
            outcomes = grade_batch(Course(root), submissions, jobs=jobs, quiet=True)
            wall, own, cpu = time.perf_counter() - started, _self_cpu() - own, cpu_seconds() - cpu
    finally:
        cpu -= stop_load(busy)
    n = len(students)
    records = [json.loads(line) for line in timings.read_text().splitlines()] if timings.exists() else []
    lost = lost_points(f"sqlite:///{root / 'gradebook.db'}", students, names)
    problems = sorted({o.status for o in outcomes if o.status != "graded"})
    shutil.rmtree(root, ignore_errors=True)
    return {"wall": wall / n, "cpu": cpu / n, "lost": lost, "problems": problems, "jobs": jobs, "load": load,
            "phases": phases(records, own, cpu, n) if not load else None}


def start_load(processes: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]


def stop_load(busy: list[subprocess.Popen]) -> float:
    """Stop the busy processes; return the CPU seconds they used (taken out of the batch's count)."""
    used = 0.0
    for process in busy:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
        process.kill()
        process.wait()
    return used


def run_plain(course: Path, names: list[str], students: list[str], log: Path) -> dict:
    cpu = cpu_seconds()
    wall = grade_plain(course, log)
    cpu = cpu_seconds() - cpu
    n = len(students)
    return {"wall": wall / n, "cpu": cpu / n, "lost": lost_points(f"sqlite:///{course / 'gradebook.db'}", students,
                                                                   names)}


BASELINE = """
import json, resource, sys, time, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
try:
    from autograder.batch import grade_batch
except ImportError:  # a tree from before autograder/batch.py
    from autograder.grading import grade_batch
from autograder.grading import Course
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": usage.ru_utime + usage.ru_stime, "at": time.time()}), flush=True)
outcomes = grade_batch(Course(Path(sys.argv[1])), Path(sys.argv[2]), jobs=int(sys.argv[3]), quiet=True)
print(json.dumps({"at": time.time(), "statuses": sorted({o.status for o in outcomes})}), flush=True)
"""


def run_baseline(python: str, tree: str, root: Path, submissions: Path, jobs: int, names: list[str],
                 students: list[str]) -> dict:
    """One grade_batch by another copy of the grader (``tree``, run by ``python``, whose virtualenv imports
    ``autograder`` from that tree): the code before a change, measured like ours. The tree's commit is read from
    its ``.baseline-commit`` file when there is one."""
    shutil.rmtree(root, ignore_errors=True)
    cpu = cpu_seconds()
    done = subprocess.run([python, "-c", BASELINE, str(root), str(submissions), str(jobs)], cwd=tree,
                          capture_output=True, text=True, timeout=7200)
    cpu = cpu_seconds() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"the baseline grader failed: {done.stderr[-2000:]}")
    ready, end = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    n = len(students)
    lost = lost_points(f"sqlite:///{root / 'gradebook.db'}", students, names)
    shutil.rmtree(root, ignore_errors=True)
    commit = Path(tree, ".baseline-commit")
    return {"wall": (end["at"] - ready["at"]) / n, "cpu": (cpu - ready["cpu"]) / n, "lost": lost,
            "problems": [s for s in end["statuses"] if s != "graded"],
            "commit": commit.read_text().strip() if commit.exists() else None}


def run_floor(submission: Path, prefixes: list[str], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    done = subprocess.run([sys.executable, str(HERE / "floor.py"), str(submission), "--json", "--notebooks",
                           *prefixes], capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"bench/floor.py failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- notebook 03 as a learner runs it ----------------------------------------------------------------------
FIGURE_SETTINGS = "InlineBackend.print_figure_kwargs"  # a notebook's own setting of how its figures are drawn


def plain_script(notebook: Path, draw: bool = False) -> str:
    """The notebook's code cells as one Python script: IPython's syntax turned into Python, its magics left out,
    matplotlib's ``agg`` backend. With ``draw``, after each cell every open figure is drawn to a PNG in memory as
    the notebook's inline backend draws it (its dpi, and the notebook's own ``%config InlineBackend.
    print_figure_kwargs`` if it sets one), then closed, as the inline backend closes them: the pictures a
    learner sees, made without a kernel."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    lines = ["import io, os, sys", "sys.path.insert(0, os.getcwd())", "import matplotlib", "matplotlib.use('agg')",
             "import matplotlib.pyplot as _pyplot", "_figure_kwargs = {'bbox_inches': 'tight'}"]
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if line.startswith(f"%config {FIGURE_SETTINGS}") and "=" in line:
                lines.append(f"_figure_kwargs = {line.split('=', 1)[1].split('#')[0].strip()}")
        lines += [line for line in transform(cell.source).splitlines() if "get_ipython()" not in line]
        if draw:
            lines += ["for _number in _pyplot.get_fignums():",
                      "    _pyplot.figure(_number).savefig(io.BytesIO(), format='png', dpi=100, **_figure_kwargs)",
                      "_pyplot.close('all')"]
    return "\n".join(lines) + "\n"


def restart_and_run_all(repeats: int) -> dict:
    """Notebook 03 of solutions/ in a fresh kernel (nbclient, numpy's default threads) against plain scripts of the
    same cells (one that draws no figure, one that draws the same figures), taking turns: wall and CPU seconds
    of each run. The notebook's run starts with the kernel's start and ends when its last cell has run, when a
    learner has every result (the kernel's shutdown after that is not waited for); a script's is the process's
    whole life."""
    import nbformat
    from nbclient import NotebookClient

    notebook = SOLUTIONS / ASSIGNMENT / f"{NB03}.ipynb"
    runs: dict[str, list] = {"notebook": [], "script": [], "drawing script": []}
    env_threads = {var: os.environ.pop(var, None) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                               "MKL_NUM_THREADS")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-rra-") as folder:
            scripts = {"script": Path(folder) / "notebook03.py", "drawing script": Path(folder) / "notebook03_drawn.py"}
            scripts["script"].write_text(plain_script(notebook))
            scripts["drawing script"].write_text(plain_script(notebook, draw=True))
            last: dict = {}  # when the notebook's latest cell ended: CPU and wall clock

            def cell_ended(**_) -> None:
                last.update(cpu=cpu_seconds(), at=time.perf_counter())

            for _ in range(repeats):
                nb = nbformat.read(notebook, as_version=4)
                last.clear()
                client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                        resources={"metadata": {"path": str(notebook.parent)}},
                                        on_cell_executed=cell_ended)
                cpu, started = cpu_seconds(), time.perf_counter()
                client.execute(stderr=subprocess.DEVNULL)
                runs["notebook"].append({"wall": last["at"] - started, "cpu": last["cpu"] - cpu,
                                         "with_shutdown": time.perf_counter() - started})
                for kind, script in scripts.items():
                    cpu, started = cpu_seconds(), time.perf_counter()
                    done = subprocess.run([sys.executable, str(script)], cwd=notebook.parent,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    if done.returncode != 0:
                        raise RuntimeError(f"the plain {kind} of notebook 03 failed: {done.stderr[-1000:]}")
                    runs[kind].append({"wall": time.perf_counter() - started, "cpu": cpu_seconds() - cpu})
    finally:
        os.environ.update({k: v for k, v in env_threads.items() if v is not None})
    return runs


def training(repeats: int) -> list[dict]:
    if repeats <= 0:
        return []
    done = subprocess.run([sys.executable, str(HERE / "training_speed.py"), "--repeats", str(repeats), "--json"],
                          capture_output=True, text=True, timeout=1800)
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []


# -- the whole run -------------------------------------------------------------------------------------------
def machine() -> dict:
    import importlib.metadata as metadata

    from autograder import sandbox

    def version(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "?")
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": git("rev-parse",
            "--short", "HEAD"), "changes_not_committed": bool(git("status", "--porcelain", "--", "autograder",
                                                                  "bench")),
            "cores": os.cpu_count(), "cpu": model, "memory_kib": memory, "kernel": platform.release(),
            "python": platform.python_version(),
            "versions": {p: version(p) for p in ("numpy", "nbgrader", "nbclient", "ipykernel", "jupyter_client")},
            "sandbox": sandbox.describe(True) if sandbox.unavailable() is None else f"none: {sandbox.unavailable()}",
            "cpu_accounting": cpu_note(), "dataset": dataset_note()}


def spread(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarise(result: dict) -> dict:
    rounds = result["rounds"]

    def of(variant, key):
        return [r[variant][key] for r in rounds if variant in r]

    summary = {}
    for variant in ("plain", "warm", "fresh"):
        summary[variant] = {"wall": spread(of(variant, "wall")), "cpu": spread(of(variant, "cpu")),
                            "lost": max(of(variant, "lost"), default=None)}
    summary["floor"] = {"cpu": spread([r["floor"]["cpu"] for r in rounds]),
                        "cells_cpu": spread([r["floor"]["cells_cpu"] for r in rounds]),
                        "verify_cpu": spread([r["floor"]["verify_cpu"] for r in rounds]),
                        "all_passed": all(r["floor"]["all_passed"] for r in rounds)}
    for variant in ("warm", "fresh"):
        summary[f"plain/{variant} wall"] = spread([r["plain"]["wall"] / r[variant]["wall"] for r in rounds])
        summary[f"plain/{variant} cpu"] = spread([r["plain"]["cpu"] / r[variant]["cpu"] for r in rounds])
        summary[f"{variant}/floor cpu"] = spread([r[variant]["cpu"] / r["floor"]["cpu"] for r in rounds])
        summary[f"{variant} phases"] = {key: spread([r[variant]["phases"][key] for r in rounds])["median"]
                                        for key, _ in PHASES}
    if all("before" in r for r in rounds):
        summary["before"] = {"wall": spread(of("before", "wall")), "cpu": spread(of("before", "cpu")),
                             "lost": max(of("before", "lost"), default=None), "commit": rounds[0]["before"]["commit"]}
        summary["before/warm cpu"] = spread([r["before"]["cpu"] / r["warm"]["cpu"] for r in rounds])
        summary["before/warm wall"] = spread([r["before"]["wall"] / r["warm"]["wall"] for r in rounds])
        summary["plain/before cpu"] = spread([r["plain"]["cpu"] / r["before"]["cpu"] for r in rounds])
        summary["plain/before wall"] = spread([r["plain"]["wall"] / r["before"]["wall"] for r in rounds])
    summary["fresh/warm cpu"] = spread([r["fresh"]["cpu"] / r["warm"]["cpu"] for r in rounds])
    summary["fresh/warm wall"] = spread([r["fresh"]["wall"] / r["warm"]["wall"] for r in rounds])
    rra = result.get("restart_run_all") or {}
    if rra.get("notebook") and len(rra["notebook"]) == len(rra.get("script", [])):
        summary["rra notebook wall"] = spread([r["wall"] for r in rra["notebook"]])
        summary["rra script wall"] = spread([r["wall"] for r in rra["script"]])
        pairs = list(zip(rra["notebook"], rra["script"], strict=True))
        summary["rra notebook/script wall"] = spread([a["wall"] / b["wall"] for a, b in pairs])
        summary["rra notebook/script cpu"] = spread([a["cpu"] / b["cpu"] for a, b in pairs])
        if len(rra.get("drawing script", [])) == len(rra["notebook"]):
            drawn = list(zip(rra["notebook"], rra["drawing script"], strict=True))
            summary["rra notebook/drawing script wall"] = spread([a["wall"] / b["wall"] for a, b in drawn])
            summary["rra notebook/drawing script cpu"] = spread([a["cpu"] / b["cpu"] for a, b in drawn])
    return summary


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="correct submissions per batch (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--notebooks", nargs="+", default=["01", "02", "03"], help="which notebooks (default all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="our --jobs (default: the cores)")
    parser.add_argument("--check-jobs", type=int, nargs="*", default=[1, 4], help="more --jobs to check (default 1 4)")
    parser.add_argument("--no-load", action="store_true", help="skip the run under synthetic CPU load")
    parser.add_argument("--rra", type=int, default=3, help="Restart & Run All runs of notebook 03 (0: none)")
    parser.add_argument("--training-repeats", type=int, default=3, help="training_speed.py repeats (0: none)")
    parser.add_argument("--output", type=Path, help="write the figures here as JSON")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --output (same settings): "
                        "the rounds and checks it has are kept, the rest is measured")
    parser.add_argument("--baseline", nargs=2, metavar=("PYTHON", "TREE"),
                        help="also grade with another copy of the grader (e.g. the last commit, exported with "
                             "`git archive`), run by PYTHON whose virtualenv imports autograder from TREE")
    args = parser.parse_args(argv)
    quiet_sqlalchemy()
    names = [n for prefix in args.notebooks for n in notebooks_for(prefix)]
    cores = os.cpu_count() or 1
    threads = max(1, cores // args.jobs)
    result = {"machine": machine(), "settings": {k: (str(v) if isinstance(v, Path) else v)
                                                 for k, v in vars(args).items() if k != "resume"},
              "notebooks": names, "rounds": [], "checks": []}
    result["machine"]["load_before"] = os.getloadavg()
    if args.resume and args.output and args.output.exists():  # a run that was stopped: what it measured stays
        kept = json.loads(args.output.read_text())
        if kept.get("settings") == result["settings"] and kept.get("notebooks") == names:
            result = kept
            result["machine"]["resumed"] = machine()["date"]
            print(f"resuming {args.output}: {len(result['rounds'])} round(s) and {len(result['checks'])} "
                  "check(s) were measured", flush=True)
    print(f"{args.n} correct submissions of {', '.join(n[:2] for n in names)}; ours with --jobs {args.jobs} "
          f"({threads} BLAS thread(s) per worker); {args.rounds} rounds\n{result['machine']['sandbox']}\n"
          f"{result['machine']['cpu_accounting']}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    try:
        submissions = make_submissions(scratch / "submissions", args.n, names)
        students = [f"s{i:02d}" for i in range(args.n)]
        plain = plain_course(scratch / "plain", submissions, names)
        one = submissions / students[0] / ASSIGNMENT
        from autograder.batch import grade_batch
        from autograder.grading import Course

        with environment(COURSE_KERNELS="warm"):  # a warm-up, not measured: the batch process's imports, caches
            grade_batch(Course(scratch / "warm-up"), submissions, student=students[0], jobs=1, quiet=True)
        variants = ["plain", "warm", "fresh", "floor"] + (["before"] if args.baseline else [])
        for number in range(len(result["rounds"]), args.rounds):
            figures = {}
            for variant in variants[number % len(variants):] + variants[:number % len(variants)]:
                if variant == "before":
                    figures[variant] = run_baseline(*args.baseline, scratch / "before", submissions, args.jobs, names,
                                                    students)
                elif variant == "plain":
                    figures[variant] = run_plain(plain, names, students, scratch / "plain.log")
                elif variant == "floor":
                    figures[variant] = run_floor(one, args.notebooks, threads)
                else:
                    figures[variant] = run_ours(variant, scratch / f"ours-{variant}", submissions, args.jobs, names,
                                                students, scratch / f"timings-{variant}.jsonl")
                shown = figures[variant]
                print(f"  round {number + 1}: {variant:<6} {shown.get('wall', 0):6.2f} s/submission, "
                      f"{shown['cpu']:6.2f} CPU-s/submission"
                      + (f", lost points: {shown['lost']}" if "lost" in shown else ""), flush=True)
            result["rounds"].append(figures)
            save(result, args.output)  # what is measured is kept, whatever happens later
        checks = [(jobs, 0) for jobs in args.check_jobs] + ([] if args.no_load else [(args.jobs, cores)])
        for jobs, load in checks[len(result["checks"]):]:
            figures = run_ours("warm", scratch / "ours-check", submissions, jobs, names, students,
                               scratch / "timings-check.jsonl", load=load)
            result["checks"].append(figures)
            save(result, args.output)
            print(f"  --jobs {jobs}{f', {load} busy processes' if load else ''}: {figures['wall']:6.2f} s/submission, "
                  f"{figures['cpu']:6.2f} CPU-s/submission, lost points: {figures['lost']}", flush=True)
        if args.rra and not (result.get("restart_run_all") or {}).get("notebook"):
            try:
                result["restart_run_all"] = restart_and_run_all(args.rra)
            except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:  # reported, the rest is kept
                result["restart_run_all"] = {"error": str(exc)}
                print(f"  Restart & Run All could not be measured: {exc}", flush=True)
            save(result, args.output)
        if not result.get("training"):
            result["training"] = training(args.training_repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["machine"]["load_after"] = os.getloadavg()
    result["summary"] = summarise(result)
    print_summary(result)
    if args.output:
        save(result, args.output)
        print(f"figures written to {args.output}")
    return result


def save(result: dict, output: Path | None) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=1))


def print_summary(result: dict) -> None:
    s = result["summary"]

    def show(stats, unit=""):
        if not stats or stats.get("median") is None:
            return "-"
        return f"{stats['median']:.2f}{unit} [{stats['min']:.2f}-{stats['max']:.2f}]"

    print("\nper submission, median [min-max] of the rounds:")
    for variant in ("plain", "before", "warm", "fresh"):
        if variant not in s:
            continue
        print(f"  {variant:<6} wall {show(s[variant]['wall'], ' s'):<24} CPU {show(s[variant]['cpu'], ' s'):<24} "
              f"correct submissions that lost points (worst round): {s[variant]['lost']}")
    print(f"  floor  CPU {show(s['floor']['cpu'], ' s')}")
    for variant in ("warm", "fresh"):
        print(f"  {variant}: plain/ours wall {show(s[f'plain/{variant} wall'], 'x')}, CPU "
              f"{show(s[f'plain/{variant} cpu'], 'x')}; ours/floor CPU {show(s[f'{variant}/floor cpu'], 'x')}")
    print("  CPU seconds per submission by phase (median):  warm   fresh")
    for key, _ in PHASES:
        print(f"    {key:<42} {s['warm phases'][key]:6.2f} {s['fresh phases'][key]:6.2f}")
    if "rra notebook wall" in s:
        print(f"  notebook 03 Restart & Run All: {show(s['rra notebook wall'], ' s')}; a plain script of the same "
              f"cells {show(s['rra script wall'], ' s')}; ratio wall {show(s['rra notebook/script wall'], 'x')}, "
              f"CPU {show(s['rra notebook/script cpu'], 'x')}")
    if "rra notebook/drawing script wall" in s:
        print(f"  … against a plain script that draws the same figures: wall "
              f"{show(s['rra notebook/drawing script wall'], 'x')}, "
              f"CPU {show(s['rra notebook/drawing script cpu'], 'x')}")


if __name__ == "__main__":
    main()
