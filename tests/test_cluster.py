"""Grading on a real Dask cluster (`course grade --scheduler`): one scheduler and two workers started with
the `dask` command-line tools, on 127.0.0.1 only. A worker is killed (SIGKILL) while it grades; every
submission must still end with exactly one correct result, committed by the parent alone. Then a regrade
of one student, Ctrl-C, and a worker with other course files. No process may be left behind."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import require_component

from autograder import sandbox
from autograder.course import ASSIGNMENT, ROOT, SAMPLE_SUBMISSIONS
from autograder.grading import Course
from autograder.results import Status, SubmissionRecord
from autograder.submissions import complete, filled, write_submission

NB01 = "01_numpy_and_vectorization"
DASK = Path(sys.executable).with_name("dask")
EXPECTED = {"ada": (25, "graded"), "ben": (14, "graded"), "cy": (5, "graded with problems"),
            "gen_complete": (25, "graded"), "gen_only_01": (9, "graded with problems")}


# -- processes: what the cluster started, seen through /proc ---------------------------------------------
def _table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, start time, state) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(entry)] = (int(fields[1]), fields[19], fields[0])
    return table


def _descendants(roots: list[int]) -> set[tuple[int, str]]:
    """(pid, start time) of every living descendant of ``roots``."""
    children = defaultdict(list)
    table = _table()
    for pid, (parent, _, state) in table.items():
        if state != "Z":
            children[parent].append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            found.add((child, table[child][1]))
            todo.append(child)
    return found


def _alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    table = _table()
    return {(pid, start) for pid, start in processes if pid in table and table[pid][1] == start
            and table[pid][2] != "Z"}


def _grading(pid: int) -> bool:
    """Whether a grading kernel runs under ``pid`` (a worker in the middle of a submission): a kernel forked by its
    kernel template (the template itself stays, idle, between submissions)."""
    def python_of_a_template(process: int) -> bool:  # (bubblewrap's own command line names the module too)
        return b"autograder.sandbox.kernel" in Path(f"/proc/{process}/cmdline").read_bytes().split(b"\0")[:3]

    table = _table()
    for child, _ in _descendants([pid]):
        try:
            if python_of_a_template(child) and python_of_a_template(table[child][0]):
                return True
        except (OSError, KeyError):
            pass
    return False


class Cluster:
    """A scheduler and workers on 127.0.0.1, each in a session of its own; every process they start is watched."""

    def __init__(self, folder: Path):
        self.folder, self.processes, self.seen = folder, {}, set()
        self.scheduler_file = folder / "scheduler.json"
        env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")  # one retry, as local grading
        self._start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(self.scheduler_file)], env)
        deadline = time.monotonic() + 60
        while not self.scheduler_file.exists():
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.2)
        self.address = json.loads(self.scheduler_file.read_text())["address"]

    def _start(self, name: str, command: list[str], env: dict | None = None) -> None:
        with open(self.folder / f"{name}.log", "w") as log:
            self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                                    env=env, start_new_session=True)

    def add_worker(self, name: str, env: dict | None = None) -> None:
        self._start(name, [str(DASK), "worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", "1",
                           "--nworkers", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name",
                           name, "--local-directory", str(self.folder / f"{name}-space")], env)

    def wait_for_workers(self, names: set[str], timeout: float = 90) -> dict[str, str]:
        """Wait until exactly the workers ``names`` are connected; their addresses by name."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            deadline = time.monotonic() + timeout
            while True:
                workers = {w["name"]: address for address, w in client.scheduler_info()["workers"].items()}
                if set(workers) == names:
                    return workers
                assert time.monotonic() < deadline, f"workers {names} did not join: {self.log(*names)}"
                time.sleep(0.2)

    def lost_tasks(self) -> list[str]:
        """The grading tasks the scheduler took back from a worker that died while running them (its log)."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            return client.run_on_scheduler(lambda dask_scheduler: sorted({
                str(t.key) for t in dask_scheduler.transition_log
                if t.start == "processing" and t.finish == "released" and str(t.key).startswith("grade-")}))

    def watch(self) -> None:
        """Note every process the cluster has started so far (a killed worker's orphans included)."""
        self.seen |= _descendants([p.pid for p in self.processes.values()])

    def log(self, *names: str) -> str:
        return "\n".join(f"--- {n}\n" + (self.folder / f"{n}.log").read_text()[-3000:] for n in names)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def cluster(tmp_path):
    require_component(importlib.util.find_spec("distributed") is not None, "dask.distributed",
                      ".venv/bin/pip install -e '.[cluster]'")
    require_component(sandbox.unavailable() is None, f"an OS sandbox ({sandbox.unavailable()})",
                      "apt-get install bubblewrap")
    (tmp_path / "cluster").mkdir()
    running = Cluster(tmp_path / "cluster")
    try:
        running.add_worker("w1")
        running.add_worker("w2")
        running.wait_for_workers({"w1", "w2"})
        yield running
    finally:
        running.watch()
        running.stop()
        deadline = time.monotonic() + 30
        while (left := _alive(running.seen)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"processes left behind: {sorted(left)}"


def _grade(cluster: Cluster, subs: Path, course: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", str(subs), "--course", str(course),
                             "--scheduler", cluster.address, "--quiet", *options], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(cluster: Cluster, grader: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while grader.poll() is None:
        cluster.watch()
        if time.monotonic() > deadline:
            grader.kill()
            pytest.fail(f"course grade did not finish in {timeout:.0f} s")
        time.sleep(0.2)
    return grader.returncode, grader.stdout.read() + grader.stderr.read()


def _submissions(folder: Path) -> None:
    shutil.copytree(SAMPLE_SUBMISSIONS, folder)
    complete("gen_complete", folder)
    write_submission(folder, "gen_only_01", {NB01: filled(NB01)})


def _one_result_each(course: Course) -> None:
    """Exactly one correct result per student: score, status, one nbgrader submission, one record."""
    from nbgrader.api import Gradebook

    records, scores = course.store().records(), course.store().scores()
    got = {s: (scores[s]["total"], records[s].status) for s in records}
    assert got == EXPECTED
    assert all(record.sandboxed is True for record in records.values())  # the run's setting, on the workers
    with Gradebook(course.db_url) as gb:
        rows = [s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions]
    assert sorted(rows) == sorted(EXPECTED)
    assert all(SubmissionRecord.from_dict(json.loads(course.record_path(s).read_text())).revision  # a JSON file
               == records[s].revision for s in records)


def test_grading_on_a_dask_cluster_survives_a_killed_worker(cluster, tmp_path):
    _submissions(tmp_path / "subs")
    course = Course(tmp_path / "course")
    started = time.monotonic()
    grader = _grade(cluster, tmp_path / "subs", course.root, "--timeout", "300")
    killed, store = None, course.store()
    while grader.poll() is None and killed is None:  # part way: a result is in, and a worker is grading
        cluster.watch()
        if (course.root / "gradebook.db").exists() and store.records():
            for name in ("w1", "w2"):
                if _grading(cluster.processes[name].pid):
                    cluster.watch()
                    os.killpg(cluster.processes[name].pid, signal.SIGKILL)
                    killed = name
                    break
        time.sleep(0.1)
    store.close()
    code, output = _finish(cluster, grader)
    assert killed, f"no worker was caught grading: {output}"
    assert code == 0, output + cluster.log("scheduler", "w1", "w2")
    assert cluster.lost_tasks(), "the killed worker's task was not run again"
    _one_result_each(course)
    print(f"\ngraded {len(EXPECTED)} submissions in {time.monotonic() - started:.0f} s, {killed} killed part way")

    # a regrade of one student goes through the cluster the same way, and replaces the result
    before = course.store().records()["gen_only_01"].revision
    code, output = _finish(cluster, _grade(cluster, tmp_path / "subs", course.root, "--student", "gen_only_01"))
    assert code == 0, output
    _one_result_each(course)
    assert course.store().records()["gen_only_01"].revision != before

    # Ctrl-C: exit 130 at once, and the gradings of the run stop on the worker left
    survivor = cluster.processes["w2" if killed == "w1" else "w1"].pid
    grader = _grade(cluster, tmp_path / "subs", tmp_path / "interrupted")
    deadline = time.monotonic() + 120
    while not _grading(survivor):
        cluster.watch()
        assert grader.poll() is None and time.monotonic() < deadline, "the worker never started grading"
        time.sleep(0.1)
    grader.send_signal(signal.SIGINT)
    code, output = _finish(cluster, grader, timeout=30)
    assert code == 130, output
    deadline = time.monotonic() + 20
    while _grading(survivor):
        assert time.monotonic() < deadline, "the interrupted run's grading still runs on the worker"
        time.sleep(0.2)


def test_a_submission_whose_worker_dies_twice_is_the_graders_error_and_keeps_its_earlier_result(cluster, tmp_path):
    write_submission(tmp_path / "subs", "gen_only_01", {NB01: filled(NB01)})
    course = Course(tmp_path / "course")
    code, output = _finish(cluster, _grade(cluster, tmp_path / "subs", course.root))
    assert code == 0, output
    before = course.store().scores()["gen_only_01"]
    grader = _grade(cluster, tmp_path / "subs", course.root)
    killed: list[str] = []
    deadline = time.monotonic() + 120
    while grader.poll() is None and len(killed) < 2 and time.monotonic() < deadline:
        cluster.watch()
        for name in {"w1", "w2"} - set(killed):
            if _grading(cluster.processes[name].pid):
                cluster.watch()
                os.killpg(cluster.processes[name].pid, signal.SIGKILL)
                killed.append(name)
        time.sleep(0.05)
    code, output = _finish(cluster, grader)
    assert len(killed) == 2, f"the workers were not both caught grading: {output}"
    assert code == 3 and "grading gen_only_01 failed" in output, output
    record = course.store().records()["gen_only_01"]
    assert record.status is Status.ERROR and "Dask worker grading it died, 2 time(s)" in record.reason
    assert "earlier result" in record.reason and course.store().scores()["gen_only_01"] == before


def test_a_worker_with_other_course_files_is_refused(cluster, tmp_path):
    copy = tmp_path / "other-course"  # the course with one check edited: another tests version
    shutil.copytree(ROOT / "autograder", copy / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", copy / "solutions")
    check = next((copy / "autograder" / "checks").glob("[a-z]*.py"))
    check.write_text(check.read_text() + "\n# edited\n")
    cluster.add_worker("w3", env=dict(os.environ, PYTHONPATH=str(copy)))
    odd = cluster.wait_for_workers({"w1", "w2", "w3"})["w3"]
    write_submission(tmp_path / "subs", "gen_only_01", {NB01: filled(NB01)})
    code, output = _finish(cluster, _grade(cluster, tmp_path / "subs", tmp_path / "course"))
    assert code == 2, output
    assert f"{odd} has tests version" in output, output
    assert output.count("has tests version") == 1  # the two others are fine
    assert not (tmp_path / "course" / "gradebook.db").exists()  # refused before anything was written


def test_without_dask_the_cluster_path_names_the_install_command(monkeypatch, capsys, tmp_path):
    from autograder import cli

    monkeypatch.setitem(sys.modules, "distributed", None)  # what a missing package looks like to `import`
    code = cli.main(["grade", str(SAMPLE_SUBMISSIONS), "--course", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"])
    message = capsys.readouterr().err.strip()
    assert code == 2 and len(message.splitlines()) == 1 and "pip install -e '.[cluster]'" in message
