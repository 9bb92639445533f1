"""The grader's helper processes (warm workers, the verification zygote): their pipes, waits and ends."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable


class LineReader:
    """Lines (and counted bytes) from a binary pipe, each read by a deadline; what arrives early is kept.

    A line longer than ``max_line`` is not a line of the protocol: reading stops there (None), so a
    stream of garbage cannot grow the grader's memory.
    """

    def __init__(self, stream, max_line: int = 1 << 20):
        self._stream = stream
        self._buffer = bytearray()
        self._max_line = max_line

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._stream], [], [], remaining)[0]:
            return False
        chunk = os.read(self._stream.fileno(), 1 << 16)
        if not chunk:
            return False
        self._buffer += chunk
        return True

    def read_line(self, deadline: float) -> str | None:
        """The next line (without its newline), or None when the deadline passes or the pipe closes."""
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) < 0:
            searched = len(self._buffer)
            if searched > self._max_line or not self._fill(deadline):
                return None
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return line.decode(errors="replace")

    def read_exactly(self, size: int, deadline: float) -> bytes | None:
        """The next ``size`` bytes, or None when the deadline passes or the pipe closes first."""
        while len(self._buffer) < size:
            if not self._fill(deadline):
                return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def line_starting(self, prefix: str, deadline: float) -> str | None:
        """The next line that starts with ``prefix`` (earlier lines are dropped), or None."""
        while True:
            line = self.read_line(deadline)
            if line is None or line.startswith(prefix):
                return line


def wait_for_child(pid: int, orphaned: Callable[[], None]) -> int:
    """Wait for the child ``pid`` and return its wait status, watching standard input meanwhile.

    For the grader's helper processes (warm workers, the verification zygote), whose parent feeds them
    jobs on standard input and sends nothing while a job runs: input that ends means the parent is gone
    (killed, say). Then ``orphaned()`` is called (to stop the child) and this process exits, so nothing
    outlives the grading that started it.
    """
    import sys

    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None  # readable once the child has ended
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            watched = [sys.stdin] if pidfd is None else [sys.stdin, pidfd]
            readable = select.select(watched, [], [], None if pidfd is not None else 0.02)[0]
            if sys.stdin in readable and not sys.stdin.buffer.peek(1):
                orphaned()
                os.waitpid(pid, 0)
                raise SystemExit(0)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def kill_group(pid: int) -> None:
    """Kill the process group ``pid`` leads, if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def stop_process(process: subprocess.Popen) -> None:
    """Kill a helper process started in a session of its own, with its group, reap it and close its pipes."""
    kill_group(process.pid)
    process.wait()
    for pipe in (process.stdout, process.stdin):
        if pipe is not None:
            with contextlib.suppress(OSError):  # a broken pipe cannot be flushed
                pipe.close()
