"""Run every benchmark with its defaults, one after another, and print their figures (`make bench`).

    python bench/run_all.py [--quick]

Nothing is asserted: the figures are compared with the targets in docs/benchmarks.md by a person.
--quick uses small sizes (notebook 03 only, 4 submissions, fewer repeats) to see that everything runs.
The dataset is the shipped one (datasets/), or the original when CATVNONCAT_DIR is set; the training
benchmark measures the original too when it is set. Most of the time goes to grading_throughput.py
(20 submissions of notebook 03, 2 repeats, plain and two variants of ours: about 8 minutes on 2 cores)
and cluster_overhead.py (needs dask; its 500-submission memory run alone takes about half an hour on
2 cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["training_speed.py"],
    ["notebook_runtime.py", "--threads", "default", "1"],
    ["headroom.py", "--profile"],
    ["grading_throughput.py"],
    ["grading_throughput.py", "--notebook", "all", "--n", "6", "--threads", "1"],
    ["sandbox_cost.py"],
    ["cluster_overhead.py"],
]
QUICK = [
    ["training_speed.py", "--repeats", "2"],
    ["notebook_runtime.py", "--repeats", "1", "--notebook", "03"],
    ["headroom.py", "--repeats", "1", "--profile"],
    ["grading_throughput.py", "--n", "4", "--notebook", "03", "--repeats", "1"],
    ["sandbox_cost.py", "--n", "2", "--notebook", "03", "--repeats", "1"],
    ["cluster_overhead.py", "--n", "2", "--notebook", "03", "--rounds", "1", "--memory-n", "4", "--memory-small", "2"],
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    failed = []
    for script, *options in QUICK if args.quick else FULL:
        command = [sys.executable, str(HERE / script), *options]
        print(f"\n=== {' '.join(['python', f'bench/{script}', *options])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command).returncode != 0:
            failed.append(script)
        print(f"=== ({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
