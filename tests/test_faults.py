"""When grading fails through no fault of the student's, is it retried, reported as the grader's, and is
nothing lost? And do the time budget and the exit codes hold?"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import RUN_TOKEN, require_component

from autograder import sandbox
from autograder.batch import grade_batch
from autograder.grading import Course
from autograder.results import CellStatus, Status
from autograder.submissions import complete, filled, write_submission

NB03 = "03_logistic_regression_with_a_neural_network_mindset"


@pytest.fixture(autouse=True)
def _needs_bubblewrap():
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")


def _slow_03(seconds: float = 4) -> nbformat.NotebookNode:
    nb = filled(NB03)
    nb.cells.insert(1, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})", id="slow"))
    return nb


TOKEN = RUN_TOKEN  # in the environment of every grader this session starts (conftest.py)


def _ours(pid: int) -> bool:
    """Whether ``pid`` descends from a grader these tests started (other graders may share the machine)."""
    for _ in range(12):
        try:
            if f"COURSE_TEST_RUN={TOKEN}".encode() in Path(f"/proc/{pid}/environ").read_bytes():
                return True
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 1:
            return False
    return False


def _kernels() -> list[int]:
    """Process ids of this run's grading kernels (the Python inside the sandbox, not bubblewrap)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"python" in Path(argv[0].decode(errors="replace")).name.encode() and \
                b"autograder.sandbox.kernel" in argv and _ours(int(entry)):
            found.append(int(entry))
    return found


class Killer:
    """Kills the first ``times`` grading kernels it sees, a moment after they start: an operator, or the OOM killer."""

    def __init__(self, times: int):
        self.times, self.killed, self._stop = times, 0, False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        seen: dict[int, float] = {}
        while not self._stop and self.killed < self.times:
            now = time.monotonic()
            for pid in _kernels():
                if now - seen.setdefault(pid, now) > 1.5:
                    os.kill(pid, signal.SIGKILL)
                    self.killed += 1
                    seen[pid] = float("inf")
            time.sleep(0.1)

    def stop(self):
        self._stop = True
        self._thread.join()


def test_a_kernel_killed_from_outside_is_graded_again_and_keeps_its_points(tmp_path):
    write_submission(tmp_path / "subs", "ada", {NB03: _slow_03()})
    course = Course(tmp_path / "course")
    killer = Killer(times=1)
    try:
        outcomes = grade_batch(course, tmp_path / "subs", jobs=1, quiet=True)
    finally:
        killer.stop()
    assert killer.killed == 1
    assert outcomes[0].status == "graded with problems", outcomes[0].reason  # only notebooks 01 and 02 missing
    assert course.store().scores()["ada"]["total"] == 11.0


def test_a_kernel_killed_every_time_is_the_graders_error_and_the_earlier_result_stays(tmp_path):
    write_submission(tmp_path / "subs", "ada", {NB03: _slow_03()})
    course = Course(tmp_path / "course")
    grade_batch(course, tmp_path / "subs", jobs=1, quiet=True)
    before = course.store().scores()["ada"]
    killer = Killer(times=2)
    try:
        outcomes = grade_batch(course, tmp_path / "subs", jobs=1, quiet=True)
    finally:
        killer.stop()
    assert outcomes[0].status == "error" and "killed from outside" in outcomes[0].reason
    record = course.store().records()["ada"]
    assert record.status is Status.ERROR and "earlier result" in record.reason
    assert course.store().scores()["ada"] == before


def test_the_notebook_timeout_is_a_budget_not_a_floor_per_cell(tmp_path):
    nb = filled(NB03)
    for i in range(40):
        nb.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(0.5)", id=f"short-{i}"))
    write_submission(tmp_path / "subs", "ada", {NB03: nb})
    course = Course(tmp_path / "course")
    grade_batch(course, tmp_path / "subs", jobs=1, quiet=True, timeout=6, cell_timeout=60)
    record = course.store().records()["ada"]
    cells = record.notebooks[NB03].cells
    ran = sum(c.seconds for c in cells.values())
    assert ran < 6 + 1.5, f"the cells ran {ran:.1f} s under a 6 s budget"
    assert "ran out of time" in record.reason
    assert any(c.status is CellStatus.NOT_RUN for c in cells.values())


def _grade(tmp_path, *options, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "subs"), "--course",
                           str(tmp_path / "course"), "--quiet", *options], capture_output=True, text=True,
                          timeout=timeout)


def test_exit_code_0_when_every_submission_has_a_recorded_result(tmp_path):
    write_submission(tmp_path / "subs", "ada", {"01_numpy_and_vectorization": filled("01_numpy_and_vectorization")})
    write_submission(tmp_path / "subs", "bad", {NB03: b"{not json"})  # the student's problem: still recorded
    assert _grade(tmp_path).returncode == 0


def test_exit_code_3_when_a_submission_ends_in_error(tmp_path):
    write_submission(tmp_path / "subs", "ada", {NB03: _slow_03()})
    killer = Killer(times=2)
    try:
        result = _grade(tmp_path)
    finally:
        killer.stop()
    assert result.returncode == 3, result.stderr
    assert "grading ada failed" in result.stderr


def test_exit_code_130_when_interrupted_and_nothing_is_left_running(tmp_path):
    complete("ada", tmp_path / "subs")
    write_submission(tmp_path / "subs", "ben", {NB03: _slow_03(60)})
    grader = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "subs"), "--course",
                               str(tmp_path / "course"), "--quiet", "--jobs", "1"], stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 120
    while not _kernels() and time.monotonic() < deadline:
        time.sleep(0.2)
    grader.send_signal(signal.SIGINT)  # Ctrl-C
    assert grader.wait(timeout=60) == 130
    assert "interrupted" in grader.stderr.read()
    deadline = time.monotonic() + 15  # a kernel being stopped may take a moment on a loaded machine
    while _kernels() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _kernels() == []


@pytest.mark.parametrize("option", [["--jobs", "-1"], ["--memory", "0"], ["--timeout", "0"], ["--jobs", "two"]])
def test_invalid_options_are_refused_with_a_message(tmp_path, option):
    result = _grade(tmp_path, *option, timeout=60)
    assert result.returncode == 2 and "error: argument" in result.stderr and "Traceback" not in result.stderr

