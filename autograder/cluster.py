"""Grading on a Dask cluster: ``course grade SUBMISSIONS --scheduler tcp://HOST:8786``.

For course operators; docs/scaling.md has the recipes (plain ``dask`` commands, Slurm, Kubernetes).

What runs where:

* **This process** (``course grade``, the parent) reads and checks the submissions as local grading
  does, sends each one's files to the cluster as one task, and commits each result to the gradebook
  as it arrives (:func:`autograder.grading.settle`), then drops it. It is the only writer of the
  gradebook. It runs no learner's code, so it needs no sandbox. At most a few tasks per worker thread
  are in flight, so its memory does not grow with the number of submissions.
* **Each Dask worker process** keeps warm workers (:mod:`autograder.worker`), one per task it runs at
  once, started when first needed. A task writes the submission into a temporary workspace and grades
  it exactly as local grading does (:func:`autograder.grading.grade_prepared`): the same OS sandbox,
  the settings of the run (timeouts, memory, ``--unsandboxed``), the same retry of a grading process
  killed from outside. It returns the result, or the fault, to the parent.

Every worker needs the course files at the same tests version, its virtualenv (with the ``cluster``
extra) and bubblewrap. Before grading, the parent checks each worker's tests version and sandbox and
refuses (:class:`ClusterUnusable`, exit code 2) when one differs. A worker that joins later is checked
by each of its tasks.

A task whose worker dies is started again by the scheduler, as often as its setting
``distributed.scheduler.allowed-failures`` allows: 1 grades a submission at most twice, as local
grading does. After that the submission is recorded as the grader's error, naming the cause, and its
earlier result is kept. Ctrl-C cancels the tasks not yet finished and stops this run's gradings on
the workers.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from traitlets.config import Config

from .config import is_sandboxed
from .course import ASSIGNMENT, sweep_temporary, temporary_folder, tests_version
from .grading import Fault, Outcome, assignment_gradebook, grade_prepared, prepare, settle, ungradable
from .results import SubmissionRecord
from .store import Store, SubmissionResult
from .worker import WarmWorker

INSTALL = "pip install -e '.[cluster]'"
WAIT_FOR_WORKERS = 60.0  # seconds: how long a first worker may take to join the scheduler
TASKS_PER_THREAD = 2  # in flight per worker thread: enough that no thread waits, few enough to stream


class ClusterUnusable(Exception):
    """The cluster cannot grade this run (no dask here, no scheduler or worker, a worker unlike this course)."""


# -- in the parent ------------------------------------------------------------------------------------
def connect(address: str, sandboxed: bool, quiet: bool = False, wait: float = WAIT_FOR_WORKERS):
    """A Dask client of the scheduler at ``address``, once its workers are known to be able to grade."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterUnusable(f"grading on a Dask cluster needs dask, which is not installed: {INSTALL}") from None
    try:
        client = Client(address, timeout=30, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnusable(f"no Dask scheduler answers at {address} ({exc})") from None
    try:
        described = _check_workers(client, sandboxed, wait)
        if not quiet:
            print(f"Dask cluster {address}: {described}", file=sys.stderr, flush=True)
    except BaseException:
        client.close()
        raise
    return client


def _check_workers(client, sandboxed: bool, wait: float) -> str:
    """Refuse unless every worker has this course's tests version and (when sandboxed) a sandbox; describe them."""
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        raise ClusterUnusable(f"no Dask worker joined the scheduler within {wait:.0f} s: start the workers first "
                              f"(docs/scaling.md)") from None
    expected, problems = tests_version(), []
    facts = client.run(worker_facts, sandboxed, on_error="return")
    for address, fact in sorted(facts.items()):
        if isinstance(fact, BaseException):
            problems.append(f"{address} cannot run the course's code ({type(fact).__name__}: {fact}): install the "
                            f"course and its virtualenv there ({INSTALL})")
        elif fact["tests_version"] != expected:
            problems.append(f"{address} has tests version {fact['tests_version']}, this course {expected}: give it "
                            f"the same course files (solutions/, autograder/) and restart it")
        elif fact["sandbox"]:
            problems.append(f"{address} cannot grade safely: {fact['sandbox']}. Install bubblewrap there, or pass "
                            f"--unsandboxed for trusted submissions")
    if problems:
        raise ClusterUnusable("the Dask workers cannot grade this batch:\n  " + "\n  ".join(problems))
    client.run(warm_up, expected, on_error="ignore")
    try:  # a lambda travels by value: the scheduler need not have the course
        retries = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    except Exception:
        retries = "?"
    first = next(iter(facts.values()))
    return (f"{len(facts)} worker(s), {sum(client.nthreads().values())} thread(s); on the workers: "
            f"{first['describe']}; a submission whose worker dies is graded again up to {retries} time(s) "
            f"(the scheduler's distributed.scheduler.allowed-failures)")


def grade(client, store: Store, folders: dict[str, Path], intake_notes: dict[str, list[str]], batch: Path,
          settings: Config, budget: float) -> Iterator[Outcome]:
    """Grade ``folders`` on the cluster; yield each outcome once its result is committed here.

    Tasks are sent as room frees up (:data:`TASKS_PER_THREAD` per worker thread, counted again as
    workers come and go), so neither this process nor the scheduler holds the whole batch.
    """
    from distributed import as_completed

    run, version = uuid.uuid4().hex[:12], tests_version()
    waiting = iter(sorted(folders.items()))
    finished = as_completed(loop=client.loop)
    in_flight: dict = {}  # future -> student
    try:
        while True:
            room = max(TASKS_PER_THREAD * _threads(client), TASKS_PER_THREAD) - len(in_flight)
            for student, folder in itertools.islice(waiting, max(room, 0)):
                job = _package(student, folder, batch, intake_notes.get(student, []), settings)
                if isinstance(job, SubmissionResult):  # nothing a worker could open: zero, with the reasons
                    yield settle(store, job, settings)
                    continue
                future = client.submit(grade_task, student, *job, settings, budget, version, run,
                                       key=f"grade-{run}-{student}", pure=False, retries=1)
                in_flight[future] = student
                finished.add(future)
            if not in_flight:
                return
            future = next(finished)
            student = in_flight.pop(future)
            result = _result(future, student)
            if isinstance(result, Fault) and client.status != "running":
                raise _lost(client, result.reason)
            yield settle(store, result, settings)
    finally:  # Ctrl-C, or an error here: nothing more starts, and this run's gradings are stopped
        if in_flight and client.status == "running":
            with contextlib.suppress(Exception):
                client.cancel(list(in_flight))
                client.run(stop_run, run, on_error="ignore")


def _threads(client) -> int:
    """The worker threads the cluster has now."""
    try:
        return sum(client.nthreads().values())
    except OSError as exc:  # the scheduler is gone (CommClosedError is an OSError)
        raise _lost(client, str(exc)) from None


def _lost(client, reason: str) -> ClusterUnusable:
    """The error that ends a batch whose scheduler went away (the client's own reconnection traces are dropped)."""
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    return ClusterUnusable(f"the connection to the Dask scheduler {client.scheduler.address} was lost ({reason}); "
                           f"the submissions graded so far are recorded: grade again to finish")


def _package(student: str, folder: Path, batch: Path, notes: list[str],
             settings: Config) -> tuple[dict[str, bytes], list[str]] | SubmissionResult:
    """The checked files of one submission and the notes for its record; or, when no notebook of it can be
    opened, its result at once. Workers need not see this machine's files: the task carries the bytes."""
    started = time.monotonic()
    workspace = batch / f"p-{student}"
    submitted = workspace / "submitted" / student / ASSIGNMENT
    try:
        notes = prepare(folder, submitted, notes)
        result = ungradable(workspace, student, notes, started, settings)
        if result is not None:
            return result
        return {path.name: path.read_bytes() for path in sorted(submitted.iterdir()) if path.is_file()}, notes
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


@dataclass
class Graded:
    """A graded submission as a Dask task returns it: the :class:`SubmissionResult`, its record as data.

    The record crosses from the Dask worker to the parent in its JSON form (``SubmissionRecord.to_dict``,
    in :meth:`of`) and is read back in the parent (``from_dict``, in :meth:`result`), as the gradebook stores it.
    """

    student: str
    record: dict
    rest: dict  # SubmissionResult's other fields: scores, comments, timestamp, files

    @classmethod
    def of(cls, result: SubmissionResult) -> Graded:
        return cls(result.student, result.record.to_dict(),
                   {f.name: getattr(result, f.name) for f in fields(result) if f.name not in ("student", "record")})

    def result(self) -> SubmissionResult:
        return SubmissionResult(self.student, SubmissionRecord.from_dict(self.record), **self.rest)


def _result(future, student: str) -> SubmissionResult | Fault:
    """What a finished task brought back: a result to commit, or the fault to record."""
    from distributed import KilledWorker

    try:
        result = future.result()
    except KilledWorker as exc:
        return Fault(student, f"the Dask worker grading it died, {exc.allowed_failures + 1} time(s) (the last: "
                              f"{getattr(exc.last_worker, 'address', '?')}): the grader's fault, not the student's")
    except Exception as exc:  # noqa: BLE001  (whatever failed, the submission gets a record)
        message = (str(exc).strip().splitlines() or [""])[0][:300]
        return Fault(student, f"the Dask cluster could not grade it ({type(exc).__name__}: {message})")
    if not isinstance(result, Graded | Fault) or result.student != student:
        return Fault(student, f"a Dask worker returned something else than this submission's result "
                              f"({type(result).__name__})")
    if isinstance(result, Fault):
        return result
    try:
        return result.result()
    except (KeyError, TypeError, ValueError) as exc:
        return Fault(student, f"a Dask worker returned a record this course cannot read ({type(exc).__name__}: "
                              f"{exc})")


# -- on the workers -----------------------------------------------------------------------------------
def worker_facts(sandboxed: bool) -> dict:
    """Run on each worker before grading (``client.run``): its tests version, and why it has no sandbox."""
    from . import sandbox

    problem = sandbox.unavailable() if sandboxed else None
    return {"tests_version": tests_version(), "sandbox": problem,
            "describe": None if problem else sandbox.describe(sandboxed)}


def warm_up(version: str, dask_worker=None) -> None:
    """Run on each worker once the checks passed: start its warm workers, to import while the batch begins."""
    if dask_worker is not None:
        _POOL.warm_up(version, dask_worker.state.nthreads)


def grade_task(student: str, files: dict[str, bytes], notes: list[str], settings: Config, budget: float,
               version: str, run: str) -> Graded | Fault:
    """One task, on a Dask worker: grade one submission from its files in a temporary workspace."""
    from . import sandbox

    started = time.monotonic()
    if tests_version() != version:
        return Fault(student, f"the Dask worker {_address()} has other course files (tests version "
                              f"{tests_version()}, expected {version}): update it and restart it")
    if is_sandboxed(settings) and (reason := sandbox.unavailable()):
        return Fault(student, f"the Dask worker {_address()} cannot grade safely: {reason}")
    workspace = temporary_folder("course-dask-")
    try:
        submitted = workspace / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for name, content in files.items():
            (submitted / Path(name).name).write_bytes(content)
        with _TEMPLATE_LOCK:  # registering the assignment, the first time on a machine, runs nbgrader here
            template = assignment_gradebook()
        with _POOL.worker(run, version, _nthreads()) as warm:
            result = grade_prepared(workspace, student, template, settings, warm, budget, notes, started)
        # the record goes back to the parent as data (its to_dict); the parent reads it with from_dict
        return Graded.of(result) if isinstance(result, SubmissionResult) else result
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def stop_run(run: str) -> int:
    """Run on each worker when a batch is interrupted (``client.run``): stop its gradings; return how many."""
    return _POOL.stop(run)


def _address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return "(not in a worker)"


def _nthreads() -> int:
    """How many tasks this Dask worker process runs at once."""
    from distributed import get_worker

    try:
        return get_worker().state.nthreads
    except ValueError:
        return 1


def _environment(nthreads: int) -> dict[str, str]:
    """A warm worker's environment: its share of this machine's cores as BLAS threads, as local grading does.

    What a Dask nanny sets for its worker process (``distributed.nanny.pre-spawn-environ``: 1 BLAS thread,
    eager memory trimming, which slows nbgrader down) is the worker's own, not the grading's.
    """
    import dask

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = str(max(1, cores // max(1, nthreads)))
    env = {k: v for k, v in os.environ.items() if k not in dask.config.get("distributed.nanny.pre-spawn-environ", {})}
    return dict(env, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                PYTHONDONTWRITEBYTECODE="1")


class _WarmPool:
    """The warm workers of one Dask worker process: one per task running at once.

    Each is kept for later tasks, unless the course's tests version changed since it started (it preloaded
    the checks) or its run was stopped.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[tuple[str, WarmWorker]] = []  # (tests version it preloads, worker)
        self._busy: dict[WarmWorker, str] = {}  # -> the run it grades for
        self._stopped: set[WarmWorker] = set()
        self._logs: Path | None = None

    def _take_stale(self, version: str) -> list[WarmWorker]:
        """With the lock held: the idle workers of another tests version, out of the pool (to be closed)."""
        if self._logs is None:  # the first use here: clear what killed graders left behind
            from .sandbox import cgroups

            sweep_temporary()
            cgroups.sweep()
            self._logs = temporary_folder("course-dask-worker-")
        stale = [warm for preloaded, warm in self._idle if preloaded != version]
        self._idle = [(preloaded, warm) for preloaded, warm in self._idle if preloaded == version]
        return stale

    def _new(self, nthreads: int) -> WarmWorker:
        return WarmWorker(_environment(nthreads), self._logs / f"warm-{uuid.uuid4().hex[:8]}.log")

    def warm_up(self, version: str, nthreads: int) -> None:
        """Start a warm worker for each thread that has none, so that it imports before the first task."""
        with self._lock:
            stale = self._take_stale(version)
            new = [self._new(nthreads) for _ in range(nthreads - len(self._idle) - len(self._busy))]
            self._idle += [(version, warm) for warm in new]
        for warm in stale:
            warm.close()
        for warm in new:
            warm.start()

    @contextlib.contextmanager
    def worker(self, run: str, version: str, nthreads: int) -> Iterator[WarmWorker]:
        """A warm worker for one task of ``run``, back in the pool afterwards."""
        with self._lock:
            stale = self._take_stale(version)
            warm = self._idle.pop()[1] if self._idle else self._new(nthreads)
            self._busy[warm] = run
        for old in stale:
            old.close()
        try:
            yield warm
        finally:
            with self._lock:
                del self._busy[warm]
                if warm in self._stopped:
                    self._stopped.discard(warm)
                else:
                    self._idle.append((version, warm))

    def stop(self, run: str) -> int:
        """Stop the gradings of ``run``: each one's process is killed, and its warm worker not used again."""
        with self._lock:
            stopping = [warm for warm, busy_for in self._busy.items() if busy_for == run]
            self._stopped.update(stopping)
        for warm in stopping:
            warm.close()
        return len(stopping)


_POOL = _WarmPool()
_TEMPLATE_LOCK = threading.Lock()
