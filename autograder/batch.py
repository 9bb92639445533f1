"""Grade a batch of submissions: which ones, where, and how many at once.

``course grade`` (and nbgrader's own autograde, see :mod:`autograder.nbgrader_apps`) call
:func:`grade_batch`. It takes in the submissions (:mod:`autograder.intake`), makes sure the gradebook
knows the assignment, and grades each submission with the steps of :mod:`autograder.grading`: on this
machine, one warm worker (:mod:`autograder.worker`) per job slot, or on a Dask cluster
(``scheduler``, :mod:`autograder.cluster`). Each result is committed by this process alone, as it
comes; a failing submission never stops the others.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import time
import warnings
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

from traitlets.config import Config

from .config import grading_limits, run_config
from .course import ASSIGNMENT, NOTEBOOK_NAMES, sweep_temporary, temporary_folder
from .grading import (
    Course,
    Outcome,
    _ensure_registered,
    _verify_budget,
    assignment_gradebook,
    grade_prepared,
    prepare,
    settle,
    ungradable,
)
from .intake import LMS_FILE_PATTERN, IntakeError, collect, load_roster
from .store import Store
from .worker import WarmWorker


class SandboxUnavailable(Exception):
    """No OS sandbox can be made here, and the run did not ask to grade without one."""


def grade_batch(course: Course, submissions: Path, *, student: str | Collection[str] | None = None,
                jobs: int | None = None,
                timeout: float | None = None, cell_timeout: int | None = None, memory_mb: int | None = None,
                quiet: bool = False,
                zip_pattern: str = LMS_FILE_PATTERN, sandboxed: bool = True, roster: Path | None = None,
                zip_time_format: str | None = None, scheduler: str | None = None, due: datetime | None = None,
                late_penalty: str = "none") -> list[Outcome]:
    """Grade every ``<student>/<assignment>/`` folder (or a zip of them) under ``submissions``.

    ``student`` grades only that student, or only those students (a collection of ids: nbgrader's own
    entry points, see :mod:`autograder.nbgrader_apps`). ``sandboxed=False`` runs learners' code without the OS
    sandbox: for trusted submissions only, and recorded with every result. ``scheduler`` (a Dask
    scheduler's address) grades on that cluster's workers instead of ``jobs`` local processes (see
    :mod:`autograder.cluster` and docs/scaling.md). ``due`` (UTC) becomes the assignment's due date in the
    gradebook; without it, the one already there (set by an earlier run, or in formgrader) holds. A submission
    timestamped later is marked late, and ``late_penalty`` is nbgrader's penalty method for it ("none": it keeps
    its points, "zero": it scores nothing).
    """
    from . import sandbox
    from .report import Progress

    defaults = grading_limits()  # what is not given: the preprocessors' own defaults
    timeout = defaults["timeout"] if timeout is None else timeout
    cell_timeout = defaults["cell_timeout"] if cell_timeout is None else cell_timeout
    memory_mb = defaults["memory_mb"] if memory_mb is None else memory_mb

    client = None
    if scheduler:  # learners' code runs on the workers: they are checked, this machine needs no sandbox
        from . import cluster

        client = cluster.connect(scheduler, sandboxed, quiet=quiet)
    else:
        if sandboxed and (reason := sandbox.unavailable()):
            raise SandboxUnavailable(f"cannot grade safely: {reason}. Install it, or pass --unsandboxed to grade "
                                     f"trusted submissions without the OS sandbox")
        sandbox.cgroups.sweep()  # the cgroups an earlier, killed run left behind

    # nbgrader's own gradebook code warns about rows SQLAlchemy adds lazily; they are not the instructor's concern
    warnings.filterwarnings("ignore", message="Object of type .* not in session", category=RuntimeWarning)
    batch = None
    try:
        course.root.mkdir(parents=True, exist_ok=True)
        sweep_temporary()  # what an earlier, killed run left in the temporary folder
        batch = temporary_folder("course-grade-")
        intake_notes: dict[str, list[str]] = {}
        folders = collect(submissions, batch / "unpacked", zip_pattern, intake_notes,
                          load_roster(roster) if roster else None, zip_time_format)
        if student:
            wanted = {student} if isinstance(student, str) else set(student)
            folders = {s: p for s, p in folders.items() if s in wanted}
            if not folders:
                raise IntakeError(f"no submission for student {student!r} in {submissions}")
        budget = timeout * len(NOTEBOOK_NAMES) + _verify_budget() + 120  # wall seconds for one submission
        jobs = jobs or max(1, os.cpu_count() or 1)
        warm = [] if client else [WarmWorker(_worker_environment(jobs), batch / f"warm-worker-{i}.log")
                                  for i in range(min(jobs, len(folders)))]
        for worker in warm:
            worker.start()  # they import while the gradebook is checked and the first submissions prepared
        store = course.store()
        bar = None
        outcomes: list[Outcome] = []
        try:
            template = assignment_gradebook()
            _ensure_registered(course, store, template)
            if due is not None:
                store.set_due_date(due)
            due, extended = store.due_dates()
            settings = run_config(timeout=timeout, cell_timeout=cell_timeout, memory_mb=memory_mb,
                                  sandboxed=sandboxed, due_date=due.isoformat() if due else "",
                                  extended_due_dates={s: d.isoformat() for s, d in extended.items()},
                                  late_penalty=late_penalty)
            bar = Progress(len(folders), quiet=quiet)
            if client is not None:
                graded = cluster.grade(client, store, folders, intake_notes, batch, settings, budget)
            else:
                graded = _grade_locally(store, folders, intake_notes, batch, template, settings, budget, warm)
            with contextlib.closing(graded):  # stopped at once on Ctrl-C, wherever it comes
                for outcome in graded:  # each committed as it comes: only its outcome is kept here
                    outcomes.append(outcome)
                    bar.step(outcome.student, outcome.status)
        finally:
            for worker in warm:
                worker.close()
            store.close()
            if bar is not None:
                bar.close()
    finally:
        if client is not None:
            client.close()
        if batch is not None:
            shutil.rmtree(batch, ignore_errors=True)
    return sorted(outcomes, key=lambda outcome: outcome.student)


def _worker_environment(jobs: int) -> dict[str, str]:
    """The environment of a warm worker when ``jobs`` submissions are graded at once: its share of BLAS threads."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    return dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                PYTHONDONTWRITEBYTECODE="1")


def _grade_locally(store: Store, folders: dict[str, Path], intake_notes: dict[str, list[str]], batch: Path,
                   template: Path, settings: Config, budget: float, warm: list[WarmWorker]) -> Iterator[Outcome]:
    """Grade on this machine, one thread per warm worker; yield each outcome once committed."""
    workers: queue.SimpleQueue[WarmWorker] = queue.SimpleQueue()
    for worker in warm:
        workers.put(worker)

    def one(item):
        name, folder = item
        worker = workers.get()
        try:
            return _grade_one(store, name, folder, batch, template, settings, worker, budget,
                              intake_notes.get(name, []))
        finally:
            workers.put(worker)

    pool = ThreadPoolExecutor(max_workers=len(warm))
    try:
        for future in as_completed([pool.submit(one, item) for item in sorted(folders.items())]):
            yield future.result()
    finally:  # also on Ctrl-C: nothing more starts, and what runs is stopped (its earlier result stays)
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in warm:
            worker.close()
        pool.shutdown(wait=True)


def _grade_one(store: Store, student: str, folder: Path, batch: Path, template: Path, settings: Config,
               worker: WarmWorker, budget: float, intake_notes: list[str]) -> Outcome:
    """Grade one submission on this machine and commit its result (or its fault)."""
    started = time.monotonic()
    workspace = batch / f"w-{student}"
    try:
        notes = prepare(folder, workspace / "submitted" / student / ASSIGNMENT, intake_notes)
        result = ungradable(workspace, student, notes, started, settings) or \
            grade_prepared(workspace, student, template, settings, worker, budget, notes, started)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return settle(store, result, settings)
