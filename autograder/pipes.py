"""Read lines from a helper process's pipe with a deadline (the grader's warm workers and verifier)."""

from __future__ import annotations

import os
import select
import time


class LineReader:
    """Lines from a binary pipe, each read by a deadline; what arrives after a line is kept for the next."""

    def __init__(self, stream):
        self._stream = stream
        self._buffer = b""

    def read_line(self, deadline: float) -> str | None:
        """The next line (without its newline), or None when the deadline passes or the pipe closes."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._stream], [], [], remaining)[0]:
                return None
            chunk = os.read(self._stream.fileno(), 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def line_starting(self, prefix: str, deadline: float) -> str | None:
        """The next line that starts with ``prefix`` (earlier lines are dropped), or None."""
        while True:
            line = self.read_line(deadline)
            if line is None or line.startswith(prefix):
                return line
