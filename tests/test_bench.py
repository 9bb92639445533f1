"""The benchmarks run, on a tiny input: the grading suite end to end (plain nbgrader, ours warm and fresh, the
floor), and the page it writes. No figure is checked against a target: that is what the benchmarks are for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import require_component

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[1]


def test_the_suite_runs_and_writes_the_page_from_its_figures(tmp_path):
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    results, history, docs = tmp_path / "results.json", tmp_path / "history.json", tmp_path / "benchmarks.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--write-docs", "--label", "a test",
                           "--results", str(results), "--history", str(history), "--docs", str(docs),
                           "--n", "1", "--rounds", "1", "--notebooks", "01", "--check-jobs", "--no-load", "--rra", "0",
                           "--training-repeats", "0"], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(results.read_text())
    round_ = figures["rounds"][0]
    assert set(round_) == {"plain", "warm", "fresh", "floor"}
    assert all(round_[v]["lost"] == 0 for v in ("plain", "warm", "fresh")), round_
    assert round_["floor"]["all_passed"] and round_["floor"]["cpu"] > 0
    assert round_["warm"]["phases"]["cells"] > 0 and round_["warm"]["phases"]["imports"] > 0
    assert [entry["label"] for entry in json.loads(history.read_text())] == ["a test"]
    page = docs.read_text()
    for heading in ("## Targets", "## Where our CPU goes", "## History: what each change was worth"):
        assert heading in page
    assert f"{round_['warm']['cpu']:.2f}" in page  # the page's figures are the run's

    again = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--render-docs", "--results",
                            str(results), "--history", str(history), "--docs", str(tmp_path / "again.md")],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.md").read_text().split("\n", 3)[3] == page.split("\n", 3)[3]  # all but the command
