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

A visible test speaks to a learner. Before it judges a function, it runs the visible examples of the
learner's own graded functions that this one calls (``FunctionCheck.calls``, the same functions the grader
replaces with the reference when it verifies this one): when one of them fails, the message says to fix
that one first, so the notebook and the grader always agree on which function is wrong. A failing
visible example shows what was expected, what was returned and how they differ. A hidden test's message
says only what kind of difference it is: nothing in it reveals an expected value. The checks' own frames
never show in a learner's traceback (``__tracebackhide__``, and ``CheckFailure._render_traceback_``).
"""

from __future__ import annotations

import base64
import copy
import inspect
import re
import secrets
import sys
import sysconfig
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import serialize
from .policy import CheckFailure, Detail, Expect, compare, expected_and_got

__all__ = ["Case", "CheckFailure", "Checks", "Expect", "FeedbackCurve", "FunctionCheck", "InputChanged"]

# The MIME type under which the kernel publishes what a learner's function returned on the hidden inputs.
RETURNED_MIME = "application/vnd.course.returned+json"
_hidden_inputs: dict[str, str] = {}  # function -> encoded inputs, handed over by the grader for this run
_reference_lookup: Callable[[str, str], Callable] | None = None  # set by the trusted grader only


def use_reference(lookup: Callable[[str, str], Callable]) -> None:
    """Let hints compare a result with what a known mistake would give (:func:`reference_solution`).

    Called by :mod:`autograder.verify`, the trusted grader's judge, when it is loaded. A learner's kernel
    and the verification sandbox never load it, so there the hints that need it say nothing.
    """
    global _reference_lookup
    _reference_lookup = lookup


def reference_solution(notebook: str, name: str) -> Callable | None:
    """The reference solution's ``name`` where the trusted grader judges a function; None anywhere else."""
    if _reference_lookup is None:
        return None
    try:
        return _reference_lookup(notebook, name)
    except Exception:  # no solution notebook here
        return None


class InputChanged(Exception):
    """A function that must leave its inputs alone changed an array it was given."""


@dataclass
class Case:
    """One call of a graded function: its arguments and the result it should return."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    keep_inputs: bool = False  # the function must not change the arrays it is given (optimize)

    def call(self, fn: Callable) -> Any:
        """Call ``fn`` on copies of the arguments, so a function that changes its inputs changes no case.

        When the case says so (``keep_inputs``), a function that changed one of them raises :class:`InputChanged`.
        """
        __tracebackhide__ = True
        args, kwargs = copy.deepcopy(self.args), copy.deepcopy(self.kwargs)
        result = fn(*args, **kwargs)
        if self.keep_inputs:
            changed = _changed_input(fn, self.args, self.kwargs, args, kwargs)
            if changed:
                raise InputChanged(
                    f"it changed its input {changed} in place, the caller's own array: work on a copy "
                    f"({changed} = {changed}.copy()), or write {changed} = {changed} - ..., which makes a new array")
        return result


def _changed_input(fn: Callable, before_args: tuple, before_kwargs: dict, args: tuple, kwargs: dict) -> str | None:
    """The name of the first array argument whose values changed during the call, or None."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    pairs = [(names[i] if i < len(names) else f"argument {i + 1}", b, a)
             for i, (b, a) in enumerate(zip(before_args, args, strict=False))]
    pairs += [(key, before_kwargs[key], kwargs.get(key)) for key in before_kwargs]
    for name, before, after in pairs:
        if isinstance(before, np.ndarray) and not (
                isinstance(after, np.ndarray) and after.shape == before.shape and after.dtype == before.dtype
                and np.array_equal(after, before, equal_nan=before.dtype.kind == "f")):
            return name
    return None


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
    # the graded functions the reference calls directly: the grader verifies this function with the reference
    # versions of them, and the visible test checks the learner's own versions of them first
    calls: tuple[str, ...] = ()
    keeps_inputs: bool = False  # a function that must not change the arrays it is given

    def __post_init__(self):
        for case in self.visible:
            case.keep_inputs = self.keeps_inputs

    def required_error(self, case: Case) -> tuple[type[BaseException], str] | None:
        return self.must_raise(case) if self.must_raise is not None else None

    def judge_call(self, case: Case, fn: Callable, label: str) -> None:
        """Call the learner's ``fn`` on ``case`` and judge what it returns, or raises when it must.

        An error of the learner's own propagates as it is, with the learner's frames, and a note saying
        where it happened (and, for the common errors, what may cause it).
        """
        __tracebackhide__ = True
        if self.required_error(case) is None:
            self.judge(case, _call(self.name, case, fn, label), label)
            return
        try:
            returned = _call(self.name, case, fn, label, note=False)
        except CheckFailure:  # not written yet
            raise
        except Exception as exc:  # the learner's own error: judged by its type
            self.judge_error(case, f"{type(exc).__name__}: {exc}", None, label)
            return
        self.judge_error(case, None, returned, label)

    def judge_error(self, case: Case, raised: str | None, returned: Any, label: str) -> None:
        """Judge a case that must raise: ``raised`` is ``"TypeError: message"``, or None if a value was returned."""
        __tracebackhide__ = True
        exception, why = self.required_error(case)
        if raised is not None and raised.split(":", 1)[0].strip() == exception.__name__:
            return
        got = f"it raised {raised}" if raised is not None else f"it returned {_short(returned)}"
        raise CheckFailure(f"{self.name} ({label}): {why}, so it must raise {exception.__name__}, but {got}")

    def judge(self, case: Case, actual: Any, label: str) -> None:
        """Raise :class:`CheckFailure` with a learner-facing message unless ``actual`` is right.

        For a visible example (``label`` "visible example ..."), the message goes on with what was expected,
        what was returned and how they differ. For a hidden test it says only what kind of difference it is.
        """
        __tracebackhide__ = True
        try:
            compare(case.expected, actual, self.expect(case))
        except CheckFailure as failure:
            hint = None
            if self.diagnose is not None:
                try:
                    with np.errstate(all="ignore"):
                        hint = self.diagnose(case, case.expected, actual)
                except Exception:  # a hint must never hide the failure itself
                    hint = None
            message = f"{self.name} ({label}): {hint or failure}"
            if label.startswith("visible"):
                detail = failure.detail or Detail(self.name, case.expected, actual)
                message += "".join(f"\n    {line}" for line in expected_and_got(detail))
            raise CheckFailure(message) from None


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
        for check in functions:
            unknown = set(check.calls) - set(self.functions)
            if unknown:
                raise LookupError(f"{check.name} calls {sorted(unknown)}, which are not graded in {notebook}")

    def callees(self, name: str) -> list[str]:
        """The graded functions ``name`` calls, directly or not (through the reference's calls)."""
        found, todo = [], list(self[name].calls)
        while todo:
            callee = todo.pop(0)
            if callee not in found and callee != name:
                found.append(callee)
                todo += self[callee].calls
        return found

    def __getitem__(self, name: str) -> FunctionCheck:
        try:
            return self.functions[name]
        except KeyError:
            raise LookupError(f"{self.notebook} has no graded function {name!r}") from None

    # -- in a notebook -------------------------------------------------------------------------
    def visible(self, name: str, fn: Callable) -> None:
        """Run the visible examples of ``name`` on the learner's ``fn``; print a line when all pass.

        First the learner's own versions of the graded functions ``fn`` calls are run on their visible
        examples: when one fails, this test says to fix that one first, and judges nothing else.
        """
        __tracebackhide__ = True
        check = self[name]
        _require_function(name, fn)
        blocked = self._failing_callee(name, fn, set())
        if blocked is not None:
            callee, path, reason = blocked
            through = f" (through {', '.join(path)})" if path else ""
            raise CheckFailure(
                f"{name}: fix {callee} above first: its test fails ({reason}). {name} uses your {callee}{through}, "
                f"so this test can only judge {name} once {callee}'s test passes: fix it, run its cell and its "
                f"test cell again, then this one.") from None
        for number, case in enumerate(check.visible, start=1):
            check.judge_call(case, fn, f"visible example {number}")
        print(f"{name}: all {len(check.visible)} visible tests passed.")

    def _failing_callee(self, name: str, fn: Callable, done: set[str]) -> tuple[str, list[str], str] | None:
        """The first graded function ``fn`` uses (of those ``name`` calls) whose visible examples fail.

        Returns (that function, the functions in between, why it fails), or None. Only the learner's own
        functions that ``fn`` really uses count, directly or through helper functions of the notebook.
        """
        used = _names_used(fn, set(self.functions))
        namespace = getattr(fn, "__globals__", {})
        for callee in self[name].calls:
            if callee not in used or callee in done:
                continue
            done.add(callee)
            callee_fn = namespace.get(callee)
            if not callable(callee_fn):
                return callee, [], f"{callee} is not defined: run the cell that defines it"
            deeper = self._failing_callee(callee, callee_fn, done)
            if deeper is not None:
                return deeper[0], [callee, *deeper[1]], deeper[2]
            for number, case in enumerate(self[callee].visible, start=1):
                try:
                    self[callee].judge_call(case, callee_fn, f"visible example {number}")
                except CheckFailure as failure:
                    return callee, [], str(failure).splitlines()[0]
                except Exception as exc:  # noqa: BLE001  (the learner's error is the outcome)
                    return callee, [], f"{callee} (visible example {number}) raised {describe_error(exc)}"
        return None

    def hidden(self, name: str, fn: Callable) -> None:
        """The hidden tests of ``name``.

        While grading, the grader has handed over inputs only: ``fn`` is called on each and what it
        returned is published for the grader to judge. Otherwise (an instructor running the solution
        notebook) fresh cases are drawn, solved by the reference and judged here.
        """
        __tracebackhide__ = True
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
            case.keep_inputs = self[name].keeps_inputs
            if self[name].required_error(case) is None:  # a case that must raise has no result
                case.expected = case.call(reference)
        return cases


def provide_hidden_inputs(inputs: dict[str, str]) -> None:
    """Called by the grader at the top of a test cell: the encoded inputs of this run's hidden cases."""
    _hidden_inputs.update(inputs)


def encode_inputs(cases: list[Case]) -> str:
    """The inputs of ``cases`` (never their expected results) as a compact text for a sandboxed process."""
    data = serialize.dumps([(tuple(c.args), dict(c.kwargs), c.keep_inputs) for c in cases]).encode()
    return base64.b64encode(zlib.compress(data, 6)).decode()


def decode_inputs(text: str) -> list[Case]:
    data = zlib.decompress(base64.b64decode(text))
    return [Case(tuple(args), dict(kwargs), keep_inputs=bool(rest and rest[0]))
            for args, kwargs, *rest in serialize.loads(data)]


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


_CHECKS_FOLDER = str(Path(__file__).resolve().parent.parent)  # autograder/: the grader's own code
_LIBRARIES = tuple(sorted({path for key in ("stdlib", "platstdlib", "purelib", "platlib")
                           if (path := sysconfig.get_paths().get(key))} | {sys.prefix, sys.base_prefix}))


def _learner_frame(code: types.CodeType) -> bool:
    """A frame of the learner's code: not the grader's, a library's, the reference's or a cell's top level."""
    name = code.co_filename
    return not (name.startswith(_CHECKS_FOLDER) or name.startswith(_LIBRARIES) or name == "<reference>"
                or code.co_name == "<module>")


def describe_error(exc: BaseException) -> str:
    """``TypeError: message (in propagate, called by optimize)``: the learner's functions only, and a hint
    for the common errors. None of the grader's frames, nor the reference's, is named."""
    chain: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _learner_frame(code) and (not chain or chain[-1] != code.co_name):
            chain.append(code.co_name)
        tb = tb.tb_next
    where = ""
    if chain:
        innermost = chain[::-1][:3]
        where = f" (in {innermost[0]}" + "".join(f", called by {n}" for n in innermost[1:]) + ")"
    try:
        text = str(exc)
    except Exception:  # a learner's exception whose __str__ fails
        text = ""
    kind = type(exc).__name__
    hint = error_hint(kind, text)
    return f"{kind}: {text[:300]}{where}" + (f". {hint}" if hint else "")


_SHAPE = r"\(([\d,\s]*)\)"


def _shapes(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(n) for n in group.replace(" ", "").split(",") if n) for group in re.findall(_SHAPE, text)]


def error_hint(kind: str, text: str) -> str | None:
    """What commonly causes an error with this type and message, worded as a possibility, or None.

    Only the error itself is known here (it may come from a learner's process, with no expected result
    anywhere), so a hint names what such an error usually means, never a diagnosis of the function.
    """
    if "could not be broadcast together" in text:
        shapes = _shapes(text.split("shapes", 1)[-1])
        if len(shapes) == 2:
            for big, small in (shapes, shapes[::-1]):
                if len(big) == 2 and len(small) == 1 and small[0] == big[0] != big[1]:
                    return (f"An array of shape {small} lines up with the columns of one of shape {big}, not with "
                            f"its rows: perhaps a sum or norm over axis=1 lost its dimension. Keep it with "
                            f"keepdims=True, which gives shape ({big[0]}, 1)")
            first, second = shapes
            if len(first) == len(second) == 2 and 1 in (first[0], second[0]) and first[1] != second[1]:
                return (f"Shapes {first} and {second} cannot be combined elementwise: perhaps * is used where a "
                        f"matrix product (np.dot) is meant, or a transpose (.T) is missing")
        return "Perhaps an array does not have the shape you think: print the shapes of the arrays in that line"
    if " not aligned" in text or "mismatch in its core dimension" in text:
        return ("A matrix product needs the inner sizes to match, (a, b) times (b, c): perhaps a transpose (.T) "
                "is missing, or an array has the wrong shape")
    if "cannot reshape array of size" in text:
        return ("Perhaps a size is written as a fixed number: read the sizes from the input's .shape, or use -1 "
                "to let numpy work one out")
    if re.search(r"only (length-1|size-1|0-dimensional|integer scalar) arrays can be converted", text):
        return "math functions (math.exp) take one number: for an array, use numpy's own (np.exp)"
    if "Cannot cast ufunc" in text:
        return ("An in-place update (x /= ..., w -= ...) cannot store fractions in an array of integers: write "
                "x = x / ... (or w = w - ...), which makes a new array of floats")
    if re.search(r"Cannot interpret '[^']*' as a data type", text):
        return "np.zeros takes the shape as one tuple: np.zeros((dim, 1)), with two pairs of parentheses"
    if "'float' object cannot be interpreted as an integer" in text:
        return ("A number with a decimal point reached range(...) or a shape, where a whole number is needed: "
                "perhaps arguments are given in the wrong order (passing them by name avoids this)")
    if kind == "UnboundLocalError":
        return "Perhaps the loop or branch that gives it a value never ran: check its range or condition"
    return None


def _names_used(fn: Any, graded: set[str]) -> set[str]:
    """The global names ``fn`` uses, with those of the notebook's helper functions it calls (not graded ones)."""
    names: set[str] = set()
    seen: set[int] = set()
    todo = [fn]
    while todo:
        current = todo.pop()
        code = getattr(current, "__code__", None)
        if not isinstance(code, types.CodeType) or id(code) in seen:
            continue
        seen.add(id(code))
        own: set[str] = set()
        codes = [code]
        while codes:  # the function's code and the code of what it defines inside (lambdas, comprehensions)
            inner = codes.pop()
            own |= set(inner.co_names)
            codes += [k for k in inner.co_consts if isinstance(k, types.CodeType)]
        names |= own
        namespace = getattr(current, "__globals__", {})
        for n in own - graded:
            helper = namespace.get(n)
            if isinstance(helper, types.FunctionType) and helper.__globals__ is namespace:
                todo.append(helper)
    return names


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _require_function(name: str, fn: Any) -> None:
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailure(f"{name} should be a function, but it is a {type(fn).__name__}")


def _call(name: str, case: Case, fn: Callable, label: str = "", note: bool = True) -> Any:
    """Call the learner's ``fn`` on ``case``; the learner's own errors go on with a note saying where."""
    __tracebackhide__ = True
    try:
        return case.call(fn)
    except NotImplementedError:
        raise CheckFailure(f"{name} is not written yet: replace `raise NotImplementedError()` with your code") from None
    except InputChanged as exc:
        raise CheckFailure(f"{name} ({label}): {exc}") from None
    except Exception as exc:
        if note and hasattr(exc, "add_note"):
            hint = error_hint(type(exc).__name__, str(exc))
            exc.add_note(f"This error happened while the test ran {name} on its {label}."
                         + (f"\n{hint}." if hint else ""))
        raise
