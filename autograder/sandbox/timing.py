"""Timing records of the grader's processes, for the benchmarks (``bench/suite.py``): off unless asked for.

With ``COURSE_TIMINGS`` set to a file's path in the environment of ``course grade`` (its warm workers
and grading processes inherit it), each grading process, kernel template and verification zygote
appends one JSON line per event to that file: what it measured, in CPU seconds and wall seconds. The
grader never reads these records back and nothing in a grade depends on them; without the variable
nothing is written.
"""

from __future__ import annotations

import json
import os

VARIABLE = "COURSE_TIMINGS"


def enabled() -> bool:
    return bool(os.environ.get(VARIABLE))


def record(kind: str, **figures) -> None:
    """Append one record (``kind`` and its figures) to the timing file, when there is one; never raises."""
    path = os.environ.get(VARIABLE)
    if not path:
        return
    line = json.dumps({"kind": kind, "pid": os.getpid(), **figures}) + "\n"
    try:  # one write of one line, appended: records of concurrent processes do not interleave
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line.encode())
        finally:
            os.close(descriptor)
    except OSError:
        pass


def process_cpu() -> float:
    """CPU seconds this process has used so far (all its threads)."""
    times = os.times()
    return times.user + times.system
