"""The results format: what grading one submission found, from verification to the gradebook to the reports.

One :class:`SubmissionRecord` per student is stored whole, as JSON, in the course's ``course_results``
table (:mod:`autograder.store`), and read back by ``course export``, ``course feedback`` and formgrader's
exports. It holds one :class:`NotebookResult` per notebook graded, which holds one
:class:`FunctionResult` per graded function and one :class:`CellRun` per code cell run. Statuses are
enums whose values are the words people read ("graded with problems"), so the JSON stays readable.

Every key of the stored JSON is spelled here and nowhere else: producers build these objects, consumers
read their attributes, and ``to_dict`` / ``from_dict`` are the only translation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any


class Status(str, Enum):
    """How grading one submission ended."""

    GRADED = "graded"  # every notebook ran and was judged
    PROBLEMS = "graded with problems"  # judged, but something is worth reading in the reason
    TAMPERING = "tampering suspected"  # a test cell was edited, or a test passed only inside the notebook
    ERROR = "error"  # the grader failed, not the student: the reason says why; an earlier result is kept

    def __str__(self) -> str:
        return self.value


class CellStatus(str, Enum):
    """How one code cell of a submission ran in the grading kernel."""

    OK = "ok"
    ERROR = "error"  # it raised
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out of memory"
    KERNEL_DIED = "kernel died"
    NOT_RUN = "not run"  # after a timeout or a dead kernel, or a test whose hidden inputs never arrived
    SKIPPED = "skipped"  # an ungraded exploration cell after the last test (skip-when-grading)

    def __str__(self) -> str:
        return self.value

    @property
    def ran(self) -> bool:
        """Whether the cell's code ran to an end of its own (its test could report anything)."""
        return self not in (CellStatus.NOT_RUN, CellStatus.TIMEOUT, CellStatus.KERNEL_DIED, CellStatus.SKIPPED)


@dataclass
class CellRun:
    status: CellStatus
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"status": self.status.value, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict) -> CellRun:
        return cls(CellStatus(data["status"]), float(data.get("seconds", 0.0)))


@dataclass
class FunctionResult:
    """The decision on one graded function: both runs (in the kernel, and verified on its own) judged."""

    passed: bool
    message: str
    points: float
    score: float
    in_kernel: str  # "passed", "failed", or the CellStatus of a test cell that could not judge
    verified: bool
    tampering: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FunctionResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @property
    def ran(self) -> bool:
        """Whether the function's test cell ran in the kernel (it was not cut off before it)."""
        return self.in_kernel not in (CellStatus.NOT_RUN, CellStatus.TIMEOUT, CellStatus.KERNEL_DIED)


@dataclass
class Curve:
    """The feedback page's cost curves of notebook 03: the learner's ``model`` and the reference's."""

    function: str  # the learner's function that drew it ("model")
    about: str  # the case it ran on, in words
    every: int  # iterations between two costs
    reference: list[float]
    yours: list[float] | None = None
    problem: str | None = None  # why the learner's function produced no curve

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Curve | None:
        if not data:
            return None
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class NotebookResult:
    """What grading one notebook of a submission found, beyond nbgrader's scores."""

    functions: dict[str, FunctionResult] = field(default_factory=dict)
    cells: dict[str, CellRun] = field(default_factory=dict)
    stopped: str | None = None  # why the kernel stopped running cells (a timeout, a death)
    seeds: dict[str, int] = field(default_factory=dict)  # the hidden cases' seeds: the same draw can be made again
    notes: list[str] = field(default_factory=list)  # what sanitizing restored
    edited_tests: bool = False
    curve: Curve | None = None  # the feedback page draws it (report.curve_png)

    @property
    def tampering(self) -> bool:
        return self.edited_tests or any(f.tampering for f in self.functions.values())

    def to_dict(self) -> dict:
        return {"functions": {name: f.to_dict() for name, f in self.functions.items()},
                "cells": {key: c.to_dict() for key, c in self.cells.items()}, "stopped": self.stopped,
                "seeds": dict(self.seeds), "notes": list(self.notes), "edited_tests": self.edited_tests,
                "curve": self.curve.to_dict() if self.curve else None}

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        # keys it does not know are left out: older records held "plots", the picture now drawn by the report
        return cls(functions={name: FunctionResult.from_dict(f) for name, f in (data.get("functions") or {}).items()},
                   cells={key: CellRun.from_dict(c) for key, c in (data.get("cells") or {}).items()},
                   stopped=data.get("stopped"), seeds=dict(data.get("seeds") or {}),
                   notes=list(data.get("notes") or []), edited_tests=bool(data.get("edited_tests")),
                   curve=Curve.from_dict(data.get("curve")))


def now() -> str:
    """The time a result is recorded, in UTC, to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class SubmissionRecord:
    """One student's result: what ``course export``, ``course feedback`` and formgrader's exports read."""

    student: str
    assignment: str
    status: Status
    reason: str
    tests_version: str
    seconds: float
    sandboxed: bool
    graded_at: str = field(default_factory=now)
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    log: str = ""  # the end of the grading process's log, for a grader error
    revision: str | None = None  # set by the store: which commit of this student's result this is

    @classmethod
    def from_notebooks(cls, student: str, assignment: str, tests_version: str, notebooks: dict[str, NotebookResult],
                       notes: list[str], seconds: float, sandboxed: bool) -> SubmissionRecord:
        """The record of a graded submission: its status and reason follow from what its notebooks found."""
        reasons = list(notes)
        for name, result in notebooks.items():
            if result.stopped:
                reasons.append(f"{name}: {result.stopped}")
            reasons += [f"{name}: {note}" for note in result.notes]
        tampering = any(result.tampering for result in notebooks.values())
        status = Status.TAMPERING if tampering else Status.PROBLEMS if reasons else Status.GRADED
        return cls(student, assignment, status, "; ".join(reasons), tests_version, round(seconds, 2), sandboxed,
                   notebooks=notebooks)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"student": self.student, "assignment": self.assignment, "status": self.status.value,
                                "reason": self.reason, "tests_version": self.tests_version,
                                "graded_at": self.graded_at, "seconds": self.seconds, "sandboxed": self.sandboxed,
                                "notebooks": {name: nb.to_dict() for name, nb in self.notebooks.items()}}
        if self.log:
            data["log"] = self.log
        if self.revision is not None:
            data["revision"] = self.revision
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionRecord:
        return cls(student=data["student"], assignment=data.get("assignment", ""), status=Status(data["status"]),
                   reason=data.get("reason", ""), tests_version=data.get("tests_version", ""),
                   seconds=float(data.get("seconds", 0.0)), sandboxed=bool(data.get("sandboxed", True)),
                   graded_at=data.get("graded_at", ""),
                   notebooks={name: NotebookResult.from_dict(nb) for name, nb in (data.get("notebooks") or {}).items()},
                   log=data.get("log") or data.get("error", ""),  # "error": where older versions kept it
                   revision=data.get("revision"))
