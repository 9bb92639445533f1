"""Notebook runtime: "Restart & Run All" of each solution notebook, as an instructor would do it.

Each notebook in solutions/logistic_regression/ is executed top to bottom with nbclient in a fresh
kernel (the venv's python3), in its own folder, --repeats times, the notebooks taking turns. Printed per
notebook: the median wall time (kernel start included), the part spent inside cells, and its slowest
cells (target: notebook 03 in <= 10 s). --threads runs each notebook once per BLAS thread setting of the
kernel, taking turns: "default" is numpy's own choice (one thread per core), as on a learner's machine.

    python bench/notebook_runtime.py [--repeats 3] [--notebook 03] [--threads default 1]

The dataset is the shipped one (datasets/), or the original when CATVNONCAT_DIR is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "solutions" / "logistic_regression"


def cell_seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end.replace("Z", "+00:00")) -
            datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def run(path: Path, timeout: int, threads: str) -> tuple[float, list[tuple[float, int]]]:
    """Wall seconds of one fresh-kernel run, and (seconds, index) of every code cell."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the kernel inherits these
        if threads == "default":
            os.environ.pop(var, None)
        else:
            os.environ[var] = threads
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute(stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    return wall, [(cell_seconds(c), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--notebook", help="only notebooks whose name starts with this (e.g. 03)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--threads", nargs="+", default=["default"], help='BLAS threads of the kernel: N or "default"')
    args = parser.parse_args(argv)
    paths = sorted(p for p in FOLDER.glob("*.ipynb") if p.name.startswith(args.notebook or ""))
    runs = [(path, threads) for threads in args.threads for path in paths]
    walls = {r: [] for r in runs}
    cells = {r: [] for r in runs}
    for _ in range(args.repeats):
        for path, threads in runs:
            wall, timings = run(path, args.timeout, threads)
            walls[path, threads].append(wall)
            cells[path, threads].append(timings)
    print(f"Restart & Run All, fresh kernel, median of {args.repeats}")
    for path, threads in runs:
        wall = statistics.median(walls[path, threads])
        inside = statistics.median(sum(s for s, _ in run_) for run_ in cells[path, threads])
        per_cell = {}
        for run_ in cells[path, threads]:
            for seconds, index in run_:
                per_cell.setdefault(index, []).append(seconds)
        slowest = sorted(((statistics.median(v), i) for i, v in per_cell.items()), reverse=True)[:3]
        target = "  (target <= 10 s)" if path.name.startswith("03") else ""
        print(f"  {path.stem[:40]:<40} BLAS threads {threads:<7} {wall:6.1f} s  (cells {inside:5.1f} s, "
              f"kernel start and rest {wall - inside:4.1f} s){target}")
        print("      slowest cells: " + ", ".join(f"cell {i}: {s:.1f} s" for s, i in slowest))


if __name__ == "__main__":
    main()
