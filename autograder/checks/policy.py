"""The numeric and type policy every check follows, and the comparison that applies it.

Written down once, used everywhere (visible tests, hidden tests, the out-of-kernel verification):

* **Tolerance.** Numbers match when ``|actual - expected| <= ATOL + RTOL * |expected|`` elementwise
  (``numpy.allclose`` with ``RTOL = 1e-5``, ``ATOL = 1e-8``); NaN never matches. When either side is
  in single precision (float32, a learner's valid choice, as in notebook 03's section 11), the
  tolerance is that of float32 arithmetic: ``RTOL32 = 1e-4``, ``ATOL32 = 1e-5``.
* **Scalars.** Where a single number is asked for (``cost``, ``db``, ``b``), a Python ``int`` or
  ``float``, a numpy scalar (``np.float64``...) and a 0-d array are all accepted. An array with one
  element of shape ``(1,)`` or ``(1, 1)`` is not: it is reported with the fix (``float(...)``).
* **Arrays.** Must be ``numpy.ndarray`` (not a list, not a subclass) of exactly the documented shape:
  ``(n, 1)`` and ``(n,)`` are different shapes. Any integer or float dtype is accepted, except for a
  parameter the model learns (``initialize_with_zeros``'s ``w``, ``Expect(floats=True)``): it must
  hold floats, because training changes it by fractions, and ``w -= learning_rate * dw`` on an
  integer array stops with a casting error later, in ``optimize`` or ``model``.
* **Labels.** Predictions are arrays of 0 and 1; integer, float and boolean dtypes are all accepted,
  compared exactly.
* **Lists of numbers** (``costs``): a list, tuple or 1-d array of the right length.
* **Dictionaries** must have the documented keys; extra keys are allowed.

A failure raises :class:`CheckFailure` whose message names the value, what is wrong with it and, for
the common mistakes, the likely cause. The message itself never quotes an expected value (the same
comparison judges the hidden tests, whose results must not leak); the failure carries the expected and
returned values (:class:`Detail`), which the visible tests show as "expected / got". The causes this module can name
for any value (:func:`diagnose_values`): nothing returned (``None``), the opposite sign, a factor of m,
1/m, 2 or 1/2, rounding, all zeros, the right values in the wrong places. Each notebook's checks add
their own hints for the mistakes of one function (``FunctionCheck.diagnose``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RTOL = 1e-5
ATOL = 1e-8
RTOL32 = 1e-4  # when a value is in single precision (float32)
ATOL32 = 1e-5


@dataclass
class Detail:
    """The value a failure is about: its name, the expected and the returned value (for visible tests only)."""

    name: str
    expected: Any
    actual: Any
    low_precision: bool = False


class CheckFailure(AssertionError):
    """A learner's function returned something the policy does not accept; the message says what.

    ``detail`` is the value concerned, expected and returned; a visible test shows it, a hidden one never.
    In a notebook, the failure renders as its message alone (``_render_traceback_``): none of the
    checks' own frames is shown.
    """

    def __init__(self, message: str, detail: Detail | None = None):
        super().__init__(message)
        self.detail = detail

    def _render_traceback_(self) -> list[str]:
        lines = str(self).splitlines() or [""]
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {lines[0]}", *lines[1:]]


@dataclass
class Expect:
    """How to compare one returned value. ``name`` is what the learner calls it ("dw", "cost")."""

    name: str
    labels: bool = False  # an array of 0/1 predictions, compared exactly
    m: int | None = None  # number of examples, for "m times too large" messages
    like: str | None = None  # the argument whose shape this value must have ("w"), for messages
    fields: dict[str, Expect] = field(default_factory=dict)  # per-key settings of a dict
    items: list[Expect] = field(default_factory=list)  # per-position settings of a returned tuple
    floats: bool = False  # a parameter training updates: an array of floats, never of integers


def fail(message: str, spec: Expect | None = None, expected: Any = None, actual: Any = None,
         low_precision: bool = False) -> None:
    __tracebackhide__ = True
    detail = Detail(spec.name, expected, actual, low_precision) if spec is not None else None
    raise CheckFailure(message, detail)


def is_low_precision(value: Any) -> bool:
    """A float of single (or lower) precision: a float32 array or scalar."""
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind == "f" and dtype.itemsize <= 4


def tolerance(low_precision: bool) -> tuple[float, float]:
    """(rtol, atol) of the policy: those of float32 arithmetic when a side is in single precision."""
    return (RTOL32, ATOL32) if low_precision else (RTOL, ATOL)


def close(expected: Any, actual: Any, low_precision: bool = False) -> np.ndarray:
    """Elementwise: ``actual`` matches ``expected`` under the policy's tolerance."""
    rtol, atol = tolerance(low_precision)
    with np.errstate(all="ignore"):
        return np.isclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)


def _type_name(value: Any) -> str:
    from ..serialize import ArraySubclass, Opaque

    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, ArraySubclass):
        return value.original_type
    return type(value).__name__


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    return type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "iuf"


def compare(expected: Any, actual: Any, spec: Expect) -> None:
    """Raise :class:`CheckFailure` unless ``actual`` matches ``expected`` under the policy."""
    __tracebackhide__ = True
    if actual is None and expected is not None:
        fail(f"{spec.name} is None: is a return statement missing (a function without one returns None), "
             f"or a variable never given its value?", spec, expected, actual)
    if isinstance(expected, tuple):
        _compare_tuple(expected, actual, spec)
    elif isinstance(expected, Mapping):
        _compare_dict(expected, actual, spec)
    elif isinstance(expected, list):
        _compare_number_list(expected, actual, spec)
    elif isinstance(expected, np.ndarray) and expected.ndim > 0:
        _compare_array(expected, actual, spec)
    else:
        _compare_scalar(expected, actual, spec)


def _compare_tuple(expected: tuple, actual: Any, spec: Expect) -> None:
    __tracebackhide__ = True
    names = ", ".join(i.name for i in spec.items)
    if not isinstance(actual, tuple | list):
        fail(f"{spec.name} should return {len(expected)} values ({names}), but it returned a single "
             f"{_type_name(actual)}", spec, expected, actual)
    if len(actual) != len(expected):
        fail(f"{spec.name} should return {len(expected)} values ({names}) but returned {len(actual)}",
             spec, expected, actual)
    items = spec.items or [Expect(f"value {i + 1}") for i in range(len(expected))]
    for exp, act, sub in zip(expected, actual, items, strict=True):
        compare(exp, act, sub)


def _compare_dict(expected: Mapping, actual: Any, spec: Expect) -> None:
    __tracebackhide__ = True
    if not isinstance(actual, Mapping):
        fail(f"{spec.name} should be a dictionary with keys {sorted(expected)}, not a {_type_name(actual)}",
             spec, expected, actual)
    missing = [key for key in expected if key not in actual]
    if missing:
        fail(f"{spec.name} is missing the key{'s' if len(missing) > 1 else ''} "
             f"{', '.join(repr(k) for k in missing)} (it has {sorted(map(str, actual))})", spec, expected, actual)
    for key, exp in expected.items():
        sub = spec.fields.get(key, Expect(f"{spec.name}[{key!r}]", m=spec.m))
        compare(exp, actual[key], sub)


def _compare_number_list(expected: list, actual: Any, spec: Expect) -> None:
    __tracebackhide__ = True
    if isinstance(actual, np.ndarray) and type(actual) is np.ndarray and actual.ndim == 1:
        values = list(actual)
    elif isinstance(actual, list | tuple):
        values = list(actual)
    else:
        fail(f"{spec.name} should be a list of {len(expected)} numbers, not a {_type_name(actual)}",
             spec, expected, actual)
    if len(values) != len(expected):
        fail(f"{spec.name} has {len(values)} entries but should have {len(expected)}", spec, expected, actual)
    for i, value in enumerate(values):
        if not _is_scalar(value):
            fail(f"{spec.name}[{i}] should be a number, not a {_type_name(value)}"
                 + (f" of shape {value.shape}: use float(...)" if isinstance(value, np.ndarray) else ""),
                 spec, expected, actual)
    low = any(is_low_precision(v) for v in [*values, *expected])
    _compare_values(np.asarray(expected, dtype=float), np.asarray([float(v) for v in values]), spec, low,
                    shown=(expected, actual))


def _compare_scalar(expected: Any, actual: Any, spec: Expect) -> None:
    __tracebackhide__ = True
    if isinstance(actual, np.ndarray) and type(actual) is np.ndarray and actual.size == 1 and actual.ndim > 0:
        fail(f"{spec.name} should be a single number, but it is an array of shape {actual.shape}: "
             f"use float(...) or np.squeeze(...)", spec, expected, actual)
    if not _is_scalar(actual):
        fail(f"{spec.name} should be a number, but it is a {_type_name(actual)}", spec, expected, actual)
    low = is_low_precision(actual) or is_low_precision(expected)
    _compare_values(np.asarray(expected, dtype=float), np.asarray(actual, dtype=float), spec, low,
                    shown=(expected, actual))


def _compare_array(expected: np.ndarray, actual: Any, spec: Expect) -> None:
    __tracebackhide__ = True
    if type(actual) is not np.ndarray:
        if isinstance(actual, np.ndarray):
            fail(f"{spec.name} should be a plain numpy array, not a {_type_name(actual)}: "
                 f"return np.asarray(...) of your result", spec, expected, None)
        if isinstance(actual, list | tuple):
            fail(f"{spec.name} should be a numpy array, not a {_type_name(actual)}: use np.array(...)",
                 spec, expected, actual)
        fail(f"{spec.name} should be a numpy array of shape {expected.shape}, not a {_type_name(actual)}",
             spec, expected, actual)
    if actual.dtype.kind not in "biuf":
        fail(f"{spec.name} should hold numbers, but its dtype is {actual.dtype}", spec, expected, actual)
    if actual.shape != expected.shape:
        fail(_shape_message(expected.shape, actual.shape, spec), spec, expected, actual)
    if spec.floats and actual.dtype.kind != "f":
        fail(f"{spec.name} holds {'booleans' if actual.dtype.kind == 'b' else 'integers'} (dtype {actual.dtype}), "
             f"but training changes it by small fractions, so it must hold floats: leave out dtype=int "
             f"(np.zeros(shape) gives floats)", spec, expected, actual)
    if spec.labels:
        _compare_labels(expected, actual, spec)
    else:
        low = is_low_precision(actual) or is_low_precision(expected)
        _compare_values(expected.astype(float), actual.astype(float), spec, low, shown=(expected, actual))


def _shape_message(want: tuple, got: tuple, spec: Expect) -> str:
    text = f"{spec.name} has shape {got} but should have shape {want}"
    if spec.like:
        text += f" (the shape of {spec.like})"
    if got == tuple(reversed(want)) and len(want) == 2:
        return text + ": transpose it (.T)"
    if len(want) == 2 and want[1] == 1 and got == (want[0],):
        return text + ": a column vector needs two dimensions, e.g. np.zeros((n, 1)) or .reshape(-1, 1)"
    if len(want) == 2 and want[0] == 1 and got == (want[1],):
        return text + ": keep it a row vector, e.g. .reshape(1, -1)"
    if len(want) == 1 and got in ((want[0], 1), (1, want[0])):
        return text + ": flatten it with .ravel() or .reshape(-1)"
    if np.prod(got, dtype=np.int64) == np.prod(want, dtype=np.int64):
        return text + ": it has the right number of entries but the wrong arrangement"
    return text


def positions(mask: np.ndarray, limit: int = 3) -> str:
    """Where ``mask`` is true, as "[0, 1], [2, 0]" (or "columns 1, 4" for a row), at most ``limit`` of them."""
    where = np.argwhere(mask)
    if mask.ndim == 2 and mask.shape[0] == 1:
        text = "column" + ("s" if len(where) > 1 else "") + " " + ", ".join(str(int(i[1])) for i in where[:limit])
    else:
        text = ", ".join("[" + ", ".join(str(int(k)) for k in i) + "]" for i in where[:limit])
    return text + (", ..." if len(where) > limit else "")


def _compare_labels(expected: np.ndarray, actual: np.ndarray, spec: Expect) -> None:
    __tracebackhide__ = True
    values = actual.astype(float)
    if np.isnan(values).any():
        fail(f"{spec.name} contains NaN", spec, expected, actual)
    if ((values > 0) & (values < 1)).any():
        fail(f"{spec.name} contains values between 0 and 1: convert probabilities to labels with a 0.5 "
             f"threshold (1 if A > 0.5, else 0)", spec, expected, actual)
    if not np.isin(values, (0.0, 1.0)).all():
        fail(f"{spec.name} should contain only 0 and 1, but has {sorted(set(values.ravel().tolist()))[:5]}",
             spec, expected, actual)
    wrong = values != expected
    if wrong.any():
        text = f"{spec.name}: {int(wrong.sum())} of {values.size} labels are wrong (at {positions(wrong)})"
        if (values == 1 - expected).all():
            text += ": every label is flipped (is the test A > 0.5 the right way round?)"
        elif values.size > 1 and (values == values.flat[0]).all():
            label = int(values.flat[0])
            text += (f": every label is {label}, but some examples should be {1 - label}. Each example gets its "
                     f"own label: 1 where its probability A is above 0.5, else 0")
        fail(text, spec, expected, actual)


def _compare_values(expected: np.ndarray, actual: np.ndarray, spec: Expect, low: bool = False,
                    shown: tuple = (None, None)) -> None:
    __tracebackhide__ = True
    rtol, atol = tolerance(low)
    if np.allclose(actual, expected, rtol=rtol, atol=atol):
        return
    name = spec.name

    def wrong(message: str) -> None:
        __tracebackhide__ = True
        fail(f"{name} {message}", spec, shown[0], shown[1], low)

    if np.isnan(actual).any():
        wrong("contains NaN: look for log(0), 0/0 or an overflow")
    if np.isinf(actual).any():
        wrong("contains infinity: look for a division by zero or an overflow")
    diagnosis = diagnose_values(expected, actual, spec, low)
    if diagnosis:
        wrong(diagnosis)
    if expected.ndim == 0:
        wrong(f"is wrong: it is {'larger' if float(actual) > float(expected) else 'smaller'} than expected")
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    wrong(f"has the right shape but {int(bad.sum())} of {bad.size} values are wrong (at {positions(bad)})")


def diagnose_values(expected: np.ndarray, actual: np.ndarray, spec: Expect, low: bool = False) -> str | None:
    """Name the likely cause when ``actual`` is a simple distortion of ``expected``."""
    rtol, atol = tolerance(low)
    if np.allclose(actual, -expected, rtol=rtol, atol=atol) and np.abs(expected).max() > atol:
        return "has the opposite sign: check the sign in your formula"
    decimals = _rounded_to(expected, actual)
    if decimals is not None:
        return (f"is rounded to {decimals} decimal{'s' if decimals != 1 else ''}: return the value as computed, "
                f"without round(...) (rounding is only for printing)")
    if np.abs(expected).max() > atol and not actual.any():
        return (f"is 0{' everywhere' if expected.ndim else ''}: check the parentheses, and that every term of "
                f"the formula is computed (a term that cancels out, or is never added up, leaves 0)")
    scale = _constant_ratio(expected, actual)
    if scale is not None:
        if spec.m and spec.m > 1 and np.isclose(scale, spec.m, rtol=1e-3):
            return f"is about m = {spec.m} times too large: did you divide by m (the number of examples)?"
        if spec.m and spec.m > 1 and np.isclose(scale, 1 / spec.m, rtol=1e-3):
            return f"is about m = {spec.m} times too small: divide by m only once"
        if np.isclose(scale, 2, rtol=1e-3):
            return "is twice as large as it should be"
        if np.isclose(scale, 0.5, rtol=1e-3):
            return "is half as large as it should be"
        if np.count_nonzero(np.abs(expected) > 1e-6) > 1:  # one number always has "a constant ratio"
            return "is off by a constant factor: every value is the same multiple of the right one"
    if expected.ndim > 0 and expected.size > 1 and np.allclose(np.sort(actual.ravel()), np.sort(expected.ravel()),
                                                               rtol=rtol, atol=atol):
        return "has the right values in the wrong places"
    return None


def _rounded_to(expected: np.ndarray, actual: np.ndarray) -> int | None:
    """The number of decimals ``actual`` is ``expected`` rounded to, if it is that (and not just close)."""
    for decimals in range(1, 7):  # the fewest decimals that explain it
        rounded = np.round(expected, decimals)
        if np.array_equal(actual, rounded) or np.allclose(actual, rounded, rtol=0, atol=1e-12):
            return decimals
    return None


def _constant_ratio(expected: np.ndarray, actual: np.ndarray) -> float | None:
    mask = np.abs(expected) > 1e-6
    if not mask.any() or not np.allclose(actual[~mask], 0, atol=1e-6):
        return None
    ratios = actual[mask] / expected[mask]
    if np.allclose(ratios, ratios.flat[0], rtol=1e-6, atol=0) and not np.isclose(ratios.flat[0], 1, rtol=RTOL):
        return float(ratios.flat[0])
    return None


# -- what a visible test shows -----------------------------------------------------------------------
def excerpt(value: Any, limit: int = 160) -> str:
    """A short one-line rendering of a value, for "expected / got" lines."""
    if isinstance(value, np.ndarray) and type(value) is np.ndarray and value.dtype.kind in "biuf":
        if value.ndim == 0:
            text = f"{value.item():.8g}" if value.dtype.kind == "f" else str(value.item())
        elif value.size <= 12:  # as the notebooks print them: np.round(value, 8).tolist()
            text = str((np.round(value, 8) if value.dtype.kind == "f" else value).tolist())
        else:
            text = np.array2string(value, precision=8, threshold=12, edgeitems=2, separator=", ",
                                   max_line_width=10**6, floatmode="maxprec", sign="-")
            text = " ".join(text.split())
    elif isinstance(value, float | np.floating):
        text = f"{float(value):.8g}"
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k!r}: {excerpt(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        inner = ", ".join(excerpt(v, limit) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner})"
    elif value is None or isinstance(value, bool | int | np.integer | str):
        text = repr(value)
    else:
        text = f"a {_type_name(value)}"
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _shape_of(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"  (shape {value.shape})"
    return ""


def expected_and_got(detail: Detail) -> list[str]:
    """Lines for a visible test: what was expected, what was returned, and how they differ."""
    label = f"expected {detail.name}:"
    lines = [f"{label} {excerpt(detail.expected)}{_shape_of(detail.expected)}",
             f"{'got:':<{len(label)}} {excerpt(detail.actual)}{_shape_of(detail.actual)}"]
    difference = _difference(detail)
    if difference:
        lines.append(f"{'difference:':<{len(label)}} {difference}")
    return lines


def _difference(detail: Detail) -> str | None:
    """How the returned value differs from the expected one, when both are numbers of the same shape."""
    try:
        expected = np.asarray(detail.expected, dtype=float)
        actual = np.asarray(detail.actual, dtype=float)
    except (TypeError, ValueError):
        return None
    if expected.shape != actual.shape or detail.actual is None:
        return None
    rtol, atol = tolerance(detail.low_precision)
    with np.errstate(all="ignore"):
        error = np.abs(actual - expected)
        bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    if expected.ndim == 0:
        return f"{float(actual - expected):+.3g} (tolerance: rtol={rtol:g}, atol={atol:g})"
    where = np.unravel_index(int(np.nanargmax(np.where(bad, error, -1.0))), error.shape)
    return (f"{int(bad.sum())} of {bad.size} values differ; the largest error, {float(error[where]):.3g}, is at "
            f"[{', '.join(str(int(i)) for i in where)}] (tolerance: rtol={rtol:g}, atol={atol:g})")

