"""Run the benchmarks (`make bench`), or write docs/benchmarks.md from a run of the grading suite.

    python bench/run_all.py [--quick]                      # every script with its defaults, one after another
    python bench/run_all.py --write-docs [--label TEXT] [SUITE OPTIONS...]
    python bench/run_all.py --render-docs [--results FILE]

--write-docs runs bench/suite.py (the grading benchmark: ours against plain nbgrader and the
floor, the breakdown of our CPU, correct submissions under jobs and load, notebook 03 as a learner runs it),
saves its figures (--results, default bench/results/latest.json), and writes docs/benchmarks.md from them
with bench/report.py: no figure in it is typed by hand. With --label, the run is also recorded in
bench/history.json as what the change it measured was worth (one row per label and commit). Options it
does not know go to suite.py (see `python bench/suite.py --help`), for example `--n 8 --rounds 3`,
`--baseline PYTHON TREE` to grade with the code of an earlier commit side by side, or `--resume` to go on
with a run that was stopped. --render-docs writes the page again from saved figures, measuring nothing.

Without either, nothing is asserted: each script prints its figures. --quick uses small sizes (notebook 03
only, a few submissions, fewer repeats) to see that everything runs. The dataset is the shipped one
(datasets/), or the original when CATVNONCAT_DIR is set.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FULL = [
    ["suite.py"],
    ["training_speed.py"],
    ["notebook_runtime.py", "--threads", "default", "1"],
    ["headroom.py"],
    ["grading_throughput.py"],
    ["grading_throughput.py", "--notebook", "all", "--n", "6", "--threads", "1"],
    ["sandbox_cost.py"],
    ["cluster_overhead.py"],
]
QUICK = [
    ["suite.py", "--n", "2", "--rounds", "1", "--notebooks", "03", "--check-jobs", "1", "--no-load", "--rra", "1",
     "--training-repeats", "1"],
    ["training_speed.py", "--repeats", "2"],
    ["notebook_runtime.py", "--repeats", "1", "--notebook", "03"],
    ["headroom.py", "--repeats", "1"],
    ["grading_throughput.py", "--n", "4", "--notebook", "03", "--repeats", "1"],
    ["sandbox_cost.py", "--n", "2", "--notebook", "03", "--repeats", "1"],
    ["cluster_overhead.py", "--n", "2", "--notebook", "03", "--rounds", "1", "--memory-n", "4", "--memory-small", "2"],
]
RESULTS = HERE / "results" / "latest.json"
HISTORY = HERE / "history.json"
DOCS = HERE.parent / "docs" / "benchmarks.md"


def write_docs(results: Path, history_path: Path, docs: Path, label: str | None, command: str) -> None:
    """docs/benchmarks.md from saved figures; with ``label``, first record the run in the history."""
    from report import history_entry, render

    result = json.loads(results.read_text())
    if command.split()[2:3] == ["--write-docs"]:  # the command that measured the figures, kept with them
        result["command"] = command
        results.write_text(json.dumps(result, indent=1))
    history = json.loads(history_path.read_text()) if history_path.exists() else []
    if label:
        entry = history_entry(result, label)
        history = [h for h in history if (h.get("label"), h.get("commit")) != (label, entry["commit"])] + [entry]
        history_path.write_text(json.dumps(history, indent=1, ensure_ascii=False) + "\n")
    docs.write_text(render(result, history, command))
    print(f"wrote {docs}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="run suite.py and write docs/benchmarks.md")
    parser.add_argument("--render-docs", action="store_true", help="write docs/benchmarks.md from saved figures")
    parser.add_argument("--label", help="with --write-docs: record the run in the history as this change")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"the figures (default {RESULTS})")
    parser.add_argument("--history", type=Path, default=HISTORY, help=f"the history (default {HISTORY})")
    parser.add_argument("--docs", type=Path, default=DOCS, help=f"the page (default {DOCS})")
    args, suite_options = parser.parse_known_args(argv)
    if args.write_docs or args.render_docs:
        if args.write_docs:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, str(HERE / "suite.py"), *suite_options, "--output", str(args.results)]
            if subprocess.run(command).returncode != 0:
                sys.exit("bench/suite.py failed: the page was not written")
        shown = shlex.join(["bench/run_all.py", "--write-docs" if args.write_docs else "--render-docs",
                            *(["--label", args.label] if args.label else []), *suite_options])
        write_docs(args.results, args.history, args.docs, args.label, f".venv/bin/python {shown}")
        return
    if suite_options:
        parser.error(f"unknown options: {' '.join(suite_options)}")
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
