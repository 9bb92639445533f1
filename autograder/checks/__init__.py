"""The checks behind every graded function: visible tests, hidden tests and the grader's verification.

One engine serves three audiences. In a notebook, ``checks.visible(name, fn)`` runs the examples a
learner sees. ``checks.hidden(name, fn)`` (instructor version only) has two modes. When the grader runs
a submission it first hands the kernel the *inputs* of fresh hidden cases (:func:`provide_hidden_inputs`);
the learner's function is called on them and what it returned is published as data, which the grader
judges outside the kernel: no expected result ever enters a learner's process. When an instructor runs
the solution notebook, fresh cases are drawn and judged right there against the reference. The grader
also runs the same inputs outside the learner's kernel (:mod:`autograder.verify`).

Each notebook has its own module here declaring, per graded function, its visible examples, how to
draw random inputs and how to compare the results; the comparison follows the policy of :mod:`autograder.checks.policy`.
"""

from __future__ import annotations

import base64
import copy
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import serialize
from .policy import CheckFailure, Expect, compare

__all__ = ["Case", "CheckFailure", "Checks", "Expect", "FeedbackCurve", "FunctionCheck"]

# The MIME type under which the kernel publishes what a learner's function returned on the hidden inputs.
RETURNED_MIME = "application/vnd.course.returned+json"
_hidden_inputs: dict[str, str] = {}  # function -> encoded inputs, handed over by the grader for this run


@dataclass
class Case:
    """One call of a graded function: its arguments and the result it should return."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    expected: Any = None

    def call(self, fn: Callable) -> Any:
        """Call ``fn`` on copies of the arguments, so a function that changes its inputs changes no case."""
        return fn(*copy.deepcopy(self.args), **copy.deepcopy(self.kwargs))


@dataclass
class FunctionCheck:
    """Everything needed to check one graded function."""

    name: str
    expect: Callable[[Case], Expect]  # how to compare the result of a case
    random_cases: Callable[[np.random.Generator], list[Case]]  # fresh inputs, expected filled in later
    visible: list[Case] = field(default_factory=list)  # the examples the learner sees, with literal results
    diagnose: Callable[[Case, Any, Any], str | None] | None = None  # a hint for this function's own mistakes
    # for a case that must raise: the exception type and why (e.g. "method='x' is neither ..."); else None
    must_raise: Callable[[Case], tuple[type[BaseException], str] | None] | None = None

    def required_error(self, case: Case) -> tuple[type[BaseException], str] | None:
        return self.must_raise(case) if self.must_raise is not None else None

    def judge_call(self, case: Case, fn: Callable, label: str) -> None:
        """Call the learner's ``fn`` on ``case`` and judge what it returns, or raises when it must."""
        if self.required_error(case) is None:
            self.judge(case, _call(self.name, case, fn), label)
            return
        try:
            returned = _call(self.name, case, fn)
        except CheckFailure:  # not written yet
            raise
        except Exception as exc:  # the learner's own error: judged by its type
            self.judge_error(case, f"{type(exc).__name__}: {exc}", None, label)
            return
        self.judge_error(case, None, returned, label)

    def judge_error(self, case: Case, raised: str | None, returned: Any, label: str) -> None:
        """Judge a case that must raise: ``raised`` is ``"TypeError: message"``, or None if a value was returned."""
        exception, why = self.required_error(case)
        if raised is not None and raised.split(":", 1)[0].strip() == exception.__name__:
            return
        got = f"it raised {raised}" if raised is not None else f"it returned {_short(returned)}"
        raise CheckFailure(f"{self.name} ({label}): {why}, so it must raise {exception.__name__}, but {got}")

    def judge(self, case: Case, actual: Any, label: str) -> None:
        """Raise :class:`CheckFailure` with a learner-facing message unless ``actual`` is right."""
        try:
            compare(case.expected, actual, self.expect(case))
        except CheckFailure as failure:
            hint = None
            if self.diagnose is not None:
                try:
                    hint = self.diagnose(case, case.expected, actual)
                except Exception:  # a hint must never hide the failure itself
                    hint = None
            raise CheckFailure(f"{self.name} ({label}): {hint or failure}") from None


@dataclass
class FeedbackCurve:
    """A cost curve for the feedback page: ``function`` run on ``case``; ``costs`` picks them from the result."""

    function: str
    case: Case
    costs: Callable[[Any], list]
    every: int  # iterations between two recorded costs
    about: str  # what the case is, for the learner


class Checks:
    """The graded functions of one notebook."""

    def __init__(self, notebook: str, functions: list[FunctionCheck], feedback_curve: FeedbackCurve | None = None):
        self.notebook = notebook
        self.functions = {check.name: check for check in functions}
        self.feedback_curve = feedback_curve

    def __getitem__(self, name: str) -> FunctionCheck:
        try:
            return self.functions[name]
        except KeyError:
            raise LookupError(f"{self.notebook} has no graded function {name!r}") from None

    # -- in a notebook -------------------------------------------------------------------------
    def visible(self, name: str, fn: Callable) -> None:
        """Run the visible examples of ``name`` on the learner's ``fn``; print a line when all pass."""
        check = self[name]
        _require_function(name, fn)
        for number, case in enumerate(check.visible, start=1):
            check.judge_call(case, fn, f"visible example {number}")
        print(f"{name}: all {len(check.visible)} visible tests passed.")

    def hidden(self, name: str, fn: Callable) -> None:
        """The hidden tests of ``name``.

        While grading, the grader has handed over inputs only: ``fn`` is called on each and what it
        returned is published for the grader to judge. Otherwise (an instructor running the solution
        notebook) fresh cases are drawn, solved by the reference and judged here.
        """
        check = self[name]
        _require_function(name, fn)
        inputs = _hidden_inputs.pop(name, None)
        if inputs is not None:
            from IPython.display import display

            cases = decode_inputs(inputs)  # the visible examples again too: the grader re-judges them
            display({RETURNED_MIME: {"function": name, "returned": record_returns(cases, fn),
                                     "visible": record_returns(check.visible, fn)}}, raw=True)
            print(f"{name}: ran on {len(cases)} hidden test cases; the grader checks what it returned.")
            return
        drawn = self.fresh_cases(name)
        for number, case in enumerate(drawn, start=1):
            check.judge_call(case, fn, f"hidden test {number} of {len(drawn)}")
        print(f"{name}: all hidden tests passed.")

    # -- in the trusted grader ------------------------------------------------------------------
    def fresh_cases(self, name: str, seed: int | None = None) -> list[Case]:
        """Draw random cases for ``name`` and fill in the reference solution's results."""
        from ..reference import reference_function

        rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
        reference = reference_function(self.notebook, name)
        cases = self[name].random_cases(rng)
        for case in cases:
            if self[name].required_error(case) is None:  # a case that must raise has no result
                case.expected = case.call(reference)
        return cases


def provide_hidden_inputs(inputs: dict[str, str]) -> None:
    """Called by the grader at the top of a test cell: the encoded inputs of this run's hidden cases."""
    _hidden_inputs.update(inputs)


def encode_inputs(cases: list[Case]) -> str:
    """The inputs of ``cases`` (never their expected results) as a compact text for a sandboxed process."""
    data = serialize.dumps([(tuple(c.args), dict(c.kwargs)) for c in cases]).encode()
    return base64.b64encode(zlib.compress(data, 6)).decode()


def decode_inputs(text: str) -> list[Case]:
    data = zlib.decompress(base64.b64decode(text))
    return [Case(tuple(args), dict(kwargs)) for args, kwargs in serialize.loads(data)]


def record_returns(cases: list[Case], fn: Callable) -> list[dict]:
    """What ``fn`` returned on each case (``{"result": text}``, in :mod:`autograder.serialize`'s format) or
    raised (``{"error": "TypeError: ... (in fn)"}``). Data only: whether it is right is decided elsewhere.
    """
    returned = []
    for case in cases:
        try:
            value = case.call(fn)
        except (Exception, SystemExit) as exc:  # noqa: BLE001  (the learner's error is the outcome)
            returned.append({"error": describe_error(exc)})
            continue
        try:
            text = serialize.dumps(value)
        except (ValueError, TypeError, RecursionError, MemoryError) as exc:
            returned.append({"error": f"the value it returned cannot be checked ({type(exc).__name__})"})
            continue
        if len(text) > serialize.MAX_BYTES:
            returned.append({"error": f"it returned more than {serialize.MAX_BYTES // 2**20} MiB of data"})
        else:
            returned.append({"result": text})
    return returned


_CHECKS_FOLDER = str(Path(__file__).resolve().parent.parent)


def describe_error(exc: BaseException) -> str:
    """``TypeError: message (in propagate)``: the learner's innermost function, none of the grader's frames."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith(_CHECKS_FOLDER) and code.co_name != "<module>":
            where = f" (in {code.co_name})"
        tb = tb.tb_next
    try:
        text = str(exc)
    except Exception:  # a learner's exception whose __str__ fails
        text = ""
    return f"{type(exc).__name__}: {text[:300]}{where}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _require_function(name: str, fn: Any) -> None:
    if not callable(fn):
        raise CheckFailure(f"{name} should be a function, but it is a {type(fn).__name__}")


def _call(name: str, case: Case, fn: Callable) -> Any:
    try:
        return case.call(fn)
    except NotImplementedError:
        raise CheckFailure(f"{name} is not written yet: replace `raise NotImplementedError()` with your code") from None
