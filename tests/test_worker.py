"""The warm worker: a fresh child per submission, whose failures and overruns end as a result, not a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from traitlets.config import Config

from autograder.config import RUN_CONFIG, write_run_config
from autograder.pipes import kill_group
from autograder.worker import WarmWorker


@pytest.fixture
def warm(tmp_path):
    worker = WarmWorker(dict(os.environ), tmp_path / "warm.log")
    yield worker
    worker.stop()


def _workspace(tmp_path, name: str, settings: Config | None = None):
    workspace = tmp_path / name
    workspace.mkdir()
    if settings is not None:
        write_run_config(workspace, settings)
    return workspace


def test_a_failing_child_reports_its_exit_code_and_traceback_and_the_worker_goes_on(warm, tmp_path):
    for attempt in range(2):  # the same warm process serves the second request
        workspace = _workspace(tmp_path, f"broken-{attempt}")  # no settings of the run: the child fails
        code, problem = warm.grade(workspace, "someone", workspace / "worker.log", budget=120)
        assert (code, problem) == (1, None)
        assert f"has no {RUN_CONFIG}" in (workspace / "worker.log").read_text()
    assert warm._process.poll() is None


def test_an_overrunning_child_is_killed_and_the_worker_survives(warm, tmp_path, monkeypatch):
    from autograder import worker

    slow = _workspace(tmp_path, "slow", Config())
    monkeypatch.setattr(worker, "serve_command", lambda: [sys.executable, "-c", _SLOW_SERVER])
    started = time.monotonic()
    code, problem = warm.grade(slow, "someone", slow / "worker.log", budget=2)
    assert code is None and "longer than 2 s" in problem
    assert time.monotonic() - started < 60
    child = int((slow / "child.pid").read_text())
    with pytest.raises(ProcessLookupError):  # the child's whole process group is gone
        os.killpg(child, 0)
    first = warm._process.pid
    code, problem = warm.grade(slow, "again", slow / "worker.log", budget=2)
    assert "longer than 2 s" in problem and warm._process.pid == first  # the same warm process answered


def test_a_warm_worker_whose_batch_is_gone_stops_its_submission_and_exits(tmp_path):
    slow = _workspace(tmp_path, "slow", Config())
    server = subprocess.Popen([sys.executable, "-c", _SLOW_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              start_new_session=True)
    request = json.dumps({"workspace": str(slow), "student": "s", "log": str(slow / "worker.log")})
    server.stdin.write(f"{request}\n".encode())
    server.stdin.flush()
    while not server.stdout.readline().startswith(b"started "):
        pass
    deadline = time.monotonic() + 30
    while not (slow / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((slow / "child.pid").read_text())
    server.stdin.close()  # what the batch's death looks like from the warm worker
    assert server.wait(timeout=30) == 0
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(child, 0)


def test_a_dead_warm_worker_is_replaced(warm, tmp_path):
    workspace = _workspace(tmp_path, "broken")
    warm.start()
    kill_group(warm._process.pid)
    warm._process.wait()
    code, problem = warm.grade(workspace, "someone", workspace / "worker.log", budget=120)
    assert (code, problem) == (1, None)


# A stand-in warm worker whose children never finish: the real serve() loop, with run_worker replaced.
_SLOW_SERVER = """
import os, time
from pathlib import Path
import autograder.worker as w
def run_worker(workspace, student):
    (Path(workspace) / "child.pid").write_text(str(os.getpid()))
    time.sleep(600)
w.run_worker = run_worker
w.preload = lambda: None
w.serve()
"""
